"""Math-Verify's own test cases through limr-kit's default grader: no false positive, every disagreement a policy.

The cases are every (gold, pred, expected) of Math-Verify's parametrised tests, vendored in
tests/data/math_verify/ (Apache-2.0, pinned commit, rebuilt by its extract.py). They run in limr-kit's
contract: a prediction without a box is boxed whole, a gold with boxes is its last box.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from limr_kit.rewards import GradeInput, Grader
from limr_kit.rewards.extract import boxed_answers, last_boxed


DATA = Path(__file__).resolve().parent / "data" / "math_verify"
README = Path(__file__).resolve().parent.parent / "README.md"
BEFORE_THIS_POLICY_TABLE = 93  # disagreements (1 a false positive) when the table was first drawn up

# Each policy, and the cases where it is the reason limr-kit's verdict differs from Math-Verify's.
POLICIES: dict[str, tuple[str, list[str]]] = {
    "no-box": (
        "the answer is what the response boxes; prose around an unboxed answer is not read",
        [
            "test_all.py::test_number_extraction[7]",
            "test_all.py::test_number_extraction[13]",
            "test_all.py::test_number_extraction[14]",
            "test_all.py::test_number_extraction[15]",
            "test_all.py::test_number_extraction[16]",
            *(f"test_all.py::test_latex_notation[{i}]" for i in (0, 1, 2, 3, 4, 7, 8, 9)),
            *(f"test_all.py::test_relations_math[{i}]" for i in (0, 1, 2, 3, 4, 7)),
            *(f"test_all.py::test_matrix_extraction[{i}]" for i in (1, 2, 3, 4, 5, 6)),
            *(f"test_all.py::test_math_extraction_edge_cases[{i}]" for i in (0, 1, 2, 6, 7, 11)),
            *(f"test_all.py::test_math_extraction_additional_cases[{i}]" for i in (1, 2, 4, 8, 12, 14, 15)),
        ],
    ),
    "last-box": (
        "the last box is the answer: earlier boxes, and a final answer written after it, are working",
        [
            "test_all.py::test_math_extraction_additional_cases[17]",
            "test_all.py::test_math_extraction_additional_cases[28]",
            "test_numina_cases.py::test_numina_cases[12]",
            *(f"test_open_thoughts.py::test_open_thoughts[{i}]" for i in (12, 13, 14, 16, 18, 19, 23, 24, 25, 26)),
        ],
    ),
    "gold-last-box": (
        "a gold with several boxes is graded as its last box (a gold is one answer)",
        [
            "test_all.py::test_math_extraction_additional_cases[27]",
            "test_numina_cases.py::test_numina_cases[13]",
            "test_open_thoughts.py::test_open_thoughts[0]",
            "test_open_thoughts.py::test_open_thoughts[27]",
            "test_boxed.py::test_boxed[0]",
        ],
    ),
    "gold-prose": (
        "a gold is an answer, not a solution text to search",
        ["test_all.py::test_latex_notation_math[2]"],
    ),
    "decimal-comma": (
        "a comma between digits is never a decimal point (`1,22` is a list; `0,111` never `0.111` nor `111`)",
        [
            "test_all.py::test_number_extraction[5]",
            "test_all.py::test_number_extraction[6]",
            "test_all.py::test_number_extraction[17]",
        ],
    ),
    "tolerance": (
        "numbers compare within a relative 1e-6: a rounded decimal (`0.33`, `2.6667`) is not the fraction",
        [
            "test_all.py::test_complex_math_expressions[7]",
            "test_all.py::test_complex_math_expressions[13]",
        ],
    ),
    "chain": (
        "a chain of equalities (`x = 5+5+1 = 7 = 11`) is working, not one answer",
        [*(f"test_all.py::test_relations_math[{i}]" for i in (10, 12, 13, 16, 21))],
    ),
    "duplicates": (
        "lists count every element as written: a repeated solution is one more answer",
        ["test_numina_cases.py::test_numina_cases[0]", "test_numina_cases.py::test_numina_cases[19]"],
    ),
    "systems": (
        "several systems of labelled values separated by `;` (`p=5,q=2;p=7,q=2`) are not read as a set of tuples",
        ["test_numina_cases.py::test_numina_cases[9]"],
    ),
    "strict-variables": (
        "variables are never renamed: `f(x)` is not `f(y)` (Math-Verify's `strict=False`)",
        ["test_strict.py::test_strict_variable_comparison[1]"],
    ),
    "format-error": (
        "the released reward's format checks come first: a response repeating a 5+ character chunk 5+ times scores -1",
        ["test_all.py::test_latex_notation_math[3]"],
    ),
    "doubled-backslash": (
        "a raw string with doubled backslashes (`\\\\left(`, `\\\\le`, `\\\\boxed{...`) is a line break, not a command",
        [
            "test_all.py::test_latex_notation_math[5]",
            "test_all.py::test_math_extraction_additional_cases[5]",
            "test_all.py::test_set_rel_assymetry[2]",
            "test_numina_cases.py::test_numina_cases[24]",
        ],
    ),
    "upstream-verdict": (
        "Math-Verify's expected verdict is wrong: `1 + 1/e` is not `1 - 1/e`",
        ["test_yujianll.py::test_string_extraction[9]"],
    ),
}


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return json.loads((DATA / "cases.json").read_text())["cases"]


@pytest.fixture(scope="module")
def verdicts(cases) -> dict[str, bool]:
    items = [_in_our_contract(case) for case in cases]
    with Grader() as grader:
        grades = grader.grade_many(items)
    return {case["id"]: grade.correct for case, grade in zip(cases, grades, strict=True)}


def _in_our_contract(case: dict) -> GradeInput:
    prediction = case["pred"] if boxed_answers(case["pred"]) else f"\\boxed{{{case['pred']}}}"
    return GradeInput(prediction, last_boxed(case["gold"]) or case["gold"], "stop")


def _policy_rows() -> list[str]:
    """The README table's rows: policy, reason, count, cases grouped by test."""
    rows = []
    for name, (reason, ids) in POLICIES.items():
        by_test: dict[str, list[str]] = defaultdict(list)
        for case_id in ids:
            test, index = re.fullmatch(r".*::(\w+)\[(\d+)\]", case_id).groups()
            by_test[test.removeprefix("test_")].append(index)
        where = "; ".join(f"{test} {', '.join(indices)}" for test, indices in by_test.items())
        rows.append(f"| `{name}` | {reason} | {len(ids)} | {where} |")
    return rows


def test_the_vendored_cases_are_math_verifys_whole_parametrised_suite(cases):
    meta = json.loads((DATA / "cases.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{40}", meta["commit"]) and "Apache License" in (DATA / "LICENCE").read_text()
    assert len(cases) == 269 and len({case["id"] for case in cases}) == 269
    assert {case["id"].split("::")[0] for case in cases} == {
        f"{name}.py"
        for name in (
            "test_all",
            "test_numina_cases",
            "test_open_thoughts",
            "test_yujianll",
            "test_boxed",
            "test_strict",
        )
    }


def test_no_wrong_answer_is_graded_right(cases, verdicts):
    false_positives = [case["id"] for case in cases if verdicts[case["id"]] and not case["expected"]]
    assert false_positives == []


def test_every_disagreement_is_a_listed_policy(cases, verdicts):
    listed = [case_id for _, ids in POLICIES.values() for case_id in ids]
    assert len(listed) == len(set(listed))
    disagreements = {case["id"] for case in cases if verdicts[case["id"]] != case["expected"]}
    assert sorted(disagreements - set(listed)) == []  # a new disagreement: fix it, or list it under a policy
    assert sorted(set(listed) - disagreements) == []  # now agreeing: take it off the list
    assert len(disagreements) < BEFORE_THIS_POLICY_TABLE


def test_the_readme_lists_every_policy_disagreement():
    readme = README.read_text()
    missing = [row for row in _policy_rows() if row not in readme]
    assert missing == [], "README's Math-Verify table should have these rows:\n" + "\n".join(missing)
