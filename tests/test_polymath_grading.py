"""Choice and SciBench number-with-unit grading on real-shaped model outputs."""

from __future__ import annotations

import pytest

from limr_kit.rewards.choice import grade_choice
from limr_kit.rewards.unit_number import gold_value, grade_unit_number, read_number


OPTIONS = ("2.5 m/s", "5.0 m/s", "7.5 m/s", "10 m/s")


@pytest.mark.parametrize(
    ("response", "letter", "reason", "via"),
    [
        ("The speed doubles, so the answer is \\boxed{B}.", "B", "correct", "boxed"),
        ("First guess \\boxed{A}; rechecking the units... final: \\boxed{(B)}", "B", "correct", "boxed"),
        ("Hence \\boxed{C}", "C", "wrong", "boxed"),
        ("So v = \\boxed{5.0 m/s}", "B", "correct", "boxed_text"),
        ("So v = \\boxed{\\text{5.0 m/s}}", "B", "correct", "boxed_text"),
        ("Let me think step by step.\nv = d/t\nThe answer is (B).", "B", "correct", "answer_is"),
        ("Work shown above.\nAnswer: B", "B", "correct", "answer_colon"),
        ("The answer is (B) as stated above.\n" + "more text\n" * 5 + "I am not sure.", None, "no_answer", None),
        ("I cannot decide between the options.", None, "no_answer", None),
        ("\\boxed{F}", None, "not_an_option", None),
        ("\\boxed{12 m/s}", None, "not_an_option", None),
        ("Truncated \\boxed{B", None, "no_answer", None),
    ],
)
def test_choice_extraction(response: str, letter: str | None, reason: str, via: str | None) -> None:
    grade = grade_choice(response, OPTIONS, gold="B")
    assert (grade.letter, grade.reason, grade.via) == (letter, reason, via)
    assert grade.correct is (reason == "correct")


def test_choice_text_matching_two_options_is_ambiguous_and_no_random_fallback() -> None:
    twins = ("4", "4", "8", "16")
    grades = {grade_choice("\\boxed{4}", twins, gold="A") for _ in range(20)}
    assert grades == {grade_choice("\\boxed{4}", twins, gold="A")}
    (grade,) = grades
    assert (grade.correct, grade.letter, grade.reason) == (False, None, "ambiguous_option_text")


@pytest.mark.parametrize(
    ("response", "answer_number", "unit", "correct"),
    [
        ("$\\boxed{50.9}$ atm", "50.7", "$\\mathrm{atm}$ ", True),  # 0.4% off: within 5%
        ("\\boxed{54}", "50.7", "$\\mathrm{atm}$ ", False),  # 6.5% off
        ("\\boxed{1.5 \\times 10^{-3}}", "1.52", " $10^{-3} \\mathrm{~kg}$", True),  # factor in the answer
        ("\\boxed{1.5}", "1.52", " $10^{-3} \\mathrm{~kg}$", True),  # answer in the unit's scale
        ("\\boxed{1.5 \\times 10^{-2}}", "1.52", " $10^{-3} \\mathrm{~kg}$", False),
        ("\\boxed{89034.79 \\mathrm{~J}}", "89,034.79", "$\\mathrm{J}$", True),
        ("\\boxed{89,034.79}", "89,034.79", "$\\mathrm{J}$", True),
        ("\\boxed{-2}", "−2", "", True),
        ("\\boxed{−2}", "−2", "", True),
        ("\\boxed{2}", "−2", "", False),
        ("\\boxed{\\frac{1}{4}}", "0.25", "", True),
        ("\\boxed{0}", "0", "$\\mathrm{kg}/\\mathrm{s}$", True),
        ("first \\boxed{3.0} then \\boxed{4.0}", "4", "", True),  # the last box counts
    ],
)
def test_scibench_numeric_grading(response: str, answer_number: str, unit: str, correct: bool) -> None:
    assert grade_unit_number(response, answer_number, unit).correct is correct


def test_scibench_reasons_and_factors() -> None:
    assert grade_unit_number("no box here: 50.7", "50.7", "").reason == "no_answer"
    assert grade_unit_number("\\boxed{\\text{large}}", "50.7", "").reason == "not_a_number"
    assert gold_value("1.52", "$10^{-3} \\mathrm{~kg}$") == pytest.approx(1.52e-3)
    assert gold_value("6.6", "$10^{42}$") == pytest.approx(6.6e42)
    assert read_number("3.2 \\times 10^{4} \\mathrm{~N}") == pytest.approx(3.2e4)


def test_choice_reward_uses_the_math_grader_scale() -> None:
    assert grade_choice("\\boxed{B}", OPTIONS, "B").reward == 1.0
    assert grade_choice("\\boxed{A}", OPTIONS, "B").reward == -0.5
    assert grade_choice("no idea", OPTIONS, "B").reward == -1.0


def test_symbolic_answers_and_unicode_exponents() -> None:
    assert grade_unit_number("\\boxed{20\\pi}", "62.8318530718", "$\\mathrm{~cm}^3$").correct
    assert grade_unit_number("\\boxed{e^{-1}}", "0.367879", "").correct
    assert grade_unit_number("\\boxed{1.5 \\times 10^{−3}}", "1.52", "$10^{-3} \\mathrm{~kg}$").correct


@pytest.mark.shared
def test_every_scibench_latex_answer_grades_against_its_own_number(shared_data) -> None:
    """SciBench's ``answer_latex`` boxed as a response; the 12 misses are the dataset's own disagreements
    (``164`` vs ``146``, ``1.69`` vs ``4.59``, two answers in one, ``3 \\pm 2\\sqrt{2}``, degrees vs radians)."""
    import json

    folder = shared_data / "polymath" / "bench" / "scibench"
    rows = [row for path in sorted(folder.glob("*.json")) for row in json.loads(path.read_text())]
    graded = [
        grade_unit_number(f"\\boxed{{{r['answer_latex'].strip()}}}", r["answer_number"], r["unit"]) for r in rows
    ]
    assert len(rows) == 692 and sum(g.correct for g in graded) == 680
