"""limr-kit selections compare on a real run's log: LIM vs variance vs GRESO vs MoPPS on One-Shot RLVR's histories."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest

from limr_kit.lim import load_trajectories, score_trajectories, write_score_outputs


def average_ranks(values: list[float]) -> np.ndarray:
    """Ranks 1..n with ties given their mean rank (as Spearman's rho needs)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = np.asarray(values)[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def read_scores(folder) -> dict[str, dict]:
    return {row["sample_id"]: row for row in map(json.loads, (folder / "scores.jsonl").read_text().splitlines())}


def test_compare_lim_variance_greso_mopps_on_one_shot_histories(shared_data, tmp_path, run_cli):
    history = shared_data / "oneshot" / "acc_step_500.json"
    loaded = load_trajectories(history)
    folders = []
    for method, extra in (("lim", {}), ("variance", {"top_k": 300}), ("greso", {}), ("mopps", {})):
        folders.append(tmp_path / method)
        write_score_outputs(score_trajectories(loaded, method, **extra), folders[-1])
    result = run_cli("selections", "compare", *folders, "--out", tmp_path / "cmp", "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert json.loads((tmp_path / "cmp" / "comparison.json").read_text()) == summary

    rows = {folder.name: read_scores(folder) for folder in folders}
    chosen = {name: {key for key, row in table.items() if row["selected"]} for name, table in rows.items()}
    assert [run["selected"] for run in summary["runs"]] == [len(chosen[f.name]) for f in folders]
    assert summary["runs"][1]["selected"] == 300
    for pair, (a, b) in zip(summary["pairs"], combinations([f.name for f in folders], 2), strict=True):
        assert (pair["a"], pair["b"]) == (a, b)
        assert pair["jaccard"] == pytest.approx(len(chosen[a] & chosen[b]) / len(chosen[a] | chosen[b]))
        common = sorted(set(rows[a]) & set(rows[b]))
        assert pair["common_samples"] == len(common) == 1209
        ranks_a = average_ranks([rows[a][key]["score"] for key in common])
        ranks_b = average_ranks([rows[b][key]["score"] for key in common])
        assert pair["spearman"] == pytest.approx(np.corrcoef(ranks_a, ranks_b)[0, 1])
        assert -1 <= pair["kendall"] <= 1 and pair["kendall"] != pair["spearman"]
    for name in chosen:
        others = set().union(*(chosen[other] for other in chosen if other != name))
        assert summary["only_one_method"][name]["count"] == len(chosen[name] - others)
    assert summary["selected_by_all"] == len(set.intersection(*chosen.values()))
    curves = summary["mean_trajectories"]
    assert set(curves) == {"all samples", "lim", "variance", "greso", "mopps"}
    assert len(curves["lim"]) == len(curves["all samples"]) >= 44  # the epochs at least half the samples reached
    assert curves["lim"][-1] > curves["lim"][0]  # LIM picks samples that improve
    image = (tmp_path / "cmp" / "comparison.png").read_bytes()
    assert image.startswith(b"\x89PNG") and len(image) > 20_000


def test_compare_needs_two_score_folders(tmp_path, run_cli):
    folder = tmp_path / "one"
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"a": [0.0, 0.5, 1.0], "b": [0.5, 0.5, 0.5], "c": [0.0, 0.0, 0.5]}))
    write_score_outputs(score_trajectories(load_trajectories(history), "lim"), folder)
    result = run_cli("selections", "compare", folder, "--out", tmp_path / "cmp")
    assert result.code == 1 and "at least two" in result.stderr and not (tmp_path / "cmp").exists()
    result = run_cli("selections", "compare", folder, tmp_path, "--out", tmp_path / "cmp")
    assert result.code == 1 and "not a limr-kit score output" in result.stderr
