"""Help text as a user types the command: arguments in capitals, option values as ``<int>``, ``<a|b>``, ``<path>``."""

from __future__ import annotations

import re
from typing import Any


_LABELS = {"str": "text", "Path": "path", "float": "number", "int range": "int", "float range": "number"}


def _value_label(param: Any) -> str:
    """Typer's ``<int range>``, ``<list[str]>`` as ``<int>``, ``<text>...``."""
    label = param.display_type(None).strip("<>")
    repeated = re.fullmatch(r"list\[(.*)\]", label)
    label = repeated.group(1) if repeated else label
    return f"<{_LABELS.get(label, label)}>" + ("..." if repeated or param.multiple else "")


def tidy_help(command: Any) -> None:
    """Set every parameter's metavar (recursively): ``MODEL``, ``--limit <int>``, ``--vllm-arg <text>...``.

    Typer vendors its own click, so parameters are told apart by ``param_type_name`` rather than by class.
    With ``rich_markup_mode=None`` the help is click's plain layout, which never cuts an option's name.
    """
    for param in command.params:
        if param.metavar is not None:
            continue
        if param.param_type_name == "argument":
            param.metavar = (param.name or "value").upper()
            param.display_type_rich = lambda ctx: None  # the name says what it is; Typer would add <list[Path]>
        elif param.param_type_name == "option" and not param.is_flag:
            param.metavar = _value_label(param)
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
