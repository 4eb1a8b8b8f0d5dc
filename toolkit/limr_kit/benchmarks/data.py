"""Load a benchmark's questions and gold answers, from the Hub (pinned) or a local data folder."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limr_kit._io import iter_jsonl, sha256_file
from limr_kit.benchmarks.config import BenchmarkSpec, Fields, FieldSpec
from limr_kit.errors import InputError
from limr_kit.rewards.extract import last_boxed


if TYPE_CHECKING:
    from limr_kit.benchmarks.polymath_data import PolymathItem

DataDirs = str | Path | Sequence[str | Path] | None

_MATH_DOLLAR = re.compile(r"(?<!\\)\$")


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    answer: str
    item: PolymathItem | None = None  # options, answer type, unit and subject of a polymath benchmark's item


@dataclass(frozen=True, slots=True)
class BenchmarkData:
    """The questions of one benchmark and where they came from."""

    questions: tuple[Question, ...]
    source: dict[str, Any]


def _apply(spec: FieldSpec, value: Any, where: str) -> str:
    for transform in spec.transforms:
        if transform == "first":
            value = value[0] if isinstance(value, list) and value else value
        elif transform == "join_commas":
            value = ", ".join(str(item) for item in value) if isinstance(value, list) else value
        elif transform == "strip_dollars":  # math delimiters, as in "$69$,$84$"; an escaped \$ is money and stays
            value = _MATH_DOLLAR.sub("", str(value)).strip()
        elif transform == "last_boxed":
            boxed = last_boxed(str(value))
            if boxed is None:
                raise InputError(f"{where}: field '{spec.field}' has no \\boxed{{}} answer to take the gold from.")
            value = boxed
        elif transform == "repair_escapes":  # \f and \t stored as control characters by a broken JSON escape
            value = str(value).replace("\x0c", "\\f").replace("\t", "\\t")
    return str(value)


def _questions(rows: Iterable[tuple[str, dict[str, Any]]], fields: Fields, origin: str) -> list[Question]:
    questions: list[Question] = []
    seen: set[str] = set()
    for index, (where, row) in enumerate(rows):
        for spec in (fields.question, fields.answer):
            if row.get(spec.field) in (None, ""):
                raise InputError(f"{where}: missing field '{spec.field}'. Check the file, or the fields in {origin}.")
        question_id = str(row.get(fields.id, index)) if fields.id else str(index)
        if question_id in seen:
            raise InputError(f"{where}: duplicate question id '{question_id}' (field '{fields.id}').")
        seen.add(question_id)
        questions.append(
            Question(
                question_id,
                _apply(fields.question, row[fields.question.field], where),
                _apply(fields.answer, row[fields.answer.field], where),
            )
        )
    return questions


def _local_rows(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    for number, row in iter_jsonl(path):
        yield f"{path}:{number}", row


def data_dirs(data_dir: DataDirs) -> tuple[Path, ...]:
    """``--data-dir`` as a tuple of folders (it may be given several times)."""
    if data_dir is None:
        return ()
    if isinstance(data_dir, str | Path):
        return (Path(data_dir),)
    return tuple(Path(item) for item in data_dir)


def find_in(folders: Sequence[Path], relative: str) -> Path | None:
    """The first ``folder/relative`` that exists."""
    return next((folder / relative for folder in folders if (folder / relative).exists()), None)


def load_benchmark(
    spec: BenchmarkSpec, data_dir: DataDirs = None, limit: int | None = None, full: bool = False
) -> BenchmarkData:
    """The questions of ``spec``: from ``data_dir/<file>`` when given, else from the Hub dataset.

    ``full``: a polymath benchmark's whole set instead of its seeded subset.
    """
    if spec.polymath is not None:
        from limr_kit.benchmarks.polymath_bench import load_polymath_benchmark

        data = load_polymath_benchmark(spec, data_dirs(data_dir), full)
        return BenchmarkData(data.questions[:limit] if limit else data.questions, data.source)
    origin = f"benchmarks/{spec.name}.yaml"
    folders = data_dirs(data_dir)
    if folders:
        path = find_in(folders, spec.local.file) or folders[0] / spec.local.file
        if not path.is_file():
            raise InputError(
                f"{path} not found. --data-dir must hold <benchmark>/test.jsonl files (as shared/data/bench)."
            )
        questions = _questions(_local_rows(path), spec.local.fields, origin)
        source = {"kind": "local", "path": str(path), "sha256": sha256_file(path)}
    elif spec.hub is None:
        raise InputError(f"{spec.title} is local only: pass --data-dir holding {spec.local.file}.")
    else:
        questions, source = _hub_questions(spec, origin)
    if not questions:
        raise InputError(f"{spec.title} has no questions in {source.get('path') or source.get('dataset')}.")
    selected = questions[:limit] if limit else questions
    return BenchmarkData(tuple(selected), {**source, "n_questions_available": len(questions)})


def _hub_questions(spec: BenchmarkSpec, origin: str) -> tuple[list[Question], dict[str, Any]]:
    import datasets

    from limr_kit.hub.client import connect, datasets_endpoint, hub_errors

    session = connect()
    hub = spec.hub
    with hub_errors(session, f"loading {hub.dataset}"), datasets_endpoint(session):
        info = session.api.dataset_info(hub.dataset, revision=hub.revision)
        table = datasets.load_dataset(hub.dataset, hub.config, revision=info.sha, split=hub.split)
    rows = (
        (f"{hub.dataset}@{info.sha[:12]} row {index}", row)
        for index, row in enumerate(table)
        if all(str(row.get(key)) == value for key, value in hub.where.items())
    )
    source = {
        "kind": "hub",
        "dataset": hub.dataset,
        "revision": hub.revision,
        "resolved_sha": info.sha,
        "split": hub.split,
        "pinned": hub.revision is not None,
    }
    return _questions(rows, hub.fields, origin), source
