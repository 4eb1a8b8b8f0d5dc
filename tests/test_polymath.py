"""limr-kit polymath: the LIM-floor pool, skills (parser, client, cache), select, export, label-check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from polymath_replay import ReplayServer, free_port

from limr_kit.polymath.client import ChatClient
from limr_kit.polymath.pool import Candidate, floor_pool
from limr_kit.polymath.select import select
from limr_kit.polymath.skills import Annotation, UnparsableReply, parse_skills


# Replies in the shape of the paper's Table 22 (a science problem, ten algebra skills).
TABLE22_ALGEBRA = (
    "To solve this problem we need to relate the force to the potential.\n<answer>interpreting physical laws in "
    "mathematical form; using the gradient to find force components; solving linear equations; manipulating "
    "algebraic expressions; substitution; working with exponents; unit analysis; proportional reasoning; "
    "simplifying expressions; evaluating functions</answer>"
)
TABLE22_NONE = "The problem does not use geometric reasoning.\n<answer>None</answer>"


def test_parser_on_real_shaped_replies():
    assert len(parse_skills(TABLE22_ALGEBRA)) == 10
    assert parse_skills(TABLE22_NONE) == []
    assert parse_skills("None") == []
    assert parse_skills("<answer>a; A ;b;\n c.; None</answer>") == ["a", "b", "c"]
    assert parse_skills("<answer>x</answer> then <answer>y; z</answer>") == ["y", "z"]
    with pytest.raises(UnparsableReply):
        parse_skills("I think the skills are algebra and counting.")


@pytest.mark.shared
def test_floor_pool_is_the_65_prompts_with_the_7_natural_samples(shared_data):
    pool = floor_pool(shared_data / "limr/scores.json", shared_data / "limr/prompts/math.8k.json")
    assert len(pool) == 65 and all(c.lim_score == 0.6 for c in pool)
    by_id = {c.id: c for c in pool}
    released = [json.loads(line) for line in (shared_data / "polymath/limr_score_060_pool.jsonl").open()]
    assert set(by_id) == {row["id"] for row in released}
    for line in (shared_data / "polymath/natural_samples.jsonl").open():
        sample = json.loads(line)
        assert by_id[sample["limr_id"]].answer == sample["answer"]
        assert by_id[sample["limr_id"]].prompt == sample["prompt"]


def _skill_reply(prompt: str, seed: int) -> str | None:
    category = re.search(r"in the scope of (.+?) that", prompt).group(1)
    if "GARBAGE" in prompt and category == "Geometry":
        return "no tags here"
    if "FAILS" in prompt and category == "Precalculus":
        return None  # HTTP 500 every time: a failure after the retries
    return TABLE22_ALGEBRA if category == "Algebra" else TABLE22_NONE


@pytest.fixture(scope="module")
def skills_server():
    with ReplayServer(_skill_reply) as server:
        yield server


def _pool_file(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_skills_calls_caches_and_records_failures(skills_server, run_cli, tmp_path):
    pool = _pool_file(
        tmp_path / "pool.jsonl",
        [
            {"id": "p1", "prompt": "Plain problem", "answer": "1", "lim_score": 0.6},
            {"id": "p2", "prompt": "GARBAGE FAILS problem", "answer": "2", "lim_score": 0.6},
        ],
    )
    out = tmp_path / "skills"
    args = ("polymath", "skills", pool, "--endpoint", skills_server.url, "--model", "m", "--out", out)
    before = skills_server.requests
    result = run_cli(*args, "--retries", "1")
    assert result.code == 0, result.stderr
    # 10 (problem, category) calls, plus one retry of the failing one.
    assert skills_server.requests - before == 11
    rows = {row["id"]: row for row in map(json.loads, (out / "skills.jsonl").read_text().splitlines())}
    assert rows["p1"]["spectrum"] == {"Algebra": 10, "Geometry": 0, "Number Theory": 0, "Precalculus": 0,
                                      "Probability": 0}
    assert set(rows["p2"]["failures"]) == {"Geometry", "Precalculus"}
    assert "Geometry" not in rows["p2"]["skills"] and rows["p2"]["raw"]["Geometry"] == "no tags here"
    assert "2 calls failed" in result.stderr

    before = skills_server.requests
    assert run_cli(*args, "--retries", "0").code == 0
    # Only the HTTP failure is retried; the unparsable reply was cached as a reply.
    assert skills_server.requests - before == 1


def test_skills_endpoint_down_is_an_error_and_keeps_earlier_output(run_cli, tmp_path):
    pool = _pool_file(tmp_path / "pool.jsonl", [{"id": "p1", "prompt": "x", "answer": "1"}])
    out = tmp_path / "skills"
    out.mkdir()
    (out / "skills.jsonl").write_text("earlier\n")
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run_cli("polymath", "skills", pool, "--endpoint", url, "--model", "m", "--out", out, "--retries", "0")
    assert result.code == 1 and "Error:" in result.stderr and "nothing written" in result.stderr
    assert (out / "skills.jsonl").read_text() == "earlier\n"


def test_api_key_is_sent_and_never_printed(monkeypatch, run_cli, tmp_path):
    with ReplayServer(lambda prompt, seed: TABLE22_NONE) as server:
        monkeypatch.setenv("MY_KEY", "sk-secret-123")
        assert ChatClient(server.url, "m", api_key_env="MY_KEY").chat("hi").text == TABLE22_NONE
        assert server.authorization == "Bearer sk-secret-123"
        pool = _pool_file(tmp_path / "pool.jsonl", [{"id": "p1", "prompt": "x", "answer": "1"}])
        result = run_cli("-v", "polymath", "skills", pool, "--endpoint", server.url, "--model", "m",
                         "--out", tmp_path / "o", "--api-key-env", "MY_KEY")
    assert result.code == 0, result.stderr
    assert "sk-secret" not in result.stdout + result.stderr
    assert not any("sk-secret" in p.read_text() for p in (tmp_path / "o").rglob("*.json*"))


def _note(sample_id: str, **counts: int) -> Annotation:
    return Annotation(sample_id, {name: [f"{name} skill {i}" for i in range(n)] for name, n in counts.items()})


POOL = [
    Candidate("a1", "q a1", "1", 0.6, "Algebra"),
    Candidate("a2", "q a2", "2", 0.6, "Prealgebra"),
    Candidate("a3", "q a3", "3", 0.6, "Prealgebra"),
    Candidate("g1", "q g1", "4", 0.6, "Geometry"),
    Candidate("off", "q off", "5", 0.7, "Geometry"),
]
NOTES = [
    _note("a1", Algebra=2, Precalculus=1),
    _note("a2", Algebra=1),
    _note("a3", Algebra=3, Geometry=1),
    _note("g1", Geometry=2),
    _note("off", Geometry=9, Algebra=9, Precalculus=9),
]


def test_select_rules_and_tie_breaks():
    natural = {c.category: c.id for c in select(POOL, NOTES, "natural")}
    assert natural == {"Algebra": "a1", "Prealgebra": "a3", "Geometry": "g1"}  # 'off' is not at 0.60
    assert {c.category: c.id for c in select(POOL, NOTES, "natural", tie_break="first")}["Prealgebra"] == "a2"
    history = {"a2": [0.0, 1.0, 0.0, 1.0], "a3": [0.5, 0.5]}
    picked = select(POOL, NOTES, "natural", tie_break="variance", histories=history)
    assert {c.category: c.id for c in picked}["Prealgebra"] == "a2"
    assert select(POOL, NOTES, "prime")[0].id == "off"
    assert select(POOL, NOTES, "specialist:geometry")[0].id == "off"
    assert select(POOL[:4], NOTES, "specialist:Precalculus")[0].id == "a1"
