"""Synthetic sample engineering (arXiv 2601.03111 §2.4): generators write problems, then all must agree on it.

A candidate is kept only where every generator's boxed answer agrees (limr-kit's grader decides equality);
the agreed answer becomes its gold. Rank the kept ones with ``polymath skills`` and ``polymath select prime``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from limr_kit.polymath.client import ChatClient
from limr_kit.polymath.label_check import TRAINING_PROMPT, cluster_answers


# arXiv 2601.03111 Table 7, transcribed in shared/data/polymath/prompts.json.
SYNTHESIS_PROMPT = (
    "You are a professor proficient in physics, chemistry, and biology, tasked with creating a highly integrated "
    "problem for students that encompasses knowledge from all three disciplines. This problem should be a "
    "fill-in-the-blank question, and the final answer must be a precise integer (a positive integer between "
    "1-1000). The difficulty of this question should be at the high school to university level. Furthermore, it "
    "should not involve any estimation, and complex calculations should be avoided as much as possible to ensure "
    "the robustness of the evaluation."
)


@dataclass(frozen=True, slots=True)
class SynthCandidate:
    """One generated problem, every generator's extracted answer, and the agreed gold (None: rejected)."""

    id: str
    generator: str
    prompt: str
    answers: dict[str, str | None]
    answer: str | None

    def to_row(self) -> dict:
        return asdict(self)


def synthesize(generators: list[ChatClient], per_generator: int, *, temperature: float = 1.0) -> list[SynthCandidate]:
    """``per_generator`` problems from each generator (duplicates dropped), each solved by all (temperature 0)."""
    from limr_kit.rewards.extract import boxed_answers
    from limr_kit.rewards.grader import Grader

    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for client in generators:
        for reply in client.chat_many([(SYNTHESIS_PROMPT, temperature, seed) for seed in range(per_generator)]):
            text = (reply.text or "").strip()
            if text and text not in seen:  # the same problem twice would be two samples with one id
                seen.add(text)
                problems.append((client.name, text))
    solutions = {
        client.name: client.chat_many([(TRAINING_PROMPT.replace("[PROBLEM]", text), 0.0, 0) for _, text in problems])
        for client in generators
    }
    kept = []
    with Grader(workers=1) as grader:
        for index, (source, text) in enumerate(problems):
            answers = {}
            for model, replies in solutions.items():
                boxed = boxed_answers(replies[index].text or "")
                answers[model] = boxed[-1] if boxed else None
            found = [a for a in answers.values() if a is not None]
            groups = cluster_answers(found, grader)
            agreed = groups[0][0] if len(found) == len(answers) and len(groups) == 1 else None
            digest = hashlib.sha256(text.encode()).hexdigest()[:12]
            kept.append(SynthCandidate(f"synth-{digest}", source, text, answers, agreed))
    return kept
