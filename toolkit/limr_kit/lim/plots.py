"""PNG plots of a scoring run: the score histogram and trajectories against the mean curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from limr_kit.lim.scoring import ScoreResult


_MAX_LINES = 150


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_selection_histogram(scores: dict[str, float], chosen: set[str], threshold: float | None, path: Path) -> None:
    """Histogram of scores with the selected samples highlighted and the threshold marked."""
    plt = _pyplot()
    keys = [key for key, value in scores.items() if not np.isnan(value)]
    values = np.array([scores[key] for key in keys])
    selected = np.array([key in chosen for key in keys], dtype=bool)
    bins = np.histogram_bin_edges(values, bins=min(60, max(10, values.size // 20)))
    if threshold is not None and bins.size > 1:  # put a bin edge on the threshold so no bar straddles it
        width = bins[1] - bins[0]
        shift = (threshold - bins[0]) % width
        bins = np.append(bins - (width - shift if shift else 0.0), bins[-1] + shift)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.hist(values[~selected], bins=bins, color="#9aa5b1", label=f"rejected ({int((~selected).sum())})")
    ax.hist(values[selected], bins=bins, color="#d9480f", label=f"selected ({int(selected.sum())})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    ax.set_xlabel("score")
    ax.set_ylabel("samples")
    ax.set_title(f"scores of {values.size} samples")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_score_histogram(result: ScoreResult, path: Path) -> None:
    """Histogram of a scoring run's scores, selected samples highlighted."""
    scores = {sample_id: float(score) for sample_id, score in zip(result.sample_ids, result.scores, strict=True)}
    chosen = {sample_id for sample_id, flag in zip(result.sample_ids, result.selected, strict=True) if flag}
    plot_selection_histogram(scores, chosen, result.parameters.get("threshold"), path)


def plot_trajectories(result: ScoreResult, path: Path, seed: int = 0) -> None:
    """Selected vs rejected per-epoch trajectories against the mean curve (LIMR Figure 2 style)."""
    plt = _pyplot()
    rng = np.random.default_rng(seed)
    epochs = np.arange(1, result.curves.shape[1] + 1)
    scored = ~np.isnan(result.scores)
    groups = (("selected", result.selected & scored, "#d9480f"), ("rejected", ~result.selected & scored, "#5c7080"))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=120, sharey=True)
    for ax, (name, mask, colour) in zip(axes, groups, strict=True):
        rows = np.flatnonzero(mask)
        shown = rng.choice(rows, size=min(_MAX_LINES, rows.size), replace=False) if rows.size else rows
        for row in shown:
            ax.plot(epochs, result.curves[row], color=colour, alpha=0.15, linewidth=0.8)
        ax.plot(epochs, result.reference_curve, color="black", linewidth=2.2, label="mean curve")
        ax.set_title(f"{name}: {rows.size} samples" + (f" ({shown.size} drawn)" if shown.size < rows.size else ""))
        ax.set_xlabel("epoch")
        ax.legend(frameon=False, loc="lower right")
    axes[0].set_ylabel("per-epoch reward (pass rate)")
    fig.suptitle(f"{result.method}: trajectories of selected and rejected samples")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_comparison(
    labels: list[str], jaccard: np.ndarray, spearman: np.ndarray, curves: dict[str, np.ndarray], path: Path
) -> None:
    """Selection overlap (Jaccard) and rank agreement (Spearman) heatmaps, and each method's mean trajectory."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), dpi=120, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    for ax, matrix, title, low in ((axes[0], jaccard, "selection overlap (Jaccard)", 0.0),
                                   (axes[1], spearman, "rank agreement (Spearman)", -1.0)):  # fmt: skip
        image = ax.imshow(matrix, vmin=low, vmax=1.0, cmap="viridis")
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i in range(len(labels)):
            for j in range(len(labels)):
                if not np.isnan(matrix[i, j]):
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color="white", fontsize=8)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.046)
    ax = axes[2]
    for label, curve in curves.items():
        style = {"color": "black", "linewidth": 2.2} if label == "all samples" else {"linewidth": 1.4}
        ax.plot(np.arange(1, curve.size + 1), curve, label=label, **style)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean per-epoch reward of the selected samples")
    ax.set_title("mean trajectories")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
