"""The one-sample recipes: OpenRLHF launches checked by OpenRLHF 0.11.2's own parser, TRL configs, CPU presets."""

from __future__ import annotations

import json

import pytest
from test_train import dry_run, openrlhf_package  # noqa: F401  (the session fixture)

from limr_kit.train.openrlhf import OpenRLHFArguments, check_flags


@pytest.fixture
def one_sample(tmp_path):
    from limr_kit.polymath.export import export
    from limr_kit.polymath.sample import Sample

    sample = Sample("pi1", "Find the wind velocity when the pressure on 4 square feet of sail is 32 pounds.", "12.7")
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


@pytest.mark.parametrize(
    ("name", "generations", "beta"), [("polymath-grpo-trl", 16, 0.0), ("oneshot-pi1-trl", 8, 1e-3)]
)
def test_one_sample_trl_recipes_resolve(name, generations, beta, tmp_path, one_sample):
    result = dry_run(name, tmp_path / "run", one_sample)
    assert result.status == "dry-run" and result.samples == 128
    config = json.loads((tmp_path / "run/run.json").read_text())["grpo_config"]
    assert config["num_generations"] == generations and config["beta"] == beta and config["learning_rate"] == 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("name", ["polymath-grpo-cpu", "oneshot-pi1-cpu"])
def test_cpu_presets_train_and_their_reward_log_scores(name, run_cli, tmp_path):
    out = tmp_path / name
    result = run_cli("train", name, "--out", out, "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    rows = [json.loads(line) for shard in (out / "rewards").glob("rewards.*.jsonl") for line in shard.open()]
    assert len(rows) == 8 * 4 * 2 and {row["reward"] for row in rows} <= {1.0, -0.5, -1.0}
    scored = run_cli("score", out / "rewards", "--out", out / "lim", "--json")
    assert scored.code == 0, scored.stderr
    assert len((out / "lim/scores.jsonl").read_text().splitlines()) == 8
