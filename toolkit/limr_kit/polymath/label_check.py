"""Label check: solve the sample k times and flag it when a clear majority disagrees with its gold answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from limr_kit.polymath.client import ChatClient
from limr_kit.polymath.sample import Sample


# arXiv 2601.03111 Table 6: the paper's raw training prompt (no chat template).
TRAINING_PROMPT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "User: You must put your answer inside \\boxed{} and Your final answer will be extracted automatically by the "
    "\\boxed{} tag. For multiple choice questions, the final answer in \\boxed{} should be the option letter "
    "(A, B, C, D, etc.).\n[PROBLEM]\nAssistant:"
)


@dataclass(frozen=True, slots=True)
class LabelCheck:
    """The verdict: how many of the k solutions agree with the gold, and the majority's other answer."""

    name: str
    gold: str
    k: int
    agree: int
    disagree: int
    failed: int
    majority_answer: str | None
    majority_count: int
    flagged: bool

    def to_dict(self) -> dict:
        return asdict(self)


def cluster_answers(answers: list[str], grader) -> list[tuple[str, int]]:
    """Answers grouped by the grader's equivalence, largest group first: ``(representative, count)``."""
    groups: list[list[str]] = []
    for answer in answers:
        for group in groups:
            if grader.grade(f"\\boxed{{{answer}}}", group[0]).correct:
                group.append(answer)
                break
        else:
            groups.append([answer])
    return sorted(((group[0], len(group)) for group in groups), key=lambda item: -item[1])


def label_check(
    sample: Sample,
    client: ChatClient,
    *,
    k: int = 8,
    majority: float = 0.6,
    temperature: float = 1.0,
    max_tokens: int = 2048,
) -> LabelCheck:
    """Flag ``sample`` when the largest group of answers other than the gold holds at least ``majority`` of k."""
    from limr_kit.rewards.grader import GradeInput, Grader

    prompt = TRAINING_PROMPT.replace("[PROBLEM]", sample.question)
    replies = client.chat_many([(prompt, temperature, seed) for seed in range(k)], max_tokens=max_tokens)
    texts = [reply.text for reply in replies if reply.text is not None]
    with Grader(workers=1) as grader:
        grades = grader.grade_many([GradeInput(text, sample.answer) for text in texts])
        others = [g.extracted for g in grades if not g.correct and g.extracted is not None]
        groups = cluster_answers(others, grader)
    agree = sum(g.correct for g in grades)
    top, count = groups[0] if groups else (None, 0)
    return LabelCheck(
        sample.name, sample.answer, k, agree, len(texts) - agree, k - len(texts), top, count, count >= majority * k
    )
