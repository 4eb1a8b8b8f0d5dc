"""``limr-kit tiny-model``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from limr_kit.console import out, progress_bars


def tiny_model(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the checkpoint into (files replaced atomically).")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the weights (same seed, same bytes).")] = 0,
    warm_start_steps: Annotated[
        int,
        typer.Option(
            "--warm-start-steps",
            min=0,
            help="Train this many steps on chat-formatted additions so greedy answers land in \\boxed{} "
            "(600 takes about 25 s of CPU; 0 keeps random weights).",
        ),
    ] = 0,
    max_position_embeddings: Annotated[
        int, typer.Option("--max-position-embeddings", min=16, help="Context length of the model.")
    ] = 1024,
) -> None:
    """Write a tiny Qwen2-architecture model with its own tokenizer and chat template, no download needed."""
    from limr_kit.tinymodel import write_tiny_model

    with progress_bars(transient=True) as show:
        path = write_tiny_model(
            out_dir,
            seed=seed,
            max_position_embeddings=max_position_embeddings,
            warm_start_steps=warm_start_steps,
            progress=show,
        )
    table = Table(title=f"tiny model in {path}", show_header=True)
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for file in sorted(path.iterdir()):
        table.add_row(file.name, f"{file.stat().st_size:,}")
    out.print(table)
