"""``limr-kit sft``: the SFT baselines (s1, LIMO) and the CPU preset."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from limr_kit.console import err, out


class Backend(str, enum.Enum):
    openrlhf = "openrlhf"
    trl = "trl"


def sft(
    recipe: Annotated[str, typer.Argument(help="An SFT recipe: sft-s1, sft-limo, sft-tiny, or a YAML path.")],
    dataset: Annotated[Path, typer.Option("--dataset", help="Rows in the recipe's fields (JSON/JSONL/parquet).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Run folder.")],
    model: Annotated[
        str | None, typer.Option("--model", help="Local checkpoint folder (default: the recipe's).")
    ] = None,
    backend: Annotated[
        Backend, typer.Option("--backend", help="OpenRLHF train_sft (GPUs) or TRL here.")
    ] = Backend.openrlhf,
    truncate: Annotated[
        bool, typer.Option("--truncate", help="Cut traces longer than max_len instead of refusing.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write the rows and the launch; train nothing.")] = False,
) -> None:
    """SFT a model with a recipe: OpenRLHF's train_sft launch on GPUs, or TRL's SFTTrainer in this process."""
    from limr_kit.train.sft_run import SftOptions, train_sft

    options = SftOptions(dataset, out_dir, model, backend.value, truncate, dry_run)
    with err.status(f"SFT {recipe}"):
        result = train_sft(recipe, options)
    if result.launch_script:
        out.print(result.launch_script, highlight=False, markup=False)
    err.print(f"{result.samples} chat rows ({result.too_long} cut to max_len) in {result.out}", highlight=False)
    if result.losses:
        err.print(
            f"loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}; model in {result.out / 'model'}", highlight=False
        )
