"""LIM and the baseline selectors: algorithm, input layouts, outputs."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from limr_kit.errors import InputError, ScoringError, UnknownNameError
from limr_kit.lim import ReadOptions, load_trajectories, score_trajectories, write_score_outputs


def write_long(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def rollouts(sample_id: str, epoch: int, n_pass: int, n: int = 4, **extra) -> list[dict]:
    """``n`` rollout rewards of one sample in one epoch, ``n_pass`` of them correct."""
    rewards = [1.0] * n_pass + [-0.5] * (n - n_pass)
    return [{"sample_id": sample_id, "epoch": epoch, "reward": reward, **extra} for reward in rewards]


def reference_lim(per_epoch: dict[str, list[float]], threshold: float) -> dict[str, float]:
    """Independent port of the released lim_selection.py steps (-1 marks a missing epoch)."""
    accuracies = {key: list(values) for key, values in per_epoch.items()}
    for values in accuracies.values():
        for j in range(len(values) - 1):
            if values[j] == -1 and values[j + 1] != -1:
                values[j] = values[j + 1]
    kept = {key: values for key, values in accuracies.items() if -1 not in values}
    epochs = len(next(iter(kept.values())))
    average = [sum(values[k] for values in kept.values()) / len(kept) for k in range(epochs)]
    denominator = sum((1 - a) ** 2 for a in average)
    return {
        key: 1 - sum((values[k] - average[k]) ** 2 for k in range(epochs)) / denominator
        for key, values in kept.items()
    }


# --- the LIM algorithm -------------------------------------------------------------------------


def test_lim_matches_reference_algorithm_with_gaps(tmp_path):
    rng = random.Random(7)
    rows, per_epoch = [], {}
    for sample in range(60):
        sample_id = f"s{sample}"
        per_epoch[sample_id] = []
        for epoch in range(1, 9):
            if rng.random() < 0.12:  # this sample misses this epoch (drop_last)
                per_epoch[sample_id].append(-1)
                continue
            n_pass = rng.randint(0, 8)
            per_epoch[sample_id].append(n_pass / 8)
            rows += rollouts(sample_id, epoch, n_pass, n=8)
    rng.shuffle(rows)  # shards interleave rollouts
    trajectories = load_trajectories(write_long(tmp_path / "log.jsonl", rows))
    result = score_trajectories(trajectories, "lim")

    expected = reference_lim(per_epoch, 0.6)
    got = {sid: s for sid, s in zip(result.sample_ids, result.scores, strict=True) if not math.isnan(s)}
    assert set(got) == set(expected)
    for sample_id, score in expected.items():
        assert got[sample_id] == pytest.approx(score, abs=1e-12)
    assert set(result.dropped) == set(per_epoch) - set(expected)
    assert all(result.selected[i] == (got.get(s, -9) >= 0.6) for i, s in enumerate(result.sample_ids))


def test_gap_rules_fill_isolated_gap_and_drop_the_rest(tmp_path):
    rows = []
    full = {"a": [1, 2, 3, 4], "b": [2, 2, 3, 4]}
    for sample_id, passes in full.items():
        for epoch, n_pass in enumerate(passes, start=1):
            rows += rollouts(sample_id, epoch, n_pass)
    rows += rollouts("gap_middle", 1, 1) + rollouts("gap_middle", 3, 3) + rollouts("gap_middle", 4, 4)
    rows += rollouts("gap_first", 2, 2) + rollouts("gap_first", 3, 3) + rollouts("gap_first", 4, 4)
    rows += rollouts("gap_last", 1, 1) + rollouts("gap_last", 2, 2) + rollouts("gap_last", 3, 3)
    rows += rollouts("gap_double", 1, 1) + rollouts("gap_double", 4, 4)
    result = score_trajectories(load_trajectories(write_long(tmp_path / "log.jsonl", rows)), "lim")
    assert result.dropped == {"gap_last": "missing_last_epoch", "gap_double": "consecutive_missing_epochs"}
    curves = dict(zip(result.sample_ids, result.curves.tolist(), strict=True))
    assert curves["gap_middle"] == [0.25, 0.75, 0.75, 1.0]  # epoch 2 took epoch 3's value
    assert curves["gap_first"] == [0.5, 0.5, 0.75, 1.0]
    kept = np.array([curves[s] for s in ("a", "b", "gap_middle", "gap_first")])
    assert result.reference_curve.tolist() == pytest.approx(kept.mean(axis=0).tolist())
    by_id = dict(zip(result.sample_ids, result.n_epochs.tolist(), strict=True))
    assert by_id["gap_middle"] == 3 and by_id["a"] == 4


def test_threshold_is_inclusive_and_strict_excludes_equal_scores(tmp_path):
    rows = []
    for sample_id, passes in {"x": [0, 2, 4], "y": [0, 4, 4], "z": [4, 4, 4], "w": [0, 0, 0]}.items():
        for epoch, n_pass in enumerate(passes, start=1):
            rows += rollouts(sample_id, epoch, n_pass)
    trajectories = load_trajectories(write_long(tmp_path / "log.jsonl", rows))
    probe = score_trajectories(trajectories, "lim")
    boundary = float(probe.scores[probe.sample_ids.index("y")])
    inclusive = score_trajectories(trajectories, "lim", threshold=boundary)
    strict = score_trajectories(trajectories, "lim", threshold=boundary, strict=True)
    y = inclusive.sample_ids.index("y")
    assert inclusive.selected[y] and not strict.selected[y]
    assert inclusive.n_selected == strict.n_selected + int(np.sum(inclusive.scores == boundary))


def test_zero_denominator_is_a_clear_error(tmp_path):
    rows = rollouts("a", 1, 4) + rollouts("a", 2, 4) + rollouts("b", 1, 4) + rollouts("b", 2, 4)
    trajectories = load_trajectories(write_long(tmp_path / "log.jsonl", rows))
    with pytest.raises(ScoringError, match="mean reward curve is 1 at every epoch"):
        score_trajectories(trajectories, "lim")


def test_aggregate_mean_uses_mean_reward_not_pass_rate(tmp_path):
    rows = [
        {"sample_id": "a", "epoch": 0, "reward": 1.0},
        {"sample_id": "a", "epoch": 0, "reward": -1.0},
        {"sample_id": "a", "epoch": 1, "reward": -0.5},
        {"sample_id": "a", "epoch": 1, "reward": -0.5},
    ]
    path = write_long(tmp_path / "log.jsonl", rows)
    assert load_trajectories(path).matrix.tolist() == [[0.5, 0.0]]
    assert load_trajectories(path, ReadOptions(aggregate="mean")).matrix.tolist() == [[0.0, -0.5]]


# --- input layouts -----------------------------------------------------------------------------


def _long_rows(seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for sample in range(12):
        for epoch in range(5):
            rows += rollouts(f"id{sample}", epoch, rng.randint(0, 4))
    return rows


def test_every_long_format_gives_the_same_trajectories(tmp_path):
    rows = _long_rows()
    jsonl = write_long(tmp_path / "log.jsonl", rows)
    array = tmp_path / "log.json"
    array.write_text(json.dumps(rows))
    csv_path = tmp_path / "log.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["sample_id", "epoch", "reward"])
        writer.writeheader()
        writer.writerows(rows)
    parquet = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    shards = tmp_path / "shards"
    shards.mkdir()
    write_long(shards / "rewards.rank0.jsonl", rows[::2])
    write_long(shards / "rewards.rank1.jsonl", rows[1::2])

    expected = load_trajectories(jsonl)
    assert expected.matrix.shape == (12, 5)
    assert expected.sample_ids[:3] == ("id0", "id1", "id2")  # order of first appearance
    for source in (array, csv_path, parquet, shards, str(shards / "*.jsonl")):
        got = load_trajectories(source)
        assert got.sample_ids == expected.sample_ids, source
        np.testing.assert_array_equal(got.matrix, expected.matrix)
    assert load_trajectories(parquet).report.file_format == "parquet"


def test_step_only_rows_use_kth_distinct_step_or_steps_per_epoch(tmp_path):
    rows = []
    for step, n_pass in ((1, 1), (2, 2), (5, 3)):
        rows += [{"sample_id": "a", "step": step, "reward": r} for r in [1.0] * n_pass + [-1.0] * (4 - n_pass)]
    path = write_long(tmp_path / "log.jsonl", rows)
    assert load_trajectories(path).matrix.tolist() == [[0.25, 0.5, 0.75]]
    by_steps = load_trajectories(path, ReadOptions(steps_per_epoch=2))  # steps 1-2 | 3-4 | 5-6
    np.testing.assert_array_equal(by_steps.matrix, [[0.375, np.nan, 0.75]])


def test_samples_per_prompt_groups_consecutive_rows(tmp_path):
    rows = [{"sample_id": "a", "reward": r} for r in (1, 1, -1, -1, 1, 1, 1, -0.5)]
    rows.insert(3, {"sample_id": "b", "reward": 1})
    path = write_long(tmp_path / "log.jsonl", rows)
    with pytest.raises(InputError, match="--samples-per-prompt"):
        load_trajectories(path)
    loaded = load_trajectories(path, ReadOptions(samples_per_prompt=4))
    assert loaded.sample_ids == ("a", "b")
    assert loaded.matrix[0].tolist() == [0.5, 0.75]
    assert loaded.report.time_source == "samples-per-prompt"


def test_samples_per_prompt_orders_rollouts_by_clock_across_shards(tmp_path):
    """OpenRLHF logs carry no epoch; an episode's rollouts of a sample may land in another engine's shard."""
    shards = tmp_path / "rewards"
    shards.mkdir()
    episode = {1: [1, -1], 2: [1, 1], 3: [-1, -1]}  # pass rates 0.5, 1.0, 0.0
    rows = {0: [], 1: []}
    for number, rewards in episode.items():
        shard = 0 if number != 2 else 1  # episode 2 ran on the second engine
        rows[shard] += [{"sample_id": "a", "reward": r, "time": 100.0 * number + i} for i, r in enumerate(rewards)]
    for shard, shard_rows in rows.items():
        write_long(shards / f"rewards.{shard}.jsonl", shard_rows)
    loaded = load_trajectories(shards, ReadOptions(samples_per_prompt=2))
    assert loaded.matrix.tolist() == [[0.5, 1.0, 0.0]]


def test_limr_step_dumps_keyed_by_prompt(tmp_path):
    """LIMR's own rollout dumps: train/step_N.json lists of {prompt, response, reward, response_length}."""
    dumps = tmp_path / "train"
    dumps.mkdir()
    for step in range(1, 5):  # 2 steps per epoch; each epoch sees each prompt once
        prompts = ["p1", "p2"] if step % 2 else ["p3"]
        records = [
            {"prompt": p, "response": "r", "reward": 1.0 if (step + i) % 3 else -0.5, "response_length": 9.0}
            for p in prompts
            for i in range(4)
        ]
        (dumps / f"step_{step}.json").write_text(json.dumps(records))
    loaded = load_trajectories(dumps, ReadOptions(id_field="prompt", steps_per_epoch=2))
    assert loaded.report.time_source == "step-file"
    assert loaded.sample_ids == ("p1", "p2", "p3")
    assert loaded.matrix.shape == (3, 2)
    assert not np.isnan(loaded.matrix).any()


def test_wide_dict_and_rows_and_ragged_alignment(tmp_path):
    histories = {"7": [0.0, 0.5, 1.0, 1.0], "3": [0.5, 0.5, 0.5], "9": [1.0, 0.0, 1.0, 0.0]}
    wide = tmp_path / "acc.json"
    wide.write_text(json.dumps(histories))
    rows = tmp_path / "acc.jsonl"
    rows.write_text("".join(json.dumps({"sample_id": k, "trajectory": v}) + "\n" for k, v in histories.items()))
    for source in (wide, rows):
        loaded = load_trajectories(source)
        assert loaded.sample_ids == ("7", "3", "9") and loaded.report.layout == "wide"
        assert loaded.observed.tolist() == [4, 3, 4]

    loaded = load_trajectories(wide)
    truncated = score_trajectories(loaded, "lim", align="truncate")
    assert truncated.curves.shape == (3, 3) and not truncated.dropped
    dropped = score_trajectories(loaded, "lim", align="drop")
    assert dropped.dropped == {"3": "short_trajectory"} and dropped.curves.shape == (3, 4)


def test_variance_is_population_std_ranked_with_ties_in_input_order(tmp_path):
    histories = {"a": [0, 1, 0, 1], "b": [1, 1, 1, 1], "c": [1, 0, 1, 0], "d": [0, 0, 0.5, 0.5]}
    path = tmp_path / "acc.json"
    path.write_text(json.dumps(histories))
    result = score_trajectories(load_trajectories(path), "variance", top_k=2)
    assert result.scores.tolist() == pytest.approx([np.std(v) for v in histories.values()])
    assert result.ranks.tolist() == [1, 4, 2, 3]  # a and c tie at 0.5: a came first
    assert [s for s, keep in zip(result.sample_ids, result.selected, strict=True) if keep] == ["a", "c"]
    assert score_trajectories(load_trajectories(path), "variance").n_selected == 1  # default: pi_1


def test_linear_scores_steady_rise_high_and_decline_negative(tmp_path):
    histories = {"rise": [0.0, 0.25, 0.5, 0.75], "flat": [0.5] * 4, "fall": [1.0, 0.6, 0.4, 0.0], "jag": [0, 1, 0, 1]}
    path = tmp_path / "acc.json"
    path.write_text(json.dumps(histories))
    result = score_trajectories(load_trajectories(path), "linear")
    scores = dict(zip(result.sample_ids, result.scores.tolist(), strict=True))
    assert scores["rise"] == pytest.approx(1.0)
    assert scores["flat"] == 0.0
    assert scores["fall"] < -0.9
    assert 0 < scores["jag"] < 0.7
    assert [s for s, keep in zip(result.sample_ids, result.selected, strict=True) if keep] == ["rise"]


def test_random_is_seeded_and_draws_n(tmp_path):
    path = tmp_path / "acc.json"
    path.write_text(json.dumps({str(i): [0.1 * (i % 7), 0.5] for i in range(100)}))
    loaded = load_trajectories(path)
    first = score_trajectories(loaded, "random", n=10, seed=5)
    again = score_trajectories(loaded, "random", n=10, seed=5)
    other = score_trajectories(loaded, "random", n=10, seed=6)
    assert first.n_selected == 10
    assert first.selected.tolist() == again.selected.tolist()
    assert first.selected.tolist() != other.selected.tolist()
    with pytest.raises(InputError, match="--n"):
        score_trajectories(loaded, "random")


def test_selection_arguments_are_checked(tmp_path):
    path = tmp_path / "acc.json"
    path.write_text(json.dumps({"a": [0.0, 1.0], "b": [0.5, 0.5]}))
    loaded = load_trajectories(path)
    with pytest.raises(InputError, match="not both"):
        score_trajectories(loaded, "lim", threshold=0.5, top_k=1)
    with pytest.raises(UnknownNameError, match="Did you mean: lim"):
        score_trajectories(loaded, "limm")
    assert score_trajectories(loaded, "lim", top_k=1).n_selected == 1


# --- outputs and the CLI ------------------------------------------------------------------------


def test_score_writes_scores_summary_and_plots(tmp_path, run_cli):
    log = write_long(tmp_path / "log.jsonl", _long_rows())
    result = run_cli("score", log, "--out", tmp_path / "out", "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["method"] == "lim" and summary["parameters"]["threshold"] == 0.6
    assert summary["counts"]["in"] == 12 and summary["counts"]["scored"] == 12
    assert len(summary["reference_curve"]) == 5
    rows = [json.loads(line) for line in (tmp_path / "out" / "scores.jsonl").read_text().splitlines()]
    assert [row["sample_id"] for row in rows] == [f"id{i}" for i in range(12)]
    assert set(rows[0]) == {"sample_id", "score", "selected", "rank", "n_epochs", "dropped"}
    assert sum(row["selected"] for row in rows) == summary["counts"]["selected"]
    assert sorted(row["rank"] for row in rows) == list(range(1, 13))
    for name in ("score_hist.png", "trajectories.png"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary


def test_python_api_writes_the_same_outputs(tmp_path):
    log = write_long(tmp_path / "log.jsonl", _long_rows())
    summary = write_score_outputs(score_trajectories(load_trajectories(log), "linear"), tmp_path / "api")
    assert summary["parameters"]["threshold"] == 0.7
    assert (tmp_path / "api" / "scores.jsonl").is_file()


def test_help_is_instant_no_heavy_imports():
    import subprocess
    import sys

    code = "import sys, limr_kit.cli; print(sorted(m for m in ('torch','vllm','numpy','duckdb','lm_eval','docker') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
