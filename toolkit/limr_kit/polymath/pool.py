"""The natural-candidate pool: prompts whose LIM score equals the LIMR floor (0.60)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from limr_kit.errors import InputError


LIMR_FLOOR = 0.60


@dataclass(frozen=True, slots=True)
class Candidate:
    """One pool problem: its id, text, gold answer and LIM score (category when a dataset gives one)."""

    id: str
    prompt: str
    answer: str
    lim_score: float | None
    category: str | None = None


def _load_list(path: Path) -> list[dict]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read {path} as JSON ({exc}); give a JSON list of rows.") from exc
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise InputError(f"{path} is not a JSON list of objects.")
    return rows


def floor_pool(
    scores_path: Path, prompts_path: Path, *, floor: float = LIMR_FLOOR, tolerance: float = 1e-9
) -> list[Candidate]:
    """Every prompt of ``prompts_path`` whose score in ``scores_path`` is within ``tolerance`` of ``floor``."""
    scores: dict[str, float] = {}
    for row in _load_list(scores_path):
        if "score" not in row or "prompt" not in row:
            raise InputError(f"{scores_path} has rows without a 'score' or 'prompt' field: give LIMR's scores.json.")
        scores[row["prompt"]] = float(row["score"])
    pool = []
    for row in _load_list(prompts_path):
        for field in ("id", "prompt", "answer"):
            if field not in row:
                raise InputError(f"{prompts_path} has rows without '{field}': give LIMR's math.8k.json.")
        score = scores.get(row["prompt"])
        if score is not None and abs(score - floor) <= tolerance:
            pool.append(Candidate(row["id"], row["prompt"], str(row["answer"]), score, row.get("category")))
    return pool


def _score(value: object, path: Path, line: int) -> float | None:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return None if value is None else float(value)
    raise InputError(f"{path} line {line}: 'lim_score' is {value!r}, not a number.")


def read_pool(path: Path) -> list[Candidate]:
    """A pool JSONL (id, prompt or question, answer; optional lim_score and category)."""
    from limr_kit._io import iter_jsonl

    pool = []
    try:
        for line, row in iter_jsonl(path):
            text = row.get("prompt", row.get("question"))
            if text is None or "answer" not in row:
                raise InputError(f"{path} line {line} needs 'prompt' (or 'question') and 'answer'.")
            sample_id = str(row.get("id", row.get("name", line)))
            score = row.get("lim_score")
            pool.append(Candidate(sample_id, text, str(row["answer"]), _score(score, path, line), row.get("category")))
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc}") from exc
    if not pool:
        raise InputError(f"{path} holds no candidates.")
    return pool
