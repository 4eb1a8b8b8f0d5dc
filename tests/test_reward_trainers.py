"""The grader inside trainers: TRL's reward function, OpenRLHF's reward_func file, the trajectory log."""

from __future__ import annotations

import importlib.util
import json
import threading

import pytest
from transformers import TrainerState

import limr_kit.rewards.openrlhf_reward as openrlhf_reward_module
from limr_kit.lim import ReadOptions, load_trajectories, score_trajectories
from limr_kit.rewards.trainers import make_trl_reward


SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def chat_prompt(question: str) -> str:
    return f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


def test_trl_reward_scores_and_logs_each_rollout_with_its_epoch(tmp_path):
    reward = make_trl_reward(log_dir=tmp_path / "rewards", eos_token_ids=[2])
    try:
        state = TrainerState()
        state.epoch, state.global_step = 1.75, 7
        completions = [
            [{"role": "assistant", "content": "so \\boxed{4}"}],
            [{"role": "assistant", "content": "so \\boxed{5}"}],
            [{"role": "assistant", "content": "so \\boxed{4}"}],
            [{"role": "assistant", "content": "no answer"}],
        ]
        rewards = reward(
            prompts=[[{"role": "user", "content": "2+2?"}]] * 4,
            completions=completions,
            completion_ids=[[7, 2], [7, 2], [7, 7], [7, 2]],  # the third never produced its EOS
            sample_id=["q1", "q1", "q2", "q2"],
            answer=["4", "4", "4", "4"],
            trainer_state=state,
        )
    finally:
        reward.grader.close()
    assert rewards == [1.0, -0.5, -1.0, -1.0]
    shards = list((tmp_path / "rewards").glob("rewards.*.jsonl"))
    assert len(shards) == 1
    rows = [json.loads(line) for line in shards[0].read_text().splitlines()]
    assert [(r["sample_id"], r["epoch"], r["step"], r["reward"], r["reason"]) for r in rows] == [
        ("q1", 1, 7, 1.0, "correct"),
        ("q1", 1, 7, -0.5, "mismatch"),
        ("q2", 1, 7, -1.0, "no_eos"),
        ("q2", 1, 7, -1.0, "no_box"),
    ]
    assert rows[2]["correct"] is True  # right answer, but cut off: a format error all the same


def load_like_openrlhf():
    """OpenRLHF 0.11 imports the --reward.remote_url file this way and takes its reward_func."""
    spec = importlib.util.spec_from_file_location("reward_func", openrlhf_reward_module.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def test_openrlhf_reward_func_from_threads_feeds_limr_kit_score(tmp_path, monkeypatch):
    monkeypatch.setenv("LIMR_REWARD_LOG_DIR", str(tmp_path / "rewards"))
    reward_func = load_like_openrlhf()
    questions = {"a": ("1+1?", "2"), "b": ("2+3?", "5"), "c": ("3+3?", "6")}
    # per episode, how many of a sample's 4 rollouts are right
    plan = {"a": [1, 2, 4], "b": [0, 2, 3], "c": [4, 4, 4]}
    results = []
    try:
        for episode in range(3):
            calls = []
            for sample_id, (question, answer) in questions.items():
                prompt = chat_prompt(question)
                label = json.dumps({"sample_id": sample_id, "answer": answer})
                for rollout in range(4):
                    guess = answer if rollout < plan[sample_id][episode] else "0"
                    calls.append(([prompt + f"Adding: \\boxed{{{guess}}}<|im_end|>"], [prompt], [label]))
            threads = [threading.Thread(target=lambda c=c: results.append(reward_func(*c))) for c in calls]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        reward_func._grader.close()
    assert len(results) == 36
    assert all(result["rewards"].shape == (1,) for result in results)
    assert sorted(float(result["rewards"][0]) for result in results).count(1.0) == 1 + 2 + 4 + 0 + 2 + 3 + 12
    loaded = load_trajectories(tmp_path / "rewards", ReadOptions(samples_per_prompt=4))
    assert loaded.report.time_source == "samples-per-prompt"
    curves = dict(zip(loaded.sample_ids, loaded.matrix.tolist(), strict=True))
    assert curves == {"a": [0.25, 0.5, 1.0], "b": [0.0, 0.5, 0.75], "c": [1.0, 1.0, 1.0]}
    assert score_trajectories(loaded, "lim").n_selected >= 1


def test_openrlhf_reward_func_handles_truncation_plain_labels_and_its_own_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("LIMR_REWARD_MODE", "limr-compat")
    monkeypatch.delenv("LIMR_REWARD_LOG_DIR", raising=False)
    reward_func = load_like_openrlhf()
    prompt = chat_prompt("What is sqrt 2?")
    try:
        finished = reward_func([prompt + "\\boxed{2}<|im_end|>"], [prompt], ["2"])
        truncated = reward_func([prompt + "\\boxed{2} and then it kept going"], [prompt], ["2"])
        released_quirk = reward_func([prompt + "\\boxed{\\sqrt{2}}<|endoftext|>"], [prompt], ["\\sqrt{2}"])
        broken = reward_func([prompt + "x", prompt + "y"], [prompt], ["1"])  # mismatched lengths: its own error
    finally:
        reward_func._grader.close()
    assert float(finished["rewards"][0]) == 1.0 and float(finished["scores"][0]) == 1.0
    assert float(truncated["rewards"][0]) == -1.0
    assert float(released_quirk["rewards"][0]) == -0.5  # limr-compat: the released reward misgrades it
    assert broken["rewards"].tolist() == [-1.0, -1.0]


@pytest.mark.parametrize("label", ['{"answer": "7"}', "7", '{"sample_id": 3, "answer": 7}'])
def test_labels_may_be_json_or_bare_answers(label):
    from limr_kit.rewards.trainers import parse_label

    sample_id, gold = parse_label(label, "the prompt")
    assert gold == "7"
    assert sample_id == (3 if "sample_id" in label else "the prompt")
