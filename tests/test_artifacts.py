"""limr-kit's own artifacts: each round-trips through its type; a bad, old or foreign file is one clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from limr_kit.errors import InputError
from limr_kit.lim import ScoreSummary, load_trajectories, score_trajectories, write_score_outputs


def _score_run(tmp_path: Path) -> tuple[Path, ScoreSummary]:
    trajectories = tmp_path / "acc.json"
    trajectories.write_text(json.dumps({"a": [0.0, 0.5, 1.0], "b": [0.5, 0.5, 0.5], "c": [0.0, 0.0, 1.0]}))
    out = tmp_path / "scores"
    return out, write_score_outputs(score_trajectories(load_trajectories(trajectories), "lim"), out)


def _bad_files(good: dict) -> list[tuple[str, str]]:
    """(content, expected message) for files a reader must refuse."""
    old = {key: value for key, value in good.items() if key != "schema"}
    return [
        ("{not json", "is not valid JSON"),
        (json.dumps([1, 2]), "no schema id"),
        (json.dumps(old), "no schema id: an older limr-kit"),
        (json.dumps({**good, "schema": good["schema"].replace("@1", "@0")}), "of this version (schema"),
        (json.dumps({**good, "surprise": 1}), "surprise: Extra inputs are not permitted"),
    ]


def test_score_summary_round_trips_and_is_what_the_run_wrote(tmp_path):
    out, summary = _score_run(tmp_path)
    on_disk = json.loads((out / "summary.json").read_text())
    assert next(iter(on_disk)) == "schema" and on_disk["schema"] == "limr-kit/score-summary@1"
    assert on_disk == summary.to_dict()
    assert ScoreSummary.load(out / "summary.json") == summary
    assert ScoreSummary.beside(out / "scores.jsonl") == summary
    assert ScoreSummary.beside(tmp_path / "acc.json") is None  # not a score run's scores.jsonl
    copy = summary.save(tmp_path / "copy.json")
    assert ScoreSummary.load(copy) == summary and summary.counts["in"] == 3 and summary.method == "lim"


def test_bad_or_old_score_summary_is_one_clear_error(tmp_path, run_cli):
    out, summary = _score_run(tmp_path)
    good = summary.to_dict()
    with pytest.raises(InputError, match="does not exist; expected a limr-kit score summary"):
        ScoreSummary.load(tmp_path / "missing.json")
    for content, message in _bad_files(good):
        (out / "summary.json").write_text(content)
        with pytest.raises(InputError, match=re.escape(message)) as caught:
            ScoreSummary.load(out / "summary.json")
        assert str(caught.value).endswith("Run limr-kit score again.")
    # curate reads the summary beside scores.jsonl through the type: an old one stops it with that error
    (out / "summary.json").write_text(json.dumps({k: v for k, v in good.items() if k != "schema"}))
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"id": key, "q": key}) + "\n" for key in "abc"))
    result = run_cli(
        "curate", out / "scores.jsonl", "--dataset", tmp_path / "data.jsonl", "--key", "id", "--out", tmp_path / "set"
    )
    assert result.code == 1 and "Error:" in result.stderr and "Run limr-kit score again." in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "set").exists()


def _curated(tmp_path: Path):
    from limr_kit.curate import curate

    out, _ = _score_run(tmp_path)
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"id": key, "q": key}) + "\n" for key in "abc"))
    return curate(out / "scores.jsonl", tmp_path / "data.jsonl", "id", tmp_path / "set", top_k=2)


def test_curation_manifest_round_trips_and_carries_the_score_run(tmp_path):
    from limr_kit.curate import CurationManifest

    result = _curated(tmp_path)
    on_disk = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert next(iter(on_disk)) == "schema" and on_disk == result.manifest.to_dict()
    assert CurationManifest.in_folder(tmp_path / "set") == result.manifest
    assert result.manifest.selection == {"rule": "top_k", "top_k": 2} and result.n_selected == 2
    assert result.manifest.scoring["method"] == "lim" and result.manifest.key == "id"
    assert "decontamination" not in on_disk  # optional parts are written only when there is something to say
    assert result.manifest.outputs["train.parquet"]["rows"] == 2


def test_publish_refuses_a_bad_or_old_manifest_with_one_clear_error(tmp_path):
    from limr_kit.release.dataset import plan_dataset

    result = _curated(tmp_path)
    manifest = tmp_path / "set" / "manifest.json"
    assert plan_dataset(tmp_path / "set", "org/limr-set").repo_id == "org/limr-set"  # the good one plans
    for content, message in _bad_files(result.manifest.to_dict()):
        manifest.write_text(content)
        with pytest.raises(InputError, match=re.escape(message)) as caught:
            plan_dataset(tmp_path / "set", "org/limr-set")
        assert str(caught.value).endswith("Run curate again.")


def _record(benchmark: str, question: str, verdicts: list[bool]) -> dict:
    """One graded question as samples.jsonl holds it (no completion: its prompt did not fit)."""
    sample = {"text": "…", "finish_reason": "stop", "tokens": 9, "extracted": "1", "via": "boxed", "reason": "ok"}
    return {
        "benchmark": benchmark,
        "id": question,
        "prompt": "p" if verdicts else None,
        "gold": "1",
        "max_new_tokens": 64 if verdicts else None,
        "clamped": False,
        "completions": [{**sample, "correct": verdict} for verdict in verdicts],
    }


def _bench_results(suite: str = "limr-paper", seed: int = 0, polymath: dict | None = None):
    """What bench builds from graded samples: two benchmarks of ``suite`` and one nothing was answered on."""
    from limr_kit.benchmarks.config import resolve_suite
    from limr_kit.benchmarks.data import BenchmarkData, Question
    from limr_kit.benchmarks.models import ResolvedModel
    from limr_kit.benchmarks.results import build_results, summarise
    from limr_kit.benchmarks.run import BenchOptions

    _, specs = resolve_suite(suite)
    entries = {}
    for index, spec in enumerate(specs[:3]):
        questions = tuple(Question(str(q), f"{q} + 1?", str(q + 1)) for q in range(4 if index < 2 else 0))
        data = BenchmarkData(questions, {"kind": "local", "path": "q.jsonl", "n_questions_available": 6})
        verdicts = [[(q + k + seed) % 3 == 0 for k in range(spec.decoding.n)] for q in range(3)] + [[]]
        records = [_record(spec.name, q.id, v) for q, v in zip(questions, verdicts, strict=False)]
        entries[spec.name] = summarise(spec, data, records, seed, polymath is not None)
    model = ResolvedModel("org/tiny", Path("/models/tiny"), None, "local-ab12")
    return build_results(model, BenchOptions(suite=suite, seed=seed), entries, {"seed": 0}, True, polymath)


def test_bench_results_round_trip_and_keep_the_file_format(tmp_path):
    from limr_kit.benchmarks.results import BenchResults

    results = _bench_results()
    path = results.save(tmp_path / "results.json")
    on_disk = json.loads(path.read_text())
    assert on_disk == results.to_dict() and BenchResults.load(path) == results == BenchResults.of_run(tmp_path)
    assert list(on_disk) == ["schema", "status", "suite", "model", "engine", "benchmarks", "average", "provenance"]
    assert on_disk["schema"] == "limr-kit/bench-results@1" and results.complete
    assert list(on_disk["benchmarks"]["aime24"]) == [
        *("title", "hub_dataset", "split", "metric", "accuracy", "ci95", "pass_at_k", "maj_at_k", "n_questions"),
        *("n_samples", "decoding", "system_prompt", "data", "context", "finish_reasons", "grading_reasons"),
        "per_question",
    ]
    aime, math500, amc = results.benchmarks.values()
    assert (aime.n_questions, aime.n_available, aime.partial, aime.decoding.n) == (4, 6, True, 4)
    assert aime.per_question["3"] == 0.0 and on_disk["benchmarks"]["aime24"]["context"]["prompt_too_long"] == 1
    assert "maj_at_k" not in on_disk["benchmarks"]["math500"]  # one sample: optional parts only where given
    assert amc.accuracy is None and amc.ci95 == (None, None)  # nothing answered: NaN is written as null
    assert results.model.path == "/models/tiny" and results.provenance["engine_settings"] == {"seed": 0}


def test_bench_results_over_seeds_and_of_a_polymath_suite_round_trip(tmp_path):
    from limr_kit.benchmarks.results import BenchResults
    from limr_kit.benchmarks.seeds import aggregate_seeds

    plan = [(0, ("aime24", "math500")), (1, ("aime24",))]
    for seed, _ in plan:
        (tmp_path / f"seed-{seed}").mkdir()
        _bench_results(seed=seed).save(tmp_path / f"seed-{seed}" / "results.json")
    over_seeds = aggregate_seeds(tmp_path, plan)
    assert BenchResults.of_run(tmp_path) == over_seeds and over_seeds.seeds == {"aime24": [0, 1], "math500": [0]}
    assert over_seeds.benchmarks["aime24"].seeds.n == 2 and over_seeds.benchmarks["aime24"].decoding.seed is None
    assert "seed" not in over_seeds.to_dict()["benchmarks"]["aime24"]["decoding"]

    info = {"overlap": {}, "dedupe_across": {"enabled": False, "dropped": {}}, "full": False}
    polymath = _bench_results("polymath-8", polymath=info)
    assert BenchResults.load(polymath.save(tmp_path / "polymath.json")) == polymath
    assert polymath.benchmarks["math500"].subjects and polymath.polymath["dedupe_across"]["enabled"] is False


def test_bad_old_or_truncated_bench_results_are_one_clear_error(tmp_path):
    from limr_kit.benchmarks.compare import compare_runs
    from limr_kit.benchmarks.results import BenchResults
    from limr_kit.release.model import plan_model

    good = _bench_results().to_dict()
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    (checkpoint / "model.safetensors").write_bytes(b"")
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(InputError, match="is not a limr-kit bench run: .*results.json is missing"):
        BenchResults.of_run(run)
    with pytest.raises(InputError, match="does not exist; expected a limr-kit bench results file"):
        BenchResults.of_run(run / "results.json")
    wrong = {**good, "benchmarks": {"aime24": {**good["benchmarks"]["aime24"], "accuracy": 140.0}}}
    bad = [
        *_bad_files(good),
        (json.dumps(good)[:500], "is not valid JSON"),
        (json.dumps(wrong), "benchmarks.aime24.accuracy: Input should be less than or equal to 100"),
        (json.dumps({**good, "status": "stopped"}), "status: Input should be 'complete' or 'partial'"),
    ]
    for content, message in bad:
        (run / "results.json").write_text(content)
        for read in (
            lambda: BenchResults.of_run(run),
            lambda: compare_runs([run]),
            lambda: plan_model(checkpoint, "org/x", results=(run,), allow_partial=True),
        ):
            with pytest.raises(InputError, match=re.escape(message)) as caught:
                read()
            assert str(caught.value).endswith("Run limr-kit bench again (its --out folder holds results.json).")
