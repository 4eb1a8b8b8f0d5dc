"""Terminal output: data goes to stdout (``out``), progress and status to stderr (``err``)."""

from __future__ import annotations

import logging
import os

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


out = Console(soft_wrap=True)
err = Console(stderr=True)


def progress(*, transient: bool = False) -> Progress:
    """A rich progress display on stderr with a bar, counts and timing."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=transient,
        disable=os.environ.get("LIMR_NO_PROGRESS") == "1",
    )


def print_json(value: object) -> None:
    """Print a value as indented JSON on stdout (NaN as null)."""
    from limr_kit._io import dumps

    out.print(dumps(value, indent=2), highlight=False, markup=False, soft_wrap=True)


def setup_logging(verbose: bool = False) -> None:
    """Send library logs to stderr through rich; ``verbose`` shows DEBUG."""
    root = logging.getLogger("limr_kit")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not any(isinstance(handler, RichHandler) for handler in root.handlers):
        handler = RichHandler(console=err, show_path=False, markup=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.propagate = False
