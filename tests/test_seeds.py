"""Results over seeds: the seed plan, the statistics against hand computations, compare with seeds and the sober
reference rows."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from limr_kit.benchmarks import resolve_suite
from limr_kit.benchmarks.compare import compare_runs, table_rows
from limr_kit.benchmarks.seeds import aggregate_seeds, seed_plan, seed_statistics, two_level_draws


def test_seed_plans():
    sober, specs = resolve_suite("sober")
    plan = seed_plan(sober, None)
    assert [seed for seed, _ in plan] == list(range(10))
    assert plan[0][1] == plan[2][1] == ("aime24", "aime25", "amc23", "math500", "minerva_math", "olympiadbench")
    assert all(benchmarks == ("aime24", "aime25", "amc23") for _, benchmarks in plan[3:])
    assert {(spec.decoding.n, spec.decoding.temperature, spec.decoding.top_p) for spec in specs} == {(1, 0.4, 0.95)}
    assert seed_plan(sober, 2, first=5) == [(5, sober.benchmarks), (6, sober.benchmarks)]
    paper, _ = resolve_suite("limr-paper")
    assert seed_plan(paper, None) == [(0, ("aime24", "math500", "amc23"))]


def test_seed_statistics_match_a_hand_computation():
    stats = seed_statistics({0: {"a": 1.0, "b": 0.0, "c": 0.5}, 1: {"a": 1.0, "b": 1.0, "c": 0.0}, 2: {"a": 0.0}})
    # only question a was answered by all three seeds: seed accuracies 100, 100, 0
    assert stats["accuracies"] == {"0": 100.0, "1": 100.0, "2": 0.0}
    two = seed_statistics({0: {"a": 1.0, "b": 0.0, "c": 0.5}, 1: {"a": 1.0, "b": 1.0, "c": 0.0}})
    assert two["accuracies"] == pytest.approx({"0": 50.0, "1": 200 / 3})
    assert two["mean"] == pytest.approx(175 / 3)
    assert two["std"] == pytest.approx((200 / 3 - 50) / np.sqrt(2))  # sample std of two values: |x - y| / sqrt 2
    assert two["per_question"] == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.25})
    assert two["n"] == 2 and "questions resampled" in two["method"]
    # the seeds alone vary: resampled seed means are 0, 50, 100 with probabilities 1/4, 1/2, 1/4
    assert seed_statistics({0: {"a": 0.0, "b": 0.0}, 1: {"a": 1.0, "b": 1.0}})["ci95"] == [0.0, 100.0]
    one = seed_statistics({3: {"a": 1.0, "b": 0.0}})
    assert one["n"] == 1 and np.isnan(one["std"]) and one["mean"] == 50.0


def test_two_level_bootstrap_has_the_exact_distribution_of_questions_then_seeds():
    scores = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.5]])
    n_seeds, n_questions = scores.shape
    exact = [  # every equally likely draw: questions with replacement, then seeds with replacement
        scores[np.ix_(seeds, questions)].mean()
        for questions in itertools.product(range(n_questions), repeat=n_questions)
        for seeds in itertools.product(range(n_seeds), repeat=n_seeds)
    ]
    draws = two_level_draws(scores, seed=0, iterations=200_000)
    assert draws.mean() == pytest.approx(np.mean(exact), abs=2e-3)
    assert draws.var() == pytest.approx(np.var(exact), rel=0.02)
    # larger than either level alone: the question bootstrap of seed-averaged scores, or the seeds' spread
    question_only = [scores.mean(axis=0)[list(q)].mean() for q in itertools.product(range(3), repeat=3)]
    assert np.var(exact) > np.var(question_only)


def _seed_run(folder: Path, seed: int, per_question: dict[str, dict[str, float]], status: str = "complete") -> None:
    """A one-seed results.json holding the fields the aggregation reads."""
    benchmarks = {
        name: {
            "title": name.upper(),
            "hub_dataset": f"org/{name}",
            "split": "test",
            "metric": "avg@1",
            "accuracy": 100 * sum(scores.values()) / len(scores),
            "ci95": [0.0, 100.0],
            "n_questions": len(scores),
            "n_samples": 1,
            "decoding": {"n": 1, "temperature": 0.4, "top_p": 0.95, "max_new_tokens": 64, "seed": seed},
            "system_prompt": "Please reason step by step.",
            "data": {"kind": "local", "n_questions_available": len(scores)},
            "per_question": scores,
        }
        for name, scores in per_question.items()
    }
    results = {
        "schema": "limr-kit/bench-results@1",
        "status": status,
        "suite": "sober",
        "model": {"id": "m", "path": "/m", "revision": None, "sha": "local-x"},
        "engine": "vllm",
        "benchmarks": benchmarks,
        "average": None,
        "provenance": {"seed": seed, "engine_settings": {}},
    }
    (folder / f"seed-{seed}").mkdir(parents=True)
    (folder / f"seed-{seed}" / "results.json").write_text(json.dumps(results))


def test_aggregation_over_seed_runs_and_compare_with_seeds(tmp_path, run_cli):
    plan = [(0, ("aime24", "math500")), (1, ("aime24", "math500")), (2, ("aime24",))]
    run = tmp_path / "limr"
    _seed_run(run, 0, {"aime24": {"1": 1.0, "2": 0.0}, "math500": {"x": 1.0, "y": 1.0}})
    _seed_run(run, 1, {"aime24": {"1": 1.0, "2": 1.0}, "math500": {"x": 1.0, "y": 0.0}})
    partial = aggregate_seeds(run, plan).to_dict()
    assert partial["status"] == "partial" and partial["benchmarks"]["aime24"]["seeds"]["n"] == 2
    _seed_run(run, 2, {"aime24": {"1": 0.0, "2": 0.0}})
    results = aggregate_seeds(run, plan).to_dict()
    assert json.loads((run / "results.json").read_text()) == results
    assert results["status"] == "complete" and results["seeds"] == {"aime24": [0, 1, 2], "math500": [0, 1]}
    aime = results["benchmarks"]["aime24"]
    assert aime["accuracy"] == pytest.approx(50.0)  # seeds 50, 100, 0
    assert aime["std"] == pytest.approx(50.0)  # sqrt(((0)^2 + 50^2 + 50^2) / 2)
    assert aime["per_question"] == pytest.approx({"1": 2 / 3, "2": 1 / 3})
    assert aime["per_seed"]["1"] == {"accuracy": 100.0, "ci95": [0.0, 100.0]}
    assert aime["decoding"] == {"n": 1, "temperature": 0.4, "top_p": 0.95, "max_new_tokens": 64}
    assert results["benchmarks"]["math500"]["accuracy"] == pytest.approx(75.0)
    assert results["average"] == pytest.approx(62.5)

    base = tmp_path / "base"
    for seed in (0, 1):
        _seed_run(base, seed, {"aime24": {"1": 0.0, "2": 0.0}, "math500": {"x": 0.0, "y": 1.0}})
    aggregate_seeds(base, plan[:2])
    comparison = compare_runs([run, base], reference="sober", baseline=base, names=["LIMR-ours", "base"])
    cells = {line[0]: line[1:] for line in table_rows(comparison)}
    assert cells["LIMR-ours"][0].startswith("50.0 ± 50.0 [") and cells["LIMR-ours"][0].endswith("n=2 x3")
    assert cells["base"][1].startswith("50.0 ± 0.0 [") and cells["base"][1].endswith("n=2 x2")
    assert cells["LIMR (reported)"] == ["30.7 ± 3.2", "76.5 ± 0.4", "53.6"]  # the columns the runs have
    assert cells["Qwen2.5-Math-7B (reported)"][:2] == ["20.7 ± 3.8", "64.3 ± 0.5"]
    # paired on seed-averaged per-question scores: (2/3 - 0 + 1/3 - 0) / 2 on AIME, (1 - 0 + 0.5 - 1) / 2 on MATH
    assert comparison.paired["LIMR-ours"]["aime24"].difference == pytest.approx(0.5)
    assert comparison.paired["LIMR-ours"]["math500"].difference == pytest.approx(0.25)
    assert any("averaged over seeds" in note for note in comparison.notes)
    assert any("2504.07086" in note for note in comparison.notes)

    shown = run_cli("compare", run, base, "--reference", "sober", "--baseline", base, "--format", "markdown")
    assert shown.code == 0 and "| limr | 50.0 ± 50.0 [" in shown.stdout and "LIMR (reported)" in shown.stdout
    unknown = run_cli("compare", run, "--reference", "sobre")
    assert unknown.code == 1 and "Choices: paper, polymath, sober" in unknown.stderr
