"""limr-kit estimate: k graded samples per training prompt with bench's engine, as a reward log score reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_bench import run_limr

from limr_kit.tinymodel import held_out_problems


def _dataset(path: Path, rows: int = 4, **extra) -> Path:
    problems = held_out_problems()[:rows]
    path.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "prompt": p["question"], "answer": p["answer"], **extra}) + "\n"
            for i, p in enumerate(problems)
        )
    )
    return path


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_estimate_writes_a_log_score_reads_and_resumes_per_prompt(tiny_model, tmp_path, run_cli):
    dataset, out = _dataset(tmp_path / "train.jsonl"), tmp_path / "estimate"
    args = ("estimate", tiny_model, "--dataset", dataset, "--k", 4, "--max-new-tokens", 24, "--out", out)
    first = run_limr(*args, "--limit", 2, "--json")
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads(first.stdout)["counts"].items() >= {"prompts": 2, "resumed": 0, "generated": 2}.items()
    before = _records(out)
    assert [r["id"] for r in before] == ["p0", "p1"] and all(len(r["completions"]) == 4 for r in before)
    assert before[0]["prompt"].startswith("<|im_start|>system\nPlease reason")  # bench's rendering

    second = run_limr(*args, "--json")  # no --limit: the same run extended to every prompt
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads(second.stdout)
    assert summary["counts"].items() >= {"prompts": 4, "resumed": 2, "generated": 2}.items()
    after = _records(out)
    assert after[:2] == before and sorted(r["id"] for r in after) == ["p0", "p1", "p2", "p3"]  # nothing resampled

    samples = out / "samples.jsonl"
    stamp = samples.stat().st_mtime_ns
    third = run_cli(*args, "--json")  # everything done: no engine starts, nothing is generated or appended
    assert third.code == 0, third.stderr
    assert json.loads(third.stdout)["counts"]["generated"] == 0 and samples.stat().st_mtime_ns == stamp
    assert json.loads(third.stdout)["engine_settings"] == summary["engine_settings"] != {}

    passes = {r["id"]: [c["correct"] for c in r["completions"]] for r in after}
    assert any(any(v) for v in passes.values())  # the warm-started model solves some additions
    log = [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]
    assert len(log) == 16 and {row["epoch"] for row in log} == {0}
    scored = run_cli("score", out / "rewards.jsonl", "--method", "learnability", "--out", tmp_path / "scores")
    assert scored.code == 0, scored.stderr
    rows = (tmp_path / "scores" / "scores.jsonl").read_text().splitlines()
    scores = {row["sample_id"]: row["score"] for row in map(json.loads, rows)}
    expected = {key: (sum(v) / 4) * (1 - sum(v) / 4) for key, v in passes.items()}
    assert scores == pytest.approx(expected)
    assert summary["correct_of_k"] == {str(j): sum(sum(v) == j for v in passes.values()) for j in range(5)}

    changed = run_cli(*args, "--temperature", "0.5")
    assert changed.code == 1 and "other settings (decoding)" in changed.stderr


def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path, run_cli):
    dataset, out = _dataset(tmp_path / "train.jsonl"), tmp_path / "out"
    no_answer = tmp_path / "no-answer.jsonl"
    no_answer.write_text(json.dumps({"prompt": "1 + 1?", "solution": "2"}) + "\n")
    no_prompt = tmp_path / "no-prompt.jsonl"
    no_prompt.write_text(json.dumps({"text": "1 + 1?", "answer": "2"}) + "\n")
    for argv, message in [
        ((dataset, "--k", 0), "--k is the number of samples per prompt and must be at least 1"),
        ((tmp_path / "missing.jsonl",), "missing.jsonl does not exist"),
        ((no_answer,), "has no answer field 'answer'"),
        ((no_answer,), "--answer-field"),
        ((no_prompt,), "has no question field 'prompt or question or problem or context'"),
        ((dataset, "--question-field", "problem"), "has no question field 'problem'"),
        ((dataset, "--temperature", "0"), "--k 1 or a temperature above 0"),
        ((dataset, "--top-p", "1.5"), "--top-p"),
    ]:
        result = run_cli("estimate", "Qwen/Qwen2.5-Math-7B", "--dataset", *argv, "--out", out)  # checked first
        assert result.code == 1, (argv, result.stderr)
        assert result.stderr.count("Error:") == 1 and message in " ".join(result.stderr.split()), result.stderr
        assert "Traceback" not in result.stderr and not out.exists()
