"""``limr-kit grade``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from limr_kit.cli._options import JsonOpt
from limr_kit.console import out, print_json, progress


class ModeChoice(str, enum.Enum):
    default = "default"
    limr_compat = "limr-compat"


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"grades ({summary['mode']} mode)", show_header=False)
    table.add_row("rows", str(summary["rows"]))
    table.add_row("accuracy", f"{summary['accuracy']:.1%} ({summary['correct']} correct)")
    table.add_row("mean reward", f"{summary['mean_reward']:.3f}")
    for reason, count in summary["by_reason"].items():
        table.add_row(f"  {reason}", str(count))
    if "disagreements" in summary:
        other = summary["compared_with"]
        table.add_row(f"{other['mode']} accuracy", f"{other['accuracy']:.1%} ({other['correct']} correct)")
        table.add_row("rows that disagree", str(summary["disagreements"]["rows"]))
        for change, count in summary["disagreements"]["by_change"].items():
            table.add_row(f"  {change}", str(count))
    if "written_to" in summary:
        table.add_row("written to", summary["written_to"])
    return table


def grade(
    file: Annotated[Path, typer.Argument(help="JSONL rows with prediction and gold (optional id, finish_reason).")],
    mode: Annotated[
        ModeChoice, typer.Option("--mode", help="default (correct grading) or limr-compat (released reward).")
    ] = ModeChoice.default,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write one graded row per input here (JSONL).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds allowed per response; past it: wrong, timeout.")
    ] = 2.0,
    compare: Annotated[
        bool, typer.Option("--compare", help="Also grade in the other mode and report disagreements.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Grade predictions against gold answers: accuracy, rewards and counts by reason."""
    from limr_kit.rewards.batch import grade_file

    with progress(transient=True) as bar:
        task = bar.add_task("grading", total=None)
        report = grade_file(
            file,
            mode=mode.value,
            out=out_path,
            timeout=timeout,
            compare=compare,
            on_progress=lambda n: bar.advance(task, n),
        )
    if as_json:
        print_json(report.summary)
    else:
        out.print(_summary_table(report.summary))
