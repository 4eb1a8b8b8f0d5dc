"""Decontamination: open-r1's rule against a port of its script, our rule on boilerplate and changed numbers, the
command line (report, flagged rows, --drop), curate --decontaminate, and the released data."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pyarrow as pa
import pytest

from limr_kit.decontam import check


# A port of open-r1's scripts/decontaminate.py functions, kept literal so that the kit is checked against it.
def normalize_string(text: str) -> str:
    text = text.lower().strip()
    text = " ".join(text.split())
    return text


def word_ngrams(text: str, n: int) -> list:
    words = text.split()
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def build_ngram_lookup(documents: list[str], ngram_size: int = 8) -> dict[str, set[int]]:
    lookup = collections.defaultdict(set)
    for doc_id, document in enumerate(documents):
        for ngram in word_ngrams(normalize_string(document), ngram_size):
            lookup[ngram].add(doc_id)
    return lookup


def open_r1_contaminated(row: str, lookup: dict[str, set[int]], ngram_size: int = 8) -> bool:
    ngrams = set(word_ngrams(normalize_string(row), ngram_size))
    return any(set(ngram in lookup for ngram in ngrams))


BOILERPLATE = "Express your answer as a decimal to the nearest tenth."
MATH500 = [
    f"A right triangle has legs 3 and 4 inches long. What is the length of its hypotenuse? {BOILERPLATE}",
    f"The mean of five numbers is 12. Four of them are 10, 11, 13 and 15. What is the fifth? {BOILERPLATE}",
    f"A circle has circumference 10 centimetres. How many square centimetres is its area? {BOILERPLATE}",
    "If 3 apples cost 12 dollars and 5 pears cost 20 dollars, what do 7 apples and 2 pears cost in all?",
    "What is 1+1?",
]
AIME24 = [
    "Find the number of ordered pairs of positive integers (m, n) with m + n = 1000 such that neither has a zero."
]
TRAIN = [
    # shares only the boilerplate 8-grams: open-r1 flags it, ours must not
    f"A bag holds 7 red and 5 blue marbles; two are drawn without replacement. Find the chance both are red. "
    f"{BOILERPLATE}",
    # MATH500[3] with its numbers alone changed: ours must flag it, open-r1 does not (no 8-gram survives)
    "If 4 apples cost 18 dollars and 6 pears cost 21 dollars, what do 9 apples and 3 pears cost in all?",
    # the AIME problem verbatim, in capitals and with odd spacing
    "FIND the number of ordered   pairs of positive integers (m, n) with\nm + n = 1000 such that neither has a zero.",
    # seven shared words only: no 8-gram
    "Find the number of ordered pairs of reals, please.",
    # short: equal to a 4-word problem; open-r1 cannot see it (no 8-gram), ours compares whole texts
    "What is 1+1?",
    "An unrelated question about the colour of the sky at noon on a clear summer day in June.",
]


@pytest.fixture
def bench_dir(tmp_path) -> Path:
    """A --data-dir with math500 and aime24 in the layout of shared/data/bench."""
    for name, problems, id_field in (("math500", MATH500, "unique_id"), ("aime24", AIME24, "id")):
        folder = tmp_path / "bench" / name
        folder.mkdir(parents=True)
        rows = [{"problem": text, "answer": "1", id_field: f"{name}-{i}"} for i, text in enumerate(problems)]
        (folder / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return tmp_path / "bench"


def train_table(texts=TRAIN) -> pa.Table:
    return pa.table({"id": [f"t{i}" for i in range(len(texts))], "prompt": list(texts)})


def test_open_r1_rule_matches_its_script(bench_dir):
    found = check(train_table(), "aime24", rule="open-r1", data_dir=bench_dir)
    lookup = build_ngram_lookup(AIME24)
    assert found.flagged_rows == [i for i, text in enumerate(TRAIN) if open_r1_contaminated(text, lookup)] == [2]
    found = check(train_table(), "math500", rule="open-r1", data_dir=bench_dir)
    lookup = build_ngram_lookup(MATH500)
    assert found.flagged_rows == [i for i, text in enumerate(TRAIN) if open_r1_contaminated(text, lookup)] == [0]
    assert any("decimal to the nearest tenth." in gram for gram, _ in found.result.common_ngrams)


def test_open_r1_rule_on_random_texts_agrees_with_its_script(bench_dir):
    import random

    rng = random.Random(7)
    words = ["the", "Sum", "of", "x"]  # few words, so that 8-grams repeat; case and spacing vary

    def text(low: int, high: int) -> str:
        return "".join(rng.choice(words) + rng.choice([" ", "  ", "\n", "\t "]) for _ in range(rng.randint(low, high)))

    references = [text(5, 30) for _ in range(40)]
    texts = [text(3, 25).upper() if rng.random() < 0.3 else text(3, 25) for _ in range(400)]
    (bench_dir / "math500" / "test.jsonl").write_text(
        "".join(
            json.dumps({"problem": t, "answer": "0", "unique_id": str(i)}) + "\n" for i, t in enumerate(references)
        )
    )
    found = check(train_table(texts), "math500", rule="open-r1", data_dir=bench_dir)
    lookup = build_ngram_lookup(references)
    expected = [i for i, text in enumerate(texts) if open_r1_contaminated(text, lookup)]
    assert 0 < len(expected) < len(texts) and found.flagged_rows == expected


def test_default_rule_ignores_boilerplate_and_flags_changed_numbers(bench_dir):
    found = check(train_table(), "math500", data_dir=bench_dir)
    by_row = {hit.row: hit for hit in found.result.hits}
    assert 0 not in by_row  # shares only "express your answer as a decimal to the nearest tenth."
    assert 1 in by_row and found.references[by_row[1].reference].id == "math500-3"
    assert 0.8 <= by_row[1].similarity < 1.0
    assert 4 in by_row and by_row[4].similarity == 1.0  # the short problem, compared whole
    assert found.flagged_rows == [1, 4]
    assert any("decimal to the nearest" in gram for gram, _ in found.result.common_ngrams)  # reported as boilerplate
    strict = check(train_table(), "math500", threshold=0.99, data_dir=bench_dir)
    assert strict.flagged_rows == [4]


def test_decontaminate_cli_writes_report_flagged_rows_and_clean_set(tmp_path, bench_dir, run_cli):
    dataset = tmp_path / "train.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in train_table().to_pylist()))
    out = tmp_path / "out"
    result = run_cli(
        "decontaminate", dataset, "--suite", "aime24", "--data-dir", bench_dir,
        "--out", out, "--drop", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"]["flagged"] == 1 and summary["counts"]["by_benchmark"] == {"aime24": 1}
    report = json.loads((out / "report.json").read_text())
    match = report["matches"][0]
    assert (match["row"], match["id"], match["benchmark"], match["benchmark_id"]) == (2, "t2", "aime24", "aime24-0")
    assert match["text"] == TRAIN[2] and match["benchmark_text"] == AIME24[0] and match["similarity"] > 0.95
    flagged = [json.loads(line) for line in (out / "flagged.jsonl").read_text().splitlines()]
    assert [row["id"] for row in flagged] == ["t2"] and flagged[0]["contamination"][0]["benchmark"] == "aime24"
    clean = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert [row["id"] for row in clean] == ["t0", "t1", "t3", "t4", "t5"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"dataset_rows": 6, "dropped": 1, "kept": 5}
    assert manifest["outputs"]["train.parquet"]["rows"] == 5
    assert AIME24[0] in (out / "report.md").read_text()

    bad = run_cli("decontaminate", dataset, "--suite", "aime24", "--rule", "open-r1", "--threshold", "0.5",
                  "--data-dir", bench_dir, "--out", tmp_path / "bad")  # fmt: skip
    assert bad.code == 1 and "Error:" in bad.stderr and "no --threshold" in bad.stderr
    assert not (tmp_path / "bad").exists()
    missing = run_cli("decontaminate", dataset, "--suite", "aime24", "--text-field", "question",
                      "--data-dir", bench_dir, "--out", tmp_path / "bad")  # fmt: skip
    assert missing.code == 1 and "--text-field" in missing.stderr and not (tmp_path / "bad").exists()


def test_curate_decontaminate_drops_selected_near_duplicates(tmp_path, bench_dir, run_cli):
    dataset = tmp_path / "train.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in train_table().to_pylist()))
    scores = tmp_path / "scores.jsonl"
    scores.write_text("".join(json.dumps({"sample_id": f"t{i}", "score": 0.9}) + "\n" for i in range(6)))
    out = tmp_path / "curated"
    result = run_cli("curate", scores, "--dataset", dataset, "--key", "id", "--decontaminate", "math500",
                     "--data-dir", bench_dir, "--out", out, "--json")  # fmt: skip
    assert result.code == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["counts"]["selected"] == 4 and manifest["counts"]["decontaminated_dropped"] == 2
    assert manifest["decontamination"]["rule"] == "default"
    kept = [json.loads(line)["id"] for line in (out / "train.jsonl").read_text().splitlines()]
    assert kept == ["t0", "t2", "t3", "t5"]
    assert (out / "decontamination" / "report.md").is_file()


def test_released_math8k_against_math500(shared_data):
    table = pa.Table.from_pylist(json.loads((shared_data / "limr" / "prompts" / "math.8k.json").read_text()))
    ours = check(table, "math500", data_dir=shared_data / "bench")
    theirs = check(table, "math500", rule="open-r1", data_dir=shared_data / "bench")
    assert len(theirs.flagged_rows) > 5 * len(ours.flagged_rows) > 0  # open-r1's count is mostly boilerplate
    assert set(ours.flagged_rows) - set(theirs.flagged_rows)  # changed numbers: no shared 8-gram, still a near-dup
    top_shared = [gram for gram, _ in theirs.result.common_ngrams]
    assert "express your answer as a decimal to the" in top_shared
