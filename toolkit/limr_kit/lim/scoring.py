"""Sample scorers: LIM, historical variance, linear progress and random, plus selection.

LIM (LIMR, arXiv 2502.11886): s_i = 1 - sum_k (r_ik - rbar_k)^2 / sum_k (1 - rbar_k)^2, rbar the mean
curve over the samples kept. Missing epochs are treated exactly as the released ``lim_selection.py``:
one pass back-fills an isolated gap from the next epoch; a sample still missing an epoch (its last,
or two in a row) is dropped.

Variance (One-Shot RLVR, arXiv 2504.20571): population std (ddof=0) of each sample's own history,
ranked descending.

Linear (our design; LIMR released no code for its LINEAR baseline): the Pearson correlation between a
sample's per-epoch values and the epoch index. 1 means a perfectly steady rise, 0 no linear trend (or
a flat trajectory), negative a decline. Default threshold 0.7.

Random: a seeded uniform draw of ``n`` samples (the RAND baseline).

GRESO, MoPPS, learnability, difficulty and solvable: see :mod:`limr_kit.lim.selectors`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from limr_kit.errors import InputError, ScoringError, UnknownNameError
from limr_kit.lim import selectors
from limr_kit.lim.selectors import SelectorOptions, SelectorOutput
from limr_kit.lim.trajectories import InputReport, TrajectorySet


Method = Literal["lim", "variance", "linear", "random", "greso", "mopps", "learnability", "difficulty", "solvable"]
Align = Literal["truncate", "drop"]

METHODS: tuple[str, ...] = (
    "lim",
    "variance",
    "linear",
    "random",
    "greso",
    "mopps",
    "learnability",
    "difficulty",
    "solvable",
)
DEFAULT_THRESHOLDS: dict[str, float] = {"lim": 0.6, "linear": 0.7}


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """Scores of every sample, the selection and what was needed to explain it."""

    method: str
    parameters: dict[str, Any]
    sample_ids: tuple[str, ...]
    scores: np.ndarray  # NaN for dropped samples
    selected: np.ndarray  # bool
    ranks: np.ndarray  # 1-based; 0 for dropped samples
    n_epochs: np.ndarray  # epochs with data, per sample
    dropped: dict[str, str]  # sample id -> reason
    reference_curve: np.ndarray  # mean curve over the scored samples
    curves: np.ndarray  # the per-epoch values that were scored (NaN-padded for variance/random)
    report: InputReport
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # per-sample values a method explains itself with

    @property
    def n_selected(self) -> int:
        return int(self.selected.sum())


def fill_isolated_gaps(matrix: np.ndarray) -> np.ndarray:
    """One left-to-right pass: a missing epoch takes the next epoch's value if that one is present."""
    filled = matrix.copy()
    for k in range(filled.shape[1] - 1):
        gap = np.isnan(filled[:, k]) & ~np.isnan(filled[:, k + 1])
        filled[gap, k] = filled[gap, k + 1]
    return filled


def aligned_curves(trajectories: TrajectorySet, align: Align) -> tuple[np.ndarray, dict[int, str]]:
    """Curves of equal length for LIM/linear, and the rows dropped with their reason."""
    matrix = trajectories.matrix
    dropped: dict[int, str] = {}
    if trajectories.report.layout == "wide":
        lengths = trajectories.observed
        if align == "truncate":
            return matrix[:, : int(lengths.min())], dropped
        for row in np.flatnonzero(lengths < matrix.shape[1]):
            dropped[int(row)] = "short_trajectory"
        return matrix, dropped
    filled = fill_isolated_gaps(matrix)
    for row in np.flatnonzero(np.isnan(filled).any(axis=1)):
        dropped[int(row)] = "missing_last_epoch" if np.isnan(filled[row, -1]) else "consecutive_missing_epochs"
    return filled, dropped


def lim_scores(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LIM score per row and the mean (reference) curve."""
    reference = curves.mean(axis=0)
    denominator = float(np.sum((1.0 - reference) ** 2))
    if denominator == 0.0:
        raise ScoringError(
            "The mean reward curve is 1 at every epoch (every kept sample is always solved), so LIM, which divides "
            "by sum_k (1 - rbar_k)^2, is undefined. Score a run in which the model still learns, or use "
            "--method variance."
        )
    return 1.0 - np.sum((curves - reference) ** 2, axis=1) / denominator, reference


def linear_scores(curves: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with the epoch index; 0 for flat rows."""
    epochs = np.arange(curves.shape[1], dtype=np.float64)
    if epochs.size < 2:
        raise ScoringError("The linear scorer needs at least 2 epochs per sample.")
    centred_t = epochs - epochs.mean()
    centred = curves - curves.mean(axis=1, keepdims=True)
    spread = np.sqrt(np.sum(centred**2, axis=1)) * np.sqrt(np.sum(centred_t**2))
    covariance = centred @ centred_t
    return np.divide(covariance, spread, out=np.zeros_like(covariance), where=spread > 0)


def _selector_output(method: str, matrix: np.ndarray, options: SelectorOptions, seed: int) -> SelectorOutput:
    if method == "greso":
        return selectors.greso(matrix, options, seed)
    if method == "mopps":
        return selectors.mopps(matrix, options)
    if method == "difficulty":
        return selectors.difficulty(matrix, options)
    return selectors.learnability(matrix) if method == "learnability" else selectors.solvable(matrix)


def _rank(scores: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """1-based rank by descending score (ties keep input order); 0 where not usable."""
    order = [int(i) for i in np.argsort(-np.where(usable, scores, -np.inf), kind="stable") if usable[i]]
    ranks = np.zeros(scores.size, dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def check_selection(threshold: float | None, top_k: int | None) -> None:
    """Refuse a threshold given with a top-k, and a threshold that is not a finite number."""
    if threshold is not None and top_k is not None:
        raise InputError("Give either --threshold or --top-k, not both.")
    if threshold is not None and not math.isfinite(threshold):
        raise InputError(f"--threshold must be a finite number, got {threshold}; e.g. --threshold 0.6.")


def score_trajectories(
    trajectories: TrajectorySet,
    method: str = "lim",
    *,
    threshold: float | None = None,
    strict: bool = False,
    top_k: int | None = None,
    n: int | None = None,
    seed: int = 0,
    align: Align = "truncate",
    options: SelectorOptions | None = None,
) -> ScoreResult:
    """Score every sample with ``method`` and select by threshold, top-k or (random) n."""
    if method not in METHODS:
        raise UnknownNameError("scoring method", method, METHODS)
    check_selection(threshold, top_k)
    if method == "random" and (threshold is not None or top_k is not None):
        raise InputError("The random method selects --n samples; it takes no --threshold or --top-k.")
    if method == "solvable" and (threshold is not None or top_k is not None):
        raise InputError("The solvable method keeps every sample with 0 < p < 1; it takes no --threshold or --top-k.")
    if method == "difficulty" and threshold is not None:
        raise InputError(
            "The difficulty method selects a band: give --target and --band (or --top-k), not --threshold."
        )
    if method == "random" and n is None:
        raise InputError("The random method needs --n (for example --n 1389 to match the LIMR set size).")
    if method != "random" and n is not None:
        raise InputError("--n is for --method random; use --top-k to keep the k best samples.")
    for name, value in (("--top-k", top_k), ("--n", n)):
        if value is not None and value < 1:
            raise InputError(f"{name} must be at least 1, got {value}.")

    count = len(trajectories.sample_ids)
    dropped_rows: dict[int, str] = {}
    output: SelectorOutput | None = None
    if method in ("lim", "linear"):
        curves, dropped_rows = aligned_curves(trajectories, align)
        kept = np.array([row not in dropped_rows for row in range(count)])
        if not kept.any():
            raise ScoringError(
                f"Every one of the {count} samples was dropped for missing epochs; nothing to score. "
                "Check that the log covers whole epochs (or set --steps-per-epoch)."
            )
        scores = np.full(count, np.nan)
        if method == "lim":
            scores[kept], reference = lim_scores(curves[kept])
        else:
            scores[kept] = linear_scores(curves[kept])
            reference = curves[kept].mean(axis=0)
    else:
        curves = trajectories.matrix
        kept = np.ones(count, dtype=bool)
        reference = np.nanmean(curves, axis=0)
        if method == "variance":
            scores = np.nanstd(curves, axis=1)
        elif method == "random":
            scores = np.random.default_rng(seed).random(count)
        else:
            output = _selector_output(method, curves, options or SelectorOptions(), seed)
            scores = output.scores

    ranks = _rank(scores if output is None else output.key, kept)
    default_threshold = DEFAULT_THRESHOLDS.get(method)
    if method == "variance" and threshold is None and top_k is None:
        top_k = 1  # One-Shot RLVR trains on pi_1, the single highest-variance example
    if method == "random":
        top_k = n
    if top_k is not None:
        selected = (ranks >= 1) & (ranks <= top_k)
        used_threshold = None
    elif output is not None and threshold is None:
        selected = kept & output.default_selected
        used_threshold = None
    else:
        used_threshold = threshold if threshold is not None else default_threshold
        with np.errstate(invalid="ignore"):
            selected = kept & ((scores > used_threshold) if strict else (scores >= used_threshold))
    parameters: dict[str, Any] = {
        "threshold": used_threshold,
        "strict": strict if used_threshold is not None else None,
        "top_k": top_k if method != "random" else None,
        "n": n,
        "seed": seed if method == "random" else None,
        "align": align if trajectories.report.layout == "wide" and method in ("lim", "linear") else None,
        **(output.parameters if output is not None else {}),
    }
    return ScoreResult(
        method=method,
        parameters={key: value for key, value in parameters.items() if value is not None},
        sample_ids=trajectories.sample_ids,
        scores=scores,
        selected=np.asarray(selected, dtype=bool),
        ranks=ranks,
        n_epochs=trajectories.observed,
        dropped={trajectories.sample_ids[row]: reason for row, reason in sorted(dropped_rows.items())},
        reference_curve=reference,
        curves=curves,
        report=trajectories.report,
        extras=output.extras if output is not None else {},
    )
