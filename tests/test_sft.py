"""SFT baselines: recipes sft-s1/sft-limo launched with OpenRLHF 0.11.2's own train_sft parser, the chat-schema
mapping and its refusals, and the CPU preset training the tiny model with TRL's SFTTrainer."""

from __future__ import annotations

import pytest
from test_train import openrlhf_package  # noqa: F401 (the unpacked OpenRLHF 0.11.2 wheel, a session fixture)

from limr_kit.errors import BadRowError, ConfigError, InputError, UnknownNameError
from limr_kit.train.openrlhf import OpenRLHFArguments
from limr_kit.train.sft import (
    check_sft_flags,
    load_sft_recipe,
    map_rows,
    plan_sft_launch,
    sft_recipe_names,
    write_rows,
)


def words(messages: list[dict]) -> int:
    return sum(len(message["content"].split()) for message in messages)


def test_every_sft_recipe_parses_with_openrlhf_train_sft(tmp_path, openrlhf_package):  # noqa: F811
    assert {"sft-s1", "sft-limo", "sft-tiny"} <= set(sft_recipe_names())
    expected = {"sft-s1": (1000, 1e-5, 5, 32768), "sft-limo": (817, 5e-6, 15, 16384)}
    for name, (samples, lr, epochs, max_len) in expected.items():
        recipe = load_sft_recipe(name)
        plan = plan_sft_launch(recipe, dataset=tmp_path / "rows.jsonl", out=tmp_path / name, name=name)
        assert check_sft_flags(plan.command, openrlhf_package, name) == []
        parsed = OpenRLHFArguments(openrlhf_package, "train_sft").parser().parse_args(list(plan.command[3:]))
        assert recipe.samples == samples and getattr(parsed, "adam.lr") == lr
        assert getattr(parsed, "train.max_epochs") == epochs and getattr(parsed, "data.max_len") == max_len
        assert getattr(parsed, "data.dataset") == str(tmp_path / "rows.jsonl")
        assert getattr(parsed, "data.multiturn") and getattr(parsed, "data.input_key") == "messages"
        assert getattr(parsed, "ckpt.output_dir") == str(tmp_path / name / "model")
        assert plan.script.splitlines()[-1].startswith("deepspeed --module openrlhf.cli.train_sft ")


def test_train_sft_rejects_a_ppo_flag(openrlhf_package, tmp_path):  # noqa: F811
    plan = plan_sft_launch(load_sft_recipe("sft-s1"), dataset=tmp_path / "r.jsonl", out=tmp_path, name="sft-s1")
    with pytest.raises(ConfigError, match="train_sft rejects the launch: unrecognized arguments: --actor.adam.lr"):
        check_sft_flags((*plan.command, "--actor.adam.lr", "1e-5"), openrlhf_package, "sft-s1")


def test_rows_map_into_the_bench_chat_schema_and_bad_rows_are_refused(tmp_path):
    recipe = load_sft_recipe("sft-s1")
    row = {
        "question": "What is 2+2?",
        "thinking_trajectories": ["2 and 2 make 4."],
        "attempt": "So 4.",
        "solution": "4",
    }
    mapped = map_rows([row], recipe, words, where="s1k.jsonl")
    system, user, assistant = mapped.rows[0]["messages"]
    assert system["content"].startswith("Please reason step by step") and user["content"] == "What is 2+2?"
    assert assistant["content"] == "2 and 2 make 4.\n\nSo 4.\n\nThe final answer is $\\boxed{4}$."
    write_rows(mapped, tmp_path / "rows.jsonl")
    assert (tmp_path / "rows.jsonl").read_text().count("\n") == 1
    with pytest.raises(BadRowError, match=r"s1k.jsonl.*2.*no attempt field"):
        map_rows([row, {**row, "attempt": ""}], recipe, words, where="s1k.jsonl")
    long = {**row, "attempt": "step " * 40000}
    with pytest.raises(InputError, match="1 of 2 traces are longer than max_len 32768 tokens.*--truncate"):
        map_rows([row, long], recipe, words, where="s1k.jsonl")
    cut = map_rows([row, long], recipe, words, where="s1k.jsonl", truncate=True)
    assert (cut.too_long, cut.truncated, cut.longest > 32768) == (1, True, True)


def test_unknown_sft_recipe_names_the_close_one():
    with pytest.raises(UnknownNameError, match="sft-s1"):
        load_sft_recipe("sft-s2")


def _addition_rows(path, n: int = 8):
    import json

    from limr_kit.tinymodel import addition_problem

    problems = [addition_problem(a, a + 1) for a in range(n)]
    rows = [{**p, "solution": f"{p['question'][8:-1]} = {p['answer']}"} for p in problems]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.slow
def test_cpu_preset_sft_trains_the_tiny_model(tmp_path, run_cli):
    """`limr-kit sft sft-tiny --backend trl`: the loss falls; the checkpoint loads in transformers and vLLM."""
    import json

    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = _addition_rows(tmp_path / "rows.jsonl")
    result = run_cli("sft", "sft-tiny", "--dataset", data, "--out", tmp_path / "run", "--backend", "trl")
    assert result.code == 0, result.stderr
    losses = json.loads((tmp_path / "run" / "run.json").read_text())["losses"]
    assert len(losses) >= 8 and losses[-1] < losses[0] * 0.7
    trained = AutoModelForCausalLM.from_pretrained(tmp_path / "run" / "model")
    assert trained.config.architectures == ["Qwen2ForCausalLM"]
    assert AutoTokenizer.from_pretrained(tmp_path / "run" / "model").chat_template
    bench_data = tmp_path / "bench" / "math500"
    bench_data.mkdir(parents=True)
    bench_data.joinpath("test.jsonl").write_text(
        json.dumps({"problem": "What is 2+3?", "answer": "5", "unique_id": "q0"}) + "\n"
    )
    benched = run_cli("bench", tmp_path / "run" / "model", "--suite", "math500", "--data-dir", tmp_path / "bench",
                      "--out", tmp_path / "bench-run")  # fmt: skip
    assert benched.code == 0, benched.stderr  # loads and generates in vLLM
    assert (
        json.loads((tmp_path / "bench-run" / "results.json").read_text())["benchmarks"]["math500"]["n_questions"] == 1
    )


def test_sft_command_dry_run_and_bad_input(tmp_path, run_cli, openrlhf_package):  # noqa: F811
    """The OpenRLHF launch from the CLI passes train_sft's parser; bad input is one Error line, exit 1."""
    import json

    from limr_kit.tinymodel import write_tiny_model

    model = write_tiny_model(tmp_path / "model")
    data = _addition_rows(tmp_path / "rows.jsonl")
    result = run_cli("sft", "sft-limo", "--dataset", data, "--model", model, "--out", tmp_path / "run", "--dry-run")
    assert result.code == 0, result.stderr
    command = [line for line in result.stdout.splitlines() if line.startswith("deepspeed")][0].split()
    check_sft_flags(command, openrlhf_package, "cli")
    assert len((tmp_path / "run" / "data" / "sft.jsonl").read_text().splitlines()) == 8
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "dry-run"

    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"question": "What is 1+1?", "answer": "2"}) + "\n")
    bad = run_cli("sft", "sft-limo", "--dataset", missing, "--model", model, "--out", tmp_path / "bad", "--dry-run")
    assert bad.code == 1 and "Error:" in bad.stderr and "solution" in bad.stderr
    assert not (tmp_path / "bad" / "data").exists()
    long = tmp_path / "long.jsonl"
    long.write_text(json.dumps({"question": "Q?", "solution": "step " * 200, "answer": "1"}) + "\n")
    refused = run_cli("sft", "sft-tiny", "--dataset", long, "--model", model, "--out", tmp_path / "l", "--dry-run")
    assert refused.code == 1 and "--truncate" in refused.stderr
    unknown = run_cli("sft", "sft-limo2", "--dataset", data, "--out", tmp_path / "u", "--dry-run")
    assert unknown.code == 1 and "sft-limo" in unknown.stderr
    hub_id = run_cli("sft", "sft-limo", "--dataset", data, "--out", tmp_path / "h", "--dry-run")
    assert hub_id.code == 1 and "limr-kit pull model" in hub_id.stderr
