"""polymath-8 inside ``limr-kit bench``: loading, prompts, grading by answer type, the paper's aggregation.

A polymath benchmark (``polymath:`` in its YAML) is read by its own loader from ``--data-dir`` or the Hub,
cut to its seeded subset unless ``--full``; every question carries its :class:`PolymathItem` (options,
answer type, unit, subject). Suites with ``aggregation: polymath`` also get subject and domain scores,
the overlap between their benchmarks, and ``--dedupe-across``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from limr_kit._io import sha256_file
from limr_kit.benchmarks.config import BenchmarkSpec
from limr_kit.benchmarks.data import BenchmarkData, DataDirs, Question, find_in, load_benchmark
from limr_kit.benchmarks.polymath import (
    benchmark_averages,
    default_domain_map,
    domain_average,
    domain_scores,
    subject_scores,
)
from limr_kit.benchmarks.polymath_data import (
    GPQA_ACCESS,
    PolymathItem,
    dedupe_across,
    load_gpqa,
    load_gpqa_hub,
    load_mmlu_pro,
    load_scibench,
    load_supergpqa,
    load_supergpqa_file,
    overlaps,
    render_prompt,
    seeded_subset,
)
from limr_kit.errors import InputError
from limr_kit.rewards import REWARD_CORRECT, REWARD_FORMAT_ERROR, REWARD_WRONG, Grade, GradeInput
from limr_kit.rewards.choice import grade_choice
from limr_kit.rewards.unit_number import grade_unit_number


def _local_items(spec: BenchmarkSpec, path: Path) -> list[PolymathItem]:
    source = spec.polymath
    if source.loader == "scibench":
        return load_scibench(path)
    if source.loader == "mmlu_pro":
        return load_mmlu_pro(path)
    if source.loader == "gpqa":
        return load_gpqa(path, source.shuffle_seed)
    return load_supergpqa_file(path)


def _hub_items(spec: BenchmarkSpec) -> tuple[list[PolymathItem], str]:
    source = spec.polymath
    if source.loader == "gpqa":
        return load_gpqa_hub(source.shuffle_seed, source.revision)
    if source.loader == "supergpqa":
        return load_supergpqa(source.revision)
    raise InputError(f"{spec.title}: loader '{source.loader}' reads local files only.")


def load_polymath_benchmark(spec: BenchmarkSpec, folders: Sequence[Path], full: bool) -> BenchmarkData:
    """A polymath benchmark's questions, from the first ``--data-dir`` holding its file, else from the Hub."""
    source = spec.polymath
    path = find_in(folders, source.file)
    if path is not None:
        items = _local_items(spec, path)
        origin: dict[str, Any] = {"kind": "local", "path": str(path)}
        if path.is_file():
            origin["sha256"] = sha256_file(path)
    elif source.hub is not None:
        items, sha = _hub_items(spec)
        origin = {"kind": "hub", "dataset": source.hub, "revision": source.revision, "resolved_sha": sha}
        origin["pinned"] = source.revision is not None
    else:
        where = ", ".join(str(folder) for folder in folders) or "no --data-dir given"
        hint = f" {GPQA_ACCESS}." if source.loader == "gpqa" else ""
        raise InputError(f"{spec.title} is local only: no --data-dir holds {source.file} ({where}).{hint}")
    origin["n_questions_available"] = len(items)
    if source.shuffle_seed is not None:
        origin["shuffle_seed"] = source.shuffle_seed
    if source.subset is not None and not full:
        items = seeded_subset(items, source.subset, source.subset_seed, source.per_subject)
        origin["subset"] = {
            "size": source.subset,
            "per_subject": source.per_subject,
            "seed": source.subset_seed,
            "ids": [item.id for item in items],
        }
    if not items:
        raise InputError(f"{spec.title} has no questions in {origin.get('path') or origin.get('dataset')}.")
    return BenchmarkData(tuple(Question(item.id, item.question, item.answer, item) for item in items), origin)


def as_item(benchmark: str, question: Question) -> PolymathItem:
    """The question's polymath item; an open-ended math question gets one with its benchmark's subject."""
    if question.item is not None:
        return question.item
    mapping = default_domain_map()
    subject = mapping.subject_of(benchmark, "*")
    return PolymathItem(
        question.id, benchmark, question.question, question.answer, "math", subject, mapping.subjects.get(subject)
    )


def polymath_prompt(benchmark: str, question: Question) -> str:
    """The paper's Table 6 prompt for ``question``, as the model sees it (no chat template)."""
    return render_prompt(as_item(benchmark, question))


def load_polymath_suite(
    specs: Sequence[BenchmarkSpec], data_dir: DataDirs, limit: int | None, full: bool, dedupe: bool
) -> tuple[dict[str, BenchmarkData], dict[str, Any]]:
    """Every benchmark of a polymath suite, the overlap between them, and (``dedupe``) each question counted once."""
    loaded = {spec.name: load_benchmark(spec, data_dir, None, full) for spec in specs}
    items = {spec.name: [as_item(spec.name, q) for q in loaded[spec.name].questions] for spec in specs}
    shared = overlaps(item for group in items.values() for item in group)
    dropped: dict[str, int] = {}
    if dedupe:
        kept = {item.id for item in dedupe_across([i for g in items.values() for i in g], [s.name for s in specs])}
        for name, data in loaded.items():
            questions = tuple(q for q in data.questions if as_item(name, q).id in kept)
            dropped[name] = len(data.questions) - len(questions)
            loaded[name] = BenchmarkData(questions, data.source)
    if limit:
        loaded = {name: BenchmarkData(data.questions[:limit], data.source) for name, data in loaded.items()}
    info = {
        "overlap": {pair: {"n": len(groups), "ids": groups} for pair, groups in shared.items()},
        "dedupe_across": {"enabled": dedupe, "dropped": dropped},
        "full": full,
    }
    return loaded, info


def _grade(correct: bool, reason: str, extracted: str | None) -> Grade:
    reward = REWARD_CORRECT if correct else REWARD_FORMAT_ERROR if reason == "no_answer" else REWARD_WRONG
    return Grade(correct, reward, reason, extracted)


def grade_polymath(item: PolymathItem, inputs: Sequence[GradeInput]) -> list[Grade]:
    """Grade choice and number-with-unit responses, each with its reason (math goes to the math grader)."""
    grades = []
    for graded in inputs:
        if item.answer_type == "choice":
            verdict = grade_choice(graded.prediction, item.options, item.answer)
            grades.append(_grade(verdict.correct, verdict.reason, verdict.letter))
        else:
            result = grade_unit_number(graded.prediction, item.answer, item.unit)
            grades.append(_grade(result.correct, result.reason, None if result.value is None else repr(result.value)))
    return grades


def benchmark_scores(benchmark: str, questions: Sequence[Question], per_question: dict[str, float]) -> dict[str, Any]:
    """Per-question subjects and the benchmark's own subject and domain scores (percent)."""
    subjects = {question.id: as_item(benchmark, question).subject for question in questions}
    by_subject = subject_scores((subjects[key], 100 * score) for key, score in per_question.items())
    return {"subjects": subjects, "subject_scores": by_subject, "domain_scores": domain_scores(by_subject)}


def suite_aggregation(benchmarks: dict[str, dict[str, Any]], info: dict[str, Any]) -> dict[str, Any]:
    """The paper's aggregation of a run: subjects pooled over benchmarks, 8 domains, Avg, AVG-OE/MCQ/All."""
    from limr_kit.benchmarks.polymath_compare import TABLE12_NAMES

    records = [
        (item["subjects"][question], 100 * score)
        for item in benchmarks.values()
        for question, score in item["per_question"].items()
    ]
    subjects = subject_scores(records)
    domains = domain_scores(subjects)
    accuracy = {TABLE12_NAMES.get(name, name): item["accuracy"] for name, item in benchmarks.items()}
    return {
        "subjects": subjects,
        "domains": domains,
        "avg": domain_average(domains),
        **benchmark_averages(accuracy),
        **info,
    }


def spec_note(spec: BenchmarkSpec) -> dict[str, Any]:
    """What a benchmark's summary records about its loader (the GPQA shuffle seed, its answer type)."""
    note: dict[str, Any] = {"answer_type": spec.answer_type, "prompt_format": spec.prompt}
    if spec.polymath is not None and spec.polymath.shuffle_seed is not None:
        note["gpqa_shuffle_seed"] = spec.polymath.shuffle_seed
    return note
