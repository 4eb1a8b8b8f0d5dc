"""polymath-8 items: one schema for every benchmark, loaders for the local files, seeded subsets.

Every loader names the file and row of a bad item (:class:`BadRowError`). GPQA is read from its
password-protected zip in memory, never extracted, and its question text is never printed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from limr_kit.benchmarks.config import AnswerType
from limr_kit.benchmarks.polymath import DomainMap, default_domain_map
from limr_kit.errors import BadRowError, InputError
from limr_kit.resources import data_dir
from limr_kit.rewards.choice import LETTERS
from limr_kit.rewards.unit_number import UnparsableNumber, gold_value


SCIBENCH_BOOKS = ("atkins", "chemmc", "quan", "matter", "fund", "class", "thermo", "calculus", "diff", "stat")
MMLU_PRO_TEST_SHA256 = "b8c790c6cc613a4b71a413230db54bcf2e2053d876ffc4c4451c94908af9e1f5"
GPQA_PASSWORD = b"deserted-untie-orchid"  # printed in the GPQA authors' README
GPQA_ACCESS = (
    "GPQA is gated: accept its terms at https://huggingface.co/datasets/Idavidrein/gpqa and log in "
    "(HF_TOKEN), or pass --data-dir with gpqa/dataset.zip from https://github.com/idavidrein/gpqa"
)


@dataclass(frozen=True, slots=True)
class PolymathItem:
    """One question of any polymath-8 benchmark."""

    id: str
    benchmark: str
    question: str
    answer: str  # a letter for choice items, the gold number for number-with-unit, else an expression
    answer_type: AnswerType
    subject: str
    domain: str | None  # None for a subject outside the paper's 8 domains (MMLU-Pro engineering)
    options: tuple[str, ...] = ()
    unit: str = ""


def make_item(path: str | Path, row: int, mapping: DomainMap, **fields) -> PolymathItem:
    """Build and check an item; a bad one raises an error naming the file and row."""
    item = PolymathItem(domain=mapping.subjects.get(fields["subject"]), **fields)
    if item.answer_type == "choice":
        if not item.options:
            raise BadRowError(path, row, f"choice item {item.id} has no options")
        if len(item.options) > len(LETTERS):
            raise BadRowError(path, row, f"choice item {item.id} has {len(item.options)} options (at most 10)")
        if item.answer not in LETTERS[: len(item.options)]:
            raise BadRowError(
                path, row, f"gold letter {item.answer!r} of {item.id} is not one of its {len(item.options)} options"
            )
    elif item.answer_type == "number-with-unit":
        try:
            gold_value(item.answer, item.unit)
        except UnparsableNumber as error:
            raise BadRowError(path, row, f"{item.id}: {error}") from None
    return item


def load_scibench(folder: str | Path, mapping: DomainMap | None = None) -> list[PolymathItem]:
    """The 692 SciBench text problems (``<book>.json`` and ``<book>_sol.json``)."""
    mapping = mapping or default_domain_map()
    folder = Path(folder)
    items = []
    for book in SCIBENCH_BOOKS:
        for name in (f"{book}.json", f"{book}_sol.json"):
            path = folder / name
            if not path.is_file():
                raise InputError(f"{path} is missing: SciBench needs all 20 files of its dataset/original folder.")
            try:
                rows = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise BadRowError(path, None, f"not a JSON list ({error})") from None
            for index, row in enumerate(rows, start=1):
                if not isinstance(row, dict) or not {"problem_text", "answer_number"} <= row.keys():
                    raise BadRowError(path, index, "needs 'problem_text' and 'answer_number'")
                items.append(
                    make_item(
                        path,
                        index,
                        mapping,
                        id=f"scibench/{name.removesuffix('.json')}/{index}",  # problemid repeats within a file
                        benchmark="scibench",
                        question=row["problem_text"],
                        answer=str(row["answer_number"]).strip(),
                        answer_type="number-with-unit",
                        subject=mapping.subject_of("scibench", book),
                        unit=str(row.get("unit", "")).strip(),
                    )
                )
    return items


def load_mmlu_pro(path: str | Path, mapping: DomainMap | None = None, check_sha256: bool = True) -> list[PolymathItem]:
    """MMLU-Pro's test parquet, pinned by sha256; gold is ``answer`` (the letter), not ``answer_index``."""
    import pyarrow.parquet as pq

    mapping = mapping or default_domain_map()
    path = Path(path)
    if check_sha256 and hashlib.sha256(path.read_bytes()).hexdigest() != MMLU_PRO_TEST_SHA256:
        raise InputError(f"{path} is not the pinned MMLU-Pro test file (sha256 {MMLU_PRO_TEST_SHA256}).")
    rows = pq.read_table(path, columns=["question_id", "question", "options", "answer", "category"]).to_pylist()
    return [
        make_item(
            path,
            index,
            mapping,
            id=f"mmlu_pro/{row['question_id']}",
            benchmark="mmlu_pro",
            question=row["question"],
            answer=row["answer"],
            answer_type="choice",
            subject=mapping.subject_of("mmlu_pro", row["category"]),
            options=tuple(row["options"] or ()),
        )
        for index, row in enumerate(rows, start=1)
    ]


def gpqa_items(rows: Iterable[dict], where: str | Path, seed: int, mapping: DomainMap) -> list[PolymathItem]:
    """GPQA rows (its CSV columns) as items, the four options shuffled with ``seed`` per record."""
    items = []
    for index, row in enumerate(rows, start=1):
        correct = row["Correct Answer"].strip()
        options = [correct] + [row[f"Incorrect Answer {k}"].strip() for k in (1, 2, 3)]
        random.Random(f"{seed}/{row['Record ID']}").shuffle(options)
        items.append(
            make_item(
                where,
                index,
                mapping,
                id=f"gpqa_diamond/{row['Record ID']}",
                benchmark="gpqa_diamond",
                question=row["Question"].strip(),
                answer=LETTERS[options.index(correct)],
                answer_type="choice",
                subject=mapping.subject_of("gpqa_diamond", row["High-level domain"]),
                options=tuple(options),
            )
        )
    return items


def load_gpqa(zip_path: str | Path, seed: int, mapping: DomainMap | None = None) -> list[PolymathItem]:
    """GPQA-Diamond from the authors' zip, read in memory; options shuffled with ``seed``."""
    mapping = mapping or default_domain_map()
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise InputError(f"{zip_path} not found. {GPQA_ACCESS}.")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            data = archive.read("dataset/gpqa_diamond.csv", pwd=GPQA_PASSWORD)
    except (zipfile.BadZipFile, KeyError, RuntimeError) as error:
        raise InputError(f"{zip_path} is not GPQA's dataset.zip ({error}). {GPQA_ACCESS}.") from None
    return gpqa_items(csv.DictReader(io.StringIO(data.decode("utf-8"))), zip_path, seed, mapping)


GPQA_DATASET = "Idavidrein/gpqa"


def load_gpqa_hub(seed: int, revision: str | None = None, mapping: DomainMap | None = None):
    """GPQA-Diamond from the gated Hub dataset (needs an accepted token), and the commit it was read at."""
    from limr_kit.errors import HubError

    try:
        table, sha = _hub_table(GPQA_DATASET, revision, "gpqa_diamond", "train")
    except HubError as error:
        raise InputError(f"{error} {GPQA_ACCESS}.") from None
    return gpqa_items(table, f"{GPQA_DATASET}@{sha[:12]}", seed, mapping or default_domain_map()), sha


def seeded_subset(
    items: Sequence[PolymathItem], size: int, seed: int, per_subject: bool = False
) -> list[PolymathItem]:
    """``size`` items drawn with ``seed`` (per subject when asked), in their original order.

    The draw depends only on the seed and the items' ids, so two machines pick the same questions.
    """
    groups: dict[str, list[PolymathItem]] = defaultdict(list)
    for item in items:
        groups[item.subject if per_subject else ""].append(item)
    chosen: set[str] = set()
    for name, members in sorted(groups.items()):
        ids = sorted(item.id for item in members)
        chosen.update(random.Random(f"{seed}/{name}").sample(ids, min(size, len(ids))))
    return [item for item in items if item.id in chosen]


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def overlaps(items: Iterable[PolymathItem]) -> dict[str, list[list[str]]]:
    """Questions with the same text (whitespace and case aside) in two benchmarks, by benchmark pair."""
    by_text: dict[str, list[PolymathItem]] = defaultdict(list)
    for item in items:
        by_text[_normalised(item.question)].append(item)
    pairs: dict[str, list[list[str]]] = defaultdict(list)
    for group in by_text.values():
        benchmarks = sorted({item.benchmark for item in group})
        if len(benchmarks) > 1:
            pairs["+".join(benchmarks)].append(sorted(item.id for item in group))
    return dict(pairs)


def dedupe_across(items: Sequence[PolymathItem], order: Sequence[str]) -> list[PolymathItem]:
    """Drop a question already counted in a benchmark earlier in ``order`` (``--dedupe-across``)."""
    rank = {name: position for position, name in enumerate(order)}
    first: dict[str, str] = {}  # question text -> the benchmark that counts it
    kept = []
    for item in sorted(items, key=lambda item: rank.get(item.benchmark, len(rank))):
        owner = first.setdefault(_normalised(item.question), item.benchmark)
        if owner == item.benchmark:
            kept.append(item)
    return kept


SUPERGPQA_DATASET = "m-a-p/SuperGPQA"


def _hub_table(dataset: str, revision: str | None, config: str | None, split: str):
    """A Hub dataset split read at ``revision`` (its head when None), and the commit it was read at."""
    import datasets

    from limr_kit.hub.client import connect, datasets_endpoint, hub_errors

    session = connect()
    with hub_errors(session, f"loading {dataset}"), datasets_endpoint(session):
        sha = session.api.dataset_info(dataset, revision=revision).sha
        return datasets.load_dataset(dataset, config, revision=sha, split=split), sha


def supergpqa_items(rows: Iterable[tuple[int, dict]], where: str | Path, mapping: DomainMap) -> list[PolymathItem]:
    """SuperGPQA rows (``uuid``, ``question``, ``options``, ``answer_letter``, ``discipline``) as items."""
    return [
        make_item(
            where,
            index,
            mapping,
            id=f"supergpqa/{row['uuid']}",
            benchmark="supergpqa",
            question=row["question"],
            answer=row["answer_letter"],
            answer_type="choice",
            subject=mapping.subject_of("supergpqa", row["discipline"]),
            options=tuple(row.get("options") or ()),
        )
        for index, row in rows
    ]


def load_supergpqa(revision: str | None = None, mapping: DomainMap | None = None) -> tuple[list[PolymathItem], str]:
    """SuperGPQA (ODC-BY) from the Hub, and the commit it was read at (record it to pin the next run)."""
    table, sha = _hub_table(SUPERGPQA_DATASET, revision, None, "train")
    where = f"{SUPERGPQA_DATASET}@{sha[:12]}"
    return supergpqa_items(enumerate(table, start=1), where, mapping or default_domain_map()), sha


def load_supergpqa_file(path: str | Path, mapping: DomainMap | None = None) -> list[PolymathItem]:
    """SuperGPQA from its released ``SuperGPQA-all.jsonl``."""
    from limr_kit._io import iter_jsonl

    return supergpqa_items(iter_jsonl(path), path, mapping or default_domain_map())


def render_prompt(item: PolymathItem) -> str:
    """The paper's Table 6 prompt around the question, options as "Options are: (A): ..." (its Tables 21-22)."""
    template = json.loads((data_dir("benchmarks") / "polymath" / "prompt.json").read_text(encoding="utf-8"))[
        "template"
    ]
    problem = item.question
    if item.options:
        problem += "\nOptions are:\n" + "\n".join(f"({LETTERS[i]}): {o}" for i, o in enumerate(item.options))
    return template.replace("[PROBLEM]", problem)
