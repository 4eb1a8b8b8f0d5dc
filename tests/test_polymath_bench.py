"""``limr-kit bench --suite polymath-8`` end to end: the tiny model on vLLM CPU, SuperGPQA served by the loopback
Hub, SciBench and MMLU-Pro from the real files in ../shared/data/polymath/bench, GPQA from a zip of rows we wrote
in its schema (never the real questions), then ``compare --reference polymath``. The tiny model only knows
additions, so its scores say nothing; what is checked is the protocol, the records and the aggregation."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_bench import run_limr

from limr_kit.benchmarks import resolve_suite
from limr_kit.benchmarks.polymath_bench import load_polymath_suite
from limr_kit.rewards.choice import AMBIGUOUS_TEXT, CORRECT, NO_ANSWER, NOT_AN_OPTION, WRONG


TOKEN = "hf_testtokentesttokentesttoken00"
GPQA_COLUMNS = ["Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3",
                "Record ID", "High-level domain"]  # fmt: skip
PUSH_SUPERGPQA = r"""
import datasets
rows = [{"uuid": f"u{i}", "question": f"What is {i} + {i}?", "options": [str(2 * i), str(2 * i + 1), "0", "9"],
         "answer": str(2 * i), "answer_letter": "A", "discipline": ["Science", "Engineering", "Law"][i % 3],
         "field": "f", "subfield": "s", "difficulty": "easy", "is_calculation": True} for i in range(6)]
datasets.Dataset.from_list(rows).push_to_hub("m-a-p/SuperGPQA", split="train")
"""


def write_gpqa_zip(path: Path, rows: list[dict[str, str]]) -> None:
    """A dataset.zip laid out as GPQA's (dataset/gpqa_diamond.csv), holding rows we wrote (not encrypted:
    Python cannot write ZipCrypto, and the loader's password is ignored for plain members)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, GPQA_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("dataset/gpqa_diamond.csv", text.getvalue())


@pytest.fixture
def polymath_data(bench_data, tmp_path) -> Path:
    """math500/aime24 of test_bench's data, aime25 and minerva_math beside them, and a GPQA zip of our rows."""
    root = tmp_path / "data"
    for name in ("math500", "aime24"):
        (root / name).mkdir(parents=True)
        (root / name / "test.jsonl").write_bytes((bench_data / name / "test.jsonl").read_bytes())
    (root / "aime25").mkdir()
    (root / "aime25" / "test.jsonl").write_text(
        "".join(json.dumps({"id": i, "problem": f"What is {i} + 3?", "answer": str(i + 3)}) + "\n" for i in range(3))
    )
    (root / "minerva_math").mkdir()
    (root / "minerva_math" / "test.jsonl").write_text(
        "".join(
            json.dumps({"idx": i, "problem": f"What is {i} + 5?", "solution": f"So \\boxed{{{i + 5}}}."}) + "\n"
            for i in range(3)
        )
    )
    gpqa = [
        {"Question": f"What is {i} + 1?", "Correct Answer": str(i + 1), "Incorrect Answer 1": "0",
         "Incorrect Answer 2": "100", "Incorrect Answer 3": "7", "Record ID": f"rec{i}",
         "High-level domain": ["Physics", "Chemistry", "Biology"][i]}
        for i in range(3)
    ]  # fmt: skip
    write_gpqa_zip(root / "gpqa" / "dataset.zip", gpqa)
    return root


def hub_env(url: str, home: Path) -> dict[str, str]:
    return {**os.environ, "HF_ENDPOINT": url, "HF_TOKEN": TOKEN, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1", "LIMR_NO_PROGRESS": "1", "COLUMNS": "200"}  # fmt: skip


def test_polymath_suite_matches_the_paper_protocol():
    suite, specs = resolve_suite("polymath-8")
    by_name = {spec.name: spec for spec in specs}
    assert suite.aggregation == "polymath" and list(by_name) == [
        "math500", "aime24", "aime25", "minerva_math", "gpqa_diamond", "scibench", "mmlu_pro", "supergpqa"]  # fmt: skip
    assert all(spec.prompt == "polymath" and spec.decoding.max_new_tokens == 2048 for spec in specs)
    for name, spec in by_name.items():
        n, temperature = (32, 0.4) if name.startswith("aime") else (1, 0.0)
        assert (spec.decoding.n, spec.decoding.temperature) == (n, temperature), name
    assert {name: spec.answer_type for name, spec in by_name.items() if spec.answer_type != "math"} == {
        "gpqa_diamond": "choice", "scibench": "number-with-unit", "mmlu_pro": "choice", "supergpqa": "choice"}  # fmt: skip
    assert (by_name["mmlu_pro"].polymath.subset, by_name["mmlu_pro"].polymath.per_subject) == (100, True)
    assert by_name["supergpqa"].polymath.subset == 1500 and by_name["gpqa_diamond"].polymath.shuffle_seed == 0
    alone, (math500,) = resolve_suite("math500")  # alone, a benchmark keeps its own protocol
    assert alone.aggregation == "mean" and math500.prompt == "chat" and math500.decoding.max_new_tokens == 3072
    assert resolve_suite("scibench")[0].aggregation == "polymath"


@pytest.mark.slow
@pytest.mark.shared
def test_polymath_suite_end_to_end_with_vllm_and_the_loopback_hub(
    tiny_model,
    polymath_data,
    shared_data,
    tmp_path,
):
    from limr_kit.hub import HubServer

    out = tmp_path / "run"
    (tmp_path / "tokens").write_text(TOKEN + "\n")
    with HubServer(tmp_path / "hub", port=0, token_file=tmp_path / "tokens") as hub:
        env = hub_env(hub.url, tmp_path / "hf")
        pushed = subprocess.run([sys.executable, "-c", PUSH_SUPERGPQA], capture_output=True, text=True, env=env)
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        args = ["bench", tiny_model, "--suite", "polymath-8", "--limit", "1", "--out", out, "--json",
                "--data-dir", polymath_data, "--data-dir", shared_data / "polymath" / "bench"]  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "limr_kit", *map(str, args)], capture_output=True, text=True, env=env, timeout=900
        )
        assert done.returncode == 0, done.stderr[-3000:]
        lm_eval = subprocess.run(  # the lm-eval engine on GPQA's first question (one benchmark: it is slow)
            [sys.executable, "-m", "limr_kit", "bench", str(tiny_model), "--suite", "gpqa_diamond", "--limit", "1",
             "--engine", "lm-eval", "--out", str(tmp_path / "lm-eval"), "--data-dir", str(polymath_data)],
            capture_output=True, text=True, env=env, timeout=900,
        )  # fmt: skip
        assert lm_eval.returncode == 0, lm_eval.stderr[-3000:]
        gated = subprocess.run(  # GPQA with neither a local zip nor access on the Hub
            [sys.executable, "-m", "limr_kit", "bench", str(tiny_model), "--suite", "gpqa_diamond", "--out",
             str(tmp_path / "gated")],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
    assert gated.returncode == 1 and "GPQA is gated" in gated.stderr and "HF_TOKEN" in gated.stderr
    assert "Traceback" not in gated.stderr and not (tmp_path / "gated").exists()

    results = json.loads(done.stdout)
    assert results["status"] == "complete"
    benchmarks = results["benchmarks"]
    assert list(benchmarks) == ["math500", "aime24", "aime25", "minerva_math", "gpqa_diamond", "scibench",
                                "mmlu_pro", "supergpqa"]  # fmt: skip
    assert all(item["n_questions"] == 1 for item in benchmarks.values())
    assert benchmarks["aime24"]["metric"] == "avg@32" and benchmarks["aime24"]["decoding"]["temperature"] == 0.4
    assert all(item["decoding"]["max_new_tokens"] == 2048 for item in benchmarks.values())
    assert benchmarks["scibench"]["answer_type"] == "number-with-unit"
    assert benchmarks["gpqa_diamond"]["gpqa_shuffle_seed"] == 0
    supergpqa = benchmarks["supergpqa"]["data"]
    assert supergpqa["kind"] == "hub" and len(supergpqa["resolved_sha"]) == 40
    subset = benchmarks["mmlu_pro"]["data"]["subset"]
    assert subset["size"] == 100 and subset["per_subject"] and len(subset["ids"]) == 1400
    assert benchmarks["scibench"]["subjects"] == {"scibench/atkins/1": "chemistry"}
    assert set(benchmarks["mmlu_pro"]["grading_reasons"]) <= {CORRECT, WRONG, NO_ANSWER, NOT_AN_OPTION, AMBIGUOUS_TEXT}

    polymath = results["polymath"]
    assert set(polymath["domains"]) >= {"math", "physics", "chemistry", "science", "others"}
    assert polymath["avg"] is None  # not all 8 domains are measured at --limit 1
    assert "avg_all" in polymath and polymath["dedupe_across"]["enabled"] is False and "overlap" in polymath

    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 8
    scibench = next(s for s in samples if s["benchmark"] == "scibench" and s["prompt"] is not None)
    assert scibench["prompt"].startswith("A conversation between User and Assistant.")
    assert scibench["prompt"].endswith("\nAssistant:")
    choice = next(s for s in samples if s["benchmark"] == "supergpqa")
    assert "Options are:\n(A): 0\n(B): 1" in choice["prompt"]
    assert all("reason" in c and "extracted" in c for s in samples for c in s["completions"])

    (by_lm_eval,) = map(json.loads, (tmp_path / "lm-eval" / "samples.jsonl").read_text().splitlines())
    by_vllm = next(s for s in samples if s["benchmark"] == "gpqa_diamond")
    assert by_lm_eval["id"] == by_vllm["id"] and by_lm_eval["prompt"] == by_vllm["prompt"]  # the engine checks it too
    assert [c["text"] for c in by_lm_eval["completions"]] == [c["text"] for c in by_vllm["completions"]]  # greedy

    for by, column in (("domain", "Physics"), ("benchmark", "SciBench")):
        table = run_limr("compare", out, "--reference", "polymath", "--by", by)
        assert table.returncode == 0, table.stderr[-3000:]
        assert column in table.stdout and "run" in table.stdout and "(reported)" in table.stdout
    plot = tmp_path / "domains.png"
    drawn = run_limr("compare", out, "--reference", "polymath", "--by", "domain", "--plot", plot)
    assert drawn.returncode == 0 and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.shared
def test_mmlu_pro_subset_is_stable_and_dedupe_drops_scibench_copies(shared_data):
    _, specs = resolve_suite("polymath-8")
    chosen = [spec for spec in specs if spec.name in ("scibench", "mmlu_pro")]
    folders = [shared_data / "polymath" / "bench"]
    loaded, info = load_polymath_suite(chosen, folders, None, False, False)
    again, _ = load_polymath_suite(chosen, folders, None, False, False)
    ids = [q.id for q in loaded["mmlu_pro"].questions]
    assert len(ids) == 1400 and ids == [q.id for q in again["mmlu_pro"].questions]
    assert len(loaded["scibench"].questions) == 692
    shared = info["overlap"]["mmlu_pro+scibench"]["n"]
    deduped, info = load_polymath_suite(chosen, folders, None, False, True)
    assert shared > 0 and info["dedupe_across"]["dropped"] == {"scibench": 0, "mmlu_pro": shared}
    assert len(deduped["mmlu_pro"].questions) == 1400 - shared
    full, _ = load_polymath_suite(chosen, folders, None, True, False)
    assert len(full["mmlu_pro"].questions) == 12032 and "subset" not in full["mmlu_pro"].source


def _scibench_folder(root: Path, bad_answer: str) -> Path:
    from limr_kit.benchmarks.polymath_data import SCIBENCH_BOOKS

    root.mkdir(parents=True)
    for book in SCIBENCH_BOOKS:
        for name in (f"{book}.json", f"{book}_sol.json"):
            rows = [{"problem_text": "How far?", "answer_number": "1.5", "unit": "m"}] * 2
            if name == "diff.json":
                rows = [rows[0], {**rows[0], "answer_number": bad_answer}]
            (root / name).write_text(json.dumps(rows))
    return root


def test_bad_polymath_rows_are_one_error_naming_file_and_row(tmp_path, run_cli):
    data = tmp_path / "data"
    row = {"uuid": "u0", "question": "Pick one.", "options": ["a", "b"], "answer_letter": "A", "discipline": "Science"}
    cases = [
        ({**row, "options": []}, "SuperGPQA-all.jsonl:2: choice item supergpqa/u1 has no options"),
        ({**row, "answer_letter": "F"}, "SuperGPQA-all.jsonl:2: gold letter 'F' of supergpqa/u1 is not one of its 2"),
    ]
    for bad, message in cases:
        (data / "supergpqa").mkdir(parents=True, exist_ok=True)
        lines = [row, {**bad, "uuid": "u1"}]
        (data / "supergpqa" / "SuperGPQA-all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
        result = run_cli(
            "bench", tmp_path / "model", "--suite", "supergpqa", "--data-dir", data, "--out", tmp_path / "o"
        )
        assert result.code == 1 and message in result.stderr and result.stderr.count("Error:") == 1, result.stderr
    _scibench_folder(data / "scibench", "about 3")
    result = run_cli("bench", tmp_path / "model", "--suite", "scibench", "--data-dir", data, "--out", tmp_path / "o")
    assert result.code == 1 and "diff.json:2:" in result.stderr and "'about 3' is not a number" in result.stderr
    assert not (tmp_path / "o").exists()
    result = run_cli("bench", tmp_path / "model", "--suite", "math500", "--dedupe-across", "--out", tmp_path / "o")
    assert result.code == 1 and "--dedupe-across is for polymath suites" in result.stderr
