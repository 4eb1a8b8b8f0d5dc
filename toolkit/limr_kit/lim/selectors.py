"""Selectors beside LIM: GRESO and MoPPS on a run's reward histories, pass-rate rules on k samples per prompt.

Each takes the (samples x epochs) matrix of per-epoch pass rates (NaN where a sample has no value) and
returns its scores, the key it ranks by (descending), its default selection and per-sample extras.

GRESO (arXiv 2506.02177; Infini-AI-Lab/GRESO ``verl/trainer/ttis/presampling_selector.py``): a
prompt's streak k is the number of most recent consecutive epochs in which it was all-correct
(pass rate >= 0.98, "easy") or all-wrong (<= 0.11, "hard"); it is skipped with probability
1 - max(p^k, 0.01), p being p_easy or p_hard. p_easy and p_hard start at 0.5 (the released 7B script)
and move by 0.01 toward a zero-variance target of 0.25 (1/3 easy, 2/3 hard), clamped to [0.05, 0.95].
Our choices: the p update is replayed once per epoch of the log (GRESO does it per training step, on
the prompts it did not skip), and the score is the keep probability max(p^k, 0.01) (1 for a prompt
whose last epoch had variance); by default the selection is one seeded draw of GRESO's skip decision.

MoPPS (arXiv 2507.04632; thu-rllab/MoPPS ``recipe/ours/mopps.py``): a Beta(alpha, beta) per prompt,
from the prior Beta(1, 1); after each epoch with success rate s over n rollouts,
alpha <- lam*alpha + (1 - lam)*alpha0 + s*n and beta <- lam*beta + (1 - lam)*beta0 + (1 - s)*n
(lam = 1, the released default). The reference code's operator precedence sets alpha and beta to 8 when
n = 1; we do not copy that. Our choices: rank by the posterior mean's closeness 1 - |mean - target|
(MoPPS draws one Thompson sample per step), target 0.5; by default select posterior means inside
MoPPS's band [0.3, 0.7].

From pass rates p (the mean of a sample's per-epoch pass rates; one epoch for an ``estimate`` log):
learnability p(1 - p) (LILO, arXiv 2502.12272; SPEED-RL's SNR bound 4N p(1 - p)), by default
p(1 - p) >= 3/16, i.e. 0.25 <= p <= 0.75 (our choice); difficulty 100(1 - p) (AdaRFT, arXiv
2504.05520), ranked by closeness to --target (default 50) and by default selected within --band
(default 10) of it (our choice; AdaRFT moves its target during training); solvable, DAPO's dynamic-sampling
filter 0 < p < 1 (arXiv 2503.14476).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from limr_kit.errors import InputError


GRESO_EASY = 0.98  # a per-epoch mean at or above this is "all correct"
GRESO_HARD = 0.11  # at or below this, "all wrong"
GRESO_MIN_KEEP = 0.01
GRESO_P_BOUNDS = (0.05, 0.95)
GRESO_P_STEP = 0.01
LEARNABILITY_THRESHOLD = 3 / 16
MOPPS_BAND = (0.3, 0.7)


@dataclass(frozen=True, slots=True)
class SelectorOptions:
    """Parameters of the selectors in this module, with their published defaults."""

    p_easy: float = 0.5
    p_hard: float = 0.5
    target_zero_variance: float = 0.25
    target: float | None = None  # mopps: success rate (default 0.5); difficulty: 0-100 (default 50)
    band: float = 10.0  # difficulty: half-width of the selected band around the target
    rollouts: int = 8  # mopps: rollouts per prompt per epoch (n in the update)
    decay: float = 1.0  # mopps: lambda
    prior: tuple[float, float] = (1.0, 1.0)


@dataclass(frozen=True, slots=True)
class SelectorOutput:
    """Scores, what they rank by, the default selection and the per-sample extras of one selector."""

    scores: np.ndarray
    key: np.ndarray  # ranked descending
    default_selected: np.ndarray
    extras: dict[str, np.ndarray]
    parameters: dict[str, Any]


def _check_rates(matrix: np.ndarray) -> None:
    values = matrix[~np.isnan(matrix)]
    if values.size and (values.min() < 0 or values.max() > 1):
        raise InputError(
            f"This selector needs per-epoch pass rates in [0, 1]; the log has values from {values.min():g} to "
            f"{values.max():g}. Use the default --aggregate pass-rate (share of rewards equal to 1)."
        )


def _streaks(matrix: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row: consecutive epochs, counting back from its last observed one, where ``mask`` holds."""
    streak = np.zeros(matrix.shape[0], dtype=np.int64)
    alive = np.ones(matrix.shape[0], dtype=bool)
    for k in range(matrix.shape[1] - 1, -1, -1):
        observed = ~np.isnan(matrix[:, k])
        hit = observed & mask[:, k]
        alive &= hit | ~observed  # a missing epoch is not in GRESO's trace: it neither extends nor breaks a streak
        streak += alive & hit
    return streak


def greso(matrix: np.ndarray, options: SelectorOptions, seed: int) -> SelectorOutput:
    """GRESO's zero-variance streaks and skip probabilities after the last epoch."""
    _check_rates(matrix)
    for name, value in (("--p-easy", options.p_easy), ("--p-hard", options.p_hard)):
        if not 0.0 < value <= 1.0:
            raise InputError(f"{name} is a probability in (0, 1], got {value:g} (GRESO's scripts use 0.5).")
    with np.errstate(invalid="ignore"):
        easy_mask, hard_mask = matrix >= GRESO_EASY, matrix <= GRESO_HARD
    low, high = GRESO_P_BOUNDS
    p_easy, p_hard = options.p_easy, options.p_hard
    target_easy, target_hard = options.target_zero_variance / 3, options.target_zero_variance * 2 / 3
    for k in range(1, matrix.shape[1]):  # "epoch > 0": the first epoch only fills the profiler
        observed = ~np.isnan(matrix[:, k])
        if not observed.any():
            continue
        easy_ratio, hard_ratio = easy_mask[observed, k].mean(), hard_mask[observed, k].mean()
        p_hard = max(p_hard - GRESO_P_STEP, low) if hard_ratio >= target_hard else min(p_hard + GRESO_P_STEP, high)
        p_easy = max(p_easy - GRESO_P_STEP, low) if easy_ratio >= target_easy else min(p_easy + GRESO_P_STEP, high)
    easy, hard = _streaks(matrix, easy_mask), _streaks(matrix, hard_mask)
    streak = np.maximum(easy, hard)
    base = np.where(easy > 0, p_easy, p_hard)
    keep = np.maximum(base**streak, GRESO_MIN_KEEP)
    keep[streak == 0] = 1.0
    drawn = np.random.default_rng(seed).random(keep.size) < keep
    kind = np.where(easy > 0, "easy", np.where(hard > 0, "hard", "varied"))
    return SelectorOutput(
        scores=keep,
        key=keep,
        default_selected=drawn,
        extras={"streak": streak, "streak_kind": kind, "skip_probability": 1.0 - keep},
        parameters={
            "p_easy_start": options.p_easy,
            "p_hard_start": options.p_hard,
            "p_easy": round(p_easy, 6),
            "p_hard": round(p_hard, 6),
            "target_zero_variance": options.target_zero_variance,
            "seed": seed,
        },
    )


def mopps(matrix: np.ndarray, options: SelectorOptions) -> SelectorOutput:
    """MoPPS's Beta posterior per prompt after every epoch, ranked by closeness to the target success rate."""
    _check_rates(matrix)
    target = 0.5 if options.target is None else options.target
    if not 0.0 <= target <= 1.0:
        raise InputError(f"--target for mopps is a success rate in [0, 1], got {target:g}.")
    if not 0.0 <= options.decay <= 1.0:
        raise InputError(f"--decay must lie in [0, 1], got {options.decay:g}.")
    alpha0, beta0 = options.prior
    n = options.rollouts
    alpha = np.full(matrix.shape[0], alpha0)
    beta = np.full(matrix.shape[0], beta0)
    lam = options.decay
    for k in range(matrix.shape[1]):
        s = matrix[:, k]
        seen = ~np.isnan(s)
        alpha[seen] = lam * alpha[seen] + (1 - lam) * alpha0 + s[seen] * n
        beta[seen] = lam * beta[seen] + (1 - lam) * beta0 + (1 - s[seen]) * n
    mean = alpha / (alpha + beta)
    closeness = 1.0 - np.abs(mean - target)
    low, high = MOPPS_BAND
    return SelectorOutput(
        scores=closeness,
        key=closeness,
        default_selected=(mean >= low) & (mean <= high),
        extras={"alpha": alpha, "beta": beta, "posterior_mean": mean},
        parameters={"target": target, "rollouts": n, "decay": lam, "prior": list(options.prior), "band": [low, high]},
    )


def pass_rates(matrix: np.ndarray) -> np.ndarray:
    """A sample's pass rate: the mean of its per-epoch pass rates."""
    _check_rates(matrix)
    return np.nanmean(matrix, axis=1)


def learnability(matrix: np.ndarray) -> SelectorOutput:
    p = pass_rates(matrix)
    scores = p * (1 - p)
    return SelectorOutput(scores, scores, scores >= LEARNABILITY_THRESHOLD, {"pass_rate": p}, {})


def difficulty(matrix: np.ndarray, options: SelectorOptions) -> SelectorOutput:
    target = 50.0 if options.target is None else options.target
    if not 0.0 <= target <= 100.0:
        raise InputError(f"--target for difficulty is on AdaRFT's 0-100 scale, got {target:g}.")
    if options.band < 0:
        raise InputError(f"--band must be at least 0, got {options.band:g}.")
    p = pass_rates(matrix)
    scores = 100.0 * (1.0 - p)
    distance = np.abs(scores - target)
    return SelectorOutput(
        scores,
        -distance,
        distance <= options.band,
        {"pass_rate": p, "distance": distance},
        {"target": target, "band": options.band},
    )


def solvable(matrix: np.ndarray) -> SelectorOutput:
    p = pass_rates(matrix)
    scores = ((p > 0) & (p < 1)).astype(np.float64)
    return SelectorOutput(scores, scores, scores == 1.0, {"pass_rate": p}, {})
