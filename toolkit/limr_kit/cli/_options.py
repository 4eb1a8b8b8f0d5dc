"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder (created; files are replaced atomically).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result summary as JSON on stdout.")]
ThresholdOpt = Annotated[
    float | None, typer.Option("--threshold", help="Select samples scoring >= this (default: lim 0.6, linear 0.7).")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Select with > instead of >= the threshold.")]
TopKOpt = Annotated[int | None, typer.Option("--top-k", help="Select the K best samples instead of a threshold.")]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Read DIR/<benchmark>/test.jsonl instead of the Hub (as bench).")
]
TextFieldOpt = Annotated[
    str | None,
    typer.Option("--text-field", help="Column with the problem (default: prompt, problem, question, context)."),
]
