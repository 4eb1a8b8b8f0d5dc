"""limr-kit train: recipes, data preparation, OpenRLHF launches checked by OpenRLHF 0.11.2's own parser, TRL GRPO."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from limr_kit.errors import ConfigError, UnknownNameError
from limr_kit.machine import cuda_gpus
from limr_kit.train import Overrides, TrainOptions, load_recipe, recipe_names, train
from limr_kit.train.openrlhf import (
    OpenRLHFArguments,
    accumulation_misalignment,
    check_flags,
    installed_openrlhf,
    reward_file,
    scheduler_steps,
)


OPENRLHF_WHEEL = "openrlhf-0.11.2-cp311-cp311-manylinux1_x86_64.whl"
OPENRLHF_WHEEL_SHA256 = "c969d70db03a70724c3d8a5a01186c6e0728bce624fb3dff95e39b5396acefa6"
SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


@pytest.fixture(scope="session")
def openrlhf_package(tmp_path_factory) -> Path:
    """OpenRLHF 0.11.2's package folder, unpacked from its PyPI wheel (cached in ~/.cache/limr-kit/wheels).

    Only read as source: the wheel pins flash-attn and DeepSpeed, so it is never installed.
    """
    cache = Path.home() / ".cache" / "limr-kit" / "wheels"
    wheel = cache / OPENRLHF_WHEEL
    for _attempt in range(3):
        if wheel.is_file() and hashlib.sha256(wheel.read_bytes()).hexdigest() == OPENRLHF_WHEEL_SHA256:
            break
        wheel.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
             "--implementation", "cp", "--platform", "manylinux1_x86_64", "--disable-pip-version-check",
             "--quiet", "openrlhf==0.11.2", "-d", str(cache)],
            check=False,
            timeout=300,
        )  # fmt: skip
    assert wheel.is_file(), "could not download openrlhf==0.11.2 from PyPI (pip download failed 3 times)"
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == OPENRLHF_WHEEL_SHA256
    target = tmp_path_factory.mktemp("openrlhf-0.11.2")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target / "openrlhf-0.11.2.data" / "purelib" / "openrlhf"


@pytest.fixture
def problems_file(tmp_path) -> Path:
    """40 LIMR-style rows (the arrow's field names: context, answer, id): 1 optimizer step per episode at 8 x 40."""
    path = tmp_path / "problems.jsonl"
    rows = [{"id": "p1", "context": "Simplify $\\frac{4}{6}$.", "answer": "\\frac{2}{3}"}]
    rows += [{"id": f"p{n}", "context": f"What is ${n}+{n}$?", "answer": str(2 * n)} for n in range(2, 41)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def dry_run(recipe: str, out: Path, dataset: Path | None = None, **overrides):
    return train(
        recipe, TrainOptions(out=out, overrides=Overrides(dataset=str(dataset) if dataset else None, **overrides),
                             dry_run=True),
    )  # fmt: skip


def flag_values(command: tuple[str, ...]) -> dict[str, str | bool]:
    values: dict[str, str | bool] = {}
    for token in command:
        if token.startswith("--"):
            key = token[2:]
            values[key] = True
        elif values:
            values[key] = token if values[key] is True else f"{values[key]} {token}"
    return values


# RECIPES


def test_every_shipped_recipe_loads_and_full_ppo_differs_from_limr_ppo_only_where_it_says():
    names = recipe_names()
    assert {"limr-ppo", "full-ppo", "tiny-grpo"} <= set(names)
    loaded = {name: load_recipe(name) for name in names}
    for item in loaded.values():
        assert item.recipe.description and item.recipe.backend in ("openrlhf", "trl")
    limr, full = loaded["limr-ppo"].recipe, loaded["full-ppo"].recipe
    assert [path.name for path in loaded["full-ppo"].sources] == ["full-ppo.yaml", "limr-ppo.yaml"]
    assert full.dataset.path.endswith("limr/prompts/math.8k.json") and full.dataset.fields == limr.dataset.fields
    assert full.openrlhf["train.num_episodes"] == 21 and full.reward.log
    assert {key: value for key, value in full.openrlhf.items() if limr.openrlhf[key] != value} == {
        "train.num_episodes": 21
    }
    assert (limr.openrlhf["actor.adam.lr"], limr.openrlhf["critic.adam.lr"]) == (5e-7, 9e-6)
    assert loaded["tiny-grpo"].recipe.backend == "trl"


def write_recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    return path


def test_a_typo_in_a_recipe_is_a_config_error_naming_the_field(tmp_path):
    path = write_recipe(
        tmp_path,
        "description: d\nbackend: trl\nmodel: m\ndataset:\n  path: x.jsonl\n  feilds: {answer: a}\nrewrd: {mode: default}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_recipe(path)
    assert str(path) in str(caught.value)
    assert any(problem.startswith("dataset.feilds: Extra inputs") for problem in caught.value.problems)
    assert any(problem.startswith("rewrd: Extra inputs") for problem in caught.value.problems)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("openrlhf: {prompt_max_len: 1024}", "'prompt_max_len' is a flat flag of OpenRLHF 0.10.1 or older"),
        ("openrlhf: {prompt_max_len: 1024}", "its 0.11 name is data.max_len"),
        ("openrlhf: {data.prompt_dataset: x.jsonl}", "set by the recipe's dataset or --dataset"),
        ("trl: {num_train_epochs: 1}", "a 'trl:' section does not apply to backend openrlhf"),
        ("reward: {mode: strict}", "reward.mode: Input should be 'default' or 'limr-compat'"),
    ],
)
def test_recipe_rules(tmp_path, section, expected):
    path = write_recipe(tmp_path, f"description: d\nbackend: openrlhf\nmodel: m\ndataset: {{path: x}}\n{section}\n")
    with pytest.raises(ConfigError) as caught:
        load_recipe(path)
    assert expected in str(caught.value)


def test_extends_merges_and_null_removes_a_flag(tmp_path):
    path = write_recipe(
        tmp_path,
        "extends: limr-ppo\ndescription: eager off\nopenrlhf:\n  vllm.enforce_eager: null\n  train.seed: 7\n",
    )
    recipe = load_recipe(path).recipe
    assert "vllm.enforce_eager" not in recipe.openrlhf and recipe.openrlhf["train.seed"] == 7
    assert recipe.openrlhf["rollout.temperature"] == 1.2
    cycle = tmp_path / "a.yaml"
    cycle.write_text("extends: b\n")
    (tmp_path / "b.yaml").write_text("extends: a\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_recipe(cycle)


def test_unknown_recipe_suggests_the_close_name(run_cli):
    result = run_cli("train", "limr-pp", "--dry-run")
    assert result.code == 1
    assert "Unknown recipe 'limr-pp'. Did you mean: limr-ppo" in result.stderr
    with pytest.raises(UnknownNameError):
        load_recipe("fulll")


# OPENRLHF: THE LAUNCH, CHECKED BY OPENRLHF 0.11.2 ITSELF


def test_limr_ppo_dry_run_prints_the_papers_launch(run_cli, tmp_path, problems_file):
    out = tmp_path / "run"
    result = run_cli("train", "limr-ppo", "--dataset", problems_file, "--out", out, "--dry-run", "--set",
                     "train.num_episodes=30", "--reward-mode", "limr-compat")  # fmt: skip
    assert result.code == 0, result.stderr
    for flag in (
        "--rollout.batch_size 1024",
        "--rollout.n_samples_per_prompt 8",
        "--rollout.temperature 1.2",
        "--train.batch_size 256",
        "--actor.adam.lr 5e-7",
        "--critic.adam.lr 9e-6",
        "--algo.kl.init_coef 0.01",
        "--algo.advantage.lambd 0.95",
        "--actor.eps_clip 0.2",
        "--critic.value_clip 0.2",
        "--data.max_len 4096",
        "--rollout.max_new_tokens 3072",
        "--ds.zero_stage 3",
        "--train.num_episodes 30",
        "--actor.model_name_or_path Qwen/Qwen2.5-Math-7B",
        "--critic.model_name_or_path Qwen/Qwen2.5-Math-7B",
        '--data.prompt_dataset "$RUN_DIR"/data/prompts.jsonl',
        "--data.input_key context_messages",
    ):
        assert flag in result.stdout, flag
    assert "python3 -m openrlhf.cli.train_ppo_ray" in result.stdout and "ray job submit" in result.stdout
    assert "dry run: nothing was trained" in result.stderr
    assert f"limr-kit score {out}/rewards --samples-per-prompt 8" in result.stderr.replace("\n", " ")
    script = out / "launch.sh"
    assert os.access(script, os.X_OK) and script.read_text() == result.stdout.rstrip("\n") + "\n"
    assert '"LIMR_REWARD_LOG_DIR": "@RUN_DIR@/rewards"' in script.read_text()
    assert '"LIMR_REWARD_MODE": "limr-compat"' in script.read_text() and str(tmp_path) not in script.read_text()
    reward_file = flag_values(tuple(json.loads((out / "run.json").read_text())["command"]))["reward.remote_url"]
    assert reward_file.endswith("limr_kit/rewards/openrlhf_reward.py") and Path(reward_file).is_file()
    rows = [json.loads(line) for line in (out / "data" / "prompts.jsonl").read_text().splitlines()]
    assert rows[0]["context_messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Simplify $\\frac{4}{6}$."},
    ]
    assert [json.loads(row["label"]) for row in rows[:2]] == [
        {"sample_id": "p1", "answer": "\\frac{2}{3}"},
        {"sample_id": "p2", "answer": "4"},
    ]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "dry-run" and record["dataset"]["samples"] == 40
    assert (
        record["overrides"]["set"] == {"train.num_episodes": 30}
        and record["overrides"]["reward_mode"] == "limr-compat"
    )
    assert record["overrides"]["dataset"] == str(problems_file)
    assert record["recipe"]["resolved"]["openrlhf"]["train.num_episodes"] == 30
    assert record["command"][:3] == ["python3", "-m", "openrlhf.cli.train_ppo_ray"]
    assert record["versions"]["limr-kit"] and record["started"] and record["finished"]


def test_every_openrlhf_recipe_parses_with_openrlhf_0_11_2(tmp_path, problems_file, openrlhf_package):
    openrlhf_recipes = [name for name in recipe_names() if load_recipe(name).recipe.backend == "openrlhf"]
    assert {"limr-ppo", "full-ppo"} <= set(openrlhf_recipes)
    for name in ("limr-ppo", "full-ppo"):  # the one-sample recipes: test_polymath_recipes.py
        result = dry_run(name, tmp_path / name, problems_file)
        notes = check_flags(result.command, openrlhf_package, name)
        assert not any("Warning" in note for note in notes), notes
        parsed = OpenRLHFArguments(openrlhf_package).parser().parse_args(list(result.command[3:]))
        assert getattr(parsed, "rollout.batch_size") == 1024 and getattr(parsed, "rollout.temperature") == 1.2
        assert getattr(parsed, "actor.adam.lr") == 5e-7 and getattr(parsed, "critic.adam.lr") == 9e-6
        assert getattr(parsed, "reward.remote_url").endswith("openrlhf_reward.py")
        assert getattr(parsed, "train.colocate_all") and getattr(parsed, "ds.packing_samples")
        # OpenRLHF turns the ratio into ceil(max_steps * ratio) warm-up steps: LIMR's 10.
        horizon = scheduler_steps(load_recipe(name).recipe.openrlhf, 40)
        assert math.ceil(horizon * getattr(parsed, "actor.lr_warmup_ratio")) == 10


def test_a_moved_run_folder_still_launches_with_its_own_paths(tmp_path, problems_file, openrlhf_package):
    """The launch is portable: moved elsewhere, it runs OpenRLHF on the files beside it and the installed reward.

    ``ray`` here is a stand-in that prints the job it is given (no GPU to run OpenRLHF on); the argv it receives is
    then parsed by OpenRLHF 0.11.2's own parser.
    """
    dry_run("limr-ppo", tmp_path / "written-here", problems_file)
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    (tmp_path / "written-here").rename(moved)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ray").write_text(
        '#!/usr/bin/env bash\n[ "$1" = status ] && exit 0\nprintf "%s\\n" "$@" > "$JOB_ARGS"\n'
    )
    (bin_dir / "ray").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LIMR_PYTHON": sys.executable,
           "JOB_ARGS": str(tmp_path / "job.txt")}  # fmt: skip
    done = subprocess.run(["bash", str(moved / "launch.sh")], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    job = (tmp_path / "job.txt").read_text().splitlines()
    runtime_env = json.loads(next(arg for arg in job if arg.startswith("--runtime-env-json=")).split("=", 1)[1])
    assert runtime_env["env_vars"]["LIMR_REWARD_LOG_DIR"] == f"{moved}/rewards"
    assert runtime_env["env_vars"]["LIMR_GRADER_WORKERS"] == "4"
    argv = job[job.index("--") + 4 :]  # after: -- python3 -m openrlhf.cli.train_ppo_ray
    assert job[job.index("--") + 1 : job.index("--") + 4] == ["python3", "-m", "openrlhf.cli.train_ppo_ray"]
    check_flags(argv, openrlhf_package, "moved")
    parsed = OpenRLHFArguments(openrlhf_package).parser().parse_args(argv)
    assert getattr(parsed, "data.prompt_dataset") == f"{moved}/data/prompts.jsonl"
    assert Path(getattr(parsed, "data.prompt_dataset")).is_file()
    assert getattr(parsed, "ckpt.path") == f"{moved}/ckpt" and getattr(parsed, "ckpt.output_dir") == f"{moved}/model"
    assert Path(getattr(parsed, "reward.remote_url")).samefile(reward_file())


def test_the_partial_last_rollout_batch_keeps_updates_inside_one_rollout(tmp_path):
    """limr-ppo's data.max_samples fills whole accumulation windows; without it, the dry run says why it matters."""
    limr = load_recipe("limr-ppo").recipe.openrlhf
    assert accumulation_misalignment(limr, 1389) is None  # 1,376 prompts: 352 in the last batch, 11 windows
    unaligned = accumulation_misalignment({**limr, "data.max_samples": None}, 1389)
    assert unaligned and "365 prompts x 8 samples" in unaligned and "data.max_samples to 1376" in unaligned
    # By hand: 365 prompts x 8 samples over 8 GPUs in micro-batches of 4 is 92 micro-batches; 92 % (256 / 32) = 4.
    assert math.ceil(365 * 8 / 8 / 4) % (256 // (4 * 8)) == 4
    full = load_recipe("full-ppo").recipe.openrlhf
    assert "data.max_samples to 8512" in accumulation_misalignment(full, 8523)


def test_model_override_reaches_actor_and_critic(tmp_path, problems_file):
    checkpoint = tmp_path / "my-ckpt"
    checkpoint.mkdir()
    result = dry_run("limr-ppo", tmp_path / "run", problems_file, model=str(checkpoint))
    flags = flag_values(result.command)
    assert flags["actor.model_name_or_path"] == flags["critic.model_name_or_path"] == str(checkpoint.resolve())
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["overrides"]["model"] == str(checkpoint) and record["model"] == str(checkpoint.resolve())


def test_openrlhf_rejects_a_stale_flag_and_its_own_checks_run(tmp_path, problems_file, openrlhf_package):
    command = dry_run("limr-ppo", tmp_path / "run", problems_file).command
    with pytest.raises(ConfigError) as caught:
        check_flags((*command, "--prompt_max_len", "1024"), openrlhf_package, "limr-ppo")
    assert "unrecognized arguments: --prompt_max_len 1024" in str(caught.value)
    assert "flags are dotted" in str(caught.value)
    # Without vLLM engines, OpenRLHF's own assertion after parsing refuses --ds.packing_samples.
    no_vllm = dry_run("limr-ppo", tmp_path / "novllm", problems_file, backend_args={"vllm.num_engines": 0}).command
    with pytest.raises(ConfigError, match="Only support `--packing_samples` with vLLM"):
        check_flags(no_vllm, openrlhf_package, "limr-ppo")


def test_a_stale_flag_from_the_command_line_is_refused_before_anything_is_written(run_cli, tmp_path, problems_file):
    out = tmp_path / "run"
    result = run_cli("train", "limr-ppo", "--dataset", problems_file, "--out", out, "--dry-run", "--set",
                     "generate_max_len=3072")  # fmt: skip
    assert result.code == 1
    assert "'generate_max_len' is a flat flag" in result.stderr and "rollout.max_new_tokens" in result.stderr
    assert not out.exists()


@pytest.mark.shared
def test_paper_runs_on_the_released_data_warm_up_10_steps(tmp_path, shared_data):
    for name, samples, horizon in (("limr-ppo", 1389, 1389 * 8 // 256 * 89), ("full-ppo", 8523, 266 * 21)):
        result = train(name, TrainOptions(out=tmp_path / name, data_dir=shared_data, dry_run=True))
        record = json.loads((tmp_path / name / "run.json").read_text())
        assert result.samples == samples and record["scheduler_steps"] == horizon
        ratio = float(flag_values(result.command)["actor.lr_warmup_ratio"])
        assert math.ceil(horizon * ratio) == 10 and ratio == record["warmup_ratio"]
        assert "--samples-per-prompt 8" in result.score_command
    assert result.notes[0].startswith("2 samples have an empty gold answer")  # math.8k's two, kept as in the paper


def test_openrlhf_without_gpus_says_how_to_get_them_and_writes_nothing(run_cli, tmp_path, problems_file):
    if installed_openrlhf() is not None and cuda_gpus():
        pytest.skip("OpenRLHF and a CUDA GPU are present: this machine would really train")
    out = tmp_path / "run"
    result = run_cli("train", "limr-ppo", "--dataset", problems_file, "--out", out)
    assert result.code == 1
    message = " ".join(result.stderr.split())
    assert "Training with OpenRLHF needs CUDA GPUs and OpenRLHF 0.11" in message
    assert "limr-kit build train" in message and "--image limr-kit:train --gpus all" in message
    assert "--dry-run" in message
    assert not out.exists()


# DATA


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"id": "a", "context": "q"}], "has no answer field 'answer'"),
        ([{"id": "a", "text": "q", "answer": "1"}], "has no question field 'context or prompt'"),
        ([{"context": "q", "answer": "1"}], "has no id field 'id'"),
        (
            [{"id": "a", "context": "q", "answer": "1"}, {"id": "b", "context": "q", "answer": None}],
            "row 2: the answer",
        ),
        ([{"id": "a", "context": "q", "answer": "1"}, {"id": "a", "context": "r", "answer": "2"}], "repeats row 1"),
        ([{"id": "a", "context": None, "answer": "1"}], "row 1: the question 'context' is missing"),
    ],
)
def test_bad_datasets_give_one_error_naming_file_and_row(run_cli, tmp_path, rows, expected):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = run_cli("train", "limr-ppo", "--dataset", path, "--out", tmp_path / "run", "--dry-run")
    assert result.code == 1
    message = " ".join(result.stderr.split())
    assert str(path) in message and expected in message
    assert not (tmp_path / "run").exists()


def test_missing_dataset_and_missing_data_dir(run_cli, tmp_path, monkeypatch):
    result = run_cli("train", "limr-ppo", "--dataset", tmp_path / "nope.parquet", "--out", tmp_path / "r", "--dry-run")
    assert result.code == 1 and "nope.parquet does not exist" in result.stderr
    monkeypatch.delenv("LIMR_DATA_DIR", raising=False)
    result = run_cli("train", "full-ppo", "--out", tmp_path / "r", "--dry-run")
    assert result.code == 1 and "--data-dir" in result.stderr and "LIMR_DATA_DIR" in result.stderr


# TRL


def test_tiny_grpo_dry_run_resolves_a_cpu_grpo_config(tmp_path):
    out = tmp_path / "run"
    result = train("tiny-grpo", TrainOptions(out=out, overrides=Overrides(backend_args={"beta": 0.0}), dry_run=True))
    assert result.status == "dry-run" and result.samples == 8 and result.command is None
    config = json.loads((out / "run.json").read_text())["grpo_config"]
    assert config["use_cpu"] is True and config["bf16"] is False and config["gradient_checkpointing"] is False
    assert config["report_to"] == "none" and config["output_dir"] == str(out.resolve() / "trl")
    assert config["beta"] == 0.0 and config["num_train_epochs"] == 3
    rows = [json.loads(line) for line in (out / "data" / "prompts.jsonl").read_text().splitlines()]
    assert rows[0] == {
        "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What is 2 + 3?"}],
        "answer": "5",
        "sample_id": "add-2-3",
    }
    assert not (out / "base-model").exists() and not (out / "model").exists()


def test_trl_arguments_are_checked_against_grpo_config(run_cli, tmp_path):
    result = run_cli("train", "tiny-grpo", "--out", tmp_path / "a", "--dry-run", "--set", "num_train_epoch=2")
    assert result.code == 1 and "trl.num_train_epoch: not a field of TRL's GRPOConfig" in result.stderr
    assert "did you mean num_train_epochs" in result.stderr
    result = run_cli("train", "tiny-grpo", "--out", tmp_path / "b", "--dry-run", "--set", "num_generations=3")
    assert result.code == 1 and "must be divisible by num_generations" in " ".join(result.stderr.split())


def test_trl_refuses_to_mix_a_new_run_into_an_old_reward_log(run_cli, tmp_path):
    old_log = tmp_path / "run" / "rewards" / "rewards.host.1.jsonl"
    old_log.parent.mkdir(parents=True)
    old_log.write_text('{"sample_id": "add-2-3", "epoch": 0, "reward": 1.0}\n')
    result = run_cli("train", "tiny-grpo", "--out", tmp_path / "run")
    assert result.code == 1 and "already holds the reward log of an earlier run" in " ".join(result.stderr.split())
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == ["rewards"]


@pytest.mark.slow
def test_tiny_grpo_trains_on_cpu_and_its_reward_log_scores_with_lim(run_cli, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "tiny"
    result = run_cli("train", "tiny-grpo", "--out", out, "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed" and summary["final_step"] == 6  # 8 prompts x 4 / 16 per step x 3 epochs
    assert f"limr-kit score {out}/rewards --out {out}/lim" in " ".join(result.stderr.split())

    model = AutoModelForCausalLM.from_pretrained(out / "model")
    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    assert model.config.model_type == "qwen2" and any((out / "model").glob("*.safetensors"))
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2 + 3?"}], tokenize=False,
                                           add_generation_prompt=True)  # fmt: skip
    assert prompt.startswith("<|im_start|>system\nPlease reason step by step")

    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "completed" and record["final_step"] == 6
    assert all(record["versions"][name] for name in ("trl", "transformers", "torch", "limr-kit"))
    assert record["started"] <= record["finished"]
    assert record["recipe"]["resolved"]["model"] == {"tiny": {"seed": 0, "warm_start_steps": 100}}

    rows = [json.loads(line) for shard in (out / "rewards").glob("rewards.*.jsonl") for line in shard.open()]
    assert len(rows) == 8 * 4 * 3
    ids = [json.loads(line)["sample_id"] for line in (out / "data" / "prompts.jsonl").open()]
    per_epoch = {(sample_id, epoch): 0 for sample_id in ids for epoch in range(3)}
    for row in rows:
        per_epoch[row["sample_id"], row["epoch"]] += 1
    assert set(per_epoch.values()) == {4}  # every sample's 4 rollouts in each of the 3 epochs
    assert {row["reward"] for row in rows} <= {1.0, -0.5, -1.0}

    scored = run_cli("score", out / "rewards", "--out", out / "lim", "--json")
    assert scored.code == 0, scored.stderr
    scores = [json.loads(line) for line in (out / "lim" / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 8 and all(row["n_epochs"] == 3 and math.isfinite(row["score"]) for row in scores)
