"""``limr-kit compare --reference polymath``: the paper's Table 3 / 12 rows beside measured runs."""

from __future__ import annotations

import json
from pathlib import Path

from limr_kit.benchmarks.compare import compare_runs


def _polymath_run(folder: Path) -> Path:
    """A results.json in bench's schema with per-question subjects (hand-written, not a bench run)."""
    scores = {
        "math500": ({"m1": 1.0, "m2": 0.0}, {}),
        "aime24": ({"a1": 0.25}, {}),
        "scibench": ({"s1": 1.0, "s2": 0.0, "s3": 1.0}, {"s1": "chemistry", "s2": "physics", "s3": "math"}),
        "mmlu_pro": ({"p1": 0.0, "p2": 1.0}, {"p1": "chemistry", "p2": "mmlu-pro engineering"}),
    }
    benchmarks = {
        name: {
            "title": name,
            "metric": "avg@1",
            "accuracy": 100 * sum(per.values()) / len(per),
            "ci95": [0.0, 100.0],
            "n_questions": len(per),
            "n_samples": 1,
            "decoding": {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_new_tokens": 64, "seed": 0},
            "per_question": per,
            "subjects": subjects,
        }
        for name, (per, subjects) in scores.items()
    }
    folder.mkdir()
    results = {
        "schema": "limr-kit/bench-results@1",
        "suite": "polymath-8",
        "model": {"id": "m", "path": "/m", "revision": None, "sha": "local-x"},
        "engine": "vllm",
        "benchmarks": benchmarks,
        "provenance": {"seed": 0},
    }
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_compare_reference_polymath_by_domain_and_benchmark(tmp_path, run_cli):
    run = _polymath_run(tmp_path / "mine")
    by_domain = run_cli("compare", run, "--reference", "polymath", "--by", "domain", "--format", "json")
    assert by_domain.code == 0, by_domain.stderr
    report = json.loads(by_domain.stdout)
    mine = report["rows"][0]
    # Math = mean of subjects math500 50, aime 25, math (SciBench) 100; Chemistry pools SciBench + MMLU-Pro
    assert mine["accuracy"] == {"math": 175 / 3, "physics": 0.0, "chemistry": 50.0}
    prime = next(row for row in report["rows"] if row["name"] == "polymath_1shot synthetic Prime")
    assert prime["source"] == "reported" and prime["accuracy"]["biology"] == 54.2
    assert len(report["rows"]) == 25

    by_benchmark = run_cli("compare", run, "--reference", "polymath", "--plot", tmp_path / "p.png")
    assert by_benchmark.code == 0, by_benchmark.stderr
    assert "SciBench" in by_benchmark.stdout and "(reported)" in by_benchmark.stdout
    assert "Table 12" in by_benchmark.stdout
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")

    radar = run_cli("compare", run, "--reference", "polymath", "--by", "domain", "--plot", tmp_path / "d.png")
    assert radar.code == 0 and (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")
    assert compare_runs([run], "polymath", by="domain").view == "domains"
    assert compare_runs([run], "polymath", by="benchmark").view == "benchmarks"

    bad = run_cli("compare", run, "--reference", "polymath", "--by", "field")
    assert bad.code == 1 and "Unknown --by 'field'" in bad.stderr
    alone = run_cli("compare", run, "--by", "domain")
    assert alone.code == 1 and "--by applies only with --reference polymath" in alone.stderr
