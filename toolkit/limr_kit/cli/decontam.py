"""``limr-kit decontaminate``: training prompts that share text with a benchmark suite."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from limr_kit.cli._options import DataDirOpt, JsonOpt, OutOpt, TextFieldOpt
from limr_kit.console import err, out, print_json


class RuleChoice(str, enum.Enum):
    default = "default"
    open_r1 = "open-r1"


def decontaminate(
    dataset: Annotated[Path, typer.Argument(help="Training set (JSON, JSONL, CSV, parquet, save_to_disk).")],
    suite: Annotated[str, typer.Option("--suite", help="Benchmark suite or single benchmark (as for bench).")],
    out_dir: OutOpt,
    rule: Annotated[RuleChoice, typer.Option("--rule", help="default (ours) or open-r1's exact rule.")] = (
        RuleChoice.default
    ),
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="default rule: similarity ratio that confirms (0.8).")
    ] = None,
    ngram: Annotated[int | None, typer.Option("--ngram", help="Words per n-gram (8).")] = None,
    drop: Annotated[
        bool, typer.Option("--drop", help="Also write the clean set (train.parquet/.jsonl, manifest).")
    ] = (False),
    text_field: TextFieldOpt = None,
    key: Annotated[str | None, typer.Option("--key", help="Column with the row id (default: id, if present).")] = None,
    split: Annotated[str, typer.Option("--split", help="Split of a saved DatasetDict.")] = "train",
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Flag training rows that share text with a benchmark suite's problems.

    open-r1: lowercase, collapse whitespace, word 8-grams; flagged if any 8-gram is shared (open-r1's
    scripts/decontaminate.py, for comparison with published numbers). default (ours): 8-gram candidates with
    numbers masked, ignoring boilerplate n-grams (in 3+ problems of a benchmark, or in 0.1% / 10+ training rows),
    confirmed by a similarity ratio >= --threshold on the texts without LaTeX layout (rapidfuzz if installed,
    else difflib). Writes report.json, report.md and flagged.jsonl; with --drop, the clean set and manifest.json.
    """
    from limr_kit.decontam import decontaminate as run

    with err.status(f"checking {dataset} against {suite}"):
        result = run(
            dataset,
            suite,
            out_dir,
            rule=rule.value,
            threshold=threshold,
            n=ngram,
            drop=drop,
            text_field=text_field,
            key=key,
            split=split,
            data_dir=data_dir,
        )
    if as_json:
        print_json(result.summary)
        return
    counts = result.summary["counts"]
    table = Table(title=f"decontamination ({result.summary['rule']})", show_header=False)
    table.add_row("rows", str(counts["rows"]))
    table.add_row("candidates", str(counts["candidates"]))
    table.add_row("flagged", str(counts["flagged"]))
    for name, flagged in counts["by_benchmark"].items():
        table.add_row(f"  {name}", str(flagged))
    table.add_row("written to", str(out_dir))
    out.print(table)
