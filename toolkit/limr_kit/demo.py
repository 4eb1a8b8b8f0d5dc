"""``make demo``: LIMR's experiment in miniature on the tiny model, every step real.

FULL trains GRPO on every toy problem and logs each rollout's reward; LIM scores FULL's own trajectories and keeps
the top samples (the fraction the paper kept, 1,389 of 8,523) as LIMR; a seeded random subset of the same size is
RAND; LIMR and RAND train from the same start for as many steps as FULL; the base model and the three runs are
benched with vLLM on held-out additions and compared with FULL (paired bootstrap); the LIMR subset and model are
published to a local Hub and pulled back.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from limr_kit._io import ensure_writable_dir, write_json, write_jsonl, write_text
from limr_kit.errors import LimrError, OutputError
from limr_kit.progress import Progress, ProgressCounter


PAPER_FRACTION = 1389 / 8523  # LIMR's set over MATH's training set
DEMO_RECIPE = "demo-grpo"
BENCH_SUITE = "tiny-additions"
RUN_NAMES = ("base", "FULL", "LIMR", "RAND")
_PROMPTS_PER_STEP = 4  # the recipe's 32 completions a step over 8 generations: a subset must fill one step
_MARKER = "demo.json"
_OWNED = ("base", "data", "train", "lim", "random", "sets", "bench", "bench-data", "hub", "hf-home", "pulled")
_REPO_SET, _REPO_MODEL, _TAG = "demo/limr-demo-set", "demo/limr-demo-model", "v1"


@dataclass(frozen=True, slots=True)
class DemoScale:
    """How big the toy experiment is: FULL's problems and epochs, the base model's warm start, bench questions."""

    problems: int
    epochs: int
    warm_start_steps: int
    bench_limit: int | None


SCALES = {
    "standard": DemoScale(problems=80, epochs=6, warm_start_steps=400, bench_limit=None),
    "quick": DemoScale(problems=16, epochs=2, warm_start_steps=100, bench_limit=6),
}


@dataclass(frozen=True, slots=True)
class DemoRow:
    """One line of the summary table."""

    name: str
    samples: int | None
    steps: int | None
    accuracy: float
    ci95: tuple[float, float]
    n_questions: int
    delta_vs_full: float | None  # points
    p_value: float | None


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo measured and where its files are (``demo.json``)."""

    out: str
    scale: str
    rows: tuple[DemoRow, ...]
    files: dict[str, str]  # what a person would open -> path
    published: dict[str, str]  # repo -> commit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def demo_problems() -> list[dict[str, str]]:
    """The toy training set: every one-digit addition the tiny model's held-out set does not hold, seeded order."""
    from limr_kit.tinymodel import _held_out_pairs, addition_problem

    held_out = set(_held_out_pairs()[0])
    pairs = [(a, b) for a in range(10) for b in range(10) if (a, b) not in held_out]
    random.Random(1389).shuffle(pairs)
    return [{"id": f"add-{a}-{b}", **addition_problem(a, b)} for a, b in pairs]


def write_held_out_suite(data_dir: Path) -> Path:
    """The ``tiny-additions`` benchmark file: the one-digit additions kept out of training and warm start."""
    from limr_kit.tinymodel import held_out_problems

    rows = [{"id": f"held-{i}", **problem} for i, problem in enumerate(held_out_problems()[:20])]
    write_jsonl(data_dir / BENCH_SUITE / "test.jsonl", rows)
    return data_dir


def _prepare_out(out_dir: Path) -> Path:
    """``out_dir`` empty or a previous demo's (whose folders are cleared): never someone else's files."""
    out_dir = ensure_writable_dir(out_dir)
    entries = {entry.name for entry in out_dir.iterdir()}
    if entries and _MARKER not in entries:
        raise OutputError(f"{out_dir} is not empty and holds no earlier demo. Give the demo an empty or new --out.")
    for name in _OWNED:
        if (out_dir / name).is_dir():
            shutil.rmtree(out_dir / name)
    return out_dir


def _same_rows(original: Path, *pulled: Path) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return bool(pulled) and pq.read_table(original).equals(pa.concat_tables(pq.read_table(path) for path in pulled))


def _tree_digest(folder: Path, names: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()


Step = Callable[[str], Progress | None]  # a new step with its description; the step's progress goes there


def _quiet_step(description: str) -> None:
    return None


def run_demo(out_dir: str | Path, *, scale: str = "standard", seed: int = 0, step: Step = _quiet_step) -> DemoResult:
    """Run the experiment into ``out_dir``; ``step(description)`` starts a step and returns where its progress goes."""
    from limr_kit.benchmarks import BenchOptions, run_bench
    from limr_kit.benchmarks.compare import compare_runs, plot_comparison, render
    from limr_kit.curate import curate
    from limr_kit.lim import ReadOptions, load_trajectories, score_trajectories, write_score_outputs
    from limr_kit.tinymodel import write_tiny_model
    from limr_kit.train import Overrides, TrainOptions, train

    if scale not in SCALES:
        raise LimrError(f"Unknown demo scale '{scale}'. Choices: {', '.join(SCALES)}.")
    size = SCALES[scale]
    out = _prepare_out(Path(out_dir))
    write_json(out / _MARKER, {"scale": scale, "status": "running"})

    report = step(f"base: the tiny model, warm-started {size.warm_start_steps} steps on additions")
    base = write_tiny_model(out / "base", seed=seed, warm_start_steps=size.warm_start_steps, progress=report)
    full_set = out / "data" / "full.jsonl"
    write_jsonl(full_set, demo_problems()[: size.problems])

    def grpo(name: str, dataset: Path, samples: int, settings: dict[str, Any]) -> Any:
        report = step(f"{name}: GRPO (TRL, CPU) on {samples} problems, every rollout's reward logged")
        overrides = Overrides(model=str(base), dataset=str(dataset), backend_args={"seed": seed, **settings})
        options = TrainOptions(out=out / "train" / name, overrides=overrides)
        return train(DEMO_RECIPE, options, progress=report)

    full = grpo("FULL", full_set, size.problems, {"num_train_epochs": size.epochs})
    step("LIM on FULL's trajectories: the LIMR subset, and RAND of the same size")
    trajectories = load_trajectories(out / "train" / "FULL" / "rewards", ReadOptions())
    keep = max(_PROMPTS_PER_STEP, round(PAPER_FRACTION * size.problems))
    write_score_outputs(score_trajectories(trajectories, "lim", top_k=keep), out / "lim")
    write_score_outputs(score_trajectories(trajectories, "random", n=keep, seed=seed), out / "random")
    limr_set = curate(out / "lim" / "scores.jsonl", full_set, "id", out / "sets" / "LIMR")
    rand_set = curate(out / "random" / "scores.jsonl", full_set, "id", out / "sets" / "RAND")
    budget = {"max_steps": full.final_step}
    runs = {"FULL": full}
    runs["LIMR"] = grpo("LIMR", out / "sets" / "LIMR" / "train.jsonl", limr_set.n_selected, budget)
    runs["RAND"] = grpo("RAND", out / "sets" / "RAND" / "train.jsonl", rand_set.n_selected, budget)

    data_dir = write_held_out_suite(out / "bench-data")
    models = {"base": base, **{name: out / "train" / name / "model" for name in runs}}
    for name, model in models.items():
        report = step(f"bench {name} with vLLM on held-out additions")
        options = BenchOptions(suite=BENCH_SUITE, data_dir=data_dir, limit=size.bench_limit, seed=seed, fresh=True)
        run_bench(str(model), out / "bench" / name, options, progress=report)
    comparison = compare_runs([out / "bench" / name for name in RUN_NAMES], baseline=out / "bench" / "FULL")
    write_text(out / "compare.md", render(comparison, "markdown") + "\n")
    plot_comparison(comparison, out / "compare.png")

    report = step("publish the LIMR subset and model to a local Hub, pull both back")
    partial = size.bench_limit is not None
    published = _publish_and_pull(out, out / "sets" / "LIMR", models["LIMR"], partial=partial, progress=report)

    rows = tuple(_summary_row(comparison, name, runs.get(name)) for name in RUN_NAMES)
    files = {
        "summary": str(out / "summary.md"),
        "comparison plot": str(out / "compare.png"),
        "LIM trajectories (Figure 2 style)": str(out / "lim" / "trajectories.png"),
        "LIMR subset": str(out / "sets" / "LIMR" / "train.jsonl"),
        "bench runs": str(out / "bench"),
        "pulled from the Hub": str(out / "pulled"),
    }
    result = DemoResult(str(out), scale, rows, files, published)
    write_text(out / "summary.md", render_summary(result) + "\n")
    write_json(out / _MARKER, result.to_dict())
    return result


def _summary_row(comparison: Any, name: str, trained: Any) -> DemoRow:
    """The run's bench row beside its training (samples, steps; none for the base model)."""
    row = next(item for item in comparison.rows if item.name == name)
    paired = comparison.paired.get(name, {}).get(BENCH_SUITE)
    return DemoRow(
        name=name,
        samples=None if trained is None else trained.samples,
        steps=None if trained is None else trained.final_step,
        accuracy=row.accuracy[BENCH_SUITE],
        ci95=row.ci95[BENCH_SUITE],
        n_questions=row.questions[BENCH_SUITE][0],
        delta_vs_full=None if paired is None else 100 * paired.difference,
        p_value=None if paired is None else paired.p_value,
    )


def summary_lines(result: DemoResult) -> list[list[str]]:
    """Header plus a line per run: samples, steps, accuracy [95% CI], Δ vs FULL (p)."""
    lines = [["run", "samples", "steps", "accuracy [95% CI]", "Δ vs FULL (p)"]]
    for row in result.rows:
        low, high = row.ci95
        delta = "–" if row.delta_vs_full is None else f"{row.delta_vs_full:+.1f} (p={row.p_value:.2f})"
        lines.append(
            [
                row.name,
                "–" if row.samples is None else str(row.samples),
                "–" if row.steps is None else str(row.steps),
                f"{row.accuracy:.1f} [{low:.1f}, {high:.1f}] n={row.n_questions}",
                delta,
            ]
        )
    return lines


def render_summary(result: DemoResult) -> str:
    """The summary table as markdown."""
    lines = summary_lines(result)
    table = ["| " + " | ".join(lines[0]) + " |", "|" + "|".join("---" for _ in lines[0]) + "|"]
    return "\n".join([*table, *("| " + " | ".join(line) + " |" for line in lines[1:])])


def _publish_and_pull(
    out: Path, subset: Path, model: Path, *, partial: bool, progress: Progress | None
) -> dict[str, str]:
    """Publish the subset and the model (card from its bench run), pull both back, check the bytes match."""
    from huggingface_hub import HfApi

    from limr_kit.hub import HubServer
    from limr_kit.release import PublishOptions, publish_dataset, publish_model, pull

    with HubServer(out / "hub", port=0) as hub:
        api = HfApi(endpoint=hub.url, token=False)  # the demo's server is open on loopback; never send a real token
        options, cache = PublishOptions(api=api, tag=_TAG), out / "hf-home" / "hub"
        parts = ProgressCounter(progress, "publish", 4)  # dataset, model, and each pulled back
        dataset = publish_dataset(subset, _REPO_SET, options)
        parts.advance()
        checkpoint = publish_model(
            model,
            _REPO_MODEL,
            options,
            results=(out / "bench" / "LIMR",),
            dataset=f"{_REPO_SET}@{_TAG}",
            allow_partial=partial,
        )
        parts.advance()
        pull("dataset", f"{_REPO_SET}@{_TAG}", out=out / "pulled" / "dataset", api=api, cache_dir=cache)
        parts.advance()
        pull("model", f"{_REPO_MODEL}@{_TAG}", out=out / "pulled" / "model", api=api, cache_dir=cache)
        parts.advance()
    if not _same_rows(subset / "train.parquet", *(out / "pulled" / "dataset" / "data").glob("*.parquet")):
        raise LimrError(f"demo: the dataset pulled into {out / 'pulled' / 'dataset'} differs from {subset}.")
    names = ("config.json", "model.safetensors")
    if _tree_digest(model, names) != _tree_digest(out / "pulled" / "model", names):
        raise LimrError(f"demo: the model pulled into {out / 'pulled' / 'model'} differs from {model}.")
    return {_REPO_SET: str(dataset.commit), _REPO_MODEL: str(checkpoint.commit)}
