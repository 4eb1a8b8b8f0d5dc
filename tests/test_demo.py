"""`limr-kit demo`: LIMR's experiment in miniature, run for real at the quick scale, and its artefacts checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from limr_kit.demo import demo_problems
from limr_kit.tinymodel import held_out_problems


REPO = Path(__file__).resolve().parents[1]


def _limr_kit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "toolkit"), "LIMR_NO_PROGRESS": "1", "COLUMNS": "160"}
    env.pop("HF_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "limr_kit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=1200
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("demo") / "run"
    return out, _limr_kit("demo", "--quick", "--out", str(out), cwd=out.parent)


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_the_recipe_dataset_is_the_toy_set_and_never_the_held_out_problems() -> None:
    rows = [json.loads(line) for line in (REPO / "recipes" / "data" / "demo-additions.jsonl").read_text().splitlines()]
    assert rows == demo_problems() and len(rows) == 80 == len({row["id"] for row in rows})
    held_out = {problem["question"] for problem in held_out_problems()}
    assert not held_out & {row["question"] for row in rows}
    assert all(int(row["answer"]) == sum(int(x) for x in row["id"].split("-")[1:]) for row in rows)


@pytest.mark.slow
def test_quick_demo_runs_the_experiment_and_its_artefacts_agree(demo) -> None:
    out, done = demo
    assert done.returncode == 0, done.stderr[-3000:]
    assert "limr-kit demo (quick)" in done.stdout and "Δ vs FULL" in done.stdout
    for name in ("summary.md", "compare.png", "compare.md", "lim/trajectories.png", "demo.json"):
        assert (out / name).is_file(), name
    result = json.loads((out / "demo.json").read_text())
    rows = {row["name"]: row for row in result["rows"]}
    assert list(rows) == ["base", "FULL", "LIMR", "RAND"]

    # LIMR and RAND: subsets of FULL's set, of the same size, trained for FULL's number of steps.
    full = _ids(out / "data" / "full.jsonl")
    limr, rand = _ids(out / "sets" / "LIMR" / "train.jsonl"), _ids(out / "sets" / "RAND" / "train.jsonl")
    assert len(full) == 16 and set(limr) <= set(full) and set(rand) <= set(full)
    assert (
        len(limr) == len(rand) == rows["LIMR"]["samples"] == rows["RAND"]["samples"] == 4
    )  # round(16 * 1389/8523) = 3, raised to one step of 4 prompts
    assert rows["LIMR"]["steps"] == rows["RAND"]["steps"] == rows["FULL"]["steps"] > 0
    lim_scores = [json.loads(line) for line in (out / "lim" / "scores.jsonl").read_text().splitlines()]
    best = [row for row in lim_scores if row["selected"]]
    assert {row["sample_id"] for row in best} == set(limr) and {row["rank"] for row in best} == {1, 2, 3, 4}
    for name in ("FULL", "LIMR", "RAND"):
        run = json.loads((out / "train" / name / "run.json").read_text())
        assert run["overrides"]["model"] == str(out / "base")  # the same start
        assert list((out / "train" / name / "rewards").glob("rewards.*.jsonl"))

    # Each bench run names its model (path and content hash) and the software that measured it.
    for name, model in (("base", out / "base"), ("FULL", out / "train" / "FULL" / "model")):
        results = json.loads((out / "bench" / name / "results.json").read_text())
        assert results["model"]["path"] == str(model) and results["model"]["sha"].startswith("local-")
        assert results["provenance"]["limr-kit"] and results["provenance"]["vllm"]
        accuracy = results["benchmarks"]["tiny-additions"]["accuracy"]
        assert rows[name]["accuracy"] == pytest.approx(accuracy) and rows[name]["n_questions"] == 6
    assert rows["FULL"]["delta_vs_full"] is None and rows["LIMR"]["p_value"] is not None

    # The published model's model-index is its bench result; what was pulled is what was published.
    card = (out / "pulled" / "model" / "README.md").read_text()
    metric = yaml.safe_load(card.split("---")[1])["model-index"][0]["results"][0]["metrics"][0]
    limr_results = json.loads((out / "bench" / "LIMR" / "results.json").read_text())
    assert metric["value"] == pytest.approx(limr_results["benchmarks"]["tiny-additions"]["accuracy"])
    assert "partial" in metric["name"]  # --quick benches 6 of 20 questions, and the card says so
    for name in ("config.json", "model.safetensors"):
        assert (out / "pulled" / "model" / name).read_bytes() == (out / "train" / "LIMR" / "model" / name).read_bytes()
    pulled = pq.read_table(next((out / "pulled" / "dataset" / "data").glob("*.parquet")))
    assert pulled.equals(pq.read_table(out / "sets" / "LIMR" / "train.parquet"))
    assert set(result["published"]) == {"demo/limr-demo-set", "demo/limr-demo-model"}


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = _limr_kit("demo", "--quick", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and "is not empty and holds no earlier demo" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
