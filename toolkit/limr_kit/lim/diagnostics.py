"""Warnings about a scoring run whose numbers look fine but mean little: a flat mean curve, everything selected."""

from __future__ import annotations

import numpy as np

from limr_kit.lim.scoring import ScoreResult


FLAT_RISE = 0.05  # the mean curve rising less than this (in pass rate) from first to best epoch is "flat"
NEARLY_ALL = 0.9  # selecting at least this share of the scored samples selects "nearly everything"
MOSTLY_DROPPED = 0.5  # dropping at least this share of the input


def score_warnings(result: ScoreResult) -> list[str]:
    """What a user should know before trusting the selection, with the numbers behind it."""
    warnings: list[str] = []
    scored = int(np.count_nonzero(~np.isnan(result.scores)))
    total = len(result.sample_ids)
    curve = result.reference_curve
    if result.method == "lim" and curve.size >= 2:
        rise = float(curve.max() - curve[0])
        if rise < FLAT_RISE:
            warnings.append(
                f"The mean reward curve barely rises ({curve[0]:.3f} at the first epoch, {curve.max():.3f} at best, "
                f"+{rise:.3f}): the model learned little in this run, so LIM scores near 1 mean 'close to a flat "
                "mean curve', not 'learned well'. Score a run in which the model improves."
            )
    if result.method in ("lim", "linear") and scored and result.n_selected >= NEARLY_ALL * scored:
        warnings.append(
            f"{result.n_selected} of {scored} scored samples ({result.n_selected / scored:.0%}) are selected: the "
            "threshold separates almost nothing here. Check the run (see the mean curve in trajectories.png) or "
            "raise --threshold / use --top-k."
        )
    dropped = len(result.dropped)
    if total and dropped >= MOSTLY_DROPPED * total:
        hint = (
            " (--align drop keeps only the longest trajectories; --align truncate cuts all to the shortest instead)"
            if result.parameters.get("align") == "drop"
            else ""
        )
        warnings.append(f"{dropped} of {total} samples ({dropped / total:.0%}) were dropped and not scored{hint}.")
    return warnings
