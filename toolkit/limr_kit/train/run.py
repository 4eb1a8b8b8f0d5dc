"""A recipe with the command line's overrides, turned into a run folder (prompt file, launch, ``run.json``) and run."""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from limr_kit._io import sha256_file, write_json, write_jsonl, write_text
from limr_kit.errors import InputError, OutputError
from limr_kit.machine import installed_version
from limr_kit.progress import Progress
from limr_kit.train.data import Problem, dataset_path, openrlhf_row, read_problems, trl_row
from limr_kit.train.openrlhf import (
    SUPPORTED,
    TESTED,
    accumulation_misalignment,
    check_flags,
    ensure_can_launch,
    installed_openrlhf,
    launch,
    plan_launch,
)
from limr_kit.train.recipes import LoadedRecipe, Overrides, Recipe, TinyModelSource, load_recipe, with_overrides
from limr_kit.train.trl_backend import grpo_config_args, prompts_per_step, run_grpo


PROMPTS = Path("data") / "prompts.jsonl"
VERSIONS = {
    "openrlhf": ("limr-kit", "openrlhf", "ray", "vllm", "deepspeed", "torch", "transformers"),
    "trl": ("limr-kit", "trl", "transformers", "torch", "datasets", "accelerate"),
}


@dataclass(frozen=True, slots=True)
class TrainOptions:
    """Where the run goes and what the command line changes; ``dry_run`` writes the files and runs nothing."""

    out: Path
    overrides: Overrides = Overrides()
    data_dir: Path | None = None  # fills {data_dir} in the recipe's dataset path
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What ``train`` did: the files it wrote (relative to ``out``), the launch, the final step."""

    recipe: str
    backend: str
    status: str  # "dry-run" or "completed"
    out: Path
    files: tuple[str, ...]
    samples: int
    model: str
    command: tuple[str, ...] | None
    launch_script: str | None
    final_step: int | None
    score_command: str | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            key: str(value) if isinstance(value, Path) else value for key, value in dataclasses.asdict(self).items()
        }

    @property
    def next_steps(self) -> tuple[str, ...]:
        """What to run after this: the launch script of a dry run (on a GPU machine), then the scoring command."""
        steps = [self.score_command] if self.score_command else []
        if self.status == "dry-run" and self.launch_script:
            steps.insert(0, f"bash {self.out / 'launch.sh'} on a GPU machine with OpenRLHF {TESTED}")
        return tuple(steps)


def default_run_folder(recipe: str | Path) -> Path:
    """Where a run goes when no folder is given: ``runs/<recipe name>``."""
    return Path("runs") / Path(recipe).stem


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def model_location(model: str | TinyModelSource, out: Path) -> str:
    """The base model as the trainer gets it: an absolute folder, a Hub id, or ``OUT/base-model`` for the tiny one."""
    if isinstance(model, TinyModelSource):
        return str(out / "base-model")
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


@dataclass(slots=True)
class _Run:
    """One run being prepared: the resolved recipe, its data and the ``run.json`` record."""

    loaded: LoadedRecipe
    recipe: Recipe
    options: TrainOptions
    out: Path
    model: str
    problems: list[Problem]
    record: dict[str, Any]
    files: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def write_prompts(self, rows: list[dict[str, Any]]) -> None:
        write_jsonl(self.out / PROMPTS, rows)
        self.files.append(str(PROMPTS))

    def save(self, status: str, **fields: Any) -> None:
        self.record.update(status=status, notes=self.notes, **fields)
        if status != "running":
            self.record["finished"] = _now()
        write_json(self.out / "run.json", self.record)
        if "run.json" not in self.files:
            self.files.append("run.json")

    def write_tiny_model(self, progress: Progress | None) -> None:
        if not isinstance(self.recipe.model, TinyModelSource):
            return
        from limr_kit.tinymodel import write_tiny_model

        tiny = self.recipe.model.tiny
        write_tiny_model(self.model, seed=tiny.seed, warm_start_steps=tiny.warm_start_steps, progress=progress)
        self.files.append("base-model")

    def result(self, command: tuple[str, ...] | None = None, script: str | None = None) -> TrainResult:
        return TrainResult(
            recipe=self.loaded.name,
            backend=self.recipe.backend,
            status=self.record["status"],
            out=self.out,
            files=tuple(self.files),
            samples=len(self.problems),
            model=self.model,
            command=command,
            launch_script=script,
            final_step=self.record.get("final_step"),
            score_command=self.record.get("score_command"),
            notes=tuple(self.notes),
        )

    def guarded(self, work: Any) -> Any:
        """Run ``work()``; if it fails, ``run.json`` says so before the error goes on."""
        try:
            return work()
        except BaseException as exc:
            self.save("failed", error=f"{type(exc).__name__}: {exc}")
            raise


def _score_command(run: _Run, samples_per_prompt: int | None = None) -> str | None:
    if not run.recipe.reward.log:
        return None
    given = run.options.out
    per_prompt = f" --samples-per-prompt {samples_per_prompt}" if samples_per_prompt else ""
    return f"limr-kit score {shlex.quote(str(given / 'rewards'))}{per_prompt} --out {shlex.quote(str(given / 'lim'))}"


def _prepare(recipe_ref: str | Path, options: TrainOptions) -> _Run:
    loaded = load_recipe(recipe_ref)
    recipe = with_overrides(loaded.recipe, options.overrides)
    out = options.out.expanduser().resolve()
    source = dataset_path(recipe.dataset.path, options.data_dir)
    problems = read_problems(recipe.dataset, source)
    model = model_location(recipe.model, out)
    empty = [problem.sample_id for problem in problems if not problem.answer.strip()]
    notes = [f"{len(empty)} samples have an empty gold answer (ids {', '.join(empty[:5])}); kept, as in the data."]
    record = {
        "recipe": {
            "name": loaded.name,
            "file": str(loaded.path.resolve()),
            "sources": [{"file": str(path), "sha256": sha256_file(path)} for path in loaded.sources],
            "resolved": recipe.model_dump(mode="json"),
        },
        "overrides": {
            **options.overrides.as_dict(),
            "data_dir": str(options.data_dir) if options.data_dir else None,
            "out": str(options.out),
        },
        "backend": recipe.backend,
        "model": model,
        "dataset": {"path": str(source.resolve()), "split": recipe.dataset.split, "samples": len(problems)},
        "prompt_file": str(PROMPTS),
        "reward": {**recipe.reward.model_dump(), "log_dir": str(out / "rewards") if recipe.reward.log else None},
        "versions": {package: installed_version(package) for package in VERSIONS[recipe.backend]},
        "dry_run": options.dry_run,
        "started": _now(),
    }
    return _Run(loaded, recipe, options, out, model, problems, record, notes=notes if empty else [])


def _train_trl(run: _Run, progress: Progress | None) -> TrainResult:
    recipe, out = run.recipe, run.out
    config = grpo_config_args(
        recipe.trl, out=out, model=run.model, warmup_steps=recipe.warmup_steps, where=run.loaded.path
    )
    if not run.options.dry_run and recipe.reward.log and any((out / "rewards").glob("rewards.*.jsonl")):
        raise OutputError(
            f"{out / 'rewards'} already holds the reward log of an earlier run; training again would mix both runs "
            "in LIM's input. Choose another --out or remove that folder."
        )
    rows = [trl_row(problem, recipe.system_prompt, recipe.prompt_template) for problem in run.problems]
    per_step = prompts_per_step(config)
    if len(rows) < per_step:
        raise InputError(
            f"The dataset has {len(rows)} prompts but one GRPO step takes {per_step} (per_device_train_batch_size × "
            "gradient_accumulation_steps / num_generations), so the run would make no step. Give at least "
            f"{per_step} prompts or lower trl.per_device_train_batch_size."
        )
    run.write_prompts(rows)
    run.record.update(grpo_config=config, score_command=_score_command(run))
    if run.options.dry_run:
        run.save("dry-run")
        return run.result()
    run.save("running")
    run.guarded(lambda: run.write_tiny_model(progress))
    raw = recipe.prompt_template is not None
    step = run.guarded(
        lambda: run_grpo(run.model, rows, config, recipe.reward, out, progress, recipe.cpu_threads, raw_prompts=raw)
    )
    run.files += ["model", "rewards"] if recipe.reward.log else ["model"]
    run.save("completed", final_step=step)
    return run.result()


def _train_openrlhf(run: _Run, progress: Progress | None) -> TrainResult:
    recipe, out = run.recipe, run.out
    if not run.options.dry_run:
        ensure_can_launch()
    env = {
        "LIMR_REWARD_MODE": recipe.reward.mode,
        "LIMR_ANSWER_POLICY": recipe.reward.answer_policy,
        "LIMR_REWARD_SCHEME": recipe.reward.scheme,
        "LIMR_REWARD_TIMEOUT": str(recipe.reward.timeout),
    }
    if recipe.reward.log:
        env["LIMR_REWARD_LOG_DIR"] = str(out / "rewards")
    if recipe.reward.workers:
        env["LIMR_GRADER_WORKERS"] = str(recipe.reward.workers)
    plan = plan_launch(
        recipe.openrlhf,
        model=run.model,
        prompts=out / PROMPTS,
        out=out,
        n_prompts=len(run.problems),
        warmup_steps=recipe.warmup_steps,
        env=env,
        recipe_name=run.loaded.name,
        where=run.loaded.path,
        raw_prompts=recipe.prompt_template is not None,
    )
    if misaligned := accumulation_misalignment(recipe.openrlhf, len(run.problems)):
        run.notes.append(misaligned)
    installed = installed_openrlhf()
    if installed is None:
        run.notes.append(f"Flags not checked here: OpenRLHF is not installed (limr-kit tests them on {TESTED}).")
    else:
        run.notes += check_flags(plan.command, installed[0], run.loaded.path)
        if not installed[1].startswith(SUPPORTED + "."):
            run.notes.append(f"OpenRLHF {installed[1]} is installed; limr-kit's recipes are written for {SUPPORTED}.")
    if any((out / "rewards").glob("rewards.*.jsonl")):
        run.notes.append(f"{out / 'rewards'} already holds reward logs: this run appends to them (resuming).")
    run.write_prompts(
        [openrlhf_row(problem, recipe.system_prompt, recipe.prompt_template) for problem in run.problems]
    )
    write_text(out / "launch.sh", plan.script)
    (out / "launch.sh").chmod(0o755)
    run.files.append("launch.sh")
    samples = recipe.openrlhf.get("rollout.n_samples_per_prompt") or 1
    run.record.update(
        command=list(plan.command),
        env=plan.env,
        scheduler_steps=plan.scheduler_steps,
        warmup_ratio=plan.warmup_ratio,
        flags_checked_with=f"openrlhf {installed[1]}" if installed else None,
        grader_workers=recipe.reward.workers or "one per CPU the process may use (LIMR_GRADER_WORKERS unset)",
        score_command=_score_command(run, int(samples)),
    )
    if run.options.dry_run:
        run.save("dry-run")
        return run.result(plan.command, plan.script)
    run.save("running")
    run.guarded(lambda: run.write_tiny_model(progress))
    run.guarded(lambda: launch(out / "launch.sh"))
    run.files += ["model", "rewards"] if recipe.reward.log else ["model"]
    run.save("completed")
    return run.result(plan.command, plan.script)


def train(recipe: str | Path, options: TrainOptions, progress: Progress | None = None) -> TrainResult:
    """Train with a recipe (a name such as ``tiny-grpo`` or a YAML path) into ``options.out``.

    Writes ``OUT/data/prompts.jsonl`` (the backend's prompt file) and ``OUT/run.json`` (the recipe as resolved, the
    overrides, versions, times); OpenRLHF also ``OUT/launch.sh``. TRL trains here and saves ``OUT/model``; OpenRLHF
    runs the launch when OpenRLHF and CUDA GPUs are present. Rewards are logged to ``OUT/rewards``.
    """
    run = _prepare(recipe, options)
    backend = _train_openrlhf if run.recipe.backend == "openrlhf" else _train_trl
    return backend(run, progress)
