"""What a person types on a command line: ``KEY=VALUE`` assignments (``train --set``, ``bench --vllm-arg``)."""

from __future__ import annotations

from typing import Any

from limr_kit.errors import InputError


def parse_assignments(
    pairs: list[str], *, option: str = "--set", example: str = "train.num_episodes=30", dashes: bool = False
) -> dict[str, Any]:
    """``["k=v", ...]`` as a mapping; values read as YAML (``true``, ``5e-7``, ``[0.9, 0.95]``, ``null``).

    ``dashes`` turns ``-`` in a key into ``_`` (Python argument names written as command-line flags).
    """
    import yaml

    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key:
            raise InputError(f"{option} takes KEY=VALUE (for example {example}), got '{pair}'.")
        try:
            parsed[key.replace("-", "_") if dashes else key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise InputError(f"{option} {pair}: the value is not valid YAML ({exc.problem}).") from exc
    return parsed
