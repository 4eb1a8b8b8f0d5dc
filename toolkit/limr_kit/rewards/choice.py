"""Multiple-choice grading: find the option letter a response chose, never guessing.

Order: the last ``\\boxed{X}``; then "answer is (X)" / "Answer: X" on the last lines; then nothing.
MMLU-Pro's official script picks a random letter when extraction fails; here that is wrong, with
its reason recorded. A boxed option *text* equal to exactly one option counts as that letter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from limr_kit.rewards.extract import last_boxed
from limr_kit.rewards.grader import REWARD_CORRECT, REWARD_FORMAT_ERROR, REWARD_WRONG


LETTERS = "ABCDEFGHIJ"
TAIL_LINES = 3
_LETTER = re.compile(r"^\(?\s*([A-J])\s*\)?[.:]?$")
_TEXT_WRAPPER = re.compile(r"^\\text\{(.*)\}$", re.DOTALL)
_ANSWER_IS = re.compile(r"answer\s+is\s*:?\s*\(?\s*([A-J])\s*\)?(?![A-Za-z])", re.IGNORECASE)
_ANSWER_COLON = re.compile(r"answer\s*:\s*\(?\s*([A-J])\s*\)?(?![A-Za-z])", re.IGNORECASE)

NO_ANSWER = "no_answer"
NOT_AN_OPTION = "not_an_option"
AMBIGUOUS_TEXT = "ambiguous_option_text"
WRONG = "wrong"
CORRECT = "correct"


@dataclass(frozen=True, slots=True)
class ChoiceGrade:
    """The verdict on one multiple-choice response."""

    correct: bool
    letter: str | None  # the option the response chose, None when none could be read
    reason: str  # correct | wrong | no_answer | not_an_option | ambiguous_option_text
    via: str | None  # boxed | boxed_text | answer_is | answer_colon

    @property
    def reward(self) -> float:
        """The training reward, on the math grader's scale: no readable answer is a format error."""
        if self.correct:
            return REWARD_CORRECT
        return REWARD_FORMAT_ERROR if self.reason == NO_ANSWER else REWARD_WRONG


def _normalise(text: str) -> str:
    text = text.strip()
    if match := _TEXT_WRAPPER.match(text):
        text = match.group(1)
    return " ".join(text.split()).rstrip(".").casefold()


def _boxed_letter(boxed: str, options: Sequence[str]) -> tuple[str | None, str | None]:
    """(letter, failure reason) for the content of a box."""
    content = boxed.strip()
    if match := _TEXT_WRAPPER.match(content):
        content = match.group(1).strip()
    if match := _LETTER.match(content):
        letter = match.group(1)
        return (letter, None) if LETTERS.index(letter) < len(options) else (None, NOT_AN_OPTION)
    wanted = _normalise(content)
    hits = [LETTERS[i] for i, option in enumerate(options) if _normalise(option) == wanted]
    if len(hits) == 1:
        return hits[0], None
    return None, AMBIGUOUS_TEXT if hits else NOT_AN_OPTION


def extract_choice(response: str, options: Sequence[str]) -> tuple[str | None, str | None, str | None]:
    """(letter, via, failure reason): the option a response chose, or why none could be read."""
    boxed = last_boxed(response)
    if boxed is not None:
        letter, failure = _boxed_letter(boxed, options)
        if letter is not None:
            return letter, "boxed" if _LETTER.match(boxed.strip()) else "boxed_text", None
        return None, None, failure
    tail = "\n".join(response.strip().splitlines()[-TAIL_LINES:])
    for via, pattern in (("answer_is", _ANSWER_IS), ("answer_colon", _ANSWER_COLON)):
        matches = pattern.findall(tail)
        if matches:
            letter = matches[-1].upper()
            if LETTERS.index(letter) < len(options):
                return letter, via, None
            return None, None, NOT_AN_OPTION
    return None, None, NO_ANSWER


def grade_choice(response: str, options: Sequence[str], gold: str) -> ChoiceGrade:
    """Grade a response against the gold letter; no answer is wrong, never a random guess."""
    letter, via, failure = extract_choice(response, options)
    if letter is None:
        return ChoiceGrade(False, None, failure or NO_ANSWER, None)
    correct = letter == gold
    return ChoiceGrade(correct, letter, CORRECT if correct else WRONG, via)
