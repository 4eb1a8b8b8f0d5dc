"""The one-sample recipes: OpenRLHF launches checked by OpenRLHF 0.11.2's own parser, TRL configs, CPU presets."""

from __future__ import annotations

import json
import re

import pytest
from test_train import dry_run, openrlhf_package  # noqa: F401  (the session fixture)

from limr_kit.errors import ConfigError
from limr_kit.resources import data_dir
from limr_kit.train.openrlhf import OpenRLHFArguments, check_flags
from limr_kit.train.recipes import load_recipe, validate_recipe


PI1 = "Find the wind velocity when the pressure on 4 square feet of sail is 32 pounds."


def table6() -> str:
    """The paper's raw training prompt, as limr-kit ships it for the polymath-8 suite."""
    return json.loads((data_dir("benchmarks") / "polymath" / "prompt.json").read_text())["template"]


@pytest.fixture
def one_sample(tmp_path):
    from limr_kit.polymath.export import export
    from limr_kit.polymath.sample import Sample

    sample = Sample("pi1", PI1, "12.7")
    return export(sample, tmp_path / "export", 128)["jsonl"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("polymath-grpo", {"rollout.batch_size": 128, "rollout.n_samples_per_prompt": 16, "rollout.temperature": 1.0,
                           "actor.adam.lr": 1e-6, "actor.eps_clip": 0.2, "algo.kl.init_coef": 0.0,
                           "rollout.max_new_tokens": 2048, "train.num_episodes": 140, "train.batch_size": 2048,
                           "algo.advantage.estimator": "group_norm"}),
        ("oneshot-pi1", {"rollout.batch_size": 128, "rollout.n_samples_per_prompt": 8, "rollout.temperature": 0.6,
                         "actor.adam.lr": 1e-6, "algo.kl.init_coef": 0.001, "algo.kl.use_loss": True,
                         "algo.kl.estimator": "k3", "actor.entropy_coef": 0.001, "rollout.max_new_tokens": 3072,
                         "train.num_episodes": 2000, "train.batch_size": 1024}),
    ],
)  # fmt: skip
def test_one_sample_openrlhf_launch_parses(name, expected, tmp_path, one_sample, openrlhf_package):  # noqa: F811
    result = dry_run(name, tmp_path / name, one_sample)
    notes = check_flags(result.command, openrlhf_package, name)
    assert not any("Warning" in note for note in notes), notes
    parsed = OpenRLHFArguments(openrlhf_package).parser().parse_args(list(result.command[3:]))
    for flag, value in expected.items():
        assert getattr(parsed, flag) == value, flag
    assert getattr(parsed, "reward.remote_url").endswith("openrlhf_reward.py")
    rows = [json.loads(line) for line in next((tmp_path / name).rglob("*.jsonl")).read_text().splitlines()]
    assert len(rows) == 128
    env = json.loads((tmp_path / name / "run.json").read_text())["env"]
    if name == "polymath-grpo":  # the paper's raw prompt, no chat template, and the binary boxed reward
        assert getattr(parsed, "data.apply_chat_template") is False and getattr(parsed, "data.input_key") == "prompt"
        assert getattr(parsed, "data.input_template") is None  # the rows hold the rendered text, braces and all
        assert rows[0]["prompt"] == table6().replace("[PROBLEM]", PI1) and "context_messages" not in rows[0]
        assert (env["LIMR_REWARD_SCHEME"], env["LIMR_ANSWER_POLICY"]) == ("binary", "boxed")
    else:
        assert getattr(parsed, "data.apply_chat_template") is True and rows[0]["context_messages"][1]["content"] == PI1
        assert env["LIMR_REWARD_SCHEME"] == "limr"


@pytest.mark.shared
def test_polymath_prompt_is_the_papers_table6(shared_data):
    printed = json.loads((shared_data / "polymath" / "prompts.json").read_text())["training_prompt_table6"]
    template = table6()
    assert printed.replace("\\\\", "\\") == template  # the PDF's doubled backslash is a string escape
    for name in ("polymath-grpo", "polymath-grpo-trl", "polymath-grpo-cpu"):
        recipe = load_recipe(name).recipe
        assert recipe.prompt_template == template, name
        assert (recipe.reward.scheme, recipe.reward.answer_policy, recipe.reward.mode) == (
            "binary",
            "boxed",
            "default",
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prompt_template": "Solve: {question}"}, "must hold [PROBLEM] once"),
        ({"prompt_template": "[PROBLEM] [PROBLEM]"}, "must hold [PROBLEM] once"),
        ({"prompt_template": "Q: [PROBLEM]\nA:", "system_prompt": "Be brief."}, "system_prompt does not apply"),
        ({"reward": {"mode": "limr-compat", "answer_policy": "math-verify"}}, "reads only the last box"),
        ({"reward": {"scheme": "paper"}}, "reward.scheme"),
    ],
)
def test_prompt_and_reward_fields_are_checked(change, message):
    raw = {**load_recipe("polymath-grpo-cpu").recipe.model_dump(mode="json"), **change}
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_recipe(raw, "polymath-grpo-cpu.yaml")


@pytest.mark.parametrize(
    ("name", "generations", "beta"), [("polymath-grpo-trl", 16, 0.0), ("oneshot-pi1-trl", 8, 1e-3)]
)
def test_one_sample_trl_recipes_resolve(name, generations, beta, tmp_path, one_sample):
    from trl.data_utils import is_conversational

    result = dry_run(name, tmp_path / "run", one_sample)
    assert result.status == "dry-run" and result.samples == 128
    record = json.loads((tmp_path / "run/run.json").read_text())
    config = record["grpo_config"]
    assert config["num_generations"] == generations and config["beta"] == beta and config["learning_rate"] == 1e-6
    row = json.loads((tmp_path / "run/data/prompts.jsonl").read_text().splitlines()[0])
    raw = name.startswith("polymath")
    # TRL renders a conversational row with the chat template and passes a plain-text one to the tokenizer as is.
    assert is_conversational(row) is not raw
    if raw:
        assert row["prompt"] == table6().replace("[PROBLEM]", PI1) and record["reward"]["scheme"] == "binary"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["polymath-grpo-cpu", "oneshot-pi1-cpu"])
def test_cpu_presets_train_and_their_reward_log_scores(name, run_cli, tmp_path):
    out = tmp_path / name
    result = run_cli("train", name, "--out", out, "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    rows = [json.loads(line) for shard in (out / "rewards").glob("rewards.*.jsonl") for line in shard.open()]
    scores = {1.0, 0.0} if name.startswith("polymath") else {1.0, -0.5, -1.0}  # polymath: binary, no format term
    assert len(rows) == 8 * 4 * 2 and {row["reward"] for row in rows} <= scores
    assert all(row["reward"] == float(row["correct"]) for row in rows) or not name.startswith("polymath")
    prompt = json.loads((out / "data/prompts.jsonl").read_text().splitlines()[0])["prompt"]
    if name.startswith("polymath"):  # what TRL tokenised for the model: the raw Table 6 text, no chat markers
        assert prompt == table6().replace("[PROBLEM]", "What is 2 + 3?") and "<|im_start|>" not in prompt
    scored = run_cli("score", out / "rewards", "--out", out / "lim", "--json")
    assert scored.code == 0, scored.stderr
    assert len((out / "lim/scores.jsonl").read_text().splitlines()) == 8


def test_answer_policy_override_reaches_the_reward_environment(tmp_path, one_sample):
    dry_run("polymath-grpo", tmp_path / "run", one_sample, answer_policy="last-boxed-or-final")
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["env"]["LIMR_ANSWER_POLICY"] == "last-boxed-or-final"
    assert record["overrides"]["answer_policy"] == "last-boxed-or-final"
    with pytest.raises(ConfigError, match="reads only the last box"):
        dry_run(
            "polymath-grpo", tmp_path / "compat", one_sample, reward_mode="limr-compat", answer_policy="math-verify"
        )
