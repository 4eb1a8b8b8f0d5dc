"""Choosing the one sample: ``natural`` (one per category at the LIM floor), ``prime`` and ``specialist:<cat>``.

Tie-breaks (the paper does not say how it breaks ties among the floor candidates of one category):
``most-skills`` the most skills in the category's skill category (Prealgebra counts Algebra skills), then the broadest spectrum, then pool order;
``variance`` the highest population std of One-Shot RLVR's per-visit accuracy history (candidates without a
history rank last); ``first`` pool order.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from limr_kit._io import sha256_file
from limr_kit.errors import InputError
from limr_kit.polymath.pool import LIMR_FLOOR, Candidate
from limr_kit.polymath.skills import SUBJECTS, Annotation, parse_category, parse_subject


TieBreak = Literal["most-skills", "variance", "first"]
TIE_BREAKS: tuple[str, ...] = ("most-skills", "variance", "first")


@dataclass(frozen=True, slots=True)
class Choice:
    """One chosen sample and why."""

    id: str
    prompt: str
    answer: str
    lim_score: float | None
    category: str | None
    spectrum: dict[str, int]
    skills: dict[str, list[str]]
    history_std: float | None


def read_histories(path: Path) -> dict[str, list[float]]:
    """One-Shot RLVR's ``acc_step_500.json``: sample id -> per-visit training accuracies."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read the accuracy history {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise InputError(
            f"{path} is not an object of id -> list of accuracies (as One-Shot RLVR's acc_step_500.json)."
        )
    return {str(key): [float(x) for x in values] for key, values in data.items()}


def _history_std(histories: dict[str, list[float]], sample_id: str) -> float | None:
    values = histories.get(sample_id)
    return statistics.pstdev(values) if values else None


def _usable(notes: dict[str, Annotation], pool: list[Candidate]) -> dict[str, Annotation]:
    missing = [c.id for c in pool if c.id not in notes]
    if missing:
        raise InputError(
            f"{len(missing)} candidates have no skill annotation (first: {missing[0]}): run "
            "`limr-kit polymath skills` on the same pool."
        )
    return notes


def _choice(candidate: Candidate, note: Annotation, category: str | None, std: float | None) -> Choice:
    return Choice(
        candidate.id,
        candidate.prompt,
        candidate.answer,
        candidate.lim_score,
        category,
        note.spectrum,
        note.skills,
        std,
    )


def select(
    pool: list[Candidate],
    annotations: list[Annotation],
    rule: str,
    *,
    tie_break: TieBreak = "most-skills",
    floor: float = LIMR_FLOOR,
    tolerance: float = 1e-9,
    categories: dict[str, str] | None = None,
    histories: dict[str, list[float]] | None = None,
) -> list[Choice]:
    """The chosen sample(s) for ``rule``; ``categories`` maps id -> category where the pool has no field."""
    if tie_break not in TIE_BREAKS:
        raise InputError(f"Unknown tie-break '{tie_break}': use one of {', '.join(TIE_BREAKS)}.")
    if tie_break == "variance" and not histories:
        raise InputError("--tie-break variance needs an accuracy history: pass --history acc_step_500.json.")
    notes = _usable({note.id: note for note in annotations}, pool)
    histories = histories or {}
    order = {c.id: i for i, c in enumerate(pool)}

    def total(c: Candidate) -> int:
        return sum(notes[c.id].spectrum.values())

    if rule == "prime":
        best = max(pool, key=lambda c: (total(c), -order[c.id]))
        return [_choice(best, notes[best.id], None, _history_std(histories, best.id))]
    if rule.startswith("specialist:"):
        name = parse_category(rule.split(":", 1)[1])
        best = max(pool, key=lambda c: (notes[c.id].spectrum[name], total(c), -order[c.id]))
        return [_choice(best, notes[best.id], name, _history_std(histories, best.id))]
    if rule != "natural":
        raise InputError(f"Unknown rule '{rule}': use natural, prime or specialist:<category>.")
    unscored = [c.id for c in pool if c.lim_score is None]
    if unscored:
        raise InputError(
            f"{len(unscored)} candidates have no 'lim_score' (first: {unscored[0]}): the natural rule needs LIM "
            "scores; build the pool with `limr-kit polymath pool SCORES PROMPTS`."
        )
    floor_pool = [c for c in pool if abs(c.lim_score - floor) <= tolerance]
    if not floor_pool:
        raise InputError(f"No candidate has LIM score {floor} (±{tolerance}); widen --tolerance or check the pool.")

    def category_of(c: Candidate) -> str:
        text = (categories or {}).get(c.id) or c.category
        if text is None:
            raise InputError(
                f"Candidate {c.id} has no category: give the pool a 'category' field, or --categories FILE "
                "(id -> category, e.g. from `limr-kit polymath skills --classify`)."
            )
        return parse_subject(text)

    def rank(c: Candidate, subject: str) -> tuple:
        if tie_break == "first":
            return (-order[c.id],)
        if tie_break == "variance":
            std = _history_std(histories, c.id)
            return (std is not None, std or 0.0, -order[c.id])
        return (notes[c.id].spectrum[SUBJECTS[subject]], total(c), -order[c.id])

    groups: dict[str, list[Candidate]] = {}
    for c in floor_pool:
        groups.setdefault(category_of(c), []).append(c)
    chosen = []
    for subject, members in groups.items():
        best = max(members, key=lambda c, subject=subject: rank(c, subject))
        chosen.append(_choice(best, notes[best.id], subject, _history_std(histories, best.id)))
    return chosen


def selection_record(choices: list[Choice], rule: str, tie_break: str, inputs: list[Path]) -> dict:
    """What ``selection.json`` holds: the choice(s), the rule and the sha256 of every input."""
    return {
        "rule": rule,
        "tie_break": tie_break if rule == "natural" else None,
        "chosen": [asdict(choice) for choice in choices],
        "inputs": {str(path): sha256_file(path) for path in inputs},
    }
