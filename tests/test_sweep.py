"""limr-kit sweep: the spec, a local sweep, and the same sweep on a real Ray cluster on 127.0.0.1 (vLLM's CPU build).

The two checkpoints are tiny models with random weights (no warm start: what they answer does not matter, only
that the Ray sweep writes what the local one does). The broken checkpoint is a folder whose config.json is not
JSON: each attempt at its jobs fails in the engine, is retried once and reported while the others finish.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ray_cluster import local_cluster
from test_bench import run_limr

from limr_kit.errors import ConfigError
from limr_kit.sweep import load_sweep


GOOD = ["run-checkpoint-1", "run-checkpoint-2"]
SPEC = """models:
  - checkpoints: run
{extra}suites: [tiny-additions]
seeds: 2
limit: 3
data_dir: data
retries: 1
"""


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """Two checkpoints of a training run, a broken model, the tiny-additions data, and two specs: with and
    without the broken model."""
    from limr_kit.demo import write_held_out_suite
    from limr_kit.tinymodel import write_tiny_model

    root = tmp_path_factory.mktemp("sweep")
    for step, seed in ((1, 0), (2, 1)):
        write_tiny_model(root / "run" / f"checkpoint-{step}", seed=seed)
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("not json")
    write_held_out_suite(root / "data")
    (root / "sweep.yaml").write_text(SPEC.format(extra="  - path: broken\n"))
    (root / "good.yaml").write_text(SPEC.format(extra=""))
    return root


def _jobs(out: Path) -> dict[str, dict]:
    return {job["job"]: job for job in json.loads((out / "sweep.json").read_text())["jobs"]}


def _samples(out: Path) -> dict[str, list[dict]]:
    """Each good job's samples (the rows bench writes), by job."""
    found = {}
    for model in GOOD:
        for seed in (0, 1):
            key = f"{model}/tiny-additions/seed-{seed}"
            lines = (out / key / "samples.jsonl").read_text().splitlines()
            found[key] = [json.loads(line) for line in lines]
    return found


def _assert_broken_reported(run: subprocess.CompletedProcess, out: Path) -> None:
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Error: 2 of 6 sweep jobs failed after 2 attempts: broken/tiny-additions/seed-0" in run.stderr
    jobs = _jobs(out)
    for seed in (0, 1):
        broken = jobs[f"broken/tiny-additions/seed-{seed}"]
        assert (broken["state"], broken["attempts"], len(broken["errors"])) == ("failed", 2, 2), broken
    assert {jobs[key]["state"] for key in _samples(out)} == {"done"}
    assert "run-checkpoint-2" in (out / "compare-tiny-additions.md").read_text()


@pytest.fixture(scope="module")
def local_sweep(sweep_dir) -> Path:
    out = sweep_dir / "local"
    run = run_limr("sweep", sweep_dir / "sweep.yaml", "--out", out, timeout=300)
    _assert_broken_reported(run, out)
    return out


def test_spec_expands_checkpoints_suites_and_seeds(sweep_dir, tmp_path):
    sweep = load_sweep(sweep_dir / "sweep.yaml")
    assert [job.key for job in sweep.jobs] == [
        f"{model}/tiny-additions/seed-{seed}" for model in [*GOOD, "broken"] for seed in (0, 1)
    ]
    assert sweep.jobs[0].source == str(sweep_dir / "run" / "checkpoint-1")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [a]\nsuites: [tiny-additions]\nseed: 3\n")
    with pytest.raises(ConfigError, match="seed"):
        load_sweep(bad)


def test_unreachable_cluster_is_one_clear_error(sweep_dir, tmp_path):
    from ray_cluster import _free_ports

    address = f"127.0.0.1:{_free_ports(1)[0]}"
    run = run_limr("sweep", sweep_dir / "good.yaml", "--out", tmp_path / "out", "--ray-address", address, timeout=60)
    assert run.returncode == 1
    assert f"Error: Nothing answers at the Ray address {address}" in run.stderr.replace("\n", " ")
    assert "Traceback" not in run.stderr and not (tmp_path / "out" / "run-checkpoint-1").exists()


@pytest.mark.slow
def test_local_sweep_runs_every_job_and_reports_the_failed_one(local_sweep):
    jobs = _jobs(local_sweep)
    for key, rows in _samples(local_sweep).items():
        assert len(rows) == 3 and jobs[key]["attempts"] == 1
    aggregated = json.loads((local_sweep / "run-checkpoint-1" / "tiny-additions" / "results.json").read_text())
    assert aggregated["benchmarks"]["tiny-additions"]["seeds"]["n"] == 2


@pytest.mark.slow
def test_ray_sweep_matches_the_local_one_retries_the_failure_and_reruns_nothing(sweep_dir, local_sweep):
    out = sweep_dir / "ray"
    with local_cluster(num_cpus=2) as cluster:
        run = subprocess.run(
            [sys.executable, "-m", "limr_kit", "sweep", str(sweep_dir / "sweep.yaml"), "--out", str(out)],
            capture_output=True, text=True, env={**cluster.env, "LIMR_NO_PROGRESS": "1"}, timeout=300,
        )  # fmt: skip
        _assert_broken_reported(run, out)
        assert _samples(out) == _samples(local_sweep)
        jobs = _jobs(out)
        assert json.loads((out / "sweep.json").read_text())["runner"] == f"ray {cluster.address}"
        # one actor per model: both of its jobs ran in one process, which loaded the model once
        for model in GOOD:
            first, second = (jobs[f"{model}/tiny-additions/seed-{seed}"] for seed in (0, 1))
            assert first["host"] == second["host"] and first["host"].split(":")[-1].isdigit()
            assert first["load_seconds"] > 0 and second["load_seconds"] == 0
        assert (
            jobs["run-checkpoint-1/tiny-additions/seed-0"]["host"]
            != jobs["run-checkpoint-2/tiny-additions/seed-0"]["host"]
        )

        results = {key: (out / key / "results.json").stat().st_mtime_ns for key in _samples(out)}
        rerun = subprocess.run(
            [sys.executable, "-m", "limr_kit", "sweep", str(sweep_dir / "good.yaml"), "--out", str(out)],
            capture_output=True, text=True, env={**cluster.env, "LIMR_NO_PROGRESS": "1"}, timeout=120,
        )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert {job["state"] for job in _jobs(out).values()} == {"reused"}
    assert {key: (out / key / "results.json").stat().st_mtime_ns for key in results} == results
