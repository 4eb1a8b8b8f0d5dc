"""Grade a JSONL file of (prediction, gold) rows: ``limr-kit grade``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limr_kit._io import check_output_file, iter_jsonl, write_jsonl
from limr_kit.errors import BadRowError
from limr_kit.rewards.grader import COMPAT, Grade, GradeInput, Grader


@dataclass(frozen=True, slots=True)
class GradeReport:
    """Per-row grades and the summary printed by ``limr-kit grade``."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def read_grade_inputs(path: str | Path) -> tuple[list[str], list[GradeInput]]:
    """Rows ``{prediction, gold, id?, finish_reason?}``; ids default to the line number."""
    path = Path(path)
    if not path.is_file():
        raise BadRowError(path, None, "no such file", "give a JSONL file with prediction and gold fields")
    ids: list[str] = []
    items: list[GradeInput] = []
    for number, row in iter_jsonl(path):
        for field in ("prediction", "gold"):
            if row.get(field) is None:
                raise BadRowError(path, number, f"missing '{field}'", "each row needs prediction and gold")
        if not isinstance(row["prediction"], str):
            raise BadRowError(path, number, "'prediction' must be text")
        ids.append(str(row.get("id", number)))
        items.append(GradeInput(row["prediction"], str(row["gold"]), row.get("finish_reason")))
    if not items:
        raise BadRowError(path, None, "no rows to grade")
    return ids, items


def _summarise(mode: str, grades: list[Grade]) -> dict[str, Any]:
    correct = sum(grade.correct for grade in grades)
    return {
        "mode": mode,
        "rows": len(grades),
        "correct": correct,
        "accuracy": correct / len(grades),
        "mean_reward": sum(grade.reward for grade in grades) / len(grades),
        "by_reason": dict(Counter(grade.reason for grade in grades).most_common()),
    }


def _row(sample_id: str, grade: Grade) -> dict[str, Any]:
    return {
        "id": sample_id,
        "correct": grade.correct,
        "reward": grade.reward,
        "extracted": grade.extracted,
        "reason": grade.reason,
    }


def grade_file(
    path: str | Path,
    *,
    mode: str = "default",
    out: str | Path | None = None,
    timeout: float = 2.0,
    compare: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> GradeReport:
    """Grade every row of ``path``; with ``compare``, also in the other mode, reporting where they disagree."""
    if out is not None:
        check_output_file(out)  # before the grading work, not after it
    ids, items = read_grade_inputs(path)
    with Grader(mode, timeout=timeout) as grader:
        grades = grader.grade_many(items, on_progress)
    rows = [_row(sample_id, grade) for sample_id, grade in zip(ids, grades, strict=True)]
    summary = _summarise(mode, grades)
    if compare:
        other_mode = COMPAT if mode == "default" else "default"
        with Grader(other_mode, timeout=timeout) as grader:
            others = grader.grade_many(items, on_progress)
        disagreements = Counter()
        for row, grade, other in zip(rows, grades, others, strict=True):
            row[other_mode] = {"correct": other.correct, "reward": other.reward, "reason": other.reason}
            if grade.correct != other.correct or grade.reward != other.reward:
                disagreements[f"{grade.reason} -> {other.reason}"] += 1
        summary["compared_with"] = _summarise(other_mode, others)
        summary["disagreements"] = {
            "rows": sum(disagreements.values()),
            "by_change": dict(disagreements.most_common()),
        }
    if out is not None:
        write_jsonl(out, rows)
        summary["written_to"] = str(out)
    return GradeReport(rows, summary)
