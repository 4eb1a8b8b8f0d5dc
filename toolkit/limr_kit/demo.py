"""The end-to-end demo (``make demo``), and the simulated RL run it starts from.

The simulation stands in for a training run's reward log: samples that the model learns along the way
(sigmoid pass-rate curves), samples it always solves, samples it never solves and noisy ones; each epoch
every sample gets ``rollouts`` rewards of 1 (correct), -0.5 (wrong) or -1 (format error), and a few
samples miss an epoch, as a dataloader with ``drop_last`` makes them do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from limr_kit._io import ensure_writable_dir, write_jsonl
from limr_kit.errors import LimrError


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


def write_demo_dataset(path: str | Path, n_samples: int = 600, seed: int = 0) -> Path:
    """A small arithmetic dataset whose ``id`` values match the simulated log's sample ids."""
    rng = np.random.default_rng(seed + 2)
    rows = []
    for sample in range(n_samples):
        a, b = (int(x) for x in rng.integers(2, 99, size=2))
        rows.append({"id": f"q{sample:05d}", "prompt": f"What is {a} + {b}?", "answer": str(a + b)})
    write_jsonl(path, rows)
    return Path(path)


def write_addition_suite(data_dir: str | Path) -> Path:
    """The paper suite's three files (layout of shared/data/bench) holding held-out additions the tiny model can
    answer: a benchmark the demo's model is not hopeless on."""
    from limr_kit.tinymodel import held_out_problems

    problems = held_out_problems()
    rows = {
        "aime24": [{"id": i, "problem": p["question"], "answer": p["answer"]} for i, p in enumerate(problems[:8])],
        "math500": [
            {"problem": p["question"], "answer": p["answer"], "unique_id": f"add/{i}"}
            for i, p in enumerate(problems[8:28])
        ],
        "amc23": [
            {"id": i, "problem": p["question"], "answer": float(p["answer"])} for i, p in enumerate(problems[28:])
        ],
    }
    for name, items in rows.items():
        write_jsonl(Path(data_dir) / name / "test.jsonl", items)
    return Path(data_dir)


def _limr_kit(*args: str, env: dict[str, str]) -> dict[str, Any]:
    """Run a limr-kit command in a fresh process (the Hub clients read their endpoint at import) and read its JSON."""
    done = subprocess.run([sys.executable, "-m", "limr_kit", *args, "--json"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise LimrError(f"demo step 'limr-kit {args[0]} {args[1]}' failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def run_demo(out_dir: str | Path, *, seed: int = 0, console: Console | None = None) -> dict[str, Any]:
    """The whole loop on data made here, no download; returns what each step produced.

    1. simulate a run's reward log, score it with LIM, curate the subset;
    2. train the tiny model with TRL GRPO on CPU, logging every rollout's reward, and score that real run;
    3. benchmark the trained model (vLLM) with the paper's protocol on held-out additions, compare with the paper;
    4. publish the curated set to a local Hub server and pull it back.
    """
    from limr_kit.benchmarks import BenchOptions, run_bench
    from limr_kit.benchmarks.compare import compare_runs, plot_comparison, render
    from limr_kit.curate import curate
    from limr_kit.hub import HubServer
    from limr_kit.lim import ReadOptions, load_trajectories, score_trajectories, write_score_outputs
    from limr_kit.train import TrainOptions, train

    console = console or Console(stderr=True)
    out_dir = ensure_writable_dir(out_dir)
    steps: dict[str, Any] = {}

    with console.status("1/4 simulating an RL run's reward log, scoring it with LIM, curating"):
        shards = write_reward_log(out_dir / "rewards", seed=seed)
        dataset = write_demo_dataset(out_dir / "dataset.jsonl", seed=seed)
        summary = write_score_outputs(
            score_trajectories(load_trajectories(out_dir / "rewards"), "lim"), out_dir / "scores"
        )
        curated = curate(out_dir / "scores" / "scores.jsonl", dataset, "id", out_dir / "curated")
    steps["simulated"] = {"shards": len(shards), "scores": summary, "curated": curated.n_selected}
    console.log(
        f"1/4 LIM kept {curated.n_selected} of {summary['counts']['in']} simulated samples -> {out_dir / 'curated'}"
    )

    with console.status("2/4 training the tiny model with TRL GRPO on CPU (rewards logged per rollout)"):
        trained = train("tiny-grpo", TrainOptions(out=out_dir / "train"))
        real = score_trajectories(load_trajectories(out_dir / "train" / "rewards", ReadOptions()), "lim")
        real_summary = write_score_outputs(real, out_dir / "train-lim")
    steps["trained"] = {"final_step": trained.final_step, "lim": real_summary["counts"]}
    console.log(
        f"2/4 trained {trained.final_step} GRPO steps; LIM on the run's own trajectories: "
        f"{real_summary['counts']['selected']} of {real_summary['counts']['in']} samples -> {out_dir / 'train-lim'}"
    )

    data_dir = write_addition_suite(out_dir / "bench-data")
    with console.status("3/4 benchmarking the trained model with vLLM (paper protocol, held-out additions)"):
        results = run_bench(str(out_dir / "train" / "model"), out_dir / "bench", BenchOptions(data_dir=data_dir))
        comparison = compare_runs([out_dir / "bench"], reference="paper")
        (out_dir / "compare.md").write_text(render(comparison, "markdown") + "\n", encoding="utf-8")
        plot_comparison(comparison, out_dir / "compare.png")
    steps["bench"] = {name: item["accuracy"] for name, item in results["benchmarks"].items()}
    console.log(
        f"3/4 accuracy {steps['bench']} (average {results['average']:.1f}) -> {out_dir / 'bench'}, "
        f"{out_dir / 'compare.png'}"
    )

    with (
        console.status("4/4 publishing the curated set to a local Hub server and pulling it back"),
        HubServer(out_dir / "hub", port=0) as hub,
    ):
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.url,
            "HF_HOME": str(out_dir / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "LIMR_NO_PROGRESS": "1",
        }
        env.pop("HF_TOKEN", None)  # the demo's server is open on loopback; never send a real token to it
        published = _limr_kit(
            "publish", "dataset", str(out_dir / "curated"), "--repo", "demo/limr-demo-set", "--tag", "v1", env=env
        )
        pulled = _limr_kit("pull", "dataset", "demo/limr-demo-set@v1", "--out", str(out_dir / "pulled"), env=env)
    steps["hub"] = {"commit": published["commit"], "pulled_files": pulled["files"]}
    console.log(
        f"4/4 published demo/limr-demo-set@v1 (commit {published['commit'][:12]}) and pulled it back "
        f"-> {out_dir / 'pulled'}"
    )
    return {"out": str(out_dir), **steps}
