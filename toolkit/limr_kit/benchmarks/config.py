"""Benchmark and suite definitions (``benchmarks/*.yaml``), validated by pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from limr_kit.errors import ConfigError, UnknownNameError, validation_problems
from limr_kit.resources import data_dir


DEFAULT_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
Transform = Literal["first", "strip_dollars", "last_boxed", "repair_escapes", "join_commas"]
AnswerType = Literal["math", "choice", "number-with-unit"]
PromptFormat = Literal["chat", "polymath"]  # polymath: the paper's Table 6 text, as is (no chat template)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """Where a value comes from in a data row, and the transforms applied to it (in order)."""

    field: str
    transforms: tuple[Transform, ...] = ()


class Fields(_Strict):
    """The data row fields holding the question, the gold answer and (optionally) an id."""

    question: FieldSpec
    answer: FieldSpec
    id: str | None = None

    @field_validator("question", "answer", mode="before")
    @classmethod
    def _plain_name(cls, value: object) -> object:
        return {"field": value} if isinstance(value, str) else value


class HubSource(_Strict):
    """A Hugging Face Hub dataset at a pinned revision (None: resolved at run time and recorded)."""

    dataset: str
    revision: str | None = None
    split: str = "test"
    config: str | None = None
    fields: Fields
    where: dict[str, str] = Field(default_factory=dict)  # keep rows whose field equals the value


class LocalSource(_Strict):
    """A JSONL file under ``--data-dir`` (the layout of ``shared/data/bench``)."""

    file: str
    fields: Fields


class PolymathSource(_Strict):
    """A multidisciplinary benchmark read by its own loader (``limr_kit.benchmarks.polymath_data``)."""

    loader: Literal["scibench", "mmlu_pro", "gpqa", "supergpqa"]
    file: str  # file or folder under --data-dir
    hub: str | None = None  # Hub dataset read when no --data-dir holds ``file``
    revision: str | None = None
    subset: int | None = Field(None, ge=1)  # seeded subset size (overall, or per subject); --full ignores it
    per_subject: bool = False
    subset_seed: int = 0
    shuffle_seed: int | None = None  # GPQA: the options' shuffle seed

    @model_validator(mode="after")
    def _gpqa_seed(self) -> PolymathSource:
        if (self.loader == "gpqa") != (self.shuffle_seed is not None):
            raise ValueError("shuffle_seed is required for the gpqa loader, and only for it")
        return self


class Decoding(_Strict):
    """Sampling settings; ``n`` samples per question, temperature 0 means greedy."""

    n: int = Field(1, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(3072, ge=1)


class BenchmarkSpec(_Strict):
    """One benchmark: data, prompt, decoding and the headline metric."""

    name: str
    title: str
    hub: HubSource | None = None  # None: a local-only benchmark, read from --data-dir
    local: LocalSource | None = None
    polymath: PolymathSource | None = None
    answer_type: AnswerType = "math"
    prompt: PromptFormat = "chat"
    system_prompt: str = DEFAULT_SYSTEM
    decoding: Decoding = Decoding()

    @model_validator(mode="after")
    def _one_source(self) -> BenchmarkSpec:
        if (self.local is None) == (self.polymath is None):
            raise ValueError("give exactly one of local (a JSONL benchmark) and polymath (its own loader)")
        if self.polymath is not None and self.hub is not None:
            raise ValueError("a polymath benchmark names its Hub dataset in polymath.hub")
        return self

    @property
    def metric(self) -> str:
        """The headline metric: accuracy pooled over all ``n`` samples (avg@n)."""
        return f"avg@{self.decoding.n}"


class DecodingOverride(_Strict):
    """Decoding settings a suite sets on all of its benchmarks (the others stay the benchmark's own)."""

    n: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_new_tokens: int | None = Field(None, ge=1)


class Override(_Strict):
    """A suite's own prompt or decoding for one of its benchmarks."""

    prompt: PromptFormat | None = None
    decoding: Decoding | None = None


class SuiteSpec(_Strict):
    """A named list of benchmarks; the suite average is the plain mean of their accuracies.

    ``seeds`` gives the number of seeds a benchmark is run with when ``--seeds`` is not given (default 1).
    ``aggregation: polymath`` adds the polymath paper's subject and domain scores (Tables 3, 12, 13).
    """

    name: str
    description: str
    benchmarks: tuple[str, ...]
    aggregation: Literal["mean", "polymath"] = "mean"
    overrides: dict[str, Override] = Field(default_factory=dict)
    seeds: dict[str, int] = Field(default_factory=dict)
    decoding: DecodingOverride | None = None

    @field_validator("seeds")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [name for name, count in value.items() if count < 1]
        if bad:
            raise ValueError(f"seeds of '{bad[0]}' must be at least 1")
        return value


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, validation_problems(exc)) from exc


def load_benchmarks(folder: Path | None = None) -> dict[str, BenchmarkSpec]:
    """Every benchmark defined in ``folder`` (default: limr-kit's ``benchmarks/``), by name."""
    folder = folder or data_dir("benchmarks")
    specs = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = _load(path, BenchmarkSpec)
        if spec.name != path.stem:
            raise ConfigError(path, [f"name: '{spec.name}' must match the file name '{path.stem}'"])
        specs[spec.name] = spec
    return specs


def load_suites(folder: Path | None = None) -> dict[str, SuiteSpec]:
    """Every suite in ``folder/suites/``, plus a one-benchmark suite per benchmark."""
    folder = folder or data_dir("benchmarks")
    benchmarks = load_benchmarks(folder)
    suites = {
        name: SuiteSpec(
            name=name,
            description=f"{spec.title} alone",
            benchmarks=(name,),
            aggregation="mean" if spec.polymath is None else "polymath",
        )
        for name, spec in benchmarks.items()
    }
    for path in sorted((folder / "suites").glob("*.yaml")):
        suite = _load(path, SuiteSpec)
        unknown = [name for name in (*suite.benchmarks, *suite.overrides) if name not in benchmarks]
        if unknown:
            raise ConfigError(path, [f"benchmarks: unknown benchmark '{unknown[0]}' (known: {', '.join(benchmarks)})"])
        stray = [name for name in suite.seeds if name not in suite.benchmarks]
        if stray:
            raise ConfigError(path, [f"seeds: '{stray[0]}' is not one of the suite's benchmarks"])
        suites[suite.name] = suite
    return suites


def resolve_suite(name: str, folder: Path | None = None) -> tuple[SuiteSpec, list[BenchmarkSpec]]:
    """A suite (or single benchmark) by name, with its benchmark definitions."""
    suites = load_suites(folder)
    if name not in suites:
        raise UnknownNameError("suite or benchmark", name, suites)
    benchmarks = load_benchmarks(folder)
    suite = suites[name]
    specs = []
    for item in suite.benchmarks:
        override = suite.overrides.get(item)
        changes = {} if override is None else override.model_dump(exclude_none=True)
        if override is not None and override.decoding is not None:
            changes["decoding"] = override.decoding
        specs.append(benchmarks[item].model_copy(update=changes))
    if suite.decoding is not None:
        update = suite.decoding.model_dump(exclude_none=True)
        specs = [spec.model_copy(update={"decoding": spec.decoding.model_copy(update=update)}) for spec in specs]
    return suite, specs
