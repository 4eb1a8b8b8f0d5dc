"""CLI failures found by trying to break the commands: each is one `Error:` line, exit 1, nothing half-written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from limr_kit.hub.server import HubServer
from limr_kit.hub.store import Store


REPO_ROOT = Path(__file__).resolve().parent.parent
UNWRITABLE = Path("/proc/limr-kit-out")  # /proc takes no new files, even for root


def _one_error(code: int, stderr: str, message: str) -> None:
    assert code == 1, stderr
    assert re.findall(r"^Error:", stderr, re.MULTILINE) == ["Error:"], stderr
    assert message in " ".join(stderr.split()), stderr
    assert "Traceback" not in stderr


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    """A reward log, a scores file with its dataset, and predictions to grade: each valid."""
    log = tmp_path / "log.jsonl"
    rewards = [(sample, epoch, float((epoch + index) % 2)) for index, sample in enumerate("ab") for epoch in (1, 2)]
    log.write_text("".join(json.dumps({"sample_id": s, "epoch": e, "reward": r}) + "\n" for s, e, r in rewards))
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps([{"prompt": "p1", "score": 0.9}, {"prompt": "p2", "score": 0.1}]))
    dataset = tmp_path / "prompts.json"
    dataset.write_text(json.dumps([{"prompt": "p1", "answer": "1"}, {"prompt": "p2", "answer": "2"}]))
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps({"prediction": r"\boxed{2}", "gold": "2"}) + "\n")
    return {"log": log, "scores": scores, "dataset": dataset, "predictions": predictions}


def _command(name: str, inputs: dict[str, Path], out: Path) -> list[object]:
    return {
        "score": ["score", inputs["log"], "--out", out],
        "curate": ["curate", inputs["scores"], "--dataset", inputs["dataset"], "--key", "prompt", "--out", out],
        "grade": ["grade", inputs["predictions"], "--out", out],
    }[name]


@pytest.mark.parametrize("command", ["score", "curate", "grade"])
def test_out_where_no_temporary_file_can_be_made(run_cli, inputs, command):
    result = run_cli(*_command(command, inputs, UNWRITABLE))
    _one_error(result.code, result.stderr, f"Cannot write {UNWRITABLE}")


def test_grade_out_an_existing_folder_is_refused_before_grading(run_cli, inputs, tmp_path):
    folder = tmp_path / "graded"
    folder.mkdir()
    result = run_cli(*_command("grade", inputs, folder), "--timeout", "0.000001")  # no time to grade: checked first
    _one_error(result.code, result.stderr, f"Output path {folder} is a folder")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", ["score", "curate"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_threshold_is_refused(run_cli, inputs, tmp_path, command, value):
    out = tmp_path / "out"
    result = run_cli(*_command(command, inputs, out), "--threshold", value)
    _one_error(result.code, result.stderr, "--threshold must be a finite number")
    assert not out.exists()


@pytest.mark.parametrize("repo", ["\u00e9t\u00e9/data", "org/caf\u00e9", "org/data\n"])
def test_non_ascii_repo_id_is_refused_by_a_dry_run(run_cli, tmp_path, repo):
    result = run_cli("publish", "dataset", tmp_path, "--repo", repo, "--dry-run")
    _one_error(result.code, result.stderr, "use namespace/name with ASCII letters")


@pytest.fixture
def hostile_hub(tmp_path):
    """A hub holding org/evil, whose tree has a file named ``../../x`` (written to the store directly: the
    server refuses such names in commits, another Hub might not), and org/fine, an ordinary repo."""
    store = Store(tmp_path / "hub")
    for name, path in (("org/evil", "../../x"), ("org/fine", "data.txt")):
        store.create_repo("model", name, private=False)
        rdir = store.repo_dir("model", name)
        head = store.refs(rdir)["branches"]["main"]
        tree = store.add_blob(dict(store.commit(rdir, head)["tree"]), path, b"hello\n")
        sha = store.write_commit(rdir, [head], tree, "add a file")
        store.update_refs(rdir, lambda refs, sha=sha: refs["branches"].__setitem__("main", sha))
    with HubServer(tmp_path / "hub", port=0) as server:
        yield server


def _pull(hub: HubServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "toolkit"),
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "COLUMNS": "200",
    }
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
        env.pop(name, None)
    command = [sys.executable, "-m", "limr_kit", "pull", "model", *args, "--endpoint", hub.url]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_pull_of_a_file_named_to_escape_is_one_error(hostile_hub, tmp_path):
    out = tmp_path / "pulled"
    result = _pull(hostile_hub, tmp_path, "org/evil", "--out", str(out))
    _one_error(result.returncode, result.stderr, "holds a file name huggingface_hub refuses to write")
    assert not out.exists() and not (tmp_path / "x").exists()


def test_pull_out_where_no_temporary_folder_can_be_made(hostile_hub, tmp_path):
    result = _pull(hostile_hub, tmp_path, "org/fine", "--out", str(UNWRITABLE))
    _one_error(result.returncode, result.stderr, f"Cannot write {UNWRITABLE}")


BROKEN_RESULTS = {
    "truncated": (
        '{"schema": "limr-kit/bench-results@1", "status": "complete", "suite": "limr-pa',
        "is not valid JSON",
    ),
    "foreign": (json.dumps({"schema": "other-tool/results@3", "benchmarks": {}}), "schema 'other-tool/results@3'"),
    "old": (json.dumps({"suite": "limr-paper", "benchmarks": {}}), "no schema id: an older limr-kit"),
    "invalid": (
        json.dumps({"schema": "limr-kit/bench-results@1", "benchmarks": {}}),
        "is not a valid limr-kit bench results file (suite: Field required",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_RESULTS))
def test_compare_and_publish_of_a_broken_results_json_are_one_error(run_cli, tmp_path, case):
    content, message = BROKEN_RESULTS[case]
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(content)
    for args in (["compare", run], ["compare", run, "--reference", "polymath"], ["compare", run, "--baseline", run]):
        result = run_cli(*args)
        _one_error(result.code, result.stderr, message)
        assert f"{run / 'results.json'}" in " ".join(result.stderr.split()) and result.stdout == ""
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    (checkpoint / "model.safetensors").write_bytes(b"")
    published = run_cli("publish", "model", checkpoint, "--repo", "org/x", "--results", run, "--dry-run")
    _one_error(published.code, published.stderr, message)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("summary.json", '{"schema": "limr-kit/score-summary@1", "meth', "is not valid JSON, so not a limr-kit score"),
        ("summary.json", "[]", "no schema id"),
        ("scores.jsonl", '{"sample_id": "a", "sco', "scores.jsonl:1: malformed JSON"),
    ],
)
def test_curate_of_a_broken_score_run_is_one_error(run_cli, inputs, tmp_path, name, content, message):
    scores = tmp_path / "scored"
    assert run_cli("score", inputs["log"], "--out", scores).code == 0
    (scores / name).write_text(content)
    dataset = tmp_path / "data.jsonl"
    dataset.write_text("".join(json.dumps({"id": key, "q": key}) + "\n" for key in "ab"))
    out = tmp_path / "set"
    result = run_cli("curate", scores / "scores.jsonl", "--dataset", dataset, "--key", "id", "--out", out)
    _one_error(result.code, result.stderr, message)
    assert not out.exists()
