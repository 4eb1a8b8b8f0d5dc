"""``limr-kit selections``: reports over several selections of the same samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from limr_kit.cli._options import JsonOpt, OutOpt
from limr_kit.console import err, out, print_json


app = typer.Typer(help="Compare selections made by limr-kit score over the same samples.", no_args_is_help=True)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@app.command("compare")
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="Two or more limr-kit score output folders.")],
    out_dir: OutOpt,
    trajectories: Annotated[
        Path | None,
        typer.Option("--trajectories", help="Reward log for the mean trajectories (default: the first run's input)."),
    ] = None,
    samples_per_prompt: Annotated[
        int | None, typer.Option("--samples-per-prompt", min=1, help="As for score, to re-read the reward log.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sizes, pairwise Jaccard overlap, Spearman and Kendall rank correlation over the common samples, the samples
    only one method picks, and comparison.png (overlap heatmaps and each method's mean trajectory)."""
    from limr_kit.lim import ReadOptions
    from limr_kit.lim.compare import write_comparison

    with err.status("comparing selections"):
        summary = write_comparison(
            run_dirs, out_dir, trajectories=trajectories, options=ReadOptions(samples_per_prompt=samples_per_prompt)
        )
    if as_json:
        print_json(summary)
        return
    sizes = Table(title="selections")
    for name in ("method", "scored", "selected", "only this method"):
        sizes.add_column(name)
    for run in summary["runs"]:
        only = summary["only_one_method"][run["label"]]["count"]
        sizes.add_row(run["label"], str(run["scored"]), str(run["selected"]), str(only))
    out.print(sizes)
    pairs = Table(title="pairs")
    for name in ("a", "b", "jaccard", "spearman", "kendall", "common"):
        pairs.add_column(name)
    for pair in summary["pairs"]:
        pairs.add_row(
            pair["a"], pair["b"], _number(pair["jaccard"]), _number(pair["spearman"]), _number(pair["kendall"]),
            str(pair["common_samples"]),
        )  # fmt: skip
    out.print(pairs)
    out.print(f"written to {out_dir}")
