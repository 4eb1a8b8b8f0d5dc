"""Grade a JSONL file of (prediction, gold) rows: ``limr-kit grade``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from limr_kit._io import check_output_file, iter_jsonl, write_jsonl
from limr_kit.artifacts import Artifact
from limr_kit.errors import BadRowError, InputError
from limr_kit.progress import Progress
from limr_kit.rewards.grader import COMPAT, Grade, GradeInput, Grader
from limr_kit.rewards.policies import BOXED, check_policy


SHOWN_DISAGREEMENTS = 20  # row ids listed in the summary (all of them are in --out)


class GradeCounts(BaseModel):
    """How one (mode, answer policy) graded the rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: str
    answer_policy: str
    rows: int
    correct: int
    accuracy: float
    mean_reward: float
    by_reason: dict[str, int]

    @classmethod
    def of(cls, mode: str, policy: str, grades: list[Grade]) -> GradeCounts:
        correct = sum(grade.correct for grade in grades)
        return cls(
            mode=mode,
            answer_policy=policy,
            rows=len(grades),
            correct=correct,
            accuracy=correct / len(grades),
            mean_reward=sum(grade.reward for grade in grades) / len(grades),
            by_reason=dict(Counter(grade.reason for grade in grades).most_common()),
        )


class Disagreements(BaseModel):
    """Rows the two settings grade differently: how many, by change of reason, the first few ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rows: int
    by_change: dict[str, int]
    ids: list[str]


class GradeSummary(Artifact, GradeCounts):
    """What ``limr-kit grade`` reports (``--json``): its counts, and those of the setting compared with."""

    WHAT: ClassVar[str] = "limr-kit grade summary"
    REDO: ClassVar[str] = "Run `limr-kit grade --json` again."
    schema_id: Literal["limr-kit/grade-summary@1"] = Field("limr-kit/grade-summary@1", alias="schema")
    compared_with: GradeCounts | None = None
    disagreements: Disagreements | None = None
    written_to: str | None = None


@dataclass(frozen=True, slots=True)
class GradeReport:
    """Per-row grades (as written to ``--out``) and the summary."""

    rows: list[dict[str, Any]]
    summary: GradeSummary


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


def _row(sample_id: str, grade: Grade) -> dict[str, Any]:
    return {
        "id": sample_id,
        "correct": grade.correct,
        "reward": grade.reward,
        "extracted": grade.extracted,
        "via": grade.via,
        "reason": grade.reason,
    }


def _other_setting(mode: str, policy: str, compare: bool, compare_policy: str | None) -> tuple[str, str] | None:
    """The (mode, policy) to compare with: the other mode (``compare``) or another policy in the same mode."""
    if compare and compare_policy is not None:
        raise InputError("Give --compare (the other mode) or --compare-policy (another answer policy), not both.")
    if compare:
        if policy != BOXED:
            raise InputError(
                "--compare grades in limr-compat mode too, which reads only boxes: use --answer-policy boxed."
            )
        return (COMPAT if mode == "default" else "default"), BOXED
    if compare_policy is not None:
        check_policy(compare_policy, mode)
        if compare_policy == policy:
            raise InputError(f"--compare-policy {compare_policy} is the policy being graded; name another one.")
        return mode, compare_policy
    return None


def _compare(rows: list[dict[str, Any]], grades: list[Grade], others: list[Grade], label: str) -> Disagreements:
    """Each row gets the other verdict under ``label``; the summary counts and lists the rows that disagree."""
    changes: Counter[str] = Counter()
    where: list[str] = []
    for row, grade, other in zip(rows, grades, others, strict=True):
        row[label] = {"correct": other.correct, "reward": other.reward, "reason": other.reason}
        if other.extracted != grade.extracted:
            row[label]["extracted"] = other.extracted
        if grade.correct != other.correct or grade.reward != other.reward:
            changes[f"{grade.reason} -> {other.reason}"] += 1
            where.append(row["id"])
    return Disagreements(rows=len(where), by_change=dict(changes.most_common()), ids=where[:SHOWN_DISAGREEMENTS])


def grade_file(
    path: str | Path,
    *,
    mode: str = "default",
    policy: str = BOXED,
    out: str | Path | None = None,
    timeout: float = 2.0,
    compare: bool = False,
    compare_policy: str | None = None,
    progress: Progress | None = None,
) -> GradeReport:
    """Grade every row of ``path``; with ``compare`` also in the other mode, with ``compare_policy`` also under
    that answer policy, reporting where the two disagree."""
    check_policy(policy, mode)
    other = _other_setting(mode, policy, compare, compare_policy)
    if out is not None:
        check_output_file(out)  # before the grading work, not after it
    ids, items = read_grade_inputs(path)
    with Grader(mode, policy=policy, timeout=timeout) as grader:
        grades = grader.grade_many(items, progress, f"grading ({mode}, {policy})")
    rows = [_row(sample_id, grade) for sample_id, grade in zip(ids, grades, strict=True)]
    extra: dict[str, Any] = {}
    if other is not None:
        other_mode, other_policy = other
        with Grader(other_mode, policy=other_policy, timeout=timeout) as grader:
            others = grader.grade_many(items, progress, f"grading ({other_mode}, {other_policy})")
        label = other_mode if other_mode != mode else other_policy
        extra["compared_with"] = GradeCounts.of(other_mode, other_policy, others)
        extra["disagreements"] = _compare(rows, grades, others, label)
    if out is not None:
        write_jsonl(out, rows)
        extra["written_to"] = str(out)
    counts = GradeCounts.of(mode, policy, grades).model_dump()
    summary = GradeSummary(**counts, **extra)
    return GradeReport(rows, summary)
