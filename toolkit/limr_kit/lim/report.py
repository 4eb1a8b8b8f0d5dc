"""Write a scoring run: scores.jsonl, summary.json and the PNG plots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from limr_kit import __version__
from limr_kit._io import staged_output, write_jsonl
from limr_kit.artifacts import Artifact
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


SUMMARY_FILE = "summary.json"
SCORES_FILE = "scores.jsonl"


class ScoreSummary(Artifact):
    """``summary.json`` of a ``limr-kit score`` run: method, parameters, counts, reference curve, provenance."""

    WHAT: ClassVar[str] = "limr-kit score summary"
    REDO: ClassVar[str] = "Run limr-kit score again."

    schema_id: Literal["limr-kit/score-summary@1"] = Field("limr-kit/score-summary@1", alias="schema")
    method: str
    parameters: dict[str, Any]
    counts: dict[str, int]  # in, scored, dropped, selected
    dropped_by_reason: dict[str, int]
    dropped_samples: list[str]
    score_stats: dict[str, float | None]  # min, max, mean
    n_epochs: int
    reference_curve: list[float | None]
    warnings: list[str]
    input: dict[str, Any]  # the InputReport: paths, format, layout, rows read / skipped, torn lines
    toolkit: dict[str, str]

    @classmethod
    def beside(cls, scores_path: str | Path) -> ScoreSummary | None:
        """The summary of the run that wrote ``scores_path``, if it is a score run's ``scores.jsonl``."""
        scores_path = Path(scores_path)
        summary = scores_path.parent / SUMMARY_FILE
        if scores_path.name != SCORES_FILE or not summary.is_file():
            return None
        return cls.load(summary)

    def provenance(self) -> dict[str, Any]:
        """What a curation records of the scoring run it selected from."""
        return {
            "method": self.method,
            "parameters": self.parameters,
            "counts": self.counts,
            "n_epochs": self.n_epochs,
            "toolkit": self.toolkit,
        }


def summarise(result: ScoreResult) -> ScoreSummary:
    """The run's method, parameters, counts, reference curve and provenance."""
    scored = result.scores[~np.isnan(result.scores)]
    return ScoreSummary.build(
        method=result.method,
        parameters=result.parameters,
        counts={
            "in": len(result.sample_ids),
            "scored": int(scored.size),
            "dropped": len(result.dropped),
            "selected": result.n_selected,
        },
        dropped_by_reason=dict(Counter(result.dropped.values())),
        dropped_samples=list(result.dropped),
        score_stats={"min": float(scored.min()), "max": float(scored.max()), "mean": float(scored.mean())},
        n_epochs=int(result.curves.shape[1]),
        reference_curve=[float(value) for value in result.reference_curve],
        warnings=score_warnings(result),
        input=asdict(result.report),
        toolkit={"name": "limr-kit", "version": __version__},
    )


def write_score_outputs(result: ScoreResult, out_dir: str | Path) -> ScoreSummary:
    """Write scores.jsonl, summary.json, score_hist.png and trajectories.png into ``out_dir``.

    Everything is written to a staging folder first, so a failure leaves ``out_dir`` untouched.
    """
    summary = summarise(result)
    with staged_output(out_dir) as stage:
        write_jsonl(stage / SCORES_FILE, score_rows(result))
        summary.save(stage / SUMMARY_FILE)
        plot_score_histogram(result, stage / "score_hist.png")
        plot_trajectories(result, stage / "trajectories.png")
    return summary
