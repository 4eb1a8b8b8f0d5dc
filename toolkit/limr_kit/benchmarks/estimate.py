"""``limr-kit estimate``: k graded samples per training prompt, written as a reward log ``limr-kit score`` reads.

The offline pass rate before training (GAIR-NLP/LIMR issues #3 and #31): each prompt is rendered, sampled,
seeded and graded exactly as ``bench`` does a benchmark question (the training set is one benchmark named
``estimate``), with bench's engines, data parallelism and per-question resume: every finished prompt is
appended to samples.jsonl at once, and a rerun with the same settings samples only the prompts not there.

When every prompt is done, rewards.jsonl holds one row per sample, ``{"sample_id", "epoch": 0, "reward",
"correct", "reason"}`` with reward 1 for a correct answer and 0 otherwise (so ``--aggregate mean`` and
the default pass rate agree), and estimate.json the counts and provenance. Both are written atomically.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from limr_kit._io import sha256_file, write_json, write_jsonl
from limr_kit.benchmarks.config import DEFAULT_SYSTEM, BenchmarkSpec, Decoding, Fields, LocalSource
from limr_kit.benchmarks.data import BenchmarkData, Question
from limr_kit.benchmarks.engine_options import HfOptions, VllmOptions, check_options
from limr_kit.benchmarks.results import tool_versions
from limr_kit.benchmarks.run import (
    BenchOptions,
    generate_and_grade,
    load_chat_model,
    prepare_output,
)
from limr_kit.errors import InputError
from limr_kit.progress import Progress


SCHEMA = "limr-kit/estimate@1"
NAME = "estimate"  # the benchmark name of the training set: in samples.jsonl and every prompt's sampling seed
REWARD_LOG = "rewards.jsonl"
SUMMARY = "estimate.json"
_FLAGS = {"n": "--k", "temperature": "--temperature", "top_p": "--top-p", "max_new_tokens": "--max-new-tokens"}


@dataclass(frozen=True, slots=True)
class EstimateOptions:
    """Sampling, dataset columns and engine of an estimate. Temperature 1 (the model's own distribution) is
    our default; set the rollout temperature of the recipe to be trained (LIMR: 1.2, One-Shot RLVR: 0.6)."""

    k: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 3072
    system_prompt: str = DEFAULT_SYSTEM
    question_field: str | None = None  # None: the first of prompt, question, problem, context
    answer_field: str = "answer"
    id_field: str | None = None  # None: 'id' when the dataset has it, else the row number (as training)
    split: str = "train"
    limit: int | None = None
    seed: int = 0
    engine_options: VllmOptions | HfOptions = field(default_factory=VllmOptions)  # the engine and its settings
    grader_timeout: float = 2.0
    fresh: bool = False

    def __post_init__(self) -> None:
        check_options("EstimateOptions", self.engine_options, (VllmOptions, HfOptions))

    @property
    def engine(self) -> str:
        return self.engine_options.engine


@dataclass(frozen=True, slots=True)
class EstimateResult:
    out_dir: Path
    summary: dict[str, Any]  # estimate.json's content
    pass_rates: dict[str, float]  # per prompt sampled


def _decoding(options: EstimateOptions) -> Decoding:
    if options.k < 1:
        raise InputError(f"--k is the number of samples per prompt and must be at least 1, got {options.k}.")
    if options.limit is not None and options.limit < 1:
        raise InputError(f"--limit must be at least 1, got {options.limit}.")
    try:
        decoding = Decoding(
            n=options.k,
            temperature=options.temperature,
            top_p=options.top_p,
            max_new_tokens=options.max_new_tokens,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InputError(f"{_FLAGS[str(error['loc'][0])]}: {error['msg']} (got {error['input']!r}).") from None
    if decoding.temperature == 0 and decoding.n > 1:
        raise InputError(
            f"At --temperature 0 the {decoding.n} samples of a prompt are all the same: give --k 1 "
            "or a temperature above 0."
        )
    return decoding


def _questions(dataset: Path, options: EstimateOptions) -> tuple[list[Question], str]:
    """The prompts as bench questions (id, text, gold) and the column the text came from."""
    from limr_kit.datasets_io import read_table
    from limr_kit.train.data import read_problems
    from limr_kit.train.recipes import DatasetFields, DatasetSpec

    columns = read_table(dataset, split=options.split).column_names
    fields = DatasetFields(
        question=(options.question_field,) if options.question_field else DatasetFields().question,
        answer=options.answer_field,
        id=options.id_field or ("id" if "id" in columns else None),
    )
    problems = read_problems(
        DatasetSpec(path=str(dataset), split=options.split, fields=fields), dataset, "--{role}-field"
    )
    question_field = next(name for name in fields.question if name in columns)
    return [Question(p.sample_id, p.question, p.answer) for p in problems], question_field


def _saved_ids(samples: Path) -> set[str]:
    """The prompts a previous run already saved (complete lines only: a torn last one is sampled again)."""
    if not samples.exists():
        return set()
    with open(samples, "rb") as handle:
        return {json.loads(line)["id"] for line in handle if line.endswith(b"\n")}


def _log_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "sample_id": record["id"],
            "epoch": 0,
            "reward": float(c["correct"]),
            "correct": c["correct"],
            "reason": c["reason"],
        }
        for record in records
        for c in record["completions"]
    ]


def _summary(
    records: list[dict[str, Any]], context: dict[str, Any], counts: dict[str, int], settings: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, float]]:
    sampled = [record for record in records if record["completions"]]
    passes = {record["id"]: sum(c["correct"] for c in record["completions"]) for record in sampled}
    k = context["decoding"]["n"]
    rates = {key: n / k for key, n in passes.items()}
    histogram = Counter(passes.values())
    summary = {
        "schema": SCHEMA,
        "status": "complete",
        **context,
        "counts": {
            "prompts": len(records),
            "sampled": len(sampled),
            "prompt_too_long": len(records) - len(sampled),
            "all_wrong": histogram.get(0, 0),
            "all_correct": histogram.get(k, 0),
            "mixed": len(sampled) - histogram.get(0, 0) - histogram.get(k, 0),
            **counts,
        },
        "mean_pass_rate": sum(rates.values()) / len(rates) if rates else None,
        "correct_of_k": {str(j): histogram.get(j, 0) for j in range(k + 1)},
        "too_long_ids": [record["id"] for record in records if not record["completions"]],
        "files": {"reward_log": REWARD_LOG, "samples": "samples.jsonl"},
        "engine_settings": settings,
    }
    return summary, rates


def estimate_pass_rates(
    model_name: str,
    dataset: str | Path,
    out: str | Path,
    options: EstimateOptions | None = None,
    progress: Progress | None = None,
) -> EstimateResult:
    """Sample ``options.k`` answers per prompt of ``dataset`` with ``model_name``, grade them, write the reward log.

    ``progress`` hears of each prompt finished.
    """
    options = options or EstimateOptions()
    decoding = _decoding(options)
    dataset, out = Path(dataset), Path(out)
    questions, question_field = _questions(dataset, options)
    model, tokenizer, context = load_chat_model(model_name)
    digest = sha256_file(dataset) if dataset.is_file() else None
    selected = tuple(questions[: options.limit] if options.limit else questions)
    source = {"kind": "local", "path": str(dataset), "sha256": digest, "n_questions_available": len(questions)}
    spec = BenchmarkSpec(
        name=NAME,
        title=dataset.name,
        local=LocalSource(file=str(dataset), fields=Fields(question=question_field, answer=options.answer_field)),
        system_prompt=options.system_prompt,
        decoding=decoding,
    )
    identity = {
        "command": "estimate",
        "model_sha": model.sha,
        "dataset_sha256": digest,
        "split": options.split,
        "fields": {"question": question_field, "answer": options.answer_field, "id": options.id_field},
        "engine": options.engine,
        "seed": options.seed,
        "decoding": decoding.model_dump(),
        "system_prompt": options.system_prompt,
        "limit": options.limit,
    }
    prepare_output(out, identity, options.fresh, outputs=(REWARD_LOG, SUMMARY))
    run = {
        "model": model.as_dict(),
        "dataset": {**source, "split": options.split, "question_field": question_field},
        "decoding": {**decoding.model_dump(), "seed": options.seed},
        "system_prompt": options.system_prompt,
        "provenance": {
            **tool_versions(),
            "engine": options.engine,
            "grader": {"mode": "default", "timeout_s": options.grader_timeout},
            "limit": options.limit,
        },
    }
    before = _saved_ids(out / "samples.jsonl")
    found: dict[str, Any] = {}

    def finished(_: BenchmarkSpec, records: list[dict[str, Any]], settings: dict[str, Any]) -> None:
        counts = {
            "resumed": sum(record["id"] in before for record in records),
            "generated": sum(record["id"] not in before and bool(record["completions"]) for record in records),
        }
        found["summary"], found["rates"] = _summary(records, run, counts, settings)
        write_jsonl(out / REWARD_LOG, _log_rows(records))
        write_json(out / SUMMARY, found["summary"])

    bench_options = BenchOptions(
        seed=options.seed,
        grader_timeout=options.grader_timeout,
        engine_options=options.engine_options,
    )
    previous = out / SUMMARY
    settings = json.loads(previous.read_text(encoding="utf-8"))["engine_settings"] if previous.exists() else {}
    work = [(spec, BenchmarkData(selected, source))]
    generate_and_grade(model, tokenizer, context, work, out, bench_options, settings, finished, progress)
    return EstimateResult(out, found["summary"], found["rates"])
