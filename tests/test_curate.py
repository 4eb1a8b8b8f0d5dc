"""Curating the training set, and the checks on the released LIMR and One-Shot RLVR data."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from limr_kit.curate import curate
from limr_kit.datasets_io import read_table


def _dataset(tmp_path, rows):
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(rows))
    return path


def test_curate_keeps_rows_passing_threshold_in_dataset_order(tmp_path, run_cli):
    rows = [{"prompt": f"p{i}", "answer": str(i)} for i in range(6)] + [{"prompt": "p2", "answer": "dup"}]
    dataset = _dataset(tmp_path, rows)
    scores = tmp_path / "scores.json"
    scores.write_text(
        json.dumps([{"prompt": f"p{i}", "score": s} for i, s in [(5, 0.9), (2, 0.6), (1, 0.59), (9, 1.0)]])
    )
    result = run_cli("curate", scores, "--dataset", dataset, "--key", "prompt", "--out", tmp_path / "out", "--json")
    assert result.code == 0, result.stderr
    manifest = json.loads(result.stdout)
    counts = manifest["counts"]
    assert counts["selected"] == 2 and counts["dataset_duplicate_keys"] == 1 and counts["scores_unmatched"] == 1
    table = pq.read_table(tmp_path / "out" / "train.parquet")
    assert table.column("prompt").to_pylist() == ["p2", "p5"]  # dataset order, first duplicate kept
    assert table.column("answer").to_pylist() == ["2", "5"]
    assert table.column("selection_score").to_pylist() == [0.6, 0.9]
    lines = (tmp_path / "out" / "train.jsonl").read_text().splitlines()
    assert [json.loads(line)["prompt"] for line in lines] == ["p2", "p5"]
    from limr_kit._io import sha256_file

    assert manifest["outputs"]["train.parquet"]["sha256"] == sha256_file(tmp_path / "out" / "train.parquet")
    assert manifest["inputs"]["scores"]["sha256"] == sha256_file(scores)
    assert (tmp_path / "out" / "score_hist.png").read_bytes().startswith(b"\x89PNG")

    strict = curate(scores, dataset, "prompt", tmp_path / "strict", threshold=0.6, strict=True)
    assert strict.n_selected == 1
    assert curate(scores, dataset, "prompt", tmp_path / "top", top_k=3).n_selected == 3
    assert pq.read_table(tmp_path / "top" / "train.parquet").column("prompt").to_pylist() == ["p1", "p2", "p5"]


def test_curate_uses_limr_kit_scores_and_their_selection(tmp_path, run_cli):
    trajectories = tmp_path / "acc.json"
    trajectories.write_text(json.dumps({str(i): [0.0, 0.5 * (i % 3), 1.0 - 0.1 * i] for i in range(8)}))
    assert run_cli("score", trajectories, "--method", "variance", "--top-k", 3, "--out", tmp_path / "run").code == 0
    dataset = tmp_path / "data.jsonl"
    dataset.write_text("".join(json.dumps({"id": i, "q": f"question {i}"}) + "\n" for i in range(8)))
    result = curate(tmp_path / "run" / "scores.jsonl", dataset, "id", tmp_path / "cur")
    assert result.n_selected == 3  # the score run's own top-3 (integer ids match the string sample ids)
    assert result.manifest.selection == {"rule": "selected_flag"}
    assert result.manifest.scoring["method"] == "variance"


def test_curate_bad_input(tmp_path, run_cli):
    dataset = _dataset(tmp_path, [{"prompt": "a"}])
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps([{"prompt": "zzz", "score": 1.0}]))
    result = run_cli("curate", scores, "--dataset", dataset, "--key", "prompt", "--out", tmp_path / "o")
    assert result.code == 1 and "Check --key" in result.stderr
    result = run_cli("curate", scores, "--dataset", dataset, "--key", "question", "--out", tmp_path / "o")
    assert result.code == 1 and "score rows need 'question' (or 'sample_id')" in result.stderr
    by_id = tmp_path / "by_id.jsonl"
    by_id.write_text('{"sample_id": "a", "score": 1.0}\n')
    result = run_cli("curate", by_id, "--dataset", dataset, "--key", "question", "--out", tmp_path / "o")
    assert result.code == 1 and "no column 'question'" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('[{"prompt": "a", "score": 1.0}, {"prompt"')
    result = run_cli("curate", broken, "--dataset", dataset, "--key", "prompt", "--out", tmp_path / "o")
    assert result.code == 1 and f"{broken}:1: malformed JSON" in result.stderr
    assert not (tmp_path / "o").exists()


def test_saved_dataset_folder_is_read_with_its_split(tmp_path):
    import datasets

    data = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([{"context": "a", "n": 1}, {"context": "b", "n": 2}]),
            "test": datasets.Dataset.from_list([{"context": "c", "n": 3}]),
        }
    )
    data.save_to_disk(str(tmp_path / "saved"))
    assert read_table(tmp_path / "saved").column("context").to_pylist() == ["a", "b"]
    assert read_table(tmp_path / "saved", split="test").num_rows == 1


# --- the released data -------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("strict, expected", [(False, 1389), (True, 1324)])
def test_released_scores_reproduce_the_limr_training_set(tmp_path, run_cli, shared_data, strict, expected):
    limr = shared_data / "limr"
    args = ["curate", limr / "scores.json", "--dataset", limr / "prompts" / "math.8k.json", "--key", "prompt"]
    args += ["--threshold", "0.6", "--out", tmp_path / "limr"] + (["--strict"] if strict else [])
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    curated = pq.read_table(tmp_path / "limr" / "train.parquet")
    assert curated.num_rows == expected
    if not strict:
        released = read_table(limr / "train" / "limr").column("context").to_pylist()
        assert len(released) == 1389
        assert set(curated.column("prompt").to_pylist()) == set(released)


@pytest.mark.shared
def test_variance_ranking_matches_released_one_shot_pi_files(tmp_path, run_cli, shared_data):
    result = run_cli(
        "score",
        shared_data / "oneshot" / "acc_step_500.json",
        "--method",
        "variance",
        "--top-k",
        1209,
        "--out",
        tmp_path / "pi",
    )
    assert result.code == 0, result.stderr
    ranks = {}
    for line in (tmp_path / "pi" / "scores.jsonl").read_text().splitlines():
        row = json.loads(line)
        ranks[row["sample_id"]] = row["rank"]
    assert (ranks["124"], ranks["267"], ranks["682"], ranks["789"]) == (1, 2, 13, 1209)
    pi1 = pq.read_table(shared_data / "oneshot" / "train" / "one_shot_rlvr" / "pi1_r128.parquet")
    assert {row["index"] for row in pi1.column("extra_info").to_pylist()} == {124}
