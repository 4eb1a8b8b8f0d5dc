"""limr-kit bench and compare, on the tiny model with real engines."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from limr_kit.benchmarks import load_benchmarks, load_suites, resolve_suite
from limr_kit.benchmarks.data import load_benchmark
from limr_kit.benchmarks.metrics import majority_correct, paired_bootstrap, pass_at_k, summarise_benchmark
from limr_kit.errors import ConfigError, InputError, UnknownNameError


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def random_model(tmp_path_factory) -> Path:
    """The tiny model with random weights: answers of very different lengths, so questions finish apart."""
    from limr_kit.tinymodel import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("random") / "model", seed=0)


@pytest.fixture(scope="session")
def staggered_data(tmp_path_factory) -> Path:
    """math500-layout questions of very different lengths: the random model writes until its budget (context
    minus prompt) runs out, so the questions finish hundreds of tokens apart."""
    root = tmp_path_factory.mktemp("staggered")
    (root / "math500").mkdir()
    rows = [
        {
            "problem": f"What is {i} + {i}? " + "Think it through. " * (40 * i),
            "answer": str(2 * i),
            "unique_id": f"test/algebra/{i}.json",
        }
        for i in range(10)
    ]
    (root / "math500" / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def run_limr(*args: str, timeout: float = 900, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIMR_NO_PROGRESS": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "limr_kit", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd,
    )  # fmt: skip


def assert_only_our_own_lines(stderr: str) -> None:
    """At default verbosity a finished run's stderr holds limr-kit's closing line and nothing of vLLM, torch,
    TRL or lm-eval (their warnings, CPU-backend hints, tqdm bars, git's "fatal:")."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert all(line.startswith("results: ") for line in lines), stderr[-3000:]


# --- definitions, data and metrics -------------------------------------------------------------


def test_paper_suite_matches_the_paper_protocol():
    suite, specs = resolve_suite("limr-paper")
    decoding = {spec.name: spec.decoding for spec in specs}
    assert suite.benchmarks == ("aime24", "math500", "amc23")
    assert (decoding["math500"].n, decoding["math500"].temperature) == (1, 0.0)
    for name in ("aime24", "amc23"):
        assert (decoding[name].n, decoding[name].temperature) == (4, 0.4)
    assert {d.top_p for d in decoding.values()} == {0.95} and {d.max_new_tokens for d in decoding.values()} == {3072}
    assert all(spec.system_prompt.startswith("Please reason step by step") for spec in specs)
    assert set(load_suites()["extended"].benchmarks) >= {"aime25", "minerva_math", "olympiadbench"}


def test_unknown_suite_and_bad_definitions(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean: limr-paper"):
        resolve_suite("limr-papr")
    (tmp_path / "broken.yaml").write_text("name: broken\ntitle: B\nhub: {dataset: a/b, fields: {question: q}}\n")
    with pytest.raises(ConfigError, match=r"hub\.fields\.answer: Field required"):
        load_benchmarks(tmp_path)
    (tmp_path / "broken.yaml").write_text(
        "name: broken\ntitle: B\nhub: {dataset: a/b, fields: {question: q, answer: a}}\n"
        "local: {file: x.jsonl, fields: {question: q, answer: a}}\ndecoding: {n: 0, tempreature: 1}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_benchmarks(tmp_path)
    assert "decoding.n" in str(caught.value) and "decoding.tempreature: Extra inputs are not permitted" in str(
        caught.value
    )


@pytest.mark.shared
def test_every_benchmark_loads_from_the_shared_files(shared_data):
    counts = {"aime24": 30, "math500": 500, "amc23": 40, "aime25": 30, "minerva_math": 272, "olympiadbench": 675}
    published = {name: spec for name, spec in load_benchmarks().items() if spec.hub is not None}
    assert set(published) == set(counts)  # the rest are local only (the demo's tiny-additions)
    for name, spec in published.items():
        data = load_benchmark(spec, shared_data / "bench")
        assert len(data.questions) == counts[name]
        assert all(q.question and q.answer for q in data.questions)
        assert data.source["kind"] == "local" and len(data.source["sha256"]) == 64
    minerva = load_benchmark(load_benchmarks()["minerva_math"], shared_data / "bench").questions[0]
    assert minerva.answer == "1.6"  # the last box of the solution


def test_a_local_only_benchmark_needs_data_dir():
    with pytest.raises(InputError, match="is local only: pass --data-dir holding tiny-additions/test.jsonl"):
        load_benchmark(load_benchmarks()["tiny-additions"])


def test_data_rows_missing_fields_name_the_line(tmp_path):
    (tmp_path / "math500").mkdir()
    (tmp_path / "math500" / "test.jsonl").write_text(
        '{"problem": "1+1?", "answer": "2", "unique_id": "a"}\n{"problem": "x"}\n'
    )
    with pytest.raises(InputError, match=r"test.jsonl:2: missing field 'answer'"):
        load_benchmark(load_benchmarks()["math500"], tmp_path)
    with pytest.raises(InputError, match="--data-dir must hold"):
        load_benchmark(load_benchmarks()["aime24"], tmp_path)


def test_metrics():
    assert pass_at_k(4, 0, 1) == 0.0 and pass_at_k(4, 4, 2) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25) and pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert majority_correct(["5", "5", "3", None], [True, True, False, False])
    assert not majority_correct(["3", "5", "3"], [False, True, False])
    assert not majority_correct([None, None], [False, False])
    summary = summarise_benchmark(
        [[True, False, False, False], [True, True, True, True]], [["1", "2", "2", "2"], ["7"] * 4]
    )
    assert summary["accuracy"] == pytest.approx(62.5)
    assert summary["pass_at_k"]["4"] == 100.0 and summary["maj_at_k"]["4"] == 50.0
    low, high = summary["ci95"]
    assert low <= 62.5 <= high
    same = paired_bootstrap([1, 0, 1, 1], [1, 0, 1, 1])
    assert same.difference == 0 and same.p_value == 1.0
    better = paired_bootstrap([1.0] * 40, [0.0] * 20 + [1.0] * 20)
    assert better.difference == pytest.approx(0.5) and better.p_value < 0.01


# --- real runs on the tiny model ---------------------------------------------------------------


@pytest.fixture(scope="session")
def paper_run(tiny_model, bench_data, tmp_path_factory) -> tuple[Path, dict]:
    """The limr-paper suite on the tiny model with vLLM: its run folder and the results printed with --json."""
    out = tmp_path_factory.mktemp("paper") / "run"
    result = run_limr("bench", tiny_model, "--suite", "limr-paper", "--data-dir", bench_data, "--out", out, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    (out.parent / "stderr.txt").write_text(result.stderr)
    return out, json.loads(result.stdout)


def _samples(out: Path) -> dict[tuple[str, str], list[dict]]:
    records = map(json.loads, (out / "samples.jsonl").read_text().splitlines())
    return {(r["benchmark"], r["id"]): r["completions"] for r in records}


@pytest.mark.slow
def test_bench_with_vllm_writes_results_and_samples(paper_run):
    assert_only_our_own_lines((paper_run[0].parent / "stderr.txt").read_text())
    out, results = paper_run
    assert json.loads((out / "results.json").read_text()) == results
    assert results["schema"] == "limr-kit/bench-results@1" and results["status"] == "complete"
    assert list(results["benchmarks"]) == ["aime24", "math500", "amc23"]
    aime = results["benchmarks"]["aime24"]
    assert (aime["metric"], aime["n_questions"], aime["n_samples"]) == ("avg@4", 4, 4)
    assert aime["decoding"] == {"n": 4, "temperature": 0.4, "top_p": 0.95, "max_new_tokens": 3072, "seed": 0}
    assert aime["context"]["clamped_questions"] == 4  # the tiny model's context is far below 3,072 new tokens
    assert results["benchmarks"]["math500"]["accuracy"] > 0  # the warm-started model solves some additions
    assert set(results["provenance"]) >= {"limr-kit", "vllm", "torch", "lm_eval", "engine_settings", "seed"}
    assert results["model"]["sha"].startswith("local-")
    average = sum(item["accuracy"] for item in results["benchmarks"].values()) / 3
    assert results["average"] == pytest.approx(average)
    records = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 4 + 10 + 4
    record = next(r for r in records if r["benchmark"] == "aime24")
    assert len(record["completions"]) == 4 and record["prompt"].startswith("<|im_start|>system\nPlease reason")
    assert set(record["completions"][0]) == {
        "text",
        "finish_reason",
        "tokens",
        "extracted",
        "via",
        "correct",
        "reason",
    }
    assert {c["finish_reason"] for r in records for c in r["completions"]} <= {"stop", "length"}


@pytest.mark.slow
def test_interrupted_run_resumes_without_regenerating_or_duplicating(random_model, staggered_data, tmp_path):
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "limr_kit",
        "bench",
        str(random_model),
        "--suite",
        "math500",
        "--data-dir",
        str(staggered_data),
        "--out",
        str(out),
    ]
    # killed (SIGKILL, its whole session) at a defined point: just after the first generated question is saved
    killed = subprocess.run(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "LIMR_NO_PROGRESS": "1", "LIMR_TEST_FAULT": "sample-saved:1"},
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL
    samples = out / "samples.jsonl"
    before = samples.read_text().splitlines()
    assert 1 <= len(before) < 10, "the kill came too late to test resuming"
    assert not (out / "results.json").exists()

    result = run_limr("bench", random_model, "--suite", "math500", "--data-dir", staggered_data, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    after = samples.read_text().splitlines()
    assert after[: len(before)] == before  # nothing already written is rewritten
    ids = [json.loads(line)["id"] for line in after]
    assert sorted(ids) == sorted(f"test/algebra/{i}.json" for i in range(10)) and len(ids) == len(set(ids))
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "complete" and results["benchmarks"]["math500"]["n_questions"] == 10

    changed = run_limr(
        "bench", random_model, "--suite", "math500", "--data-dir", staggered_data, "--out", out, "--seed", 1
    )
    assert changed.returncode == 1 and "other settings (seed)" in changed.stderr


@pytest.mark.slow
def test_data_parallel_replicas_give_the_same_samples_as_one_engine(paper_run, tiny_model, bench_data, tmp_path):
    single, _ = paper_run
    out = tmp_path / "replicas"
    result = run_limr(
        "bench", tiny_model, "--suite", "limr-paper", "--data-dir", bench_data, "--out", out, "--data-parallel-size", 2
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # greedy MATH500 and seeded samples at temperature 0.4 alike: the seeds belong to questions, not to replicas
    assert _samples(out) == _samples(single)
    settings = json.loads((out / "results.json").read_text())["provenance"]["engine_settings"]
    assert settings["data_parallel_size"] == 2 and len(settings["replica_devices"]) == 2

    for bad, message in [
        (("--vllm-arg", "max_num_seq=8"), "Did you mean: max_num_seqs"),
        (("--vllm-arg", "max_num_seq=8", "--data-parallel-size", "2"), "Did you mean: max_num_seqs"),
        (("--data-parallel-size", "999"), "needs at least 999 CPU cores"),
        (("--vllm-arg", "data_parallel_size=2"), "Use --data-parallel-size N"),
        (("--engine", "hf", "--data-parallel-size", "2"), "--data-parallel-size is for --engine vllm"),
    ]:
        refused = run_limr("bench", tiny_model, "--data-dir", bench_data, "--out", tmp_path / "refused", *bad)
        assert refused.returncode == 1 and message in refused.stderr, (bad, refused.stderr[-3000:])
        assert "Traceback" not in refused.stderr


@pytest.mark.slow
def test_a_replica_that_dies_stops_the_run_cleanly_and_it_resumes(random_model, staggered_data, tmp_path):
    out = tmp_path / "run"
    args = ("bench", random_model, "--suite", "math500", "--data-dir", staggered_data, "--out", out)
    # each replica dies (SIGKILL) at a defined point: just after it sent the completions of its first question
    process = subprocess.Popen(
        [sys.executable, "-m", "limr_kit", *map(str, (*args, "--data-parallel-size", 2))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LIMR_NO_PROGRESS": "1", "LIMR_TEST_FAULT": "replica-answered:1"},
    )
    samples = out / "samples.jsonl"
    stderr = process.communicate(timeout=300)[1]
    assert process.returncode == 1 and re.search(
        r"vLLM replica \d \(CPU cores \d+\) stopped \(exit status -9\)", stderr
    )
    assert "Traceback" not in stderr
    before = samples.read_text().splitlines()
    assert 1 <= len(before) < 10, "the kill came too late to test resuming"

    result = run_limr(*args, "--data-parallel-size", 2)
    assert result.returncode == 0, result.stderr[-3000:]
    ids = [json.loads(line)["id"] for line in samples.read_text().splitlines()]
    assert sorted(ids) == sorted(f"test/algebra/{i}.json" for i in range(10)) and len(ids) == len(set(ids))
    settings = json.loads((out / "results.json").read_text())["provenance"]["engine_settings"]
    assert settings["data_parallel_size"] == 2 and len(settings["replica_devices"]) == 2


def _greedy_run(tiny_model: Path, bench_data: Path, out: Path, *engine_args: str) -> dict[str, list[dict]]:
    args = ("bench", tiny_model, "--suite", "math500", *engine_args, "--data-dir", bench_data, "--out", out)
    result = run_limr(*args, cwd=out.parent)  # outside a git checkout, where lm-eval's git lookup prints "fatal:"
    assert result.returncode == 0, result.stderr[-3000:]
    assert_only_our_own_lines(result.stderr)
    return {question: completions for (_, question), completions in _samples(out).items()}


def _math500(paper_run) -> dict[str, list[dict]]:
    """The greedy MATH500 part of the paper-suite run with vLLM."""
    return {
        question: completions for (name, question), completions in _samples(paper_run[0]).items() if name == "math500"
    }


@pytest.mark.slow
def test_lm_eval_engine_gives_the_same_verdicts_as_vllm_with_greedy_decoding(
    paper_run, tiny_model, bench_data, tmp_path
):
    vllm = _math500(paper_run)
    lm_eval = _greedy_run(tiny_model, bench_data, tmp_path / "lm-eval", "--engine", "lm-eval")
    assert set(vllm) == set(lm_eval) and len(vllm) == 10
    assert any(c["correct"] for completions in vllm.values() for c in completions)
    for question, completions in vllm.items():
        assert [c["correct"] for c in completions] == [c["correct"] for c in lm_eval[question]]
        assert [c["text"] for c in completions] == [c["text"] for c in lm_eval[question]]  # same prompts, same engine
    results = json.loads((tmp_path / "lm-eval" / "results.json").read_text())
    assert results["engine"] == "lm-eval" and results["provenance"]["engine_settings"]["backend"] == "vllm"


@pytest.mark.slow
def test_hf_engine_matches_vllm_token_for_token_with_greedy_decoding(paper_run, tiny_model, bench_data, tmp_path):
    vllm = _math500(paper_run)
    hf = _greedy_run(tiny_model, bench_data, tmp_path / "hf", "--engine", "hf")
    assert {q: [c["text"] for c in cs] for q, cs in hf.items()} == {
        q: [c["text"] for c in cs] for q, cs in vllm.items()
    }
    assert {q: [c["finish_reason"] for c in cs] for q, cs in hf.items()} == {
        q: [c["finish_reason"] for c in cs] for q, cs in vllm.items()
    }


@pytest.mark.slow
def test_answer_policy_is_recorded_and_a_run_resumes_only_with_the_same_one(tiny_model, bench_data, tmp_path):
    out = tmp_path / "final"
    args = ("bench", tiny_model, "--suite", "math500", "--engine", "hf", "--limit", "2", "--data-dir", bench_data,
            "--out", out)  # fmt: skip
    result = run_limr(*args, "--answer-policy", "last-boxed-or-final", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    grader = json.loads(result.stdout)["provenance"]["grader"]
    assert grader == {"mode": "default", "answer_policy": "last-boxed-or-final", "timeout_s": 2.0}
    completions = [c for cs in _samples(out).values() for c in cs]
    assert len(completions) == 2 and all(c["via"] in ("boxed", "final_statement", None) for c in completions)
    assert all((c["via"] is None) == (c["extracted"] is None) for c in completions)
    other = run_limr(*args, "--answer-policy", "math-verify")
    assert other.returncode == 1 and "other settings (answer_policy)" in other.stderr
    assert len(_samples(out)) == 2  # the run's samples are untouched


def test_bad_input_is_one_clear_error(tiny_model, bench_data, tmp_path, run_cli):
    cases = [
        (["bench", tmp_path / "nowhere", "--data-dir", bench_data], "neither a checkpoint folder nor a Hub id"),
        (["bench", tiny_model, "--suite", "aime42", "--data-dir", bench_data], "Unknown suite or benchmark 'aime42'"),
        (["bench", tiny_model, "--data-dir", tmp_path / "empty"], "--data-dir must hold"),
    ]
    no_config = tmp_path / "ckpt"
    no_config.mkdir()
    cases.append((["bench", no_config, "--data-dir", bench_data], "has no config.json"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases.append(
        (["bench", tiny_model, "--suite", "math500", "--data-dir", bench_data, "--out", blocker / "run"], "Error:")
    )
    for args, message in cases:
        result = run_cli(*args, "--out", tmp_path / "out") if "--out" not in args else run_cli(*args)
        assert result.code == 1 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_model_without_chat_template_is_refused(tiny_model, bench_data, tmp_path, run_cli):
    import shutil

    plain = tmp_path / "plain"
    shutil.copytree(tiny_model, plain)
    config = json.loads((plain / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(config))
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    result = run_cli("bench", plain, "--suite", "math500", "--data-dir", bench_data, "--out", tmp_path / "out")
    assert result.code == 1 and "has no chat template" in result.stderr


# --- compare -------------------------------------------------------------------------------------


def _fake_run(folder: Path, scores: dict[str, dict[str, float]]) -> Path:
    """A results.json as bench writes it, for comparison tests (per-question scores given)."""
    from limr_kit.benchmarks.metrics import bootstrap_ci

    benchmarks = {}
    for name, per_question in scores.items():
        values = list(per_question.values())
        low, high = bootstrap_ci(values)
        benchmarks[name] = {
            "title": name.upper(),
            "accuracy": 100 * sum(values) / len(values),
            "ci95": [100 * low, 100 * high],
            "n_questions": len(values),
            "n_samples": 1,
            "decoding": {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_new_tokens": 64, "seed": 0},
            "per_question": per_question,
            "metric": "avg@1",
        }
    folder.mkdir(parents=True)
    accuracies = [item["accuracy"] for item in benchmarks.values()]
    results = {
        "schema": "limr-kit/bench-results@1",
        "suite": "limr-paper",
        "model": {"id": folder.name, "path": str(folder), "revision": None, "sha": "local-x"},
        "engine": "vllm",
        "benchmarks": benchmarks,
        "average": sum(accuracies) / len(accuracies),
        "provenance": {"seed": 0},
    }
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_compare_tables_reference_significance_and_plot(tmp_path, run_cli):
    base = _fake_run(
        tmp_path / "base",
        {"aime24": {str(i): float(i < 10) for i in range(30)}, "math500": {str(i): float(i % 2) for i in range(100)}},
    )
    better = _fake_run(
        tmp_path / "limr",
        {"aime24": {str(i): float(i < 11) for i in range(30)}, "math500": {str(i): 1.0 for i in range(100)}},
    )
    result = run_cli(
        "compare",
        base,
        better,
        "--reference",
        "paper",
        "--baseline",
        base,
        "--format",
        "json",
        "--plot",
        tmp_path / "cmp.png",
    )
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    names = [row["name"] for row in report["rows"]]
    assert names[:2] == ["base", "limr"] and "LIMR" in names
    limr_paper = next(row for row in report["rows"] if row["name"] == "LIMR")
    assert limr_paper["source"] == "reported" and limr_paper["accuracy"] == {
        "aime24": 32.5,
        "math500": 78.0,
        "amc23": 63.8,
    }
    paired = report["paired"]["limr"]
    assert paired["aime24"]["difference"] == pytest.approx(100 / 30) and paired["aime24"]["p_value"] > 0.05
    assert paired["math500"]["difference"] == pytest.approx(50.0) and paired["math500"]["p_value"] < 0.01
    assert (tmp_path / "cmp.png").read_bytes().startswith(b"\x89PNG")
    markdown = run_cli("compare", base, better, "--format", "markdown")
    assert "| run | AIME24 | MATH500 | AVG |" in markdown.stdout
    latex = run_cli("compare", base, "--format", "latex").stdout
    assert "\\begin{tabular}" in latex and "\\toprule" in latex
    csv_text = run_cli("compare", base, better, "--format", "csv").stdout
    assert csv_text.splitlines()[0] == "run,AIME24,MATH500,AVG"
    rich = run_cli("compare", base, better, "--reference", "paper")
    assert "reported, not measured" in rich.stdout


def test_compare_bad_input(tmp_path, run_cli):
    result = run_cli("compare", tmp_path)
    assert result.code == 1 and "results.json is missing" in result.stderr
    base = _fake_run(tmp_path / "base", {"aime24": {"1": 1.0}})
    result = run_cli("compare", base, "--reference", "paperz")
    assert result.code == 1 and "Unknown reference" in result.stderr


HUB_LOADER = r"""
import json, datasets
from huggingface_hub import HfApi
from limr_kit.benchmarks import load_benchmarks
from limr_kit.benchmarks.data import load_benchmark

rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i), "unique_id": f"test/{i}.json"} for i in range(4)]
datasets.Dataset.from_list(rows).push_to_hub("HuggingFaceH4/MATH-500", split="test")
olympiad = [{"id": i, "question": f"Q{i}", "final_answer": [f"${i}$", "7"], "modality": m, "language": "English"}
            for i, m in enumerate(["Text-only", "Multimodal", "Text-only"])]
datasets.Dataset.from_list(olympiad).push_to_hub("math-ai/olympiadbench", split="test")
sha = HfApi().dataset_info("HuggingFaceH4/MATH-500").sha
specs = load_benchmarks()
math500 = specs["math500"].model_copy(update={"hub": specs["math500"].hub.model_copy(update={"revision": sha})})
pinned = load_benchmark(math500)
unpinned = load_benchmark(specs["olympiadbench"])
print(json.dumps({"sha": sha, "pinned": [pinned.source, [[q.id, q.question, q.answer] for q in pinned.questions]],
                  "unpinned": [unpinned.source, [[q.id, q.question, q.answer] for q in unpinned.questions]]}))
"""


def test_benchmarks_load_from_a_hub_dataset_at_their_revision(tmp_path, run_cli):
    """The default data source: the real datasets client against limr-kit's local Hub server."""
    from limr_kit.hub import HubServer

    (tmp_path / "tokens").write_text("hf_testtokentesttokentesttoken00\n")
    with HubServer(tmp_path / "hub", port=0, token_file=tmp_path / "tokens") as hub:
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.url,
            "HF_TOKEN": "hf_testtokentesttokentesttoken00",
            "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        done = subprocess.run([sys.executable, "-c", HUB_LOADER], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        loaded = json.loads(done.stdout.strip().splitlines()[-1])
        source, questions = loaded["pinned"]
        assert source["kind"] == "hub" and source["resolved_sha"] == loaded["sha"] and source["pinned"]
        assert questions == [[f"test/{i}.json", f"What is {i} + {i}?", str(2 * i)] for i in range(4)]
        source, questions = loaded["unpinned"]
        assert not source["pinned"] and len(source["resolved_sha"]) == 40
        assert questions == [["0", "Q0", "0, 7"], ["2", "Q2", "2, 7"]]  # text-only rows; answers joined, $ stripped

        missing = subprocess.run(
            [sys.executable, "-m", "limr_kit", "bench", str(tmp_path), "--suite", "aime24", "--out", tmp_path / "r"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert missing.returncode == 1 and "HuggingFaceH4/aime_2024" in missing.stderr and "Error:" in missing.stderr
