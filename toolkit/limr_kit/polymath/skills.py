"""Salient skills per category (the paper's Table 8 prompt), the skill spectrum and its radar plot."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from limr_kit.errors import InputError
from limr_kit.polymath.client import ChatClient
from limr_kit.polymath.pool import Candidate


CATEGORIES = ("Algebra", "Geometry", "Number Theory", "Precalculus", "Probability")

# arXiv 2601.03111 Table 8, transcribed in shared/data/polymath/prompts.json.
SKILL_PROMPT = (
    "Here is a reasoning problem, and your job is to identify the concepts and skills in the scope of [CATEGORY] "
    "that are related to solve the problem.\nPlease separate the concepts or skills with ;, and if there is no "
    "skills or concepts identified, please answer with None.\nPlease put your answer within <answer></answer>.\n"
    "For example: compute derivatives is the skill in precalculus.\nQuestion:\n[QUESTION]"
)

# Not in the paper (it does not say how subjects were assigned): limr-kit's category prompt for `--classify`.
CATEGORY_PROMPT = (
    "Here is a math problem. Which one of these subjects does it belong to: [SUBJECTS]?\n"
    "Please put only the subject's name within <answer></answer>.\nQuestion:\n[QUESTION]"
)
CLASSIFY = "category"  # the key of the category call in an annotation's raw replies and failures

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


class UnparsableReply(ValueError):
    """A reply without an ``<answer>`` block (or a bare ``None``)."""


# MATH's seven subjects (the natural samples' categories) and the skill category each falls in (paper §5).
SUBJECTS = {
    "Prealgebra": "Algebra",
    "Algebra": "Algebra",
    "Intermediate Algebra": "Algebra",
    "Geometry": "Geometry",
    "Number Theory": "Number Theory",
    "Precalculus": "Precalculus",
    "Counting & Probability": "Probability",
    "Probability": "Probability",
}


def _known(text: str, names: list[str], what: str) -> str:
    for name in names:
        if text.strip().lower() == name.lower():
            return name
    raise InputError(f"Unknown {what} '{text}': use one of {', '.join(names)}.")


def parse_category(text: str) -> str:
    """A skill category as the user may write it (case-insensitive); an unknown one is an error."""
    return _known(text, list(CATEGORIES), "category")


def parse_subject(text: str) -> str:
    """A MATH subject or skill category (what ``natural`` picks one sample per); an unknown one is an error."""
    return _known(text, list(SUBJECTS), "category")


def skill_prompt(category: str, question: str) -> str:
    """The Table 8 prompt for one (problem, category)."""
    return SKILL_PROMPT.replace("[CATEGORY]", category).replace("[QUESTION]", question)


def parse_skills(reply: str) -> list[str]:
    """The skills in ``<answer>a; b; c</answer>``; ``[]`` for ``None``; :class:`UnparsableReply` otherwise."""
    matches = _ANSWER.findall(reply)
    if not matches:
        if reply.strip().strip(".").lower() == "none":
            return []
        raise UnparsableReply("no <answer>...</answer> in the reply")
    body = matches[-1].strip().strip(".")
    if not body or body.lower() == "none":
        return []
    skills, seen = [], set()
    for part in body.split(";"):
        skill = part.strip().strip(".").strip()
        if skill and skill.lower() != "none" and skill.lower() not in seen:
            seen.add(skill.lower())
            skills.append(skill)
    return skills


@dataclass(slots=True)
class Annotation:
    """One problem's skills per category, raw replies and failures (a failed call is never "no skills")."""

    id: str
    skills: dict[str, list[str]] = field(default_factory=dict)
    raw: dict[str, str | None] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    category: str | None = None  # from the category prompt (`--classify`)

    @property
    def spectrum(self) -> dict[str, int]:
        """Skills counted per category: the paper's "skill spectrum"."""
        return {name: len(self.skills.get(name, [])) for name in CATEGORIES}

    def to_row(self) -> dict:
        return {
            "id": self.id,
            "category": self.category,
            "skills": self.skills,
            "spectrum": self.spectrum,
            "raw": self.raw,
            "failures": self.failures,
        }

    @classmethod
    def from_row(cls, row: dict) -> Annotation:
        return cls(
            str(row["id"]), row.get("skills", {}), row.get("raw", {}), row.get("failures", {}), row.get("category")
        )


def category_prompt(question: str) -> str:
    """The category prompt for one problem (MATH's subjects)."""
    return CATEGORY_PROMPT.replace("[SUBJECTS]", ", ".join(SUBJECTS)).replace("[QUESTION]", question)


def _classify(note: Annotation, reply_text: str) -> None:
    matches = _ANSWER.findall(reply_text)
    try:
        note.category = parse_subject(matches[-1]) if matches else None
    except InputError:
        note.category = None
    if note.category is None:
        note.failures[CLASSIFY] = "no known subject in <answer>...</answer>"


def annotate(
    pool: list[Candidate],
    client: ChatClient,
    categories: tuple[str, ...] = CATEGORIES,
    max_tokens: int = 512,
    classify: bool = False,
) -> list[Annotation]:
    """One call per (problem, category) through ``client`` (and one category call each with ``classify``)."""
    jobs = [(problem, name) for problem in pool for name in categories]
    prompts = [(skill_prompt(name, problem.prompt), 0.0, 0) for problem, name in jobs]
    if classify:
        jobs += [(problem, CLASSIFY) for problem in pool]
        prompts += [(category_prompt(problem.prompt), 0.0, 0) for problem in pool]
    replies = client.chat_many(prompts, max_tokens=max_tokens)
    by_id = {problem.id: Annotation(problem.id) for problem in pool}
    for (problem, name), reply in zip(jobs, replies, strict=True):
        note = by_id[problem.id]
        note.raw[name] = reply.text
        if reply.text is None:
            note.failures[name] = reply.error or "failed"
            continue
        if name == CLASSIFY:
            _classify(note, reply.text)
            continue
        try:
            note.skills[name] = parse_skills(reply.text)
        except UnparsableReply as exc:
            note.failures[name] = str(exc)
    return list(by_id.values())


def read_annotations(path: Path) -> list[Annotation]:
    """``skills.jsonl`` as written by :func:`annotate`'s caller."""
    from limr_kit._io import iter_jsonl

    try:
        return [Annotation.from_row(row) for _, row in iter_jsonl(path)]
    except (OSError, KeyError) as exc:
        raise InputError(f"Cannot read annotations from {path}: {exc}") from exc


def radar_plot(note: Annotation, path: Path) -> None:
    """The skill spectrum of one sample as a radar chart (the paper's Figure 2)."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [note.spectrum[name] for name in CATEGORIES]
    angles = [2 * math.pi * i / len(CATEGORIES) for i in range(len(CATEGORIES))]
    figure, axis = plt.subplots(subplot_kw={"projection": "polar"}, figsize=(4.5, 4.5))
    axis.plot([*angles, angles[0]], [*values, values[0]], marker="o")
    axis.fill([*angles, angles[0]], [*values, values[0]], alpha=0.25)
    axis.set_xticks(angles, CATEGORIES)
    axis.set_title(f"Skill spectrum: {note.id}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def dump(notes: list[Annotation]) -> list[str]:
    """The JSONL lines of ``notes``."""
    return [json.dumps(note.to_row(), ensure_ascii=False) for note in notes]
