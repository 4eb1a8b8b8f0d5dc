"""`limr-kit publish` and `limr-kit pull` with the real huggingface_hub, datasets and transformers clients.

Against a local Hub server on a free loopback port. The CLI runs in this process (it reaches the server by
--endpoint) unless the test is about settings read at import (HF_HOME, HF_HUB_OFFLINE) or about what a fresh
process sees; the clients that read a release back (datasets, transformers) run in subprocesses, as a user's would.
The artifacts published are small ones built directly.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import yaml

from limr_kit.hub.server import HubServer


REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_LIMR = REPO_ROOT.parent / "shared" / "data" / "limr"
TOKEN = "hf_" + "R" * 34


def write_score_run(folder: Path, scores: dict[str, float], threshold: float = 0.6) -> Path:
    """A `limr-kit score --method lim` output written directly: scores.jsonl and summary.json; returns scores.jsonl."""
    from limr_kit import __version__
    from limr_kit._io import write_jsonl
    from limr_kit.lim.report import ScoreSummary

    ranked = sorted(scores, key=lambda key: -scores[key])
    selected = [key for key in ranked if scores[key] >= threshold]
    write_jsonl(
        folder / "scores.jsonl",
        [
            {"sample_id": key, "score": score, "selected": key in selected, "rank": ranked.index(key) + 1}
            for key, score in scores.items()
        ],
    )
    values = list(scores.values())
    ScoreSummary.build(
        method="lim",
        parameters={"threshold": threshold, "strict": False},
        counts={"in": len(scores), "scored": len(scores), "dropped": 0, "selected": len(selected)},
        dropped_by_reason={},
        dropped_samples=[],
        score_stats={"min": min(values), "max": max(values), "mean": sum(values) / len(values)},
        n_epochs=4,
        reference_curve=[0.2, 0.4, 0.6, 0.7],
        warnings=[],
        input={"paths": [str(folder / "rewards.jsonl")], "file_format": "jsonl", "rows_read": 32 * len(scores)},
        toolkit={"name": "limr-kit", "version": __version__},
    ).save(folder / "summary.json")
    return folder / "scores.jsonl"


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> Path:
    """A real `limr-kit curate` output of 24 problems, over LIM scores written directly (12 kept)."""
    from limr_kit._io import write_jsonl
    from limr_kit.curate import curate

    folder = tmp_path_factory.mktemp("scored")
    rows = [{"id": f"q{i:05d}", "prompt": f"What is {i} + {2 * i}?", "answer": str(3 * i)} for i in range(24)]
    write_jsonl(folder / "dataset.jsonl", rows)
    scores = write_score_run(folder, {row["id"]: round(0.95 - 0.04 * i, 2) for i, row in enumerate(rows)})
    return curate(scores, folder / "dataset.jsonl", "id", folder / "curated").out_dir


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A checkpoint folder as publishing checks it: config.json and one safetensors file."""
    import numpy as np
    from safetensors.numpy import save_file

    folder = tmp_path_factory.mktemp("ckpt")
    (folder / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}))
    save_file({"w": np.zeros(2, dtype=np.float32)}, str(folder / "model.safetensors"))
    return folder


@pytest.fixture(scope="module")
def qwen_checkpoint(tmp_path_factory) -> Path:
    """A tiny Qwen2 checkpoint that transformers loads (model.safetensors + config.json)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        hidden_size=64,
        num_attention_heads=2,
        num_key_value_heads=1,
        num_hidden_layers=1,
        intermediate_size=128,
        vocab_size=300,
        max_position_embeddings=256,
    )
    folder = tmp_path_factory.mktemp("qwen")
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture
def hub(tmp_path):
    """A token-protected local Hub and the environment the CLI needs to use it."""
    (tmp_path / "tokens").write_text(TOKEN + "\n")
    server = HubServer(tmp_path / "hub", port=0, token_file=tmp_path / "tokens").start()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "toolkit"), os.environ.get("PYTHONPATH", "")]),
        "HF_ENDPOINT": server.url,
        "HF_TOKEN": TOKEN,
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "LIMR_NO_PROGRESS": "1",
        "COLUMNS": "200",
    }
    env.pop("HF_HUB_OFFLINE", None)
    server.env = env
    yield server
    server.stop()


@pytest.fixture
def here(hub, run_cli, monkeypatch):
    """Run the CLI in this process against ``hub`` (by --endpoint, with its token); the checks of :func:`limr`."""
    monkeypatch.setenv("HF_TOKEN", TOKEN)

    def run(*args: str, expect: int = 0, endpoint: str | None = None):
        result = run_cli(*args, "--endpoint", endpoint or hub.url)
        assert result.code == expect, result.stdout + result.stderr
        assert TOKEN not in result.stdout + result.stderr
        return result

    return run


def limr(hub, *args: str, expect: int = 0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh process; check the exit status and that the token never shows."""
    result = subprocess.run(
        [sys.executable, "-m", "limr_kit", *args], env=env or hub.env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == expect, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    return result


def python(hub, code: str, env: dict | None = None) -> object:
    """Run Python code with the hub environment; it prints one JSON value as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", code], env=env or hub.env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def api_get(hub, path: str) -> object:
    request = urllib.request.Request(hub.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def readme(hub, repo: str, revision: str = "main") -> tuple[dict, str]:
    with urllib.request.urlopen(f"{hub.url}/{repo}/resolve/{revision}/README.md") as response:
        text = response.read().decode()
    _, metadata, body = text.split("---\n", 2)
    return yaml.safe_load(metadata), body


def repos(hub) -> list[str]:
    return sorted(str(p.relative_to(hub.root / "repos")) for p in (hub.root / "repos").glob("*/*/*"))


def publish_json(hub, *args: str) -> dict:
    return json.loads(limr(hub, "publish", *args, "--json").stdout)


def publish_here(here, *args: str) -> dict:
    return json.loads(here("publish", *args, "--json").stdout)


def write_results(folder: Path, model_id: str = "org/limr-tiny") -> Path:
    """A `limr-kit bench` run folder written directly: results.json as the bench writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    decoding = {"temperature": 0.4, "top_p": 0.95, "max_new_tokens": 3072, "n": 4, "seed": 0}
    results = {
        "schema": "limr-kit/bench-results@1",
        "suite": "limr-paper",
        "model": {"id": model_id, "path": "/models/limr-tiny", "revision": "main", "sha": "a" * 40},
        "engine": "vllm",
        "benchmarks": {
            "aime24": {
                "title": "AIME 2024",
                "hub_dataset": "HuggingFaceH4/aime_2024",
                "split": "train",
                "metric": "avg@4",
                "accuracy": 32.5,
                "ci95": [24.2, 40.8],
                "n_questions": 30,
                "n_samples": 4,
                "decoding": decoding,
                "per_question": {str(i): float(i % 3 == 0) for i in range(30)},
            },
            "math500": {
                "title": "MATH-500",
                "hub_dataset": "HuggingFaceH4/MATH-500",
                "split": "test",
                "metric": "avg@1",
                "accuracy": 78.0,
                "ci95": [74.4, 81.6],
                "n_questions": 500,
                "n_samples": 1,
                "decoding": {**decoding, "temperature": 0.0, "n": 1},
                "per_question": {str(i): float(i % 5 != 0) for i in range(500)},
            },
        },
        "average": 55.25,
        "provenance": {"toolkit": "0.1.0", "vllm": "0.32.0", "torch": "2.13.0", "lm_eval": None, "image_digest": None},
    }
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_publish_dataset_then_load_dataset_returns_the_curated_rows(hub, here, curated):
    result = publish_here(here, "dataset", str(curated), "--repo", "org/limr-demo", "--tag", "v1")
    assert result["commit"] and not result["unchanged"] and result["tag_action"] == "created"
    assert sorted(result["uploaded"]) == [
        "README.md",
        "curation/manifest.json",
        "data/train-00000-of-00001.parquet",
        "score_hist.png",
    ]

    loaded = python(
        hub,
        "import datasets, json; d = datasets.load_dataset('org/limr-demo', split='train'); "
        "print(json.dumps(d.to_list()))",
    )
    import pyarrow.parquet as pq

    assert loaded == pq.read_table(curated / "train.parquet").to_pylist()

    metadata, body = readme(hub, "datasets/org/limr-demo", "v1")
    manifest = json.loads((curated / "manifest.json").read_text())
    assert metadata["license"] == "mit" and metadata["language"] == ["en"]
    assert metadata["task_categories"] == ["text-generation"] and metadata["size_categories"] == ["n<1K"]
    assert metadata["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}
    ]
    assert metadata["dataset_info"]["splits"][0]["num_examples"] == manifest["counts"]["selected"] == len(loaded)
    assert "LIM (Learning Impact Measurement)" in body and "score >= 0.6" in body
    for item in manifest["inputs"].values():
        assert item["sha256"] in body and Path(item["path"]).name in body
    assert "![Scores of all samples" in body and 'load_dataset("org/limr-demo"' in body and "@misc{li2025limr" in body
    with urllib.request.urlopen(f"{hub.url}/datasets/org/limr-demo/resolve/v1/score_hist.png") as response:
        assert response.read() == (curated / "score_hist.png").read_bytes()


def test_dry_run_prints_files_and_card_and_writes_nothing(hub, here, curated):
    result = here("publish", "dataset", str(curated), "--repo", "org/dry", "--dry-run")
    for name in ("README.md", "data/train-00000-of-00001.parquet", "score_hist.png", "curation/manifest.json"):
        assert name in result.stdout
    assert f"{(curated / 'train.parquet').stat().st_size:,}" in result.stdout
    assert "configs:" in result.stdout and "## How the rows were selected" in result.stdout
    assert repos(hub) == []


def test_republishing_unchanged_content_makes_no_commit(hub, here, curated):
    first = publish_here(here, "dataset", str(curated), "--repo", "org/limr-demo")
    again = here("publish", "dataset", str(curated), "--repo", "org/limr-demo")
    assert "Unchanged" in again.stdout and "no new commit" in again.stdout
    commits = api_get(hub, "/api/datasets/org/limr-demo/commits/main")
    assert [c["id"] for c in commits][0] == first["commit"] and len(commits) == 2  # initial commit + the publish


def test_existing_tag_is_not_moved_without_force(hub, here, curated):
    first = publish_here(here, "dataset", str(curated), "--repo", "org/limr-demo", "--tag", "v1")
    refused = here(
        "publish", "dataset", str(curated), "--repo", "org/limr-demo", "--tag", "v1", "--title", "New", expect=1
    )
    assert "Tag 'v1' already exists" in refused.stderr and "--force" in refused.stderr
    assert api_get(hub, "/api/datasets/org/limr-demo")["sha"] == first["commit"]  # nothing published

    moved = publish_here(
        here, "dataset", str(curated), "--repo", "org/limr-demo", "--tag", "v1", "--title", "New", "--force"
    )
    assert moved["tag_action"] == "moved" and moved["commit"] != first["commit"]
    tags = api_get(hub, "/api/datasets/org/limr-demo/refs")["tags"]
    assert [(t["name"], t["targetCommit"]) for t in tags] == [("v1", moved["commit"])]


def test_wrong_or_missing_token_is_refused_and_nothing_is_written(hub, curated, tmp_path):
    for token, refusal in (("hf_" + "X" * 34, "refused the token (401)"), (None, "without a token (401)")):
        env = {**hub.env, "HF_HOME": str(tmp_path / "no-login")}
        env.pop("HF_TOKEN")
        if token:
            env["HF_TOKEN"] = token
        result = limr(hub, "publish", "dataset", str(curated), "--repo", "org/limr-demo", expect=1, env=env)
        assert refusal in result.stderr and "Traceback" not in result.stderr
        assert "X" * 34 not in result.stdout + result.stderr
    assert repos(hub) == []


def test_token_from_the_stored_login_is_used(hub, curated, tmp_path):
    login = tmp_path / "logged-in"
    login.mkdir()
    (login / "token").write_text(TOKEN)  # where `hf auth login` stores it
    env = {**hub.env, "HF_HOME": str(login)}
    env.pop("HF_TOKEN")
    limr(hub, "publish", "dataset", str(curated), "--repo", "org/limr-demo", "--revision", "dev", "--private", env=env)
    info = api_get(hub, "/api/datasets/org/limr-demo")
    refs = api_get(hub, "/api/datasets/org/limr-demo/refs")
    dev = next(b["targetCommit"] for b in refs["branches"] if b["name"] == "dev")
    assert info["private"] is True and dev != info["sha"]  # published on the branch; main untouched
    assert "README.md" in [e["path"] for e in api_get(hub, "/api/datasets/org/limr-demo/tree/dev")]
    assert "README.md" not in [e["path"] for e in api_get(hub, "/api/datasets/org/limr-demo/tree/main")]


@pytest.mark.slow
def test_publish_model_pull_it_load_it_and_read_model_index(hub, here, qwen_checkpoint, tmp_path):
    results = write_results(tmp_path / "bench-run")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("algorithm: ppo\nlearning_rate: 1.0e-6\n")
    published = publish_here(
        here,
        "model",
        str(qwen_checkpoint),
        "--repo",
        "org/limr-tiny",
        "--results",
        str(results),
        "--base-model",
        "Qwen/Qwen2.5-Math-7B",
        "--dataset",
        "org/limr-demo@v1",
        "--recipe",
        str(recipe),
        "--tag",
        "v1",
    )
    assert set(published["uploaded"]) == {"README.md", "config.json", "generation_config.json", "model.safetensors"}
    tree = api_get(hub, "/api/models/org/limr-tiny/tree/v1?recursive=true")
    assert next(e for e in tree if e["path"] == "model.safetensors")["lfs"]["size"] > 0  # stored through LFS

    out = tmp_path / "pulled"
    pulled = json.loads(limr(hub, "pull", "model", "org/limr-tiny@v1", "--out", str(out), "--json").stdout)
    assert pulled["commit"] == published["commit"] and "model.safetensors" in pulled["files"]
    checked = python(
        hub,
        f"""
import json, torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
from huggingface_hub import ModelCard
model = AutoModelForCausalLM.from_pretrained({str(out)!r})
original = load_file({str(qwen_checkpoint / "model.safetensors")!r})
same = all(torch.equal(model.state_dict()[name], tensor) for name, tensor in original.items())
card = ModelCard.load("org/limr-tiny")
evals = [(e.dataset_name, e.metric_type, e.metric_value, e.metric_args) for e in card.data.eval_results]
print(json.dumps({{"same": same, "evals": evals, "base": card.data.base_model, "datasets": card.data.datasets}}))
""",
    )
    assert checked["same"] is True
    assert checked["evals"] == [
        ["AIME 2024", "avg@4", 32.5, {"temperature": 0.4, "top_p": 0.95, "max_new_tokens": 3072, "n": 4, "seed": 0}],
        ["MATH-500", "avg@1", 78.0, {"temperature": 0.0, "top_p": 0.95, "max_new_tokens": 3072, "n": 1, "seed": 0}],
    ]
    assert checked["base"] == "Qwen/Qwen2.5-Math-7B" and checked["datasets"] == ["org/limr-demo"]
    _, body = readme(hub, "org/limr-tiny")
    assert "### Decoding protocol" in body and "| AIME 2024 | 0.4 | 0.95 | 3072 | 4 | 0 |" in body
    assert "learning_rate: 1.0e-6" in body and "## Intended use and limitations" in body


@pytest.mark.slow
def test_endpoint_option_alone_reaches_the_hub(hub, curated, tmp_path):
    """--endpoint without HF_ENDPOINT, in a fresh process: every client (datasets too) uses the endpoint given."""
    env = {key: value for key, value in hub.env.items() if key != "HF_ENDPOINT"}
    published = json.loads(
        limr(
            hub,
            "publish",
            "dataset",
            str(curated),
            "--repo",
            "org/by-option",
            "--endpoint",
            hub.url,
            "--json",
            env=env,
        ).stdout
    )
    pulled = json.loads(
        limr(
            hub,
            "pull",
            "dataset",
            "org/by-option",
            "--endpoint",
            hub.url,
            "--out",
            str(tmp_path / "p"),
            "--json",
            env=env,
        ).stdout
    )
    assert pulled["commit"] == published["commit"]
    assert (tmp_path / "p" / "data" / "train-00000-of-00001.parquet").is_file()


def test_offline_pull_comes_from_the_cache(hub, curated):
    published = publish_json(hub, "dataset", str(curated), "--repo", "org/limr-demo", "--tag", "v1")
    online = json.loads(limr(hub, "pull", "dataset", "org/limr-demo@v1", "--json").stdout)
    assert online["commit"] == published["commit"] and online["offline"] is False
    hub.stop()

    offline_env = {**hub.env, "HF_HUB_OFFLINE": "1"}
    offline = json.loads(limr(hub, "pull", "dataset", "org/limr-demo@v1", "--json", env=offline_env).stdout)
    assert offline["commit"] == published["commit"] and offline["offline"] is True
    assert offline["files"] == online["files"]
    rows = python(
        hub,
        "import datasets, json; print(json.dumps(datasets.load_dataset('org/limr-demo', split='train').num_rows))",
        env=offline_env,
    )
    assert rows == json.loads((curated / "manifest.json").read_text())["counts"]["selected"]

    missing = limr(hub, "pull", "dataset", "org/never-pulled", expect=1, env=offline_env)
    assert "not in the local cache" in missing.stderr


def test_a_token_like_string_in_the_data_or_card_blocks_publishing(hub, here, tmp_path):
    from limr_kit.curate import curate

    leaked = "hf_" + "L" * 34
    rows = [{"id": f"q{i}", "prompt": f"What is {i} + {i}?"} for i in range(5)]
    rows[3]["prompt"] = f"my token is {leaked}"
    (tmp_path / "data.json").write_text(json.dumps(rows))
    (tmp_path / "scores.json").write_text(json.dumps([{"id": r["id"], "score": 0.9} for r in rows]))
    curate(tmp_path / "scores.json", tmp_path / "data.json", "id", tmp_path / "curated")

    result = here("publish", "dataset", str(tmp_path / "curated"), "--repo", "org/leak", expect=1)
    assert "data/train-00000-of-00001.parquet contains a token-like string" in result.stderr
    assert leaked not in result.stdout + result.stderr
    card = here(
        "publish",
        "dataset",
        str(tmp_path / "curated"),
        "--repo",
        "org/leak",
        "--dry-run",
        "--title",
        leaked,
        expect=1,
    )
    assert "README.md contains a token-like string" in card.stderr
    assert repos(hub) == []


def _without_score_column(curated: Path, folder: Path) -> Path:
    import pyarrow.parquet as pq

    from limr_kit._io import sha256_file

    shutil.copytree(curated, folder)
    pq.write_table(pq.read_table(folder / "train.parquet").drop_columns(["selection_score"]), folder / "train.parquet")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["outputs"]["train.parquet"]["sha256"] = sha256_file(folder / "train.parquet")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing dir", "is not a folder"),
        ("empty dir", "is empty"),
        ("no score column", "lacks the expected column(s) selection_score"),
        ("invalid repo id", "Invalid repo id 'not/a/repo'"),
        ("unreachable endpoint", "no Hub answers at http://127.0.0.1:"),
        ("checkpoint without config", "has no config.json"),
        ("checkpoint without safetensors", "has no .safetensors weights"),
        ("bad results", "results.json is not a valid limr-kit bench results file"),
    ],
)
def test_bad_input_is_one_clear_error_and_nothing_is_published(
    hub, here, curated, checkpoint, tmp_path, case, message
):
    dataset, model = ["publish", "dataset"], ["publish", "model"]
    empty = tmp_path / "empty"
    empty.mkdir()
    no_config = tmp_path / "no-config"
    shutil.copytree(checkpoint, no_config)
    (no_config / "config.json").unlink()
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text("{}")
    bad_results = tmp_path / "bad-run"
    bad_results.mkdir()
    (bad_results / "results.json").write_text(json.dumps({"schema": "limr-kit/bench-results@1", "benchmarks": {}}))
    args = {
        "missing dir": [*dataset, str(tmp_path / "nope"), "--repo", "org/x"],
        "empty dir": [*dataset, str(empty), "--repo", "org/x"],
        "no score column": [*dataset, str(_without_score_column(curated, tmp_path / "cut")), "--repo", "org/x"],
        "invalid repo id": [*dataset, str(curated), "--repo", "not/a/repo"],
        "unreachable endpoint": [*dataset, str(curated), "--repo", "org/x"],
        "checkpoint without config": [*model, str(no_config), "--repo", "org/x"],
        "checkpoint without safetensors": [*model, str(no_weights), "--repo", "org/x"],
        "bad results": [*model, str(checkpoint), "--repo", "org/x", "--results", str(bad_results)],
    }[case]
    closed = f"http://127.0.0.1:{_closed_port()}" if case == "unreachable endpoint" else None
    result = here(*args, expect=1, endpoint=closed)
    assert re.findall(r"^Error:", result.stderr, re.MULTILINE) == ["Error:"], result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr
    assert repos(hub) == []


def test_one_process_publishes_to_and_pulls_from_two_hubs(curated, tmp_path, monkeypatch):
    """Each call talks to the Hub of the HfApi it is given; HF_ENDPOINT (here a Hub that is not there) is not read."""
    from huggingface_hub import HfApi

    from limr_kit.errors import InputError
    from limr_kit.release import PublishOptions, publish_dataset, pull

    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    with HubServer(tmp_path / "a", port=0) as first, HubServer(tmp_path / "b", port=0) as second:
        urls = [first.url, second.url]
        apis = [HfApi(endpoint=url, token=False) for url in urls]
        published = [
            publish_dataset(curated, "org/two", PublishOptions(api=api, tag="v1"), title=f"Set {i}")
            for i, api in enumerate(apis)
        ]
        pulled = [
            pull("dataset", "org/two@v1", api=api, cache_dir=tmp_path / "cache", out=tmp_path / "pulled" / str(i))
            for i, api in enumerate(apis)
        ]
        for dry_run in (False, True):  # a dry run names the Hub the real run would use, so it refuses the same
            with pytest.raises(InputError, match="differs from the given HfApi"):
                publish_dataset(curated, "org/two", PublishOptions(endpoint=urls[1], api=apis[0], dry_run=dry_run))
    assert [item.endpoint for item in published] == urls
    assert [item.commit for item in pulled] == [item.commit for item in published]
    assert published[0].commit != published[1].commit
    for i in range(2):
        assert f"# Set {i}" in (tmp_path / "pulled" / str(i) / "README.md").read_text()
    assert (tmp_path / "pulled" / "0" / "data" / "train-00000-of-00001.parquet").read_bytes() == (
        curated / "train.parquet"
    ).read_bytes()


class _FlakyProxy(http.server.BaseHTTPRequestHandler):
    """Forwards to the hub; the first commit answers 503, the first revision lookup resets the connection."""

    protocol_version = "HTTP/1.1"
    target = ""
    faults: set[str] = set()

    def do_GET(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        for fault, marker in (("503", "/commit/"), ("reset", "/revision/")):
            if fault in self.faults and marker in self.path:
                self.faults.discard(fault)
                if fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        request = urllib.request.Request(self.target + self.path, data=body, method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(request) as response:
                status, reply_headers, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, reply_headers, payload = exc.code, exc.headers, exc.read()
        self.send_response(status)
        for name, value in reply_headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, *args):
        pass


def test_a_model_resolves_from_the_hub_of_the_given_api_into_the_given_cache(checkpoint, tmp_path, monkeypatch):
    """bench's model resolution downloads a Hub id at its revision from the HfApi it is given, not HF_ENDPOINT."""
    from huggingface_hub import HfApi

    from limr_kit.benchmarks.models import resolve_model
    from limr_kit.hub.client import connect

    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    with HubServer(tmp_path / "hub", port=0) as server:
        api = HfApi(endpoint=server.url, token=False)
        connect(api=api)  # as limr-kit's own uploads do: classic LFS (Xet off), which the local server speaks
        api.create_repo("org/tiny")
        first = api.upload_folder(repo_id="org/tiny", folder_path=checkpoint).oid
        api.upload_file(repo_id="org/tiny", path_or_fileobj=b"{}", path_in_repo="later.json")
        resolved = resolve_model(f"org/tiny@{first}", api=api, cache_dir=tmp_path / "cache")
    assert resolved.path.is_relative_to(tmp_path / "cache") and resolved.revision == first
    assert (resolved.path / "config.json").read_bytes() == (checkpoint / "config.json").read_bytes()
    assert not (resolved.path / "later.json").exists()  # the revision asked for, not the branch's head


def test_transient_5xx_and_connection_resets_are_retried(hub, here, curated):
    _FlakyProxy.target, _FlakyProxy.faults = hub.url, {"503", "reset"}
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{proxy.server_address[1]}"
        result = here("publish", "dataset", str(curated), "--repo", "org/flaky", "--json", endpoint=endpoint)
    finally:
        proxy.shutdown()
    assert _FlakyProxy.faults == set()  # both faults happened
    assert result.stderr.count("retrying") == 2
    commits = api_get(hub, "/api/datasets/org/flaky/commits/main")
    assert len(commits) == 2 and commits[0]["id"] == json.loads(result.stdout)["commit"]


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.skipif(not SHARED_LIMR.is_dir(), reason="the released LIMR data (../shared/data/limr) is absent")
def test_released_limr_set_publishes_and_loads_1389_rows(hub, tmp_path):
    limr(
        hub,
        "curate",
        str(SHARED_LIMR / "scores.json"),
        "--dataset",
        str(SHARED_LIMR / "prompts" / "math.8k.json"),
        "--key",
        "prompt",
        "--threshold",
        "0.6",
        "--out",
        str(tmp_path / "limr"),
    )
    publish_json(hub, "dataset", str(tmp_path / "limr"), "--repo", "org/limr", "--tag", "v1")
    rows = python(
        hub,
        "import datasets, json; print(json.dumps(datasets.load_dataset('org/limr', split='train', "
        "revision='v1').num_rows))",
    )
    assert rows == 1389
    metadata, body = readme(hub, "datasets/org/limr", "v1")
    assert metadata["size_categories"] == ["1K<n<10K"]
    assert "a released scores file, `scores.json`" in body and "score >= 0.6" in body
