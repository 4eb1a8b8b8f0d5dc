"""Write a scoring run: scores.jsonl, summary.json and the PNG plots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from limr_kit import __version__
from limr_kit._io import staged_output, write_json, write_jsonl
from limr_kit.lim.diagnostics import score_warnings
from limr_kit.lim.plots import plot_score_histogram, plot_trajectories
from limr_kit.lim.scoring import ScoreResult


def score_rows(result: ScoreResult) -> Iterator[dict[str, Any]]:
    """One row per sample, in input order, with the method's own per-sample values (streak, posterior...)."""
    for index, sample_id in enumerate(result.sample_ids):
        score = result.scores[index]
        yield {
            "sample_id": sample_id,
            "score": None if np.isnan(score) else float(score),
            "selected": bool(result.selected[index]),
            "rank": int(result.ranks[index]) or None,
            "n_epochs": int(result.n_epochs[index]),
            "dropped": result.dropped.get(sample_id),
            **{name: values[index].item() for name, values in result.extras.items()},
        }


def summarise(result: ScoreResult) -> dict[str, Any]:
    """The run's method, parameters, counts, reference curve and provenance."""
    scored = result.scores[~np.isnan(result.scores)]
    report = asdict(result.report)
    return {
        "method": result.method,
        "parameters": result.parameters,
        "counts": {
            "in": len(result.sample_ids),
            "scored": int(scored.size),
            "dropped": len(result.dropped),
            "selected": result.n_selected,
        },
        "dropped_by_reason": dict(Counter(result.dropped.values())),
        "dropped_samples": list(result.dropped),
        "score_stats": {
            "min": float(scored.min()),
            "max": float(scored.max()),
            "mean": float(scored.mean()),
        },
        "n_epochs": int(result.curves.shape[1]),
        "reference_curve": [float(value) for value in result.reference_curve],
        "warnings": score_warnings(result),
        "input": report,
        "toolkit": {"name": "limr-kit", "version": __version__},
    }


def write_score_outputs(result: ScoreResult, out_dir: str | Path) -> dict[str, Any]:
    """Write scores.jsonl, summary.json, score_hist.png and trajectories.png into ``out_dir``.

    Everything is written to a staging folder first, so a failure leaves ``out_dir`` untouched.
    """
    summary = summarise(result)
    with staged_output(out_dir) as stage:
        write_jsonl(stage / "scores.jsonl", score_rows(result))
        write_json(stage / "summary.json", summary)
        plot_score_histogram(result, stage / "score_hist.png")
        plot_trajectories(result, stage / "trajectories.png")
    return summary
