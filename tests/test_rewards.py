"""The grader: extraction, equivalence, format errors, modes, time bounds and the real gold answers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time

import pytest

from limr_kit.errors import InputError
from limr_kit.rewards import GradeInput, Grader
from limr_kit.rewards.batch import GradeSummary
from limr_kit.rewards.extract import boxed_answers, last_boxed, limr_last_boxed
from limr_kit.rewards.formatting import LIMR_REPETITION, has_repetition
from limr_kit.rewards.normalize import normalize_answer


@pytest.fixture(scope="module")
def grader():
    with Grader() as instance:
        yield instance


@pytest.fixture(scope="module")
def compat():
    with Grader("limr-compat") as instance:
        yield instance


# --- extraction --------------------------------------------------------------------------------


def test_last_box_wins_at_any_depth():
    text = r"First \boxed{1}, then \boxed{\frac{\sqrt{\frac{1}{2}}}{\{3\}}} and finally \fbox{x^{2^{3^{4}}}}."
    assert boxed_answers(text) == ["1", r"\frac{\sqrt{\frac{1}{2}}}{\{3\}}", "x^{2^{3^{4}}}"]
    assert last_boxed(r"\boxed 5$ and more") == "5"
    assert last_boxed(r"the answer is \boxed{12") is None  # a truncated box is no answer
    assert last_boxed("no box here") is None
    assert last_boxed(r"\boxed{\boxed{7}}") == r"\boxed{7}"  # normalisation unwraps the inner box
    assert normalize_answer(r"\boxed{7}") == "7"


def test_released_extraction_stops_at_depth_three():
    deep = r"\boxed{a^{b^{c^{d^{e}}}}}"  # four levels: one more than the released pattern allows
    assert limr_last_boxed(r"\boxed{\frac{1}{2}}") == r"\frac{1}{2}"
    assert limr_last_boxed(deep) is None
    assert last_boxed(deep) == "a^{b^{c^{d^{e}}}}"


# --- hand-judged equivalence cases (default mode) ----------------------------------------------

EQUIVALENCE_CASES = [
    # (prediction's boxed answer, gold, expected verdict)
    (r"\frac{3}{4}", r"\dfrac34", True),
    (r"0.75", r"\frac{3}{4}", True),
    (r"3/4", r"\tfrac{3}{4}", True),
    (r"0.333", r"\frac{1}{3}", False),
    (r"2\frac{1}{2}", r"\frac{5}{2}", True),
    (r"\sqrt2", r"\sqrt{2}", True),
    (r"\frac{\sqrt{3}}{2}", r"\frac{1}{2}\sqrt{3}", True),
    (r"2", r"2\sqrt{3}", False),
    (r"\sqrt{12}", r"2\sqrt{3}", True),
    (r"(5, 7)", r"(5,7)", True),
    (r"(7,5)", r"(5,7)", False),
    (r"\left( 3, \frac{\pi}{2} \right)", r"\left( 3, \frac{\pi}{2} \right)", True),
    (r"(3, \frac{\pi}{2})", r"\left( 3, \frac{\pi}{2} \right)", True),
    (r"[4, \infty)", r"[4,\infty)", True),
    (r"(4, \infty)", r"[4,\infty)", False),
    (r"(-\infty,1)\cup(2,\infty)", r"(2,\infty)\cup(-\infty,1)", True),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}", True),
    (r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}", r"\begin{pmatrix} 1 & 0 \\ 1 & 0 \end{pmatrix}", False),
    (r"27", "27.0", True),
    (r"25", "025", True),
    (r"26", "025", False),
    (r"\text{Tuesday}", r"\text{Tuesday}", True),
    (r"tuesday", r"\text{Tuesday}", True),
    (r"Monday", r"\text{Tuesday}", False),
    (r"\text{(C)}", "C", True),
    (r"10\%", "10", True),
    (r"0.1", r"10\%", False),
    (r"30^\circ", "30", True),
    (r"\$18.90", "18.90", True),
    (r"5 \text{ cm}", "5", True),
    (r"1,000", "1000", True),
    (r"x = 5", "5", True),
    (r"\{1, 2, 3\}", r"\{3, 2, 1\}", True),
    (r"3, 5, 7", r"7, 3, 5", True),
    (r"3, 5", r"3, 5, 7", False),
    (r"\pi", r"\pi", True),
    (r"-\frac{2023}{2024}", r"-\frac{2023}{2024}", True),
    (r"\frac{-2023}{2024}", r"-\frac{2023}{2024}", True),
    (r"1.2 \times 10^{5}", "120000", True),
    (r"", "5", False),
    (r"111", "p-q", False),  # a number is never an expression in a variable
    (r"3", r"(2,\infty)", False),  # nor an interval
    (r"6", r"\frac{12}{2}", True),
    (r"2", r"\sqrt{4}", True),
    # digit groups: unspaced, never from a leading 0 (a wrong answer must never pass)
    (r"32, 349", "32349", False),
    (r"32,\! 349", "32349", True),
    (r"18, \!107", r"18,\!107", True),
    (r"0,111", "111", False),
    (r"111", "0,111", False),
    (r"-1,234.5", "-1234.5", True),
    # percent words, \textnormal units, \approx
    (r"28 percent", r"28\%", True),
    (r"28 pct", r"28\%", True),
    (r"28 percentage", r"28\%", True),
    (r"29 percent", r"28\%", False),
    (r"125\textnormal{ miles}", r"125 \text{ miles}", True),
    (r"x \approx 11", "11", True),
    (r"\approx 3.14", "3.14", True),
    # labelled values: one label, a list under one label, a system of distinct labels
    ("1", "f(x)=1", True),
    ("1", "|AB|=1", True),
    ("1", "A:B=1", True),
    ("2", "f(x)=1", False),
    (r"\frac{\pi}{3}", r"\theta = \frac{\pi}{3}", True),
    (r"2x+1", "y=2x+1", True),
    ("4, 5", "AB=4, CD=5", True),
    ("(4, 5)", "AB=4, CD=5", True),
    ("5, 4", "AB=4, CD=5", False),
    (r"-5, \frac{14}{3}", r"x = -5,\ p = \frac{14}{3}", True),
    (r"a_{37} = 19, \quad a_3 = 2", "a_3 = 2, a_{37} = 19", True),
    ("y=1, x=2", "x=1, y=2", False),
    ("x=1, y=2", "x=1", False),
    (r"-10,-8,4", r"a=4,\,-8,\,-10", True),
    (r"p=-1,p=\frac{15}{8}", r"p = -1 \text{ and } p = \dfrac{15}{8}", True),
    (r"6 \text{ and } 8", "6, 8", True),
    ("21, 16, 11", "21,16 or 11", True),
    # equations compare as equations: lhs - rhs proportional by a nonzero constant
    ("2x-y+1=0", "y=2x+1", True),
    (r"y=-\frac12x+\frac34", "2x+4y-3=0", True),
    ("y = 1 + 2x", "y=2x+1", True),
    ("x = (y-1)/2", "y=2x+1", True),
    ("y=2x+2", "y=2x+1", False),
    ("x^2=4", "x^2-4=0", True),
    ("x^2=4", "x-2=0", False),
    ("y=2z+1", "y=2x+1", False),
    ("1=2", "3=4", False),
    # lists count every element as written: a repeated element is one more answer
    ("1, 1, 2", "1, 2", False),
    ("2, 1, 2", "1, 2, 2", True),
]


@pytest.mark.parametrize("answer, gold, expected", EQUIVALENCE_CASES)
def test_hand_judged_equivalence(grader, answer, gold, expected):
    grade = grader.grade(f"Reasoning... so the answer is \\boxed{{{answer}}}.", gold, "stop")
    assert grade.correct is expected, grade
    assert grade.reward == (1.0 if expected else -0.5)
    assert grade.reason == ("correct" if expected else "mismatch")


def test_last_box_wins_when_grading(grader):
    grade = grader.grade(r"First I thought \boxed{3}, but actually \boxed{4}.", "4", "stop")
    assert grade.correct and grade.extracted == "4"
    assert not grader.grade(r"\boxed{4} ... no wait, \boxed{3}", "4", "stop").correct


# --- limr-compat reproduces the released reward --------------------------------------------------


@pytest.mark.parametrize(
    "answer, gold, expected",
    [
        (r"\sqrt{2}", r"\sqrt{2}", False),  # the gold does not parse as a bare string
        (r"(5,7)", r"(5,7)", False),
        (r"\dfrac34", r"\dfrac34", False),
        (r"2", r"2\sqrt{3}", True),  # the gold parses as 2: a false pass
        (r"3", r"\left( 3, \frac{\pi}{2} \right)", True),
        (r"27", "27", True),
    ],
)
def test_compat_mode_reproduces_released_quirks(compat, answer, gold, expected):
    assert compat.grade(f"\\boxed{{{answer}}}", gold, "stop").correct is expected


def test_modes_disagree_exactly_where_the_released_reward_misgrades(grader, compat):
    items = [GradeInput(f"\\boxed{{{a}}}", g, "stop") for a, g, _ in EQUIVALENCE_CASES]
    default, released = grader.grade_many(items), compat.grade_many(items)
    disagree = {items[i].gold for i in range(len(items)) if default[i].correct != released[i].correct}
    assert r"\dfrac34" in disagree and r"2\sqrt{3}" in disagree


# --- rewards and format errors --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "limr-compat"])
def test_format_errors_score_minus_one_in_the_released_order(mode, grader, compat):
    g = grader if mode == "default" else compat
    cases = [
        (r"\boxed{4}", "length", "no_eos"),
        ("I think it is 4.", "stop", "no_box"),
        (r"\boxed{4}" * 5, "stop", "too_many_boxes"),
        ("数学" * 10 + r"\boxed{4}", "stop", "garbled"),
        ("we add and add and add and add and add and add. " + r"\boxed{4}", "stop", "repetition"),
    ]
    for text, finish, reason in cases:
        grade = g.grade(text, "4", finish)
        assert (grade.reason, grade.reward) == (reason, -1.0), (mode, text)
    assert g.grade(r"\boxed{4}" * 4, "4", "stop").reward == 1.0  # four boxes are still fine
    assert g.grade(r"\boxed{4}", "4", None).reward == 1.0  # unknown finish reason: no EOS check
    assert g.grade(r"\boxed{4}<|im_end|>garbage after the end", "4", None).reward == 1.0


def test_vectorised_repetition_check_agrees_with_the_released_regex():
    rng = random.Random(11)
    positives = 0
    for _ in range(3000):
        alphabet = rng.choice(["ab", "abc\n", "xyz 12", "abcdefgh \n"])
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 100)))
        if rng.random() < 0.4:
            unit = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
            cut = rng.randint(0, len(text))
            text = text[:cut] + unit * rng.randint(2, 7) + text[cut:]
        expected = bool(LIMR_REPETITION.search(text))
        positives += expected
        assert has_repetition(text) is expected, repr(text)
    assert positives > 100  # enough repeats for the agreement to mean something


# --- time bounds, threads, robustness ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "limr-compat"])
def test_pathological_inputs_are_wrong_within_the_bound(mode):
    cases = [
        GradeInput(r"\boxed{9^{9^{9^{9^{9^{9}}}}}}", "2", "stop"),
        GradeInput(r"\boxed{" + "{" * 3000 + "1" + "}" * 3000 + "}", "1", "stop"),
        GradeInput("".join(random.Random(3).choices("abcdefghijklmnopqrstuvwxyz ", k=1_000_000)) + r"\boxed{3}", "3"),
    ]
    with Grader(mode, timeout=1.0) as bounded:
        bounded.grade(r"\boxed{1}", "1")  # workers are warm
        for item in cases:
            start = time.monotonic()
            grade = bounded.grade_many([item])[0]
            elapsed = time.monotonic() - start
            assert not grade.correct and grade.reward < 0, grade
            # unbounded, the tower runs for hours: the slack (a worker restart on a loaded machine) cannot hide that
            assert elapsed < 1.0 + 15.0, f"{mode}: {elapsed:.1f} s for a 1 s bound"
        assert bounded.grade(r"\boxed{2}", "2").correct  # the pool still works after killing workers
    slow = cases[0]
    with Grader(mode, timeout=1.0) as bounded:
        grade = bounded.grade_many([slow])[0]
    assert grade.reason in ("timeout", "no_box")  # the released extraction never reaches the tower


def test_grader_is_thread_safe(grader):
    items = [GradeInput(f"\\boxed{{{i % 7}}}", str(i % 5), "stop") for i in range(60)]
    expected = [i % 7 == i % 5 for i in range(60)]
    results: dict[int, list] = {}

    def work(index: int) -> None:
        results[index] = grader.grade_many(items[index::4])

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(4):
        assert [grade.correct for grade in results[index]] == expected[index::4]


def test_a_dead_worker_is_reported_and_replaced():
    with Grader(timeout=30.0, workers=1) as g:
        g.grade(r"\boxed{1}", "1")
        worker = next(iter(g.pool._all))
        killer = threading.Timer(0.5, worker.process.kill)
        killer.start()
        grade = g.grade(r"\boxed{9^{9^{9^{9^{9^{9}}}}}}", "2", "stop")
        killer.join()
        assert grade.reason == "error" and not grade.correct
        assert g.grade(r"\boxed{3}", "3").correct


def test_workers_never_re_run_the_callers_main_script(tmp_path):
    """A training script without a __main__ guard must run once, not once per grading worker."""
    script = tmp_path / "train.py"
    marker = tmp_path / "runs.txt"
    script.write_text(
        f"open({str(marker)!r}, 'a').write('ran\\n')\n"
        "from limr_kit.rewards import Grader\n"
        "g = Grader(workers=2)\n"
        "print(g.grade('\\\\boxed{2}', '2').correct)\n"
        "g.close()\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert marker.read_text() == "ran\n"


# --- limr-kit grade ---------------------------------------------------------------------------------


def test_grade_command_writes_rows_and_reports(tmp_path, run_cli):
    rows = [
        {"id": "a", "prediction": r"so \boxed{\sqrt{2}}", "gold": r"\sqrt{2}"},
        {"id": "b", "prediction": r"\boxed{2}", "gold": r"2\sqrt{3}"},
        {"prediction": "no answer", "gold": "5"},
        {"prediction": r"\boxed{5}", "gold": 5, "finish_reason": "length"},
    ]
    source = tmp_path / "preds.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "graded.jsonl"
    result = run_cli("grade", source, "--out", out, "--json", "--compare")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["accuracy"] == 0.5 and summary["by_reason"] == {
        "correct": 1,
        "mismatch": 1,
        "no_box": 1,
        "no_eos": 1,
    }
    assert summary["disagreements"]["rows"] == 2
    assert summary["disagreements"]["by_change"] == {"correct -> mismatch": 1, "mismatch -> correct": 1}
    assert summary["disagreements"]["ids"] == ["a", "b"] and summary["answer_policy"] == "boxed"
    typed = GradeSummary.from_dict(summary, "grade --json")  # the printed JSON is the typed summary, whole
    assert typed.to_dict() == summary and typed.compared_with.mode == "limr-compat"
    assert list(summary)[0] == "schema" and summary["written_to"] == str(out)
    with pytest.raises(InputError, match="not a limr-kit grade summary of this version"):
        GradeSummary.from_dict({**summary, "schema": "limr-kit/grade-summary@0"}, "old.json")
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in graded] == ["a", "b", "3", "4"]
    assert graded[0] == {
        "id": "a",
        "correct": True,
        "reward": 1.0,
        "extracted": r"\sqrt{2}",
        "via": "boxed",
        "reason": "correct",
        "limr-compat": {"correct": False, "reward": -0.5, "reason": "mismatch"},
    }
    assert graded[3]["correct"] is True and graded[3]["reward"] == -1.0
    table = run_cli("grade", source, "--mode", "limr-compat")
    assert table.code == 0 and "limr-compat" in table.stdout and "accuracy" in table.stdout


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"prediction": "x"}\n', ":1: missing 'gold'"),
        ('{"gold": "1", "prediction": "1"}\n{"gold": 2\n', ":2: malformed JSON"),
        ("", "no rows to grade"),
    ],
)
def test_grade_bad_input(tmp_path, run_cli, content, message):
    source = tmp_path / "bad.jsonl"
    source.write_text(content)
    result = run_cli("grade", source, "--out", tmp_path / "out.jsonl")
    assert result.code == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists()
    assert run_cli("grade", source, "--mode", "loose").code == 2


# --- the real gold answers -------------------------------------------------------------------------


def _gold_of(benchmark: str, row: dict) -> str:
    if benchmark == "minerva_math":
        return last_boxed(row["solution"])
    if benchmark == "olympiadbench":
        return row["final_answer"][0].strip().strip("$")
    return str(row["answer"])


@pytest.mark.shared
def test_every_real_gold_verifies_against_itself(shared_data, grader, compat):
    golds = [row["answer"] for row in json.loads((shared_data / "limr" / "prompts" / "math.8k.json").read_text())]
    for path in sorted((shared_data / "bench").glob("*/*.jsonl")):
        golds += [_gold_of(path.parent.name, json.loads(line)) for line in path.read_text().splitlines()]
    assert len(golds) == 8523 + 2117
    items = [GradeInput(f"The answer is \\boxed{{{gold}}}.", gold, "stop") for gold in golds]
    failures = [item.gold for item, grade in zip(items, grader.grade_many(items), strict=True) if not grade.correct]
    assert failures == []
    released = compat.grade_many(items[:8523])
    assert sum(not grade.correct for grade in released) == 847
