"""Several seeds of one benchmark run: which benchmarks each seed runs, and the results over seeds.

A run folder with several seeds holds one bench run per seed in ``seed-<s>/`` (each exactly what a one-seed
``limr-kit bench`` writes) and, beside them, a ``results.json`` over the seeds. Per benchmark it gives the mean
and the sample standard deviation (ddof=1) of the seeds' accuracies, the seed-averaged per-question scores (what
``compare --baseline`` pairs), each seed's own accuracy and question-bootstrap CI, and a 95% CI that combines
question and seed variance by a two-level bootstrap: each iteration draws the questions with replacement, then
the seeds with replacement, and takes the mean score over the drawn seeds on the drawn questions; the CI is the
2.5th and 97.5th percentile of those means.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from limr_kit.benchmarks.config import SuiteSpec
from limr_kit.benchmarks.metrics import BOOTSTRAP_ITERATIONS
from limr_kit.benchmarks.results import RESULTS_FILE, BenchmarkResult, BenchResults, average_accuracy
from limr_kit.errors import InputError


if TYPE_CHECKING:
    from limr_kit.benchmarks.engine_options import EngineCache
    from limr_kit.benchmarks.run import BenchOptions
    from limr_kit.progress import Progress


SEED_METHOD = (
    "two-level bootstrap: questions resampled with replacement, then seeds resampled with replacement; "
    "95% percentile interval of the mean over drawn seeds and questions"
)


def seed_folder(seed: int) -> str:
    """The sub-folder of a multi-seed run holding seed ``seed``'s bench run."""
    return f"seed-{seed}"


def seed_plan(suite: SuiteSpec, seeds: int | None, first: int = 0) -> list[tuple[int, tuple[str, ...]]]:
    """(seed, benchmarks run with it) for each seed: ``seeds`` for every benchmark, else the suite's own counts."""
    counts = {name: seeds or suite.seeds.get(name, 1) for name in suite.benchmarks}
    return [
        (first + index, tuple(name for name in suite.benchmarks if counts[name] > index))
        for index in range(max(counts.values()))
    ]


def two_level_draws(scores: np.ndarray, seed: int = 0, iterations: int = BOOTSTRAP_ITERATIONS) -> np.ndarray:
    """Bootstrap means of ``scores`` (seeds x questions): questions resampled, then seeds (see the module)."""
    n_seeds, n_questions = scores.shape
    rng = np.random.default_rng(seed)
    question_counts = rng.multinomial(n_questions, np.full(n_questions, 1 / n_questions), size=iterations)
    seed_means = question_counts @ scores.T / n_questions  # (iterations, seeds): each seed on the drawn questions
    seed_counts = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=iterations)
    return (seed_counts * seed_means).sum(axis=1) / n_seeds


def two_level_ci(scores: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of :func:`two_level_draws`."""
    if scores.size == 0:
        return (float("nan"), float("nan"))
    low, high = np.percentile(two_level_draws(scores, seed), [2.5, 97.5])
    return float(low), float(high)


def seed_statistics(per_seed: dict[int, dict[str, float]], seed: int = 0) -> dict[str, Any]:
    """Over seeds, from each seed's per-question scores (0..1) on one benchmark; accuracies in percent.

    Only the questions every seed answered count.
    """
    seeds = sorted(per_seed)
    common = sorted(set.intersection(*(set(per_seed[s]) for s in seeds)))
    scores = np.array([[per_seed[s][q] for q in common] for s in seeds], dtype=np.float64).reshape(len(seeds), -1)
    accuracies = 100 * scores.mean(axis=1) if common else np.full(len(seeds), np.nan)
    low, high = two_level_ci(scores, seed)
    return {
        "n": len(seeds),
        "accuracies": {str(s): float(value) for s, value in zip(seeds, accuracies, strict=True)},
        "mean": float(accuracies.mean()),
        "std": float(accuracies.std(ddof=1)) if len(seeds) > 1 else float("nan"),
        "ci95": [100 * low, 100 * high],
        "method": SEED_METHOD,
        "per_question": {q: float(value) for q, value in zip(common, scores.mean(axis=0), strict=True)},
    }


def _benchmark_over_seeds(runs: dict[int, BenchmarkResult], seed: int) -> dict[str, Any]:
    first = runs[min(runs)]
    stats = seed_statistics({s: item.per_question for s, item in runs.items()}, seed)
    per_question = stats.pop("per_question")
    return {
        "title": first.title,
        "hub_dataset": first.hub_dataset,
        "split": first.split,
        "metric": first.metric,
        "accuracy": stats["mean"],
        "ci95": stats["ci95"],
        "std": stats["std"],
        "seeds": stats,
        "per_seed": {str(s): {"accuracy": item.accuracy, "ci95": item.ci95} for s, item in sorted(runs.items())},
        "n_questions": len(per_question),
        "n_samples": first.n_samples,
        "decoding": first.decoding.model_dump(exclude={"seed"}, exclude_unset=True),
        "system_prompt": first.system_prompt,
        "data": first.data,
        "per_question": per_question,
    }


def aggregate_seeds(out: str | Path, plan: list[tuple[int, tuple[str, ...]]], seed: int = 0) -> BenchResults:
    """Write ``out/results.json`` over the seed runs of ``plan`` found in ``out``; returns it.

    Its status is ``complete`` only when every planned seed run is complete.
    """
    out = Path(out)
    found: dict[int, BenchResults] = {}
    for run_seed, _ in plan:
        path = out / seed_folder(run_seed) / RESULTS_FILE
        if path.is_file():
            found[run_seed] = BenchResults.load(path)
    if not found:
        raise FileNotFoundError(f"no seed run in {out}")
    complete = len(found) == len(plan) and all(item.complete for item in found.values())
    names = [name for name in dict.fromkeys(n for _, benchmarks in plan for n in benchmarks)]
    benchmarks = {}
    for name in names:
        runs = {s: item.benchmarks[name] for s, item in found.items() if name in item.benchmarks}
        if runs:
            benchmarks[name] = _benchmark_over_seeds(runs, seed)
    first = found[min(found)].to_dict()
    results = BenchResults.build(
        status="complete" if complete else "partial",
        suite=first["suite"],
        model=first["model"],
        engine=first["engine"],
        seeds={name: sorted(s for s, benchmarks in plan if name in benchmarks) for name in names},
        benchmarks=benchmarks,
        average=average_accuracy(benchmarks),
        provenance={**first["provenance"], "seed": None, "seed_runs": [seed_folder(s) for s in sorted(found)]},
    )
    results.save(out / RESULTS_FILE)
    return results


def run_seeds(
    model_name: str,
    out: str | Path,
    options: BenchOptions,
    plan: list[tuple[int, tuple[str, ...]]],
    progress: Progress | None = None,
    engines: EngineCache | None = None,
) -> BenchResults:
    """Each seed of ``plan`` as a bench run in ``out/seed-<s>/`` (one engine for all), then results over seeds."""
    from limr_kit.benchmarks.engine_options import EngineCache
    from limr_kit.benchmarks.run import run_bench
    from limr_kit.progress import renamed

    out = Path(out)
    if (out / "run.json").is_file():
        raise InputError(
            f"{out} holds a one-seed run; a run with several seeds keeps each in {out}/seed-<s>/. Use another --out."
        )
    shared = engines or EngineCache()
    try:
        for seed, benchmarks in plan:
            labelled = renamed(progress, lambda task, seed=seed: f"{task} seed {seed}")
            one = replace(options, seed=seed, seeds=1, benchmarks=benchmarks)
            run_bench(model_name, out / seed_folder(seed), one, labelled, shared)
            results = aggregate_seeds(out, plan, options.seed)
    finally:
        if engines is None:
            shared.close()
    return results
