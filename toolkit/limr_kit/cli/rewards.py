"""``limr-kit grade``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from limr_kit.cli._options import AnswerPolicyOpt, JsonOpt, PolicyChoice
from limr_kit.console import out, print_json, progress_bars


if TYPE_CHECKING:
    from limr_kit.rewards.batch import GradeSummary


class ModeChoice(str, enum.Enum):
    default = "default"
    limr_compat = "limr-compat"


def _summary_table(summary: GradeSummary) -> Table:
    table = Table(title=f"grades ({summary.mode} mode, {summary.answer_policy} answers)", show_header=False)
    table.add_row("rows", str(summary.rows))
    table.add_row("accuracy", f"{summary.accuracy:.1%} ({summary.correct} correct)")
    table.add_row("mean reward", f"{summary.mean_reward:.3f}")
    for reason, count in summary.by_reason.items():
        table.add_row(f"  {reason}", str(count))
    if (other := summary.compared_with) is not None and (disagreements := summary.disagreements) is not None:
        name = other.mode if other.mode != summary.mode else other.answer_policy
        table.add_row(f"{name} accuracy", f"{other.accuracy:.1%} ({other.correct} correct)")
        table.add_row("rows that disagree", str(disagreements.rows))
        for change, count in disagreements.by_change.items():
            table.add_row(f"  {change}", str(count))
        if disagreements.ids:
            more = disagreements.rows - len(disagreements.ids)
            table.add_row("  ids", ", ".join(disagreements.ids) + (f" (+{more} more, see --out)" if more else ""))
    if summary.written_to is not None:
        table.add_row("written to", summary.written_to)
    return table


def grade(
    file: Annotated[Path, typer.Argument(help="JSONL rows with prediction and gold (optional id, finish_reason).")],
    mode: Annotated[
        ModeChoice, typer.Option("--mode", help="default (correct grading) or limr-compat (released reward).")
    ] = ModeChoice.default,
    answer_policy: AnswerPolicyOpt = PolicyChoice.boxed,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write one graded row per input here (JSONL).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds allowed per response; past it: wrong, timeout.")
    ] = 2.0,
    compare: Annotated[
        bool, typer.Option("--compare", help="Also grade in the other mode and report disagreements.")
    ] = False,
    compare_policy: Annotated[
        PolicyChoice | None,
        typer.Option("--compare-policy", help="Also grade under this answer policy and report disagreements."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Grade predictions against gold answers: accuracy, rewards and counts by reason."""
    from limr_kit.rewards.batch import grade_file

    with progress_bars(transient=True) as show:
        report = grade_file(
            file,
            mode=mode.value,
            policy=answer_policy.value,
            out=out_path,
            timeout=timeout,
            compare=compare,
            compare_policy=compare_policy.value if compare_policy else None,
            progress=show,
        )
    if as_json:
        print_json(report.summary.to_dict())
    else:
        out.print(_summary_table(report.summary))
