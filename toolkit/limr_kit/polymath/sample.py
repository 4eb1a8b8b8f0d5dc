"""The one sample between stages: read from ``selection.json``, a JSON object or a JSONL row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from limr_kit._io import iter_jsonl
from limr_kit.errors import InputError


@dataclass(frozen=True, slots=True)
class Sample:
    """One training sample: a name, its question and its gold answer."""

    name: str
    question: str
    answer: str


def _from_row(row: dict, where: str) -> Sample:
    question = row.get("prompt", row.get("question"))
    if not isinstance(question, str) or "answer" not in row:
        raise InputError(f"{where} needs a 'prompt' (or 'question') text and an 'answer'.")
    return Sample(str(row.get("name", row.get("id", "sample"))), question, str(row["answer"]))


def read_sample(path: Path, name: str | None = None) -> Sample:
    """The sample in ``path``; ``name`` picks one row (by name or id) of a JSONL file or a selection."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot read the sample {path}: {exc}") from exc
    try:
        data = json.loads(text)
        rows = data.get("chosen", [data]) if isinstance(data, dict) else None
    except ValueError:
        rows = [row for _, row in iter_jsonl(path)]  # not one JSON value: JSON lines, or a BadRowError
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise InputError(f"{path} holds no sample object.")
    if name is not None:
        rows = [row for row in rows if name in (row.get("name"), row.get("id"))]
        if not rows:
            raise InputError(f"{path} has no sample named '{name}'.")
    elif len(rows) > 1:
        names = ", ".join(str(row.get("name", row.get("id"))) for row in rows[:8])
        raise InputError(f"{path} holds {len(rows)} samples: pick one with --name ({names}).")
    return _from_row(rows[0], str(path))
