"""Cards as people read them: rendered from small real artefacts, proofread, free of machine paths, honest about
partial evaluations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from limr_kit.errors import InputError


def _card(plan) -> str:
    return next(item for item in plan.files if item.path_in_repo == "README.md").content.decode()


@pytest.fixture
def curated(tmp_path) -> Path:
    """A real `curate` output over 4 rows, one id repeated (so one duplicate is dropped)."""
    from limr_kit.curate import curate

    dataset = tmp_path / "machine-specific" / "problems.jsonl"
    dataset.parent.mkdir()
    rows = [{"id": f"p{i}", "problem": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(4)]
    dataset.write_text("".join(json.dumps(row) + "\n" for row in [*rows, rows[0]]))
    scores = tmp_path / "machine-specific" / "scores.json"
    scores.write_text(json.dumps([{"id": row["id"], "score": 0.9 - 0.2 * i} for i, row in enumerate(rows)]))
    curate(scores, dataset, "id", tmp_path / "curated", threshold=0.6)
    return tmp_path / "curated"


def test_the_dataset_card_reads_right_and_names_no_machine_path(curated, tmp_path):
    from limr_kit.release.dataset import plan_dataset

    card = _card(plan_dataset(curated, "org/limr-set"))
    assert "1 duplicate `id` value dropped" in card and "values dropped" not in card
    assert "selected by released scores" in card and "scores scores" not in card
    assert str(tmp_path) not in card and "/tmp/" not in card and "machine-specific" not in card


def _results(folder: Path, *, limit: int | None = None, status: str = "complete") -> Path:
    answered = limit or 30
    folder.mkdir(parents=True)
    results = {
        "schema": "limr-kit/bench-results@1",
        "status": status,
        "suite": "limr-paper",
        "model": {"id": str(folder / "model"), "path": str(folder / "model"), "revision": None, "sha": "local-ab12"},
        "engine": "vllm",
        "benchmarks": {
            "aime24": {
                "title": "AIME 2024",
                "hub_dataset": "HuggingFaceH4/aime_2024",
                "split": "train",
                "metric": "avg@4",
                "accuracy": 40.0,
                "ci95": [20.0, 60.0],
                "n_questions": answered,
                "n_samples": 4,
                "decoding": {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 3072, "n": 4, "seed": 0},
                "data": {"kind": "local", "path": str(folder / "aime.jsonl"), "n_questions_available": 30},
                "per_question": {str(i): 0.4 for i in range(answered)},
            }
        },
        "provenance": {
            "limr-kit": "0.1.0",
            "vllm": "0.32.0",
            "engine_settings": {"model": str(folder / "model"), "seed": 0},
            "grader": {"mode": "default"},
            "seed": 0,
            "limit": limit,
            "image": None,
        },
    }
    (folder / "results.json").write_text(json.dumps(results))
    return folder


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    import numpy as np
    from safetensors.numpy import save_file

    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}))
    save_file({"w": np.zeros(2, dtype=np.float32)}, str(folder / "model.safetensors"))
    return folder


def test_the_model_card_software_line_and_model_carry_no_dict_and_no_path(checkpoint, tmp_path):
    from limr_kit.release.model import plan_model

    card = _card(plan_model(checkpoint, "org/limr-tiny", results=(_results(tmp_path / "bench"),)))
    software = next(line for line in card.splitlines() if "Software:" in line)
    assert "Software: limr-kit 0.1.0, vllm 0.32.0." in software and "{" not in software
    assert "Evaluated model: a local checkpoint (sha local-ab12)" in card
    assert str(tmp_path) not in card and "/tmp/" not in card
    assert "Partial evaluation" not in card and "| 30 | 4 |" in card


def test_a_partial_run_is_refused_unless_allowed_and_then_the_card_says_so(checkpoint, tmp_path, run_cli):
    from limr_kit.release.model import plan_model

    partial = _results(tmp_path / "bench", limit=5)
    with pytest.raises(InputError, match=r"partial \(aime24: 5 of 30 questions\).*--allow-partial"):
        plan_model(checkpoint, "org/limr-tiny", results=(partial,))
    refused = run_cli("publish", "model", checkpoint, "--repo", "org/limr-tiny", "--results", partial, "--dry-run")
    assert refused.code == 1 and "--allow-partial" in refused.stderr
    card = _card(plan_model(checkpoint, "org/limr-tiny", results=(partial,), allow_partial=True))
    assert "**Partial evaluation.**" in card and "aime24: 5 of 30 questions" in card and "| 5 of 30 | 4 |" in card
    assert "partial: 5 of 30 questions" in card.split("---")[1]  # the model-index metric says so too
    unfinished = _results(tmp_path / "stopped", status="partial")
    with pytest.raises(InputError, match="stopped before its last benchmark"):
        plan_model(checkpoint, "org/limr-tiny", results=(unfinished,))


def test_compare_labels_partial_runs_with_their_question_counts(tmp_path, run_cli):
    full = _results(tmp_path / "full-run")
    partial = _results(tmp_path / "limit-run", limit=5)
    for run in (full, partial):  # compare reads per-question verdicts
        results = json.loads((run / "results.json").read_text())
        answered = results["benchmarks"]["aime24"]["n_questions"]
        results["benchmarks"]["aime24"]["per_question"] = {str(i): float(i % 2) for i in range(answered)}
        (run / "results.json").write_text(json.dumps(results))
    shown = run_cli("compare", full, partial, "--format", "markdown", "--plot", tmp_path / "cmp.png")
    assert shown.code == 0, shown.stderr
    assert "| full-run | 40.0 [20.0, 60.0] n=30 |" in shown.stdout
    assert "| limit-run (partial) | 40.0 [20.0, 60.0] n=5/30 |" in shown.stdout
    report = json.loads(run_cli("compare", full, partial, "--format", "json").stdout)
    assert [(row["partial"], row["n_questions"]) for row in report["rows"]] == [
        (False, {"aime24": [30, 30]}),
        (True, {"aime24": [5, 30]}),
    ]
    assert (tmp_path / "cmp.png").read_bytes().startswith(b"\x89PNG")
