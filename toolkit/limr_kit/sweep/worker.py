"""The bench jobs of one model, run in one process with the model loaded once: in this process for a local sweep,
in a Ray actor on a cluster (the same class, wrapped by ``ray.remote``)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from limr_kit.benchmarks.engine_options import EngineCache
from limr_kit.benchmarks.results import RESULTS_FILE, BenchResults
from limr_kit.benchmarks.run import BenchOptions, run_bench
from limr_kit.errors import InputError
from limr_kit.sweep.spec import Job


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt at a job gave: its headline numbers, or the error it failed with."""

    job: Job
    seconds: float
    load_seconds: float = 0.0  # of ``seconds``, starting the engine (loading the model)
    accuracy: dict[str, float] | None = None
    error: str | None = None
    host: str = ""


class ModelWorker:
    """Runs jobs one at a time, keeping their model's engine between them."""

    def __init__(self) -> None:
        self.engines = EngineCache()

    def ready(self) -> str:
        """Where this worker runs (answers once it is up)."""
        return f"{os.uname().nodename}:{os.getpid()}"

    def run(self, job: Job, folder: str, options: BenchOptions) -> Outcome:
        start = time.perf_counter()
        loads = self.engines.load_seconds
        try:
            results = run_bench(job.source, Path(folder), options, engines=self.engines)
        except Exception as exc:  # reported, and the job retried; the engine may be broken: start afresh
            self.engines.close()
            return Outcome(job, time.perf_counter() - start, error=describe(exc), host=self.ready())
        accuracy = {name: item.accuracy for name, item in results.benchmarks.items()}
        seconds = time.perf_counter() - start
        return Outcome(job, seconds, self.engines.load_seconds - loads, accuracy, host=self.ready())

    def close(self) -> None:
        self.engines.close()


def describe(exc: BaseException) -> str:
    """One line naming an error: its type and the first line of its message."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def job_reusable(job: Job, folder: Path, options: BenchOptions) -> BenchResults | None:
    """The results of a finished earlier run of ``job`` in ``folder`` with the same settings, else None."""
    path = folder / RESULTS_FILE
    if not path.is_file():
        return None
    try:
        results = BenchResults.load(path)
    except InputError:
        return None
    model = results.model
    same = (
        results.complete
        and job.source in (model.id, f"{model.id}@{model.revision}")
        and results.suite == options.suite
        and results.engine == options.engine
        and results.provenance.get("seed") == options.seed
        and results.provenance.get("limit") == options.limit
        and list(results.benchmarks) == list(job.benchmarks)
    )
    return results if same else None
