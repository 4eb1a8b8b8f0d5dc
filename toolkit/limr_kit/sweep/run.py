"""``limr-kit sweep``: every job of a spec, locally one after another or on a Ray cluster, then the comparison.

Layout of ``OUT``: ``<model>/<suite>/seed-<s>/`` per job (what ``limr-kit bench`` writes), ``<model>/<suite>/
results.json`` over its seeds, ``sweep.json`` (each job's state, attempts, errors, times) and, per suite,
``compare-<suite>.md`` and ``compare-<suite>.png``. A job whose folder holds finished results with the same
settings is reused, not run again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from limr_kit._io import atomic_path, ensure_writable_dir, write_text
from limr_kit.benchmarks.compare import Comparison, compare_runs, plot_comparison, render
from limr_kit.benchmarks.results import RESULTS_FILE
from limr_kit.benchmarks.seeds import aggregate_seeds, seed_folder
from limr_kit.errors import LimrError
from limr_kit.sweep.spec import Job, Sweep, load_sweep
from limr_kit.sweep.status import JobState, Tracker
from limr_kit.sweep.worker import ModelWorker, job_reusable


class SweepJobsFailed(LimrError):
    """Some jobs failed every attempt; the others finished."""


@dataclass(frozen=True, slots=True)
class SweepResult:
    out: Path
    tracker: Tracker
    comparisons: dict[str, Comparison]  # suite -> the models on it

    @property
    def failed(self) -> list[JobState]:
        return self.tracker.failed

    def raise_for_failures(self) -> None:
        """A :class:`SweepJobsFailed` naming the jobs that failed, if any did."""
        failed = self.failed
        if failed:
            listed = "; ".join(f"{state.job.key}: {state.errors[-1]}" for state in failed[:5])
            more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
            raise SweepJobsFailed(
                f"{len(failed)} of {len(self.tracker.states)} sweep jobs failed after {self.tracker.retries + 1} "
                f"attempts: {listed}{more}. The others are in {self.out}; see {self.out / 'sweep.json'}. Fix the "
                "cause and run the same command again: finished jobs are reused."
            )


def run_local(sweep: Sweep, todo: list[Job], out: Path, tracker: Tracker, refresh: Callable[[], None]) -> None:
    """The jobs one after another in this process, each model's engine loaded once for its jobs."""
    for model in dict.fromkeys(job.model for job in todo):
        worker = ModelWorker()
        try:
            for job in (job for job in todo if job.model == model):
                again = True
                while again:
                    tracker.started(job)
                    refresh()
                    again = tracker.finished(worker.run(job, str(job.folder(out)), sweep.options(job)))
        finally:
            worker.close()


def _compare(sweep: Sweep, out: Path) -> dict[str, Comparison]:
    """Per suite, the models with results: a table (markdown) and a plot beside the runs."""
    comparisons = {}
    for suite, plan in sweep.plans.items():
        names, folders = [], []
        for model in sweep.models:
            folder = out / model / suite
            if any((folder / seed_folder(seed) / RESULTS_FILE).is_file() for seed, _ in plan):
                aggregate_seeds(folder, plan)
                names.append(model)
                folders.append(folder)
        if not folders:
            continue
        baseline = sweep.spec.baseline
        base = out / baseline / suite if baseline in names else None
        comparison = compare_runs(folders, baseline=base, names=names)
        write_text(out / f"compare-{suite}.md", render(comparison, "markdown") + "\n")
        with atomic_path(out / f"compare-{suite}.png") as tmp:
            plot_comparison(comparison, tmp)
        comparisons[suite] = comparison
    return comparisons


def run_sweep(spec: str | Path, out: str | Path, ray_address: str | None = None) -> SweepResult:
    """Run the sweep ``spec`` into ``out`` (on the Ray cluster at ``ray_address``, or ``RAY_ADDRESS``, if given)."""
    sweep = load_sweep(spec)
    out = ensure_writable_dir(out)
    address = ray_address or os.environ.get("RAY_ADDRESS") or None
    tracker = Tracker(sweep.jobs, out, sweep.spec.retries, f"ray {address}" if address else "local")
    todo = []
    for job in sweep.jobs:
        results = job_reusable(job, job.folder(out), sweep.options(job))
        if results is None:
            todo.append(job)
        else:
            tracker.reused(job, results)
    tracker.save()
    last_save = time.monotonic()

    def refresh() -> None:
        nonlocal last_save
        if time.monotonic() - last_save > 5:
            tracker.save()
            last_save = time.monotonic()

    with tracker.live():
        if todo and address:
            from limr_kit.sweep.ray_runner import connect, run_on_ray

            start = time.perf_counter()
            ray = connect(address)
            tracker.timed("connect", time.perf_counter() - start)
            try:
                run_on_ray(ray, sweep, todo, out, tracker, refresh)
            finally:
                ray.shutdown()  # this driver only; the cluster stays up
        elif todo:
            run_local(sweep, todo, out, tracker, refresh)
    tracker.save()
    return SweepResult(out, tracker, _compare(sweep, out))
