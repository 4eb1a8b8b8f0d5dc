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
