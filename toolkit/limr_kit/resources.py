"""Locate the project's data folders (benchmarks, recipes, containers, release).

In a wheel they are packaged under ``limr_kit/_data/<name>`` (hatch ``force-include``); in a checkout
(editable install) they are the top-level folders beside ``toolkit/``.
"""

from __future__ import annotations

from pathlib import Path

from limr_kit.errors import LimrError


_PACKAGE = Path(__file__).resolve().parent
FOLDERS = ("benchmarks", "containers", "recipes", "release")  # a wheel's limr_kit/_data/<name> (pyproject.toml)


def data_dir(name: str) -> Path:
    """The folder holding limr-kit's own ``name`` files (e.g. ``benchmarks``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise LimrError(f"limr-kit's '{name}' folder is missing from this installation. Reinstall limr-kit.")
