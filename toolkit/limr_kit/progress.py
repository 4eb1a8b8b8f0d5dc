"""One progress protocol for library loops: a callable that receives :class:`ProgressEvent` values.

Library code reports what it has done (absolute counts, never increments) and the CLI renders it
(:func:`limr_kit.console.progress_bars`): one bar per ``task``. ``None`` in place of a callback means nobody
is watching.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class ProgressEvent:
    """``done`` of ``total`` units of ``task`` (``total`` None when unknown), with the latest metrics."""

    task: str
    done: float
    total: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)


Progress = Callable[[ProgressEvent], None]


def renamed(progress: Progress | None, name: Callable[[str], str]) -> Progress | None:
    """``progress`` with each event's task renamed by ``name`` (e.g. a seed added); ``None`` stays ``None``."""
    if progress is None:
        return None
    return lambda event: progress(replace(event, task=name(event.task)))


class ProgressCounter:
    """Counts finished units of one task and reports each new count to ``progress`` (thread-safe).

    Made, it reports its starting count at once, so a display shows the task (and work done before a resume).
    """

    def __init__(self, progress: Progress | None, task: str, total: float | None, done: float = 0) -> None:
        self.progress, self.task, self.total, self.done = progress, task, total, done
        self._lock = threading.Lock()
        self._report()

    def advance(self, count: float = 1) -> None:
        with self._lock:
            self.done += count
            self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(self.task, self.done, self.total))
