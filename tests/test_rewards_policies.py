"""Answer policies (boxed, last-boxed-or-final, math-verify) in the grader, ``limr-kit grade`` and the trainers' rewards."""

from __future__ import annotations

import importlib.util
import json

import pytest
from transformers import TrainerState

import limr_kit.rewards.openrlhf_reward as openrlhf_reward_module
from limr_kit.errors import InputError, UnknownNameError
from limr_kit.rewards import POLICIES, GradeInput, Grader
from limr_kit.rewards.policies import final_statement
from limr_kit.rewards.trainers import make_trl_reward


MINERVA = (
    "The area is $\\pi r^2$ with $r = 3$, so it is $9\\pi$.\n\n"
    "Final Answer: The final answer is $9\\pi$. I hope it is correct."
)
# Responses in the shapes models write when the protocol does not ask for a box, with their gold answers.
CASES = {
    "no_answer": ("I could not finish the computation in time.", "5"),
    "several_boxes": ("First guess \\boxed{3}, but rechecking: \\boxed{5}.", "5"),
    "answer_is": ("Adding the two parts gives 2 + 3.\nThe answer is 5.", "5"),
    "answer_colon_letter": ("Only option (B) has a positive discriminant.\nAnswer: (B)", "B"),
    "boxed_then_trailing_text": ("So \\boxed{\\frac{1}{2}}.\n\nLet me know if you want more detail!", "1/2"),
    "minerva_final": (MINERVA, "9\\pi"),
    "statement_with_clause": ("We check each case.\nThe final answer is 12, since the others fail.", "12"),
    "answer_too_early": ("The answer is 7.\nWait.\nThat was wrong.\nLet me recount the cases again.", "7"),
}
# (correct, reason, via) per policy and case.
EXPECTED = {
    "boxed": {
        "no_answer": (False, "no_box", None),
        "several_boxes": (True, "correct", "boxed"),
        "answer_is": (False, "no_box", None),
        "answer_colon_letter": (False, "no_box", None),
        "boxed_then_trailing_text": (True, "correct", "boxed"),
        "minerva_final": (False, "no_box", None),
        "statement_with_clause": (False, "no_box", None),
        "answer_too_early": (False, "no_box", None),
    },
    "last-boxed-or-final": {
        "no_answer": (False, "no_answer", None),
        "several_boxes": (True, "correct", "boxed"),
        "answer_is": (True, "correct", "final_statement"),
        "answer_colon_letter": (True, "correct", "final_statement"),
        "boxed_then_trailing_text": (True, "correct", "boxed"),
        "minerva_final": (True, "correct", "final_statement"),
        "statement_with_clause": (True, "correct", "final_statement"),
        "answer_too_early": (False, "no_answer", None),  # 4 lines from the end: a step, not the final answer
    },
    "math-verify": {
        "no_answer": (False, "no_answer", None),
        "several_boxes": (False, "mismatch", "math_verify"),  # math-verify keeps every box: the set {3, 5}
        "answer_is": (True, "correct", "math_verify"),
        "answer_colon_letter": (False, "no_answer", None),  # its default extraction reads no letters
        "boxed_then_trailing_text": (True, "correct", "math_verify"),
        "minerva_final": (True, "correct", "math_verify"),
        "statement_with_clause": (True, "correct", "math_verify"),
        "answer_too_early": (True, "correct", "math_verify"),  # it takes a final-answer phrase anywhere
    },
}


@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_on_real_shaped_responses(policy):
    with Grader(policy=policy, workers=1) as grader:
        grades = grader.grade_many([GradeInput(text, gold, "stop") for text, gold in CASES.values()])
    found = {name: (grade.correct, grade.reason, grade.via) for name, grade in zip(CASES, grades, strict=True)}
    assert found == EXPECTED[policy]
    for grade in grades:  # no answer is a format error (never a guess); a found one is right or wrong
        assert grade.reward == (-1.0 if grade.reason in ("no_box", "no_answer") else 1.0 if grade.correct else -0.5)


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("The answer is 5.", "5"),
        ("**Final Answer:** $x = 3$", "$x = 3$"),
        ("Answer:\n\\(\\frac{3}{4}\\)", "\\(\\frac{3}{4}\\)"),  # the answer on the line after "Answer:"
        ("Thus the answer is 3.5 meters.", "3.5 meters"),  # a decimal point is not a sentence end
        ("the answer is 1, and 2", "1, and 2"),  # a list, not a trailing clause
        ("We are done. Nothing else to say.", None),
    ],
)
def test_final_statement_reads_the_answer_up_to_the_sentence_end(response, answer):
    assert final_statement(response) == answer


def test_policy_choices_are_checked():
    with pytest.raises(UnknownNameError, match="Unknown answer policy 'boxes'"):
        Grader(policy="boxes")
    with pytest.raises(InputError, match="limr-compat"):
        Grader("limr-compat", policy="math-verify")
    with Grader("limr-compat", policy="boxed", workers=1) as compat:  # the released reward, bit for bit, as before
        assert compat.grade("\\boxed{\\sqrt{2}}", "\\sqrt{2}").reason == "mismatch"


def _predictions(tmp_path):
    source = tmp_path / "preds.jsonl"
    source.write_text(
        "".join(json.dumps({"id": name, "prediction": p, "gold": g}) + "\n" for name, (p, g) in CASES.items())
    )
    return source


def test_grade_compares_policies_on_the_same_predictions(tmp_path, run_cli):
    source, out = _predictions(tmp_path), tmp_path / "graded.jsonl"
    result = run_cli(
        "grade", source, "--answer-policy", "last-boxed-or-final", "--compare-policy", "math-verify",
        "--out", out, "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["answer_policy"] == "last-boxed-or-final" and summary["correct"] == 6
    assert summary["compared_with"]["answer_policy"] == "math-verify" and summary["compared_with"]["correct"] == 5
    assert summary["disagreements"]["rows"] == 3
    assert summary["disagreements"]["ids"] == ["several_boxes", "answer_colon_letter", "answer_too_early"]
    assert summary["disagreements"]["by_change"] == {
        "correct -> mismatch": 1,
        "correct -> no_answer": 1,
        "no_answer -> correct": 1,
    }
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert rows["answer_is"]["via"] == "final_statement" and rows["answer_is"]["extracted"] == "5"
    assert rows["several_boxes"]["math-verify"] == {
        "correct": False, "reward": -0.5, "reason": "mismatch", "extracted": "3,5",
    }  # fmt: skip
    table = run_cli("grade", source, "--compare-policy", "last-boxed-or-final")
    assert table.code == 0 and "rows that disagree" in table.stdout and "answer_is" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--compare", "--compare-policy", "math-verify"), "not both"),
        (("--compare-policy", "boxed"), "is the policy being graded"),
        (("--mode", "limr-compat", "--answer-policy", "math-verify"), "reads only the last box"),
        (("--answer-policy", "math-verify", "--compare"), "use --answer-policy boxed"),
    ],
)
def test_grade_refuses_comparisons_that_cannot_be_made(tmp_path, run_cli, args, message):
    result = run_cli("grade", _predictions(tmp_path), *args, "--out", tmp_path / "out.jsonl")
    assert result.code == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_trl_reward_logs_its_policy_and_the_binary_scheme(tmp_path):
    reward = make_trl_reward(policy="last-boxed-or-final", scheme="binary", log_dir=tmp_path / "rewards")
    try:
        state = TrainerState()
        state.epoch, state.global_step = 0.5, 1
        rewards = reward(
            completions=["The answer is 4.", "Answer: 5", "\\boxed{4}", "no idea"],
            sample_id=["q"] * 4,
            answer=["4"] * 4,
            trainer_state=state,
        )
    finally:
        reward.grader.close()
    assert rewards == [1.0, 0.0, 1.0, 0.0]
    rows = [json.loads(line) for shard in (tmp_path / "rewards").glob("*.jsonl") for line in shard.open()]
    assert [(row["reward"], row["reason"], row["answer_policy"]) for row in rows] == [
        (1.0, "correct", "last-boxed-or-final"),
        (0.0, "mismatch", "last-boxed-or-final"),
        (1.0, "correct", "last-boxed-or-final"),
        (0.0, "no_answer", "last-boxed-or-final"),
    ]


def test_openrlhf_reward_reads_policy_and_scheme_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LIMR_ANSWER_POLICY", "math-verify")
    monkeypatch.setenv("LIMR_REWARD_SCHEME", "binary")
    monkeypatch.setenv("LIMR_REWARD_LOG_DIR", str(tmp_path / "rewards"))
    spec = importlib.util.spec_from_file_location("reward_func", openrlhf_reward_module.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    prompt = "A conversation between User and Assistant. User: 2+2?\nAssistant:"
    label = json.dumps({"sample_id": "q", "answer": "4"})
    try:
        result = module.reward_func(
            [prompt + " 2+2 is 4. The final answer is $4$.<|endoftext|>", prompt + " no idea<|endoftext|>"],
            [prompt, prompt],
            [label, label],
        )
    finally:
        module.reward_func._grader.close()
    assert result["rewards"].tolist() == [1.0, 0.0]
    rows = [json.loads(line) for shard in (tmp_path / "rewards").glob("*.jsonl") for line in shard.open()]
    assert {row["answer_policy"] for row in rows} == {"math-verify"} and [row["reason"] for row in rows] == [
        "correct",
        "no_answer",
    ]
