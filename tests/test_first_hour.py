"""What trips a newcomer in the first hour: warnings on LIM runs that mean little, file modes, help at 80 columns."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def _write_long_log(path: Path, curves: dict[str, list[float]]) -> Path:
    rows = [
        {"sample_id": sample, "epoch": epoch, "reward": value}
        for sample, curve in curves.items()
        for epoch, value in enumerate(curve)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_lim_warns_when_the_mean_curve_is_flat_and_everything_is_selected(tmp_path, run_cli):
    """The tiny GRPO run's shape: the model learns nothing, every curve sits near the flat mean, all selected."""
    curves = {f"s{index}": [0.5, 0.5 + 0.01 * (index % 2), 0.5, 0.51] for index in range(8)}
    log = _write_long_log(tmp_path / "log.jsonl", curves)
    result = run_cli("score", log, "--aggregate", "mean", "--out", tmp_path / "lim")
    assert result.code == 0, result.stderr
    summary = json.loads((tmp_path / "lim" / "summary.json").read_text())
    assert summary["counts"]["selected"] == 8
    flat, everything = summary["warnings"]
    assert "barely rises (0.500 at the first epoch, 0.510 at best, +0.010)" in flat
    assert "8 of 8 scored samples (100%) are selected" in everything
    stderr = " ".join(result.stderr.split())
    assert "Warning: The mean reward curve barely rises" in stderr and "Warning: 8 of 8" in stderr


def test_lim_on_a_learning_run_gives_no_warning(tmp_path, run_cli):
    shapes = [[0.0, 0.3, 0.6, 0.9]] * 4 + [[0.0] * 4] * 2 + [[1.0] * 4] * 2  # learned, never solved, always solved
    curves = {f"s{index}": shape for index, shape in enumerate(shapes)}
    log = _write_long_log(tmp_path / "log.jsonl", curves)
    result = run_cli("score", log, "--aggregate", "mean", "--out", tmp_path / "lim")
    assert result.code == 0, result.stderr
    assert json.loads((tmp_path / "lim" / "summary.json").read_text())["warnings"] == []
    assert "Warning" not in result.stderr


@pytest.mark.shared
def test_align_drop_keeping_one_of_the_one_shot_histories_warns(tmp_path, run_cli, shared_data):
    """One-Shot RLVR's histories are ragged: --align drop keeps only the longest one, 1 of 1,209."""
    history = shared_data / "oneshot" / "acc_step_500.json"
    result = run_cli("score", history, "--align", "drop", "--out", tmp_path / "lim", "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"]["in"] == 1209 and summary["counts"]["scored"] == 1
    assert any(
        "1208 of 1209 samples (100%) were dropped" in warning and "--align truncate" in warning
        for warning in summary["warnings"]
    ), summary["warnings"]


def test_outputs_are_written_with_the_users_umask(tmp_path):
    """Atomic writes and staged folders get the modes a plain open/mkdir gives (0644/0755 under umask 022)."""
    code = (
        "import os, sys; os.umask(0o022)\n"
        "from limr_kit.cli import main\n"
        "main(['score', sys.argv[1], '--out', sys.argv[2]])\n"
    )
    log = _write_long_log(tmp_path / "log.jsonl", {"a": [0.0, 0.5, 1.0], "b": [0.0, 0.0, 0.5]})
    out = tmp_path / "lim"
    done = subprocess.run([sys.executable, "-c", code, str(log), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in out.iterdir()}
    assert modes == dict.fromkeys(["scores.jsonl", "summary.json", "score_hist.png", "trajectories.png"], 0o644)
    from limr_kit._io import write_json

    old = os.umask(0o027)
    try:
        write_json(tmp_path / "private.json", {})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o640


def _command_paths(command, prefix=()):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*prefix, name))


def test_every_help_reads_at_80_columns(run_cli, monkeypatch):
    """No cut option names, no <bool> on flags, arguments in capitals as typed, no raw markup."""
    import typer

    from limr_kit.cli import app

    monkeypatch.setenv("COLUMNS", "80")
    paths = list(_command_paths(typer.main.get_command(app)))
    assert len(paths) > 12
    for path in paths:
        result = run_cli(*path, "--help")
        assert result.code == 0, (path, result.stderr)
        text = result.stdout
        assert max(len(line) for line in text.splitlines()) <= 80, path
        for bad in ("…", "<bool>", "<str>", "list[", "[/", "[bold"):
            assert bad not in text, (path, bad, text)
        usage = text.splitlines()[0]
        assert usage.startswith(" ".join(("Usage: limr-kit", *path))), usage
        arguments = [word.strip("{}[].") for word in usage.split()[2 + len(path) :] if word != "[OPTIONS]"]
        assert all(word.isupper() for word in arguments), usage


def test_a_smaller_limit_into_the_same_run_is_refused_and_a_larger_one_extends_it(tmp_path, run_cli):
    """The refusal comes before any engine starts; the extension keeps the run's identity with the new limit."""
    from limr_kit.benchmarks.run import prepare_output
    from limr_kit.tinymodel import write_tiny_model

    model = write_tiny_model(tmp_path / "model", seed=0)
    data = tmp_path / "data" / "math500"
    data.mkdir(parents=True)
    rows = [{"problem": f"What is {i}+{i}?", "answer": str(2 * i), "unique_id": f"q{i}"} for i in range(8)]
    data.joinpath("test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "run"
    identity = {"model_sha": "x", "suite": "math500", "engine": "vllm", "seed": 0, "limit": 5}
    prepare_output(out, identity, fresh=False)
    prepare_output(out, {**identity, "limit": 8}, fresh=False)  # larger: the same run, extended
    assert json.loads((out / "run.json").read_text())["limit"] == 8
    prepare_output(out, {**identity, "limit": None}, fresh=False)  # no limit: the whole benchmark
    with pytest.raises(Exception, match="holds a run over every question; --limit 3 would report fewer"):
        prepare_output(out, {**identity, "limit": 3}, fresh=False)

    bench = ("bench", model, "--suite", "math500", "--data-dir", tmp_path / "data", "--out", tmp_path / "cli-run")
    (tmp_path / "cli-run").mkdir()
    from limr_kit.benchmarks import BenchOptions
    from limr_kit.benchmarks.config import resolve_suite
    from limr_kit.benchmarks.models import resolve_model
    from limr_kit.benchmarks.run import _run_identity

    recorded = _run_identity(
        resolve_model(str(model)), BenchOptions(suite="math500", limit=5), resolve_suite("math500")[1]
    )
    (tmp_path / "cli-run" / "run.json").write_text(json.dumps(recorded))
    refused = run_cli(*bench, "--limit", "2")
    assert refused.code == 1
    assert "first 5 questions of each benchmark; --limit 2 would report fewer" in " ".join(refused.stderr.split())
    assert json.loads((tmp_path / "cli-run" / "run.json").read_text())["limit"] == 5
