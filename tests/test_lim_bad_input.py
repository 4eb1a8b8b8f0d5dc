"""Bad trajectory input: one clear error naming file and line, exit 1, nothing written."""

from __future__ import annotations

import json

import pytest

from limr_kit.errors import BadRowError
from limr_kit.lim import ReadOptions, load_trajectories


GOOD = '{"sample_id": "a", "epoch": 1, "reward": 1.0}\n{"sample_id": "b", "epoch": 1, "reward": -0.5}\n'
EPOCH2 = '{"sample_id": "a", "epoch": 2, "reward": 1.0}\n{"sample_id": "b", "epoch": 2, "reward": 1.0}\n'

BAD_LINES = {
    "malformed": ('{"sample_id": "c", "epoch": 1, "reward": 1.0\n', "malformed JSON"),
    "nan": ('{"sample_id": "c", "epoch": 1, "reward": NaN}\n', "not a finite number"),
    "text": ('{"sample_id": "c", "epoch": 1, "reward": "high"}\n', "not a finite number"),
    "no_id": ('{"epoch": 1, "reward": 1.0}\n', "missing 'sample_id'"),
    "negative_epoch": ('{"sample_id": "c", "epoch": -2, "reward": 1.0}\n', "negative epoch -2"),
    "fractional_epoch": ('{"sample_id": "c", "epoch": 1.5, "reward": 1.0}\n', "not a whole number"),
    "array": ("[1, 2, 3]\n", "expected a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_row_names_file_and_line_and_writes_nothing(tmp_path, run_cli, case):
    line, message = BAD_LINES[case]
    log = tmp_path / "log.jsonl"
    log.write_text(GOOD + line + EPOCH2)
    out = tmp_path / "out"
    result = run_cli("score", log, "--out", out)
    assert result.code == 1
    assert f"{log}:3: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("Error:") == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [log]  # no staging folder left behind


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_skip_mode_skips_and_counts_bad_rows(tmp_path, case):
    log = tmp_path / "log.jsonl"
    log.write_text(GOOD + BAD_LINES[case][0] + EPOCH2)
    loaded = load_trajectories(log, ReadOptions(on_bad_row="skip"))
    assert loaded.report.rows_skipped == 1
    assert loaded.sample_ids == ("a", "b")
    assert loaded.matrix.tolist() == [[1.0, 1.0], [0.0, 1.0]]


def test_boolean_rewards_count_as_one_and_zero(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"sample_id": "a", "epoch": 1, "reward": true}\n{"sample_id": "a", "epoch": 1, "reward": false}\n')
    assert load_trajectories(log).matrix.tolist() == [[0.5]]


def test_bad_row_in_second_shard_names_that_shard(tmp_path):
    shards = tmp_path / "logs"
    shards.mkdir()
    (shards / "rank0.jsonl").write_text(GOOD)
    (shards / "rank1.jsonl").write_text(EPOCH2 + '{"sample_id": "a", "epoch": 3, "reward": "x"}\n')
    with pytest.raises(BadRowError) as caught:
        load_trajectories(shards)
    assert caught.value.path == str(shards / "rank1.jsonl") and caught.value.line == 3


def test_csv_bad_row_is_located(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("sample_id,epoch,reward\na,1,1\nb,1,oops\na,2,1\n")
    with pytest.raises(BadRowError) as caught:
        load_trajectories(log)
    assert caught.value.line == 3 and "oops" in str(caught.value)
    short = tmp_path / "short.csv"
    short.write_text("sample_id,epoch,reward\na,1,1\nb,1\na,2,1\n")
    with pytest.raises(BadRowError, match="wrong number of columns"):
        load_trajectories(short)
    assert load_trajectories(short, ReadOptions(on_bad_row="skip")).report.rows_skipped == 1


def test_torn_last_line_is_tolerated_and_counted(tmp_path):
    log = tmp_path / "rewards.rank0.jsonl"
    log.write_text(GOOD + EPOCH2 + '{"sample_id": "a", "epo')
    loaded = load_trajectories(log)
    assert loaded.report.torn_lines == 1 and loaded.report.rows_skipped == 0
    assert loaded.matrix.shape == (2, 2)


def test_torn_line_in_the_middle_is_an_error(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(GOOD + '{"sample_id": "a", "epo\n' + EPOCH2)
    with pytest.raises(BadRowError, match=r"log.jsonl:3: malformed JSON"):
        load_trajectories(log)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.jsonl", b"", "the file is empty"),
        ("blank.jsonl", b"\n \n", "the file is empty"),
        ("binary.jsonl", b"\x7fELF\x02\x01\x01\x00\x00\x00garbage", "binary content"),
        ("fake.parquet", b"not parquet at all", "not a parquet file"),
        ("notjson.jsonl", b"hello world\n", "not JSON"),
    ],
)
def test_empty_binary_and_non_json_files(tmp_path, run_cli, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = run_cli("score", path, "--out", tmp_path / "out")
    assert result.code == 1 and message in result.stderr and str(path) in result.stderr
    assert not (tmp_path / "out").exists()


def test_empty_shard_among_good_ones_is_skipped(tmp_path):
    shards = tmp_path / "logs"
    shards.mkdir()
    (shards / "rank0.jsonl").write_text(GOOD + EPOCH2)
    (shards / "rank1.jsonl").write_text("")
    loaded = load_trajectories(shards)
    assert loaded.report.empty_shards == (str(shards / "rank1.jsonl"),)


def test_missing_path_missing_columns_and_mixed_formats(tmp_path, run_cli):
    result = run_cli("score", tmp_path / "nope.jsonl", "--out", tmp_path / "out")
    assert result.code == 1 and "does not exist" in result.stderr
    log = tmp_path / "log.jsonl"
    log.write_text('{"id": "a", "epoch": 1, "score": 1}\n')
    result = run_cli("score", log, "--out", tmp_path / "out")
    assert result.code == 1 and "'sample_id'" in result.stderr and "--id-field" in result.stderr
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.jsonl").write_text(GOOD)
    (mixed / "b.csv").write_text("sample_id,epoch,reward\na,1,1\n")
    result = run_cli("score", mixed, "--out", tmp_path / "out")
    assert result.code == 1 and "mix formats" in result.stderr


def test_wide_bad_values_name_the_sample(tmp_path):
    path = tmp_path / "acc.json"
    path.write_text(json.dumps({"1": [0.5, 1.0], "2": [0.5, "x"]}))
    with pytest.raises(BadRowError, match="trajectory value 2"):
        load_trajectories(path)
    assert load_trajectories(path, ReadOptions(on_bad_row="skip")).sample_ids == ("1",)
    truncated = tmp_path / "cut.json"
    truncated.write_text('{"1": [0.5, 1.0], "2": [0.5')
    with pytest.raises(BadRowError, match="malformed JSON"):
        load_trajectories(truncated)


def test_usage_errors_exit_2(tmp_path, run_cli):
    log = tmp_path / "log.jsonl"
    log.write_text(GOOD)
    result = run_cli("score", log, "--out", tmp_path / "o", "--method", "nope")
    assert result.code == 2
    result = run_cli("score", log)
    assert result.code == 2 and "--out" in result.stderr


def test_non_writable_output_is_a_clear_error(tmp_path, run_cli):
    log = tmp_path / "log.jsonl"
    log.write_text(GOOD + EPOCH2.replace('"b", "epoch": 2, "reward": 1.0', '"b", "epoch": 2, "reward": -1'))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("score", log, "--out", blocker / "out")
    assert result.code == 1 and "Error:" in result.stderr and "Traceback" not in result.stderr
