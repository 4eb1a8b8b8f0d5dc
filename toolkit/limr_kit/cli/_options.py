"""Options shared by several commands, defined once; ``--image`` hands the whole command to a container."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, NoReturn

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
ImageOpt = Annotated[
    str | None,
    typer.Option("--image", help="Run this command inside the image TAG (see limr-kit build) instead of here."),
]
GpusOpt = Annotated[
    str | None,
    typer.Option("--gpus", help="With --image: GPUs for the container: all, a count, or device=0,1."),
]


def rerun_in_image(
    ctx: typer.Context,
    image: str,
    *,
    gpus: str | None = None,
    out_dir: Path | None = None,
    inputs: Iterable[str | Path | None] = (),
) -> NoReturn:
    """Run the current limr-kit command inside ``image`` instead of here, and exit with its status.

    For commands with :data:`ImageOpt` (and a ``ctx: typer.Context`` parameter): call it first when ``--image``
    is given; :func:`limr_kit.containers.rerun_limr_kit_in_image` does the work.
    """
    from limr_kit.console import err
    from limr_kit.containers import rerun_limr_kit_in_image

    argv = (ctx.find_root().obj or {}).get("argv", sys.argv[1:])
    code = rerun_limr_kit_in_image(
        image,
        argv,
        gpus=gpus,
        out_dir=out_dir,
        inputs=inputs,
        on_start=lambda args: err.print(
            f"running in {image}: limr-kit {' '.join(args)}", highlight=False, markup=False
        ),
        on_output=_write_output,
    )
    raise typer.Exit(code)


def _write_output(stream: str, data: bytes) -> None:
    target = sys.stdout if stream == "stdout" else sys.stderr
    target.flush()
    target.buffer.write(data)
    target.buffer.flush()


class PolicyChoice(str, enum.Enum):
    boxed = "boxed"
    last_boxed_or_final = "last-boxed-or-final"
    math_verify = "math-verify"


AnswerPolicyOpt = Annotated[
    PolicyChoice,
    typer.Option(
        "--answer-policy",
        help="Where the answer is read: boxed (last box), last-boxed-or-final (else a final 'answer is' line), "
        "math-verify (its own extraction).",
    ),
]
