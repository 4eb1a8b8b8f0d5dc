"""Compare several ``limr-kit score`` runs over the same samples: sizes, overlap, rank agreement, unique picks."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from limr_kit import __version__
from limr_kit._io import iter_jsonl, staged_output, write_json
from limr_kit.errors import InputError, LimrError
from limr_kit.lim.trajectories import ReadOptions, load_trajectories


UNIQUE_LISTED = 50  # sample ids listed per method in the summary (all are counted)
MIN_COVERAGE = 0.5  # plot the epochs that at least half of the samples reached (ragged histories end unevenly)


@dataclass(frozen=True, slots=True)
class ScoreRun:
    """One score run: its label, which samples it scored and selected, and the value each is ranked by."""

    label: str
    method: str
    path: Path
    ranks: dict[str, int]  # scored samples only
    values: dict[str, float]  # what the method ranks by, descending: the score (difficulty: -distance to target)
    selected: frozenset[str]
    input_paths: tuple[str, ...]


def read_run(path: str | Path) -> ScoreRun:
    """A ``score`` output folder (scores.jsonl and summary.json)."""
    path = Path(path)
    scores, summary = path / "scores.jsonl", path / "summary.json"
    if not scores.is_file() or not summary.is_file():
        raise InputError(f"{path} is not a limr-kit score output (no scores.jsonl and summary.json). Run score first.")
    meta = json.loads(summary.read_text(encoding="utf-8"))
    method = str(meta.get("method"))
    ranks: dict[str, int] = {}
    values: dict[str, float] = {}
    selected = set()
    for number, row in iter_jsonl(scores):
        if "sample_id" not in row or "rank" not in row:
            raise InputError(f"{scores}:{number}: a score row needs 'sample_id' and 'rank'.")
        if row["rank"]:
            ranks[str(row["sample_id"])] = int(row["rank"])
            values[str(row["sample_id"])] = -float(row["distance"]) if method == "difficulty" else float(row["score"])
        if row.get("selected"):
            selected.add(str(row["sample_id"]))
    return ScoreRun(path.name, method, path, ranks, values, frozenset(selected), tuple(meta["input"]["paths"]))


def _labels(runs: list[ScoreRun]) -> list[str]:
    methods = [run.method for run in runs]
    return methods if len(set(methods)) == len(methods) else [f"{run.method} ({run.label})" for run in runs]


def compare_runs(runs: list[ScoreRun]) -> dict[str, Any]:
    """Sizes, pairwise Jaccard of the selections, Spearman and Kendall over the common samples, unique picks.

    The correlations are over the values the methods rank by (scipy.stats; ties stay ties), on the samples both
    scored.
    """
    from scipy import stats

    if len(runs) < 2:
        raise InputError("Give at least two score output folders to compare.")
    labels = _labels(runs)
    pairs = []
    for (i, a), (j, b) in combinations(enumerate(runs), 2):
        common = sorted(set(a.ranks) & set(b.ranks))
        union = a.selected | b.selected
        pair: dict[str, Any] = {
            "a": labels[i],
            "b": labels[j],
            "jaccard": len(a.selected & b.selected) / len(union) if union else None,
            "both_selected": len(a.selected & b.selected),
            "common_samples": len(common),
            "spearman": None,
            "kendall": None,
        }
        if len(common) >= 3:
            value_a = np.asarray([a.values[key] for key in common])
            value_b = np.asarray([b.values[key] for key in common])  # ties stay ties (tau-b, average ranks)
            pair["spearman"] = float(stats.spearmanr(value_a, value_b).statistic)
            pair["kendall"] = float(stats.kendalltau(value_a, value_b).statistic)
        pairs.append(pair)
    unique = {}
    for i, run in enumerate(runs):
        others = frozenset().union(*(other.selected for k, other in enumerate(runs) if k != i))
        only = sorted(run.selected - others, key=lambda key: run.ranks.get(key, 0))
        unique[labels[i]] = {"count": len(only), "samples": only[:UNIQUE_LISTED]}
    return {
        "runs": [
            {
                "label": label,
                "method": run.method,
                "path": str(run.path),
                "scored": len(run.ranks),
                "selected": len(run.selected),
            }
            for label, run in zip(labels, runs, strict=True)
        ],  # fmt: skip
        "pairs": pairs,
        "only_one_method": unique,
        "selected_by_all": len(frozenset.intersection(*(run.selected for run in runs))),
        "toolkit": {"name": "limr-kit", "version": __version__},
    }


def _matrix(summary: dict[str, Any], name: str) -> np.ndarray:
    labels = [run["label"] for run in summary["runs"]]
    matrix = np.eye(len(labels))
    for pair in summary["pairs"]:
        i, j = labels.index(pair["a"]), labels.index(pair["b"])
        matrix[i, j] = matrix[j, i] = np.nan if pair[name] is None else pair[name]
    return matrix


def mean_trajectories(runs: list[ScoreRun], labels: list[str], source: str | Path | None, options: ReadOptions):
    """Per method, the mean per-epoch curve of its selected samples, and the mean over all samples.

    Only epochs that at least :data:`MIN_COVERAGE` of the samples reached are kept.
    """
    source = source or (runs[0].input_paths[0] if len(runs[0].input_paths) == 1 else None)
    if source is None:
        raise InputError("The first run read several shards: pass --trajectories with the reward log for the plot.")
    try:
        loaded = load_trajectories(source, options)
    except LimrError as exc:
        raise InputError(
            f"Cannot re-read the trajectories from {source} ({exc}). Pass --trajectories (and the read options the "
            "score runs used)."
        ) from exc
    row_of = {sample_id: row for row, sample_id in enumerate(loaded.sample_ids)}
    matrix = loaded.matrix[:, np.mean(~np.isnan(loaded.matrix), axis=0) >= MIN_COVERAGE]
    with warnings.catch_warnings():  # an epoch no selected sample reached (ragged histories) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        curves = {"all samples": np.nanmean(matrix, axis=0)}
        for label, run in zip(labels, runs, strict=True):
            rows = [row_of[key] for key in run.selected if key in row_of]
            if rows:
                curves[label] = np.nanmean(matrix[rows], axis=0)
    return curves


def write_comparison(
    run_dirs: list[str | Path],
    out_dir: str | Path,
    *,
    trajectories: str | Path | None = None,
    options: ReadOptions | None = None,
) -> dict[str, Any]:
    """Write comparison.json and comparison.png (overlap heatmap and mean trajectories) into ``out_dir``."""
    from limr_kit.lim.plots import plot_comparison

    runs = [read_run(path) for path in run_dirs]
    summary = compare_runs(runs)
    curves = mean_trajectories(runs, [run["label"] for run in summary["runs"]], trajectories, options or ReadOptions())
    summary["mean_trajectories"] = {label: [float(v) for v in curve] for label, curve in curves.items()}
    with staged_output(out_dir) as stage:
        write_json(stage / "comparison.json", summary)
        labels = [run["label"] for run in summary["runs"]]
        plot_comparison(
            labels, _matrix(summary, "jaccard"), _matrix(summary, "spearman"), curves, stage / "comparison.png"
        )
    return summary
