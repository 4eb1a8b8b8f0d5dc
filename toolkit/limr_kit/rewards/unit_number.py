"""Number-with-unit grading as SciBench's evaluator does it: strip the unit, 5% relative tolerance.

SciBench writes some scale factors into the unit (``$10^{-3} \\mathrm{~m}$``): the gold value is
``answer_number`` times that factor. A response may state the value with the factor
(``1.2 \\times 10^{-3}``) or in the unit's scale (``1.2``); both count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from limr_kit.rewards.extract import last_boxed


RELATIVE_TOLERANCE = 0.05
_POWER = r"10\s*\^\s*\{?\s*([+\-−]?\d+)\s*\}?"
_UNIT_FACTOR = re.compile(r"^\s*\$?\s*(?:\\times\s*)?" + _POWER)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TIMES_POWER = re.compile(r"^\s*(?:\\times|\\cdot|×|\*|x)\s*" + _POWER)


class UnparsableNumber(ValueError):
    """A gold answer that is not a number (the loader names the file and row)."""


@dataclass(frozen=True, slots=True)
class UnitGrade:
    """The verdict on one number-with-unit response."""

    correct: bool
    value: float | None  # the number read from the response
    reason: str  # correct | wrong | no_answer | not_a_number


def clean_number_text(text: str) -> str:
    """Unicode minus to ``-``, thousands separators and LaTeX spacing removed."""
    text = text.replace("−", "-").replace("\\!", "").replace("{,}", "")
    return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text).strip()


def unit_factor(unit: str) -> int:
    """The power of ten a SciBench unit starts with (``$10^{-3} \\mathrm{~m}$`` gives -3), else 0."""
    match = _UNIT_FACTOR.match(unit)
    return int(match.group(1).replace("−", "-")) if match else 0


def gold_value(answer_number: str, unit: str) -> float:
    """The gold value with the unit's factor folded in; :class:`UnparsableNumber` if not a number."""
    text = clean_number_text(answer_number)
    try:
        return float(text) * 10.0 ** unit_factor(unit)
    except ValueError:
        raise UnparsableNumber(f"answer_number {answer_number!r} is not a number") from None


def read_number(text: str) -> float | None:
    """The first number in an answer, times any ``\\times 10^{n}`` after it; units are ignored."""
    text = clean_number_text(text)
    text = re.sub(r"\\d?frac\{([^{}]+)\}\{([^{}]+)\}", r"(\1)/(\2)", text)
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group(0))
    rest = text[match.end() :]
    if fraction := re.match(r"^\)?/\(?([+-]?\d+(?:\.\d*)?)\)?", rest):
        denominator = float(fraction.group(1))
        if denominator:
            value /= denominator
        rest = rest[fraction.end() :]
    if power := _TIMES_POWER.match(rest):
        value *= 10.0 ** int(power.group(1).replace("−", "-"))
    return value


def evaluate(answer: str) -> float | None:
    """The answer's value: math-verify evaluates LaTeX (``20\\pi``, ``e^{-1}``, units dropped), else the first number."""
    import sympy
    from math_verify import parse

    text = clean_number_text(answer)
    try:
        parsed = parse(f"${text}$")
        if parsed:
            return float(sympy.N(parsed[0]))
    except Exception:  # math-verify or sympy could not give a number: read the digits instead
        pass
    return read_number(text)


def within_tolerance(value: float, gold: float) -> bool:
    """SciBench's rule: relative error under 5% (absolute when the gold is 0)."""
    if gold == 0:
        return abs(value) < RELATIVE_TOLERANCE
    return abs(value - gold) / abs(gold) < RELATIVE_TOLERANCE


def grade_unit_number(response: str, answer_number: str, unit: str) -> UnitGrade:
    """Grade the last boxed answer of a response against a SciBench gold number and unit."""
    boxed = last_boxed(response)
    if boxed is None:
        return UnitGrade(False, None, "no_answer")
    value = evaluate(boxed)
    if value is None:
        return UnitGrade(False, None, "not_a_number")
    scaled = gold_value(answer_number, unit)
    in_unit_scale = float(clean_number_text(answer_number))
    correct = within_tolerance(value, scaled) or within_tolerance(value, in_unit_scale)
    return UnitGrade(correct, value, "correct" if correct else "wrong")
