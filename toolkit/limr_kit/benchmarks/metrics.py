"""Benchmark metrics: avg@k, unbiased pass@k, maj@k and bootstrap confidence intervals over questions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np


BOOTSTRAP_ITERATIONS = 10_000


def pass_at_k(n: int, correct: int, k: int) -> float:
    """Unbiased pass@k from n samples of which ``correct`` are right (Chen et al., 2021)."""
    if n - correct < k:
        return 1.0
    return 1.0 - comb(n - correct, k) / comb(n, k)


def majority_correct(answers: Sequence[str | None], verdicts: Sequence[bool]) -> bool:
    """Whether the most common final answer (first on ties; no answer never wins) is right."""
    votes = Counter(answer for answer in answers if answer is not None)
    if not votes:
        return False
    winner = votes.most_common(1)[0][0]
    return next(verdict for answer, verdict in zip(answers, verdicts, strict=True) if answer == winner)


def bootstrap_ci(
    scores: Sequence[float], seed: int = 0, iterations: int = BOOTSTRAP_ITERATIONS
) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of per-question scores (questions resampled)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return (float("nan"), float("nan"))
    draws = np.random.default_rng(seed).integers(0, values.size, size=(iterations, values.size))
    means = values[draws].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Run minus baseline on the questions both answered, with a paired bootstrap."""

    difference: float
    ci95: tuple[float, float]
    p_value: float
    n_questions: int


def paired_bootstrap(
    run: Sequence[float], baseline: Sequence[float], seed: int = 0, iterations: int = BOOTSTRAP_ITERATIONS
) -> PairedComparison:
    """Resample questions jointly; p is two-sided: how often the resampled difference crosses zero."""
    a = np.asarray(run, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    draws = np.random.default_rng(seed).integers(0, a.size, size=(iterations, a.size))
    differences = (a[draws] - b[draws]).mean(axis=1)
    observed = float(a.mean() - b.mean())
    below = float(np.mean(differences <= 0))
    above = float(np.mean(differences >= 0))
    p_value = min(1.0, 2 * min(below, above)) if observed != 0 or below != above else 1.0
    low, high = np.percentile(differences, [2.5, 97.5])
    return PairedComparison(observed, (float(low), float(high)), p_value, int(a.size))


def summarise_benchmark(
    per_question: Sequence[Sequence[bool]], answers: Sequence[Sequence[str | None]], seed: int = 0
) -> dict:
    """Accuracy (avg over all samples), CI, pass@k and maj@k for a benchmark's questions, in percent."""
    n_samples = max((len(verdicts) for verdicts in per_question), default=0)
    question_scores = [sum(verdicts) / len(verdicts) if verdicts else 0.0 for verdicts in per_question]
    low, high = bootstrap_ci(question_scores, seed)
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64) if k <= n_samples]
    result = {
        "accuracy": 100 * float(np.mean(question_scores)) if question_scores else float("nan"),
        "ci95": [100 * low, 100 * high],
        "pass_at_k": {
            str(k): 100 * float(np.mean([pass_at_k(len(v), sum(v), k) if v else 0.0 for v in per_question]))
            for k in ks
        },
    }
    if n_samples > 1:
        result["maj_at_k"] = {
            str(n_samples): 100
            * float(np.mean([majority_correct(a, v) for a, v in zip(answers, per_question, strict=True)]))
        }
    return result
