"""The state of every job of a sweep: the retry rule, the live table, and ``sweep.json``."""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from limr_kit._io import write_json
from limr_kit.benchmarks.results import BenchResults
from limr_kit.sweep.spec import Job
from limr_kit.sweep.worker import Outcome


STYLES = {
    "queued": "dim",
    "running": "cyan",
    "retrying": "yellow",
    "done": "green",
    "reused": "green",
    "failed": "red",
}


@dataclass
class JobState:
    job: Job
    state: str = "queued"
    attempts: int = 0
    seconds: float = 0.0  # over all attempts
    load_seconds: float = 0.0
    accuracy: dict[str, float] | None = None
    errors: list[str] = field(default_factory=list)  # one per failed attempt
    host: str = ""
    started: float | None = None

    def as_dict(self, out: Path) -> dict[str, Any]:
        job = self.job
        return {
            "job": job.key,
            "model": job.model,
            "source": job.source,
            "suite": job.suite,
            "seed": job.seed,
            "benchmarks": list(job.benchmarks),
            "folder": str(job.folder(out)),
            "state": self.state,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
            "load_seconds": round(self.load_seconds, 3),
            "accuracy": self.accuracy,
            "errors": self.errors,
            "host": self.host,
        }


class Tracker:
    """Job states, updated by a runner as attempts start and end; a failed attempt is retried ``retries`` times."""

    def __init__(self, jobs: list[Job], out: Path, retries: int, runner: str) -> None:
        self.states = {job.key: JobState(job) for job in jobs}
        self.out = out
        self.retries = retries
        self.runner = runner
        self.timings: dict[str, list[float]] = {}  # phase -> seconds (connect, actor start)

    def reused(self, job: Job, results: BenchResults) -> None:
        state = self.states[job.key]
        state.state = "reused"
        state.accuracy = {name: item.accuracy for name, item in results.benchmarks.items()}

    def started(self, job: Job) -> None:
        state = self.states[job.key]
        state.state, state.started = "running", time.monotonic()
        state.attempts += 1

    def finished(self, outcome: Outcome) -> bool:
        """Record an attempt's outcome; True when the job is to be tried again."""
        state = self.states[outcome.job.key]
        state.seconds += outcome.seconds
        state.load_seconds += outcome.load_seconds
        state.host, state.started = outcome.host, None
        if outcome.error is None:
            state.state, state.accuracy = "done", outcome.accuracy
            return False
        state.errors.append(outcome.error)
        state.state = "retrying" if state.attempts <= self.retries else "failed"
        return state.state == "retrying"

    def timed(self, phase: str, seconds: float) -> None:
        self.timings.setdefault(phase, []).append(seconds)

    @property
    def failed(self) -> list[JobState]:
        return [state for state in self.states.values() if state.state == "failed"]

    def counts(self) -> Counter[str]:
        return Counter(state.state for state in self.states.values())

    def table(self) -> Table:
        counts = self.counts()
        title = f"sweep ({self.runner}): " + ", ".join(f"{counts[s]} {s}" for s in STYLES if counts[s])
        table = Table(title=title)
        for column in ("job", "state", "attempts", "time", "accuracy / error"):
            table.add_column(column, justify="right" if column in ("attempts", "time") else "left")
        now = time.monotonic()
        for state in self.states.values():
            seconds = state.seconds + (now - state.started if state.started is not None else 0.0)
            if state.accuracy is not None:
                detail = ", ".join(f"{name} {value:.1f}" for name, value in state.accuracy.items())
            else:
                detail = state.errors[-1][:100] if state.errors else ""
            table.add_row(
                state.job.key,
                f"[{STYLES[state.state]}]{state.state}[/]",
                str(state.attempts),
                f"{seconds:.0f}s" if seconds else "",
                detail,
            )
        return table

    def save(self) -> Path:
        """``OUT/sweep.json``: every job's state, attempts, errors and times."""
        path = self.out / "sweep.json"
        write_json(
            path,
            {
                "runner": self.runner,
                "counts": dict(self.counts()),
                "timings": {phase: [round(s, 3) for s in values] for phase, values in self.timings.items()},
                "jobs": [state.as_dict(self.out) for state in self.states.values()],
            },
        )
        return path

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        """The job table, redrawn on stderr while the sweep runs (off with LIMR_NO_PROGRESS=1)."""
        if os.environ.get("LIMR_NO_PROGRESS") == "1":
            yield
            return
        from rich.live import Live

        from limr_kit.console import err

        with Live(get_renderable=self.table, console=err, refresh_per_second=2, transient=True):
            yield
