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
    assert rows["p1"]["spectrum"] == {
        "Algebra": 10,
        "Geometry": 0,
        "Number Theory": 0,
        "Precalculus": 0,
        "Probability": 0,
    }
    assert set(rows["p2"]["failures"]) == {"Geometry", "Precalculus"}
    assert "Geometry" not in rows["p2"]["skills"] and rows["p2"]["raw"]["Geometry"] == "no tags here"
    assert "2 calls failed" in result.stderr

    before = skills_server.requests
    assert run_cli(*args, "--retries", "0").code == 0
    # Only the HTTP failure is retried; the unparsable reply was cached as a reply.
    assert skills_server.requests - before == 1
    next((out / "cache").glob("*.json")).write_text("{not json")
    before = skills_server.requests
    assert run_cli(*args, "--retries", "0").code == 0
    assert skills_server.requests - before == 2  # the corrupt entry is asked again, plus the failing call


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
        result = run_cli(
            "-v",
            "polymath",
            "skills",
            pool,
            "--endpoint",
            server.url,
            "--model",
            "m",
            "--out",
            tmp_path / "o",
            "--api-key-env",
            "MY_KEY",
        )
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


def _write_fixed_files(tmp_path: Path) -> tuple[Path, Path]:
    pool = _pool_file(
        tmp_path / "pool.jsonl",
        [
            {"id": c.id, "prompt": c.prompt, "answer": c.answer, "lim_score": c.lim_score, "category": c.category}
            for c in POOL
        ],
    )
    skills = tmp_path / "skills.jsonl"
    skills.write_text("".join(json.dumps(note.to_row()) + "\n" for note in NOTES))
    return pool, skills


def test_select_and_export_cli_on_fixed_annotations(run_cli, tmp_path):
    from limr_kit.train.data import read_problems
    from limr_kit.train.recipes import DatasetSpec

    pool, skills = _write_fixed_files(tmp_path)
    result = run_cli("polymath", "select", pool, skills, "--rule", "prime", "--out", tmp_path / "sel")
    assert result.code == 0, result.stderr
    record = json.loads((tmp_path / "sel/selection.json").read_text())
    assert record["rule"] == "prime" and record["chosen"][0]["id"] == "off"
    assert record["chosen"][0]["spectrum"]["Precalculus"] == 9
    assert set(record["inputs"]) == {str(pool), str(skills)}
    assert all(len(digest) == 64 for digest in record["inputs"].values())
    assert (tmp_path / "sel/radar-off.png").read_bytes().startswith(b"\x89PNG")

    result = run_cli("polymath", "export", tmp_path / "sel/selection.json", "--out", tmp_path / "ex")
    assert result.code == 0, result.stderr
    problems = read_problems(DatasetSpec(path="x"), tmp_path / "ex/train.jsonl")
    assert len(problems) == 128 and {(p.question, p.answer) for p in problems} == {("q off", "5")}
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "ex/train.parquet").num_rows == 128


def test_select_bad_input(run_cli, tmp_path):
    pool, skills = _write_fixed_files(tmp_path)
    result = run_cli("polymath", "select", pool, skills, "--rule", "specialist:topology", "--out", tmp_path / "s")
    assert result.code == 1 and "Unknown category 'topology'" in result.stderr
    unscored = _pool_file(tmp_path / "unscored.jsonl", [{"id": "a1", "prompt": "q", "answer": "1"}])
    result = run_cli("polymath", "select", unscored, skills, "--category", "Algebra", "--out", tmp_path / "s")
    assert result.code == 1 and "no 'lim_score'" in result.stderr
    result = run_cli("polymath", "select", pool, skills, "--category", "Alchemy", "--out", tmp_path / "s")
    assert result.code == 1 and "Unknown category 'Alchemy'" in result.stderr
    assert not (tmp_path / "s").exists()


# Recorded, real-shaped solutions (no model that runs here solves these problems).
PRIME_SOLUTION = (
    "Count bonds: 8 G·C pairs x 3 + 3 A·T pairs x 2 = 30 hydrogen bonds. Energy per bond = 20000 / 6.022e23 = "
    "3.321e-20 J, total 9.96e-19 J. One photon at 400 nm carries hc/λ = 4.97e-19 J. 9.96 / 4.97 = 2.005, so two "
    "photons are not enough and the minimum is \\boxed{3}."
)
PRIME_WRONG = "The ratio is about 2, so \\boxed{2} photons."
PI1_SOLUTION = (
    "P = k A V^3. From 4 = k · 2 · 512, k = 1/256. Then 32 = (1/256) · 4 · V^3 so V^3 = 2048 and "
    "V = 2048^{1/3} ≈ 12.70. The wind velocity is \\boxed{12.70} miles per hour."
)
GOOD_SOLUTION = "3(3+8-7) + 7(1-7+5) = 12 - 7 = 5, so the sum is \\boxed{5}."


def _solver(prompt: str, seed: int) -> str:
    if "DNA fragment" in prompt:
        return PRIME_WRONG if seed % 4 == 3 else PRIME_SOLUTION  # 6 of 8 say 3
    if "pressure" in prompt:
        return PI1_SOLUTION
    return GOOD_SOLUTION


@pytest.mark.shared
def test_label_check_flags_prime_and_pi1_and_passes_a_correct_sample(run_cli, shared_data, tmp_path):
    import pyarrow.parquet as pq

    row = pq.read_table(shared_data / "oneshot/train/one_shot_rlvr/pi1_r128.parquet").slice(0, 1).to_pylist()[0]
    pi1 = tmp_path / "pi1.json"
    pi1.write_text(
        json.dumps(
            {"name": "pi1", "prompt": row["prompt"][0]["content"], "answer": row["reward_model"]["ground_truth"]}
        )
    )
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"name": "coeffs", "prompt": "Find the sum of the coefficients ...", "answer": "5"}))
    with ReplayServer(_solver) as server:
        common = ("--endpoint", server.url, "--model", "solver")
        prime = run_cli(
            "polymath",
            "label-check",
            shared_data / "polymath/synthetic_samples.jsonl",
            "--name",
            "synthetic_prime",
            *common,
        )
        pi = run_cli("polymath", "label-check", pi1, *common)
        ok = run_cli("polymath", "label-check", good, *common)
    assert prime.code == 1 and "Flagged" in prime.stderr
    verdict = json.loads(prime.stdout)
    assert verdict["gold"] == "2" and verdict["majority_answer"] == "3" and verdict["majority_count"] == 6
    assert pi.code == 1 and json.loads(pi.stdout)["majority_answer"] == "12.70"
    assert json.loads(pi.stdout)["gold"] == "12.8"
    assert ok.code == 0 and json.loads(ok.stdout) | {"flagged": False, "agree": 8} == json.loads(ok.stdout)


def test_label_check_endpoint_garbage_is_an_error(run_cli, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"prompt": "q", "answer": "5"}))
    with ReplayServer(lambda prompt, seed: None) as server:
        result = run_cli("polymath", "label-check", good, "--endpoint", server.url, "--model", "m", "--retries", "0")
    assert result.code == 1 and "could not be checked" in result.stderr


def _generator(answers: dict[int, str]):
    def answer(prompt: str, seed: int) -> str:
        if prompt.startswith("You are a professor"):
            return f"Problem {seed}: how many photons break the bonds?"
        number = int(re.search(r"Problem (\d+):", prompt).group(1))
        return f"Working it out gives \\boxed{{{answers[number]}}}."

    return answer


def test_synthesize_keeps_only_candidates_the_generators_agree_on(run_cli, tmp_path):
    # Generator B writes 12/4 where A writes 3: the grader, not string equality, says they agree.
    with ReplayServer(_generator({0: "3", 1: "7"})) as a, ReplayServer(_generator({0: "12/4", 1: "8"})) as b:
        result = run_cli(
            "polymath",
            "synthesize",
            "--endpoint",
            a.url,
            "--model",
            "gA",
            "--endpoint",
            b.url,
            "--model",
            "gB",
            "--per-generator",
            "2",
            "--out",
            tmp_path / "syn",
        )
    assert result.code == 0, result.stderr
    candidates = [json.loads(line) for line in (tmp_path / "syn/candidates.jsonl").read_text().splitlines()]
    kept = [json.loads(line) for line in (tmp_path / "syn/pool.jsonl").read_text().splitlines()]
    assert len(candidates) == 2 and len(kept) == 1  # both generators write the same two problems
    assert kept[0]["prompt"].startswith("Problem 0") and kept[0]["answer"] == "3"


@pytest.mark.shared
def test_pool_cli_and_a_scores_file_without_the_score_column(run_cli, shared_data, tmp_path):
    math8k = shared_data / "limr/prompts/math.8k.json"
    result = run_cli("polymath", "pool", shared_data / "limr/scores.json", math8k, "--out", tmp_path / "pool.jsonl")
    assert result.code == 0 and len((tmp_path / "pool.jsonl").read_text().splitlines()) == 65
    result = run_cli("polymath", "pool", math8k, math8k, "--out", tmp_path / "bad.jsonl")
    assert result.code == 1 and "without a 'score'" in result.stderr and not (tmp_path / "bad.jsonl").exists()


def test_classify_gives_natural_its_categories(run_cli, tmp_path):
    def answer(prompt: str, seed: int) -> str:
        if prompt.startswith("Here is a math problem. Which one"):
            return "It is about shapes. <answer>Geometry</answer>" if "triangle" in prompt else "<answer>Art</answer>"
        return TABLE22_ALGEBRA if "scope of Algebra" in prompt else TABLE22_NONE

    pool = _pool_file(
        tmp_path / "pool.jsonl",
        [
            {"id": "t1", "prompt": "A triangle has sides 3, 4, 5.", "answer": "6", "lim_score": 0.6},
            {"id": "t2", "prompt": "Another triangle.", "answer": "1", "lim_score": 0.6},
            {"id": "x", "prompt": "Paint it.", "answer": "2", "lim_score": 0.6},
        ],
    )
    with ReplayServer(answer) as server:
        result = run_cli(
            "polymath",
            "skills",
            pool,
            "--endpoint",
            server.url,
            "--model",
            "m",
            "--classify",
            "--category",
            "Algebra",
            "--out",
            tmp_path / "sk",
        )
    assert result.code == 0, result.stderr
    rows = {row["id"]: row for row in map(json.loads, (tmp_path / "sk/skills.jsonl").read_text().splitlines())}
    assert (
        rows["t1"]["category"] == "Geometry" and rows["x"]["category"] is None and "category" in rows["x"]["failures"]
    )
    result = run_cli("polymath", "select", pool, tmp_path / "sk/skills.jsonl", "--out", tmp_path / "sel")
    assert result.code == 1 and "Candidate x has no category" in result.stderr
    only_triangles = _pool_file(
        tmp_path / "tri.jsonl", [json.loads(line) for line in pool.read_text().splitlines()][:2]
    )
    result = run_cli("polymath", "select", only_triangles, tmp_path / "sk/skills.jsonl", "--out", tmp_path / "sel")
    assert result.code == 0, result.stderr
    chosen = json.loads((tmp_path / "sel/selection.json").read_text())["chosen"]
    assert [(c["category"], c["id"]) for c in chosen] == [("Geometry", "t1")]


def test_a_sample_file_is_json_or_json_lines_and_a_bad_line_is_named(tmp_path):
    from limr_kit.errors import BadRowError
    from limr_kit.polymath.sample import read_sample

    lines = tmp_path / "samples.jsonl"
    lines.write_text(
        '{"name": "a", "question": "1+1?", "answer": "2"}\n{"name": "b", "question": "2+2?", "answer": "4"}\n'
    )
    assert read_sample(lines, "b").answer == "4"
    lines.write_text('{"name": "a", "question": "1+1?", "answer": "2"}\n{"name": "b",\n')
    with pytest.raises(BadRowError, match=r"samples.jsonl:2: malformed JSON"):
        read_sample(lines, "a")
