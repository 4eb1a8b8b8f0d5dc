"""A simulated RL run's reward log, for tests that need many samples and epochs fast (not a model's run).

Samples the model learns along the way (sigmoid pass-rate curves), samples it always solves, samples it never
solves and noisy ones; each epoch every sample gets ``rollouts`` rewards of 1 (correct), -0.5 (wrong) or -1
(format error), and a few samples miss an epoch, as a dataloader with ``drop_last`` makes them do.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from limr_kit._io import ensure_writable_dir


def simulate_pass_rates(n_samples: int, n_epochs: int, seed: int = 0) -> np.ndarray:
    """True per-epoch success probabilities of a simulated run, shape (n_samples, n_epochs)."""
    rng = np.random.default_rng(seed)
    epochs = np.arange(n_epochs)
    kind = rng.choice(4, size=n_samples, p=[0.6, 0.2, 0.15, 0.05])
    midpoint = rng.uniform(-1, n_epochs, size=(n_samples, 1))
    steepness = rng.uniform(0.3, 1.5, size=(n_samples, 1))
    learned = 1.0 / (1.0 + np.exp(-steepness * (epochs - midpoint)))
    probabilities = np.where(
        (kind == 0)[:, None],
        learned,
        np.where(
            (kind == 1)[:, None],
            rng.uniform(0.85, 1.0, size=(n_samples, 1)),
            np.where((kind == 2)[:, None], rng.uniform(0.0, 0.08, size=(n_samples, 1)), 0.0),
        ),
    )
    noisy = kind == 3
    probabilities[noisy] = rng.uniform(0.1, 0.9, size=(int(noisy.sum()), n_epochs))
    return np.clip(probabilities, 0.0, 1.0)


def write_reward_log(
    out_dir: str | Path,
    *,
    n_samples: int = 600,
    n_epochs: int = 12,
    rollouts: int = 8,
    n_shards: int = 2,
    missing_rate: float = 0.03,
    seed: int = 0,
) -> list[Path]:
    """Write a simulated reward log as per-process JSONL shards ``rewards.rank<k>.jsonl``."""
    rng = np.random.default_rng(seed + 1)
    probabilities = simulate_pass_rates(n_samples, n_epochs, seed)
    out_dir = ensure_writable_dir(out_dir)
    shards = [out_dir / f"rewards.rank{rank}.jsonl" for rank in range(n_shards)]
    handles = [open(path, "w", encoding="utf-8") for path in shards]
    try:
        for epoch in range(n_epochs):
            present = rng.random(n_samples) >= missing_rate
            for sample in np.flatnonzero(present):
                correct = rng.random(rollouts) < probabilities[sample, epoch]
                format_error = rng.random(rollouts) < 0.2
                rewards = np.where(correct, 1.0, np.where(format_error, -1.0, -0.5))
                handle = handles[int(sample) % n_shards]
                for reward in rewards:
                    handle.write(json.dumps({"sample_id": f"q{sample:05d}", "epoch": epoch, "reward": float(reward)}))
                    handle.write("\n")
    finally:
        for handle in handles:
            handle.close()
    return shards
