"""GRESO, MoPPS, learnability, difficulty and solvable: hand-made histories and the released One-Shot histories.

Every expected value is computed here by an independent plain-Python port of the rule, not by the kit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from limr_kit.errors import InputError
from limr_kit.lim import SelectorOptions, load_trajectories, score_trajectories


def write_wide(path: Path, histories: dict[str, list[float]]) -> Path:
    path.write_text(json.dumps(histories))
    return path


def greso_reference(histories: dict[str, list[float]], p_easy=0.5, p_hard=0.5, target=0.25) -> dict[str, float]:
    """Keep probability 1 - skip of GRESO's easy/hard_probabilistic_skip, p replayed once per epoch."""
    epochs = max(len(trace) for trace in histories.values())
    for k in range(1, epochs):
        values = [trace[k] for trace in histories.values() if len(trace) > k]
        easy = sum(v >= 0.98 for v in values) / len(values)
        hard = sum(v <= 0.11 for v in values) / len(values)
        p_hard = max(p_hard - 0.01, 0.05) if hard >= target * 2 / 3 else min(p_hard + 0.01, 0.95)
        p_easy = max(p_easy - 0.01, 0.05) if easy >= target / 3 else min(p_easy + 0.01, 0.95)
    keep = {}
    for key, trace in histories.items():
        count, p = 0, p_easy
        if trace[-1] >= 0.98:
            while count < len(trace) and trace[-1 - count] >= 0.98:
                count += 1
        elif trace[-1] <= 0.11:
            p = p_hard
            while count < len(trace) and trace[-1 - count] <= 0.11:
                count += 1
        keep[key] = max(p**count, 0.01)  # 1 - skip probability
    return keep


def mopps_reference(trace: list[float], n: int = 8, lam: float = 1.0) -> tuple[float, float]:
    alpha, beta = 1.0, 1.0
    for s in trace:
        alpha = alpha * lam + 1.0 * (1 - lam) + s * n
        beta = beta * lam + 1.0 * (1 - lam) + (1 - s) * n
    return alpha, beta


def by_id(result, values) -> dict[str, float]:
    return dict(zip(result.sample_ids, np.asarray(values).tolist(), strict=True))


# --- GRESO -------------------------------------------------------------------------------------


def test_greso_streaks_and_skip_probability_on_hand_made_histories(tmp_path):
    histories = {
        "easy4": [1.0, 1.0, 1.0, 1.0],
        "hard3": [0.5, 0.0, 0.0, 0.0],
        "varied": [0.0, 0.0, 0.0, 0.5],
        "easy2": [1.0, 0.0, 1.0, 1.0],
        "near_hard": [0.125, 0.1, 0.0, 0.05],  # 0.125 > 0.11 is not all-wrong: the streak stops there
    }
    result = score_trajectories(load_trajectories(write_wide(tmp_path / "h.json", histories)), "greso")
    streak = by_id(result, result.extras["streak"])
    assert streak == {"easy4": 4, "hard3": 3, "varied": 0, "easy2": 2, "near_hard": 3}
    assert by_id(result, result.extras["streak_kind"])["hard3"] == "hard"
    expected = greso_reference(histories)
    assert by_id(result, result.scores) == pytest.approx(expected)
    # epochs 1-3: easy share 1/5, 1/5, 2/5 >= 1/12 (p_easy falls); hard share 3/5, 3/5, 2/5 >= 1/6 (p_hard falls)
    assert result.parameters["p_easy"] == pytest.approx(0.47) and result.parameters["p_hard"] == pytest.approx(0.47)
    assert by_id(result, result.scores)["easy4"] == pytest.approx(0.47**4)
    assert by_id(result, result.extras["skip_probability"])["varied"] == 0.0
    # the default selection is one seeded draw: the same seed gives the same draw, kept samples include "varied"
    again = score_trajectories(load_trajectories(tmp_path / "h.json"), "greso")
    assert result.selected.tolist() == again.selected.tolist() and by_id(result, result.selected)["varied"]
    top = score_trajectories(load_trajectories(tmp_path / "h.json"), "greso", top_k=1)
    assert [s for s, keep in zip(top.sample_ids, top.selected, strict=True) if keep] == ["varied"]


def test_greso_floor_and_bad_p(tmp_path):
    path = write_wide(tmp_path / "h.json", {"solved": [1.0] * 12, "mixed": [0.5] * 12})
    result = score_trajectories(load_trajectories(path), "greso")
    assert by_id(result, result.scores)["solved"] == 0.01  # 1 - max(p^12, 0.01) = 0.99 skip
    with pytest.raises(InputError, match="--p-easy"):
        score_trajectories(load_trajectories(path), "greso", options=SelectorOptions(p_easy=0.0))


def test_greso_matches_reference_on_one_shot_histories(shared_data):
    path = shared_data / "oneshot" / "acc_step_500.json"
    histories = json.loads(path.read_text())
    result = score_trajectories(load_trajectories(path), "greso")
    expected = greso_reference(histories)
    assert by_id(result, result.scores) == pytest.approx(expected)
    streak = by_id(result, result.extras["streak"])
    assert streak["789"] >= 10  # pi_1209, the lowest-variance example, ends in a long all-wrong run
    assert by_id(result, result.extras["streak_kind"])["789"] == "hard"


# --- MoPPS -------------------------------------------------------------------------------------


def test_mopps_posterior_and_closeness_on_hand_made_histories(tmp_path):
    histories = {"half": [0.5, 0.5], "solved": [1.0, 1.0], "rising": [0.0, 0.25, 0.75], "zero": [0.0]}
    path = write_wide(tmp_path / "h.json", histories)
    result = score_trajectories(load_trajectories(path), "mopps")
    alpha, beta = by_id(result, result.extras["alpha"]), by_id(result, result.extras["beta"])
    assert (alpha["half"], beta["half"]) == (9.0, 9.0)  # 1 + 4 + 4 successes, 1 + 4 + 4 failures
    assert (alpha["solved"], beta["solved"]) == (17.0, 1.0)
    for key, trace in histories.items():
        ref_alpha, ref_beta = mopps_reference(trace)
        mean = ref_alpha / (ref_alpha + ref_beta)
        assert alpha[key] == pytest.approx(ref_alpha) and beta[key] == pytest.approx(ref_beta)
        assert by_id(result, result.scores)[key] == pytest.approx(1 - abs(mean - 0.5))
    chosen = {s for s, keep in zip(result.sample_ids, result.selected, strict=True) if keep}
    assert chosen == {"half", "rising"}  # means 0.5 and 9/26 lie in [0.3, 0.7]
    low = score_trajectories(load_trajectories(path), "mopps", options=SelectorOptions(target=0.1), top_k=1)
    assert [s for s, keep in zip(low.sample_ids, low.selected, strict=True) if keep] == ["zero"]  # mean 0.1
    decayed = score_trajectories(load_trajectories(path), "mopps", options=SelectorOptions(decay=0.5, rollouts=4))
    assert by_id(decayed, decayed.extras["alpha"])["rising"] == pytest.approx(
        mopps_reference(histories["rising"], 4, 0.5)[0]
    )
    with pytest.raises(InputError, match="success rate"):
        score_trajectories(load_trajectories(path), "mopps", options=SelectorOptions(target=50))


def test_mopps_matches_reference_on_one_shot_histories(shared_data):
    path = shared_data / "oneshot" / "acc_step_500.json"
    histories = json.loads(path.read_text())
    result = score_trajectories(load_trajectories(path), "mopps")
    means = by_id(result, result.extras["posterior_mean"])
    for key in ("124", "267", "682", "789", "0", "1208"):
        ref_alpha, ref_beta = mopps_reference(histories[key])
        assert means[key] == pytest.approx(ref_alpha / (ref_alpha + ref_beta))
    in_band = {key for key, mean in means.items() if 0.3 <= mean <= 0.7}
    assert {s for s, keep in zip(result.sample_ids, result.selected, strict=True) if keep} == in_band


# --- pass-rate rules on k samples per prompt ----------------------------------------------------


def k_sample_log(path: Path, passes: dict[str, int], k: int = 8) -> Path:
    """One epoch of k graded samples per prompt, as `estimate` writes it."""
    rows = []
    for sample_id, n_pass in passes.items():
        rows += [{"sample_id": sample_id, "epoch": 0, "reward": 1.0 if j < n_pass else 0.0} for j in range(k)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


PASSES = {"none": 0, "one": 1, "two": 2, "half": 4, "six": 6, "all": 8}


def test_learnability_difficulty_solvable_from_k_samples(tmp_path):
    loaded = load_trajectories(k_sample_log(tmp_path / "k.jsonl", PASSES))
    p = {key: n / 8 for key, n in PASSES.items()}

    learn = score_trajectories(loaded, "learnability")
    assert by_id(learn, learn.scores) == pytest.approx({key: v * (1 - v) for key, v in p.items()})
    assert by_id(learn, learn.ranks)["half"] == 1
    assert {s for s, keep in zip(learn.sample_ids, learn.selected, strict=True) if keep} == {"two", "half", "six"}

    hard = score_trajectories(loaded, "difficulty", options=SelectorOptions(target=80, band=10))
    assert by_id(hard, hard.scores) == pytest.approx({key: 100 * (1 - v) for key, v in p.items()})
    assert {s for s, keep in zip(hard.sample_ids, hard.selected, strict=True) if keep} == {"one", "two"}  # 87.5, 75
    assert by_id(hard, hard.ranks)["two"] == 1  # |75 - 80| is the smallest distance
    nearest = score_trajectories(loaded, "difficulty", top_k=1)
    assert [s for s, keep in zip(nearest.sample_ids, nearest.selected, strict=True) if keep] == ["half"]

    dapo = score_trajectories(loaded, "solvable")
    assert {s for s, keep in zip(dapo.sample_ids, dapo.selected, strict=True) if keep} == {"one", "two", "half", "six"}
    with pytest.raises(InputError, match="--band"):
        score_trajectories(loaded, "difficulty", threshold=50)
    with pytest.raises(InputError, match="0 < p < 1"):
        score_trajectories(loaded, "solvable", top_k=2)


def test_pass_rate_rules_on_one_shot_histories(shared_data):
    path = shared_data / "oneshot" / "acc_step_500.json"
    histories = json.loads(path.read_text())
    loaded = load_trajectories(path)
    p = {key: sum(trace) / len(trace) for key, trace in histories.items()}
    learn = score_trajectories(loaded, "learnability")
    assert by_id(learn, learn.scores) == pytest.approx({key: v * (1 - v) for key, v in p.items()})
    dapo = score_trajectories(loaded, "solvable")
    assert dapo.n_selected == sum(0 < v < 1 for v in p.values())
    difficulty = score_trajectories(loaded, "difficulty", options=SelectorOptions(target=30, band=5))
    assert difficulty.n_selected == sum(abs(100 * (1 - v) - 30) <= 5 for v in p.values())


def test_rates_outside_zero_one_are_refused(tmp_path):
    loaded = load_trajectories(write_wide(tmp_path / "h.json", {"a": [0.5, 2.0], "b": [0.0, 1.0]}))
    with pytest.raises(InputError, match="pass rates"):
        score_trajectories(loaded, "learnability")


# --- the CLI ------------------------------------------------------------------------------------


def test_score_cli_writes_each_methods_extras(tmp_path, run_cli):
    log = k_sample_log(tmp_path / "k.jsonl", PASSES)
    result = run_cli("score", log, "--method", "difficulty", "--target", "75", "--out", tmp_path / "d", "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["parameters"] == {"target": 75.0, "band": 10.0} and summary["counts"]["selected"] == 1
    rows = [json.loads(line) for line in (tmp_path / "d" / "scores.jsonl").read_text().splitlines()]
    assert {row["sample_id"]: row["distance"] for row in rows}["two"] == 0.0
    history = write_wide(tmp_path / "h.json", {"a": [1.0, 1.0], "b": [0.0, 0.5]})
    result = run_cli("score", history, "--method", "greso", "--out", tmp_path / "g", "--json")
    assert result.code == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "g" / "scores.jsonl").read_text().splitlines()]
    assert rows[0]["streak"] == 2 and rows[0]["streak_kind"] == "easy" and rows[1]["skip_probability"] == 0.0
    bad = run_cli("score", log, "--method", "mopps", "--target", "60", "--out", tmp_path / "m")
    assert bad.code == 1 and "Error:" in bad.stderr and "success rate" in bad.stderr
    assert not (tmp_path / "m").exists()
