"""Answer policies: where a response's final answer is read from. One implementation for ``limr-kit grade``,
``limr-kit bench`` and the training rewards; the comparison with the gold is the grading mode's, whatever the policy.

- ``boxed`` (default, the paper protocol): the last ``\\boxed{}``; none is the format error ``no_box``.
- ``last-boxed-or-final``: the last ``\\boxed{}``; else the last final-answer statement on the response's last
  3 lines ("The answer is 5.", "Answer: (B)", "Final answer: x = 2"); else nothing, the format error
  ``no_answer`` (never a guess).
- ``math-verify``: math-verify's own extraction (``math_verify.parse`` with its default configs: LaTeX, then plain
  expressions, boxes first, every box of the response kept as a set); the string it extracted is then compared
  with limr-kit's comparison, so that policies differ only in where the answer is found. None found: ``no_answer``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from limr_kit.errors import InputError, UnknownNameError
from limr_kit.rewards.extract import boxed_answers


BOXED = "boxed"
LAST_BOXED_OR_FINAL = "last-boxed-or-final"
MATH_VERIFY = "math-verify"
POLICIES = (BOXED, LAST_BOXED_OR_FINAL, MATH_VERIFY)
TAIL_LINES = 3  # a final statement is looked for on the last lines only: an "answer is" mid-way is a step
# "The answer is", "final answer:", "**Answer:**", "answer is: " — the answer is what follows, to the line's end.
_STATEMENT = re.compile(r"\banswer\b\**\s*(?:is\b\s*:?|:)\**", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_TRAILING_CLAUSE = re.compile(r",\s+(?!(?:and|or)\b)(?=[A-Za-z]{2,}\b)")  # "5, since ..." (not "1, and 2")
_DELIMITED = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


@dataclass(frozen=True, slots=True)
class Extraction:
    """The answer a policy found (None: none), where it came from, and the response's box count."""

    answer: str | None
    via: str | None  # boxed | final_statement | math_verify
    boxes: int


def check_policy(policy: str, mode: str = "default") -> None:
    """Refuse an unknown policy, and any policy but ``boxed`` with the released reward (which reads only boxes)."""
    if policy not in POLICIES:
        raise UnknownNameError("answer policy", policy, POLICIES)
    if mode == "limr-compat" and policy != BOXED:
        raise InputError(
            f"Answer policy '{policy}' does not apply to limr-compat mode: the released LIMR reward reads only the last "
            "box, bit for bit. Use the default mode for other policies, or --answer-policy boxed."
        )


def _statement_answer(text: str) -> str:
    """The answer part of a statement's remainder: a delimited formula, else up to the sentence's end or a trailing
    clause ("5, since ...")."""
    text = text.strip().strip("*").strip()
    for left, right in _DELIMITED:
        if text.startswith(left) and (end := text.find(right, len(left))) > 0:
            return text[: end + len(right)]
    for pattern in (_SENTENCE_END, _TRAILING_CLAUSE):
        if match := pattern.search(text):
            text = text[: match.start()]
    return text.strip().strip("*").rstrip(",;").strip()


def final_statement(response: str) -> str | None:
    """The answer of the last final-answer statement on the last lines ("Answer:" alone on a line takes the next)."""
    lines = [line for line in response.strip().splitlines() if line.strip()][-TAIL_LINES:]
    for index in range(len(lines) - 1, -1, -1):
        matches = list(_STATEMENT.finditer(lines[index]))
        if not matches:
            continue
        rest = lines[index][matches[-1].end() :]
        if not rest.strip().strip("*") and index + 1 < len(lines):
            rest = lines[index + 1]
        answer = _statement_answer(rest)
        return answer or None
    return None


def math_verify_answer(response: str) -> str | None:
    """The string math-verify's default extraction found in the response (its own timeout off: the pool bounds it)."""
    from math_verify import parse

    found = [item for item in parse(response, parsing_timeout=None) if isinstance(item, str)]
    return found[-1] if found and found[-1].strip() else None


def extract_answer(response: str, policy: str) -> Extraction:
    """The final answer of ``response`` (cut at its end of sequence) under ``policy``."""
    answers = boxed_answers(response)
    if policy == MATH_VERIFY:
        answer = math_verify_answer(response)
        return Extraction(answer, "math_verify" if answer is not None else None, len(answers))
    if answers:
        return Extraction(answers[-1], BOXED, len(answers))
    if policy == LAST_BOXED_OR_FINAL and (answer := final_statement(response)) is not None:
        return Extraction(answer, "final_statement", 0)
    return Extraction(None, None, 0)


def missing_reason(policy: str) -> str:
    """The format error of a response in which the policy finds no answer."""
    return "no_box" if policy == BOXED else "no_answer"
