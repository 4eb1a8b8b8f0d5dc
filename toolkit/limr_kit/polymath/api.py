"""The polymath commands' typed API: each reads its inputs, does one job and writes its outputs all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from limr_kit._io import staged_output, write_json, write_jsonl, write_text
from limr_kit.errors import InputError, LimrError
from limr_kit.polymath.client import ChatClient
from limr_kit.polymath.pool import floor_pool, read_pool
from limr_kit.polymath.skills import (
    CATEGORIES,
    annotate,
    dump,
    parse_category,
    parse_subject,
    radar_plot,
    read_annotations,
)


class EndpointError(LimrError):
    """Every call to an endpoint failed: nothing useful was produced."""


@dataclass(frozen=True, slots=True)
class SkillsResult:
    path: Path
    problems: int
    calls: int
    failures: int


def write_pool(scores: Path, prompts: Path, out: Path, *, floor: float, tolerance: float) -> int:
    """The LIM-floor pool of ``prompts`` (by ``scores``) as JSONL; returns its size."""
    pool = floor_pool(scores, prompts, floor=floor, tolerance=tolerance)
    if not pool:
        raise InputError(f"No prompt has LIM score {floor} (±{tolerance}) in {scores}.")
    return write_jsonl(
        out, ({"id": c.id, "prompt": c.prompt, "answer": c.answer, "lim_score": c.lim_score} for c in pool)
    )


def run_skills(
    pool_path: Path, client: ChatClient, out: Path, categories: list[str] | None = None, classify: bool = False
) -> SkillsResult:
    """Annotate every pool problem per category into ``OUT/skills.jsonl``; the cache lives in ``OUT/cache``."""
    pool = read_pool(pool_path)
    names = tuple(parse_category(name) for name in categories) if categories else CATEGORIES
    notes = annotate(pool, client, names, classify=classify)
    failures = sum(len(note.failures) for note in notes)
    if failures == len(pool) * (len(names) + classify):
        first = next(iter(notes[0].failures.values()))
        raise EndpointError(
            f"All {failures} calls to {client.endpoint} failed (first: {first}); nothing written. Check --endpoint "
            "and --model (the server must answer OpenAI chat completions)."
        )
    path = out / "skills.jsonl"
    write_text(path, "\n".join(dump(notes)) + "\n")
    return SkillsResult(path, len(pool), client.calls, failures)


def read_categories(path: Path) -> dict[str, str]:
    """An id -> category JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read the categories {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path} must be a JSON object of id -> category.")
    return {str(key): parse_subject(str(value)) for key, value in data.items()}


def run_select(
    pool_path: Path,
    skills_path: Path,
    rule: str,
    out: Path,
    *,
    tie_break: str = "most-skills",
    tolerance: float = 1e-9,
    categories_path: Path | None = None,
    category: str | None = None,
    history_path: Path | None = None,
) -> dict:
    """``OUT/selection.json`` and one radar plot per chosen sample; returns the selection record."""
    from limr_kit.polymath.select import read_histories, select, selection_record

    pool = read_pool(pool_path)
    notes = read_annotations(skills_path)
    categories = read_categories(categories_path) if categories_path else None
    if category is not None:
        categories = {c.id: parse_subject(category) for c in pool}
    elif categories is None:  # the annotator's categories, where `skills --classify` gave them
        categories = {note.id: note.category for note in notes if note.category}
    histories = read_histories(history_path) if history_path else None
    choices = select(
        pool, notes, rule, tie_break=tie_break, tolerance=tolerance, categories=categories, histories=histories
    )
    inputs = [p for p in (pool_path, skills_path, categories_path, history_path) if p is not None]
    record = selection_record(choices, rule, tie_break, inputs)
    by_id = {note.id: note for note in notes}
    with staged_output(out) as stage:
        write_json(stage / "selection.json", record)
        for choice in choices:
            radar_plot(by_id[choice.id], stage / f"radar-{choice.id}.png")
    return record


def run_synthesize(clients: list[ChatClient], per_generator: int, out: Path) -> tuple[int, int]:
    """``OUT/candidates.jsonl`` (every candidate and answer) and ``OUT/pool.jsonl`` (the agreed ones)."""
    from limr_kit.polymath.synthesize import synthesize

    candidates = synthesize(clients, per_generator)
    if not candidates:
        raise EndpointError("No generator produced a problem (every call failed); nothing written.")
    kept = [c for c in candidates if c.answer is not None]
    with staged_output(out) as stage:
        write_jsonl(stage / "candidates.jsonl", (c.to_row() for c in candidates))
        write_jsonl(stage / "pool.jsonl", ({"id": c.id, "prompt": c.prompt, "answer": c.answer} for c in kept))
    return len(kept), len(candidates)


def run_label_check(sample_path: Path, client: ChatClient, *, name: str | None = None, **options):
    """The label check of the sample in ``sample_path``; every call failing is an error, not a pass."""
    from limr_kit.polymath.label_check import label_check
    from limr_kit.polymath.sample import read_sample

    result = label_check(read_sample(sample_path, name), client, **options)
    if result.failed == result.k:
        raise EndpointError(f"All {result.k} calls to {client.endpoint} failed; the label could not be checked.")
    return result
