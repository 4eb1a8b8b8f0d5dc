"""The sweep spec a person writes (``limr-kit sweep SPEC.yaml``) and its expansion into bench jobs.

Relative paths in the spec are relative to the spec file's folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from limr_kit.benchmarks.config import _load, resolve_suite
from limr_kit.benchmarks.engine_options import EngineOptions, options_for
from limr_kit.benchmarks.run import BenchOptions
from limr_kit.benchmarks.seeds import seed_folder, seed_plan
from limr_kit.errors import ConfigError, InputError


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
STEP = re.compile(r"(\d+)(?!.*\d)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelEntry(_Strict):
    """One model: a checkpoint folder (``path``), a Hub id at a revision (``hub``), or every checkpoint of a
    training run (``checkpoints``: each sub-folder, one or two levels down, that holds a config.json)."""

    path: str | None = None
    hub: str | None = None
    revision: str | None = None
    checkpoints: str | None = None
    name: str | None = None  # its folder in the sweep's output (default: from the path or id)

    @model_validator(mode="after")
    def _one_source(self) -> ModelEntry:
        given = [key for key in ("path", "hub", "checkpoints") if getattr(self, key)]
        if len(given) != 1:
            raise ValueError("give exactly one of path, hub, checkpoints")
        if self.revision and not self.hub:
            raise ValueError("revision applies only to a hub model")
        return self


class EngineSettings(_Strict):
    """How each job generates: the engine and its settings (as ``limr-kit bench`` takes them)."""

    name: Literal["vllm", "hf", "lm-eval"] = "vllm"
    tensor_parallel_size: int = Field(1, ge=1)
    pipeline_parallel_size: int = Field(1, ge=1)
    vllm_args: dict[str, Any] = Field(default_factory=dict)
    lm_eval_model: Literal["vllm", "hf"] = "vllm"

    def options(self) -> EngineOptions:
        """These settings as the bench options of the engine."""
        return options_for(
            self.name,
            tensor_parallel_size=self.tensor_parallel_size,
            pipeline_parallel_size=self.pipeline_parallel_size,
            extra=self.vllm_args,
            lm_eval_model=self.lm_eval_model,
        )


class RaySettings(_Strict):
    """Resources of each job's actor on a Ray cluster (one actor per model serves all of that model's jobs)."""

    gpus_per_job: float | None = Field(None, ge=0)  # default: tensor x pipeline parallel size if the cluster has GPUs
    cpus_per_job: float = Field(1, gt=0)
    actors_per_model: int = Field(1, ge=1)


class SweepSpec(_Strict):
    """Models x suites x seeds, run as one bench job each."""

    models: list[ModelEntry] = Field(min_length=1)
    suites: list[str] = Field(min_length=1)
    seeds: int | list[int] | None = None  # N: seeds 0..N-1; a list: those; none: each suite's own counts, else 1
    limit: int | None = Field(None, ge=1)
    data_dir: str | None = None
    engine: EngineSettings = EngineSettings()
    retries: int = Field(2, ge=0)  # attempts after the first for a job that fails
    ray: RaySettings = RaySettings()
    baseline: str | None = None  # a model name: the final comparison tests the others against it

    @field_validator("models", mode="before")
    @classmethod
    def _plain_paths(cls, value: object) -> object:
        return (
            [{"path": item} if isinstance(item, str) else item for item in value] if isinstance(value, list) else value
        )

    @field_validator("seeds")
    @classmethod
    def _seed_values(cls, value: int | list[int] | None) -> int | list[int] | None:
        if isinstance(value, int) and value < 1:
            raise ValueError("seeds must be at least 1")
        if isinstance(value, list) and (not value or len(set(value)) != len(value) or min(value) < 0):
            raise ValueError("seeds must be distinct non-negative integers")
        return value


@dataclass(frozen=True, slots=True)
class Job:
    """One bench run of a sweep: a model on a suite with one seed (and the suite's benchmarks for that seed)."""

    model: str  # the model's name: its folder in the output
    source: str  # what ``limr-kit bench`` is given: a folder or org/name@revision
    suite: str
    seed: int
    benchmarks: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.model}/{self.suite}/{seed_folder(self.seed)}"

    def folder(self, out: Path) -> Path:
        return out / self.model / self.suite / seed_folder(self.seed)


@dataclass(frozen=True, slots=True)
class Sweep:
    """A loaded spec with its paths resolved and its jobs expanded."""

    spec: SweepSpec
    jobs: list[Job]
    plans: dict[str, list[tuple[int, tuple[str, ...]]]]  # suite -> (seed, benchmarks)
    data_dir: Path | None
    engine_options: EngineOptions

    def options(self, job: Job) -> BenchOptions:
        return BenchOptions(
            suite=job.suite,
            limit=self.spec.limit,
            data_dir=self.data_dir,
            seed=job.seed,
            engine_options=self.engine_options,
            benchmarks=job.benchmarks,
        )

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(job.model for job in self.jobs))


def _checkpoints(folder: Path) -> list[Path]:
    """The checkpoint folders of a training run, by step (the last number in the name)."""
    found = [p.parent for p in [*folder.glob("*/config.json"), *folder.glob("*/*/config.json")]]
    step = {path: int(match.group(1)) if (match := STEP.search(path.name)) else -1 for path in found}
    return sorted(found, key=lambda path: (step[path], str(path)))


def _models(entry: ModelEntry, base: Path) -> list[tuple[str, str]]:
    """(name, source) for each model an entry stands for."""
    if entry.hub:
        source = f"{entry.hub}@{entry.revision}" if entry.revision else entry.hub
        return [(entry.name or source.replace("/", "--"), source)]
    folder = (base / (entry.path or entry.checkpoints or "")).expanduser().resolve()
    if not folder.is_dir():
        raise InputError(f"Model folder {folder} does not exist (relative paths in a sweep spec start at its folder).")
    if entry.path:
        return [(entry.name or folder.name, str(folder))]
    found = _checkpoints(folder)
    if not found:
        raise InputError(f"{folder} holds no checkpoint (no sub-folder with a config.json, one or two levels down).")
    prefix = entry.name or folder.name
    return [(f"{prefix}-{path.name}", str(path)) for path in found]


def load_sweep(path: str | Path) -> Sweep:
    """Read ``path``, check it and expand it into jobs (model order, then suite, then seed)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Sweep spec {path} not found.")
    spec = _load(path, SweepSpec)
    assert isinstance(spec, SweepSpec)
    try:
        engine_options = spec.engine.options()
    except InputError as exc:
        raise ConfigError(path, [f"engine: {exc}"]) from None
    base = path.resolve().parent
    models = [model for entry in spec.models for model in _models(entry, base)]
    names = [name for name, _ in models]
    bad = next((name for name in names if not NAME.match(name)), None)
    if bad is not None:
        raise ConfigError(path, [f"models: '{bad}' is not usable as a folder name; give the model a name"])
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise ConfigError(path, [f"models: two models are named '{twice}'; give them distinct names"])
    if spec.baseline is not None and spec.baseline not in names:
        raise ConfigError(path, [f"baseline: '{spec.baseline}' is none of the models ({', '.join(names)})"])
    plans = {}
    for suite in spec.suites:
        suite_spec, _ = resolve_suite(suite)
        if isinstance(spec.seeds, list):
            plans[suite] = [(seed, suite_spec.benchmarks) for seed in spec.seeds]
        else:
            plans[suite] = seed_plan(suite_spec, spec.seeds)
    jobs = [
        Job(name, source, suite, seed, benchmarks)
        for name, source in models
        for suite in spec.suites
        for seed, benchmarks in plans[suite]
    ]
    data_dir = (base / spec.data_dir).resolve() if spec.data_dir else None
    return Sweep(spec, jobs, plans, data_dir, engine_options)
