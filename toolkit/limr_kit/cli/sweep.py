"""``limr-kit sweep``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from limr_kit.cli._options import OutOpt
from limr_kit.console import err, out


def sweep(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (YAML): models, suites, seeds, engine settings.")],
    out_dir: OutOpt = Path("sweep-out"),
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            envvar="RAY_ADDRESS",
            help="Run the jobs on this Ray cluster (HOST:PORT, ray://HOST:PORT or auto); default: one after another "
            "on this machine.",
        ),
    ] = None,
) -> None:
    """Benchmark models x suites x seeds (one bench job each, finished jobs reused), then compare them."""
    from limr_kit.benchmarks.compare import paired_rows, table_rows
    from limr_kit.cli.bench import _rich_table
    from limr_kit.sweep import run_sweep

    result = run_sweep(spec, out_dir, ray_address)
    err.print(result.tracker.table())
    for suite, comparison in result.comparisons.items():
        out.print(_rich_table(table_rows(comparison), f"{suite}: accuracy (%), mean ± std over seeds, 95% CI"))
        if comparison.paired:
            out.print(_rich_table(paired_rows(comparison), f"{suite}: difference vs {comparison.baseline} (points)"))
        for note in comparison.notes:
            out.print(f"[dim]{note}[/dim]")
    err.print(f"sweep: {result.out / 'sweep.json'}; tables and plots: {result.out}/compare-<suite>.md|.png")
    result.raise_for_failures()
