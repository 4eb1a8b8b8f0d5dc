"""Check a training dataset against a benchmark suite and write the report, the flagged rows and a clean set."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from limr_kit import __version__
from limr_kit._io import staged_output, write_json, write_jsonl, write_text
from limr_kit.decontam.rules import DEFAULT_N, DEFAULT_THRESHOLD, Reference, RuleResult, near_duplicates, open_r1
from limr_kit.errors import InputError


Rule = Literal["default", "open-r1"]
TEXT_FIELDS = ("prompt", "problem", "question", "context")
MARKDOWN_EXAMPLES = 40


@dataclass(frozen=True, slots=True)
class Decontamination:
    """What one rule found: the matches and the source of every benchmark."""

    suite: str
    text_field: str
    rows: int
    result: RuleResult
    references: tuple[Reference, ...]
    sources: dict[str, dict[str, Any]]

    @property
    def flagged_rows(self) -> list[int]:
        return sorted({hit.row for hit in self.result.hits})

    def summary(self) -> dict[str, Any]:
        """Counts and parameters, for a manifest."""
        pairs = {(self.references[hit.reference].benchmark, hit.row) for hit in self.result.hits}
        per_benchmark = Counter(benchmark for benchmark, _ in pairs)
        return {
            "rule": self.result.rule,
            "suite": self.suite,
            "text_field": self.text_field,
            "parameters": self.result.parameters,
            "counts": {
                "rows": self.rows,
                "candidates": self.result.candidates,
                "flagged": len(self.flagged_rows),
                "by_benchmark": {name: per_benchmark.get(name, 0) for name in self.sources},
            },
            "benchmarks": self.sources,
        }


def text_field_of(columns: list[str], field: str | None, where: str) -> str:
    """The column holding the problem text: ``field`` or the first of :data:`TEXT_FIELDS` present."""
    if field is not None:
        if field not in columns:
            raise InputError(f"{where} has no column '{field}'. Columns: {', '.join(columns)}. Pass --text-field.")
        return field
    for name in TEXT_FIELDS:
        if name in columns:
            return name
    raise InputError(
        f"{where} has none of the text columns {', '.join(TEXT_FIELDS)} (columns: {', '.join(columns)}). "
        "Pass --text-field with the column holding the problem."
    )


def load_references(suite: str, data_dir: str | Path | None) -> tuple[list[Reference], dict[str, dict[str, Any]]]:
    """The problems of every benchmark of ``suite``, read through ``bench``'s loaders."""
    from limr_kit.benchmarks.config import resolve_suite
    from limr_kit.benchmarks.data import load_benchmark

    _, specs = resolve_suite(suite)
    references: list[Reference] = []
    sources: dict[str, dict[str, Any]] = {}
    for spec in specs:
        data = load_benchmark(spec, data_dir)
        references += [Reference(spec.name, question.id, question.question) for question in data.questions]
        sources[spec.name] = {"questions": len(data.questions), **data.source}
    return references, sources


def check(
    table,
    suite: str,
    *,
    rule: Rule = "default",
    threshold: float | None = None,
    n: int | None = None,
    text_field: str | None = None,
    data_dir: str | Path | None = None,
    where: str = "the dataset",
) -> Decontamination:
    """Match every row of ``table`` (a pyarrow table) against the problems of ``suite``."""
    if rule not in ("default", "open-r1"):
        raise InputError(f"Unknown --rule '{rule}'. Choices: default, open-r1.")
    if rule == "open-r1" and threshold is not None:
        raise InputError("--rule open-r1 flags any shared 8-gram; it takes no --threshold.")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise InputError(f"--threshold is a similarity ratio in (0, 1], got {threshold:g}.")
    if n is not None and n < 1:
        raise InputError(f"--ngram must be at least 1, got {n}.")
    field = text_field_of(table.column_names, text_field, where)
    texts = ["" if value is None else str(value) for value in table.column(field).to_pylist()]
    references, sources = load_references(suite, data_dir)
    if rule == "open-r1":
        result = open_r1(texts, references, **({"n": n} if n else {}))
    else:
        result = near_duplicates(
            texts,
            references,
            n=n or DEFAULT_N,
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        )
    return Decontamination(suite, field, len(texts), result, tuple(references), sources)


def _matches(found: Decontamination, table, key: str | None) -> list[dict[str, Any]]:
    texts = table.column(found.text_field).to_pylist()
    ids = table.column(key).to_pylist() if key else None
    rows = []
    for hit in found.result.hits:
        reference = found.references[hit.reference]
        row = {
            "row": hit.row,
            "id": ids[hit.row] if ids is not None else None,
            "text": texts[hit.row],
            "benchmark": reference.benchmark,
            "benchmark_id": reference.id,
            "benchmark_text": reference.text,
        }
        if hit.similarity is not None:
            row["similarity"] = hit.similarity
        if hit.shared_ngrams:
            row["shared_ngrams"] = list(hit.shared_ngrams)
        rows.append(row)
    return rows


def _markdown(found: Decontamination, summary: dict[str, Any], matches: list[dict[str, Any]]) -> str:
    counts = summary["counts"]
    lines = [
        f"# Decontamination: {counts['flagged']} of {counts['rows']} rows flagged against `{found.suite}`",
        "",
        f"Rule: `{found.result.rule}`; parameters: `{summary['parameters']}`; text field `{found.text_field}`.",
        f"Candidates before confirmation: {counts['candidates']}.",
        "",
        "| benchmark | questions | rows flagged |",
        "|---|---|---|",
        *(
            f"| {name} | {source['questions']} | {counts['by_benchmark'][name]} |"
            for name, source in found.sources.items()
        ),
        "",
    ]
    title = "shared n-grams (rows)" if found.result.rule == "open-r1" else "boilerplate n-grams ignored (rows)"
    if found.result.common_ngrams:
        lines += [f"## Most frequent {title}", "", *(f"- `{g}`: {c}" for g, c in found.result.common_ngrams), ""]
    shown = sorted(matches, key=lambda m: -(m.get("similarity") or 0))[:MARKDOWN_EXAMPLES]
    lines += [f"## Matches ({len(shown)} of {len(matches)} shown; all in report.json)", ""]
    for match in shown:
        score = f", similarity {match['similarity']:.3f}" if "similarity" in match else ""
        lines += [
            f"### row {match['row']} (id {match['id']}) ~ {match['benchmark']} {match['benchmark_id']}{score}",
            "",
            f"- training: {' '.join(str(match['text']).split())}",
            f"- benchmark: {' '.join(match['benchmark_text'].split())}",
        ]
        if "shared_ngrams" in match:
            lines.append(f"- shared: {', '.join(f'`{g}`' for g in match['shared_ngrams'])}")
        lines.append("")
    return "\n".join(lines)


def write_reports(stage: Path, found: Decontamination, table, key: str | None) -> dict[str, Any]:
    """report.json, report.md and flagged.jsonl (the flagged rows with their matches) in ``stage``."""
    summary = found.summary()
    matches = _matches(found, table, key)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for match in matches:
        by_row.setdefault(match["row"], []).append({k: v for k, v in match.items() if k not in ("row", "id", "text")})
    write_json(
        stage / "report.json",
        {**summary, "common_ngrams": found.result.common_ngrams, "matches": matches, "toolkit": _toolkit()},
    )
    write_text(stage / "report.md", _markdown(found, summary, matches))
    flagged = found.flagged_rows
    write_jsonl(
        stage / "flagged.jsonl",
        ({**table.slice(row, 1).to_pylist()[0], "contamination": by_row[row]} for row in flagged),
    )
    return summary


def clean_table(table, found: Decontamination):
    """``table`` without the flagged rows."""
    import pyarrow as pa

    flagged = set(found.flagged_rows)
    return table.take(pa.array([row for row in range(table.num_rows) if row not in flagged], type=pa.int64()))


def _toolkit() -> dict[str, str]:
    return {"name": "limr-kit", "version": __version__}


@dataclass(frozen=True, slots=True)
class DecontaminateResult:
    out_dir: Path
    summary: dict[str, Any]


def decontaminate(
    dataset: str | Path,
    suite: str,
    out_dir: str | Path,
    *,
    rule: Rule = "default",
    threshold: float | None = None,
    n: int | None = None,
    drop: bool = False,
    text_field: str | None = None,
    key: str | None = None,
    split: str = "train",
    data_dir: str | Path | None = None,
) -> DecontaminateResult:
    """Check ``dataset`` against ``suite``; write the report and flagged rows, and with ``drop`` a clean set."""
    from limr_kit.curate import dataset_sha256, write_training_set
    from limr_kit.datasets_io import read_table

    dataset = Path(dataset)
    table = read_table(dataset, split=split)
    if key is not None and key not in table.column_names:
        raise InputError(f"{dataset} has no column '{key}'. Columns: {', '.join(table.column_names)}. Check --key.")
    key = key or ("id" if "id" in table.column_names else None)
    found = check(
        table, suite, rule=rule, threshold=threshold, n=n, text_field=text_field, data_dir=data_dir, where=str(dataset)
    )
    with staged_output(out_dir) as stage:
        summary = write_reports(stage, found, table, key)
        if drop:
            clean = clean_table(table, found)
            manifest = {
                "decontamination": summary,
                "counts": {"dataset_rows": table.num_rows, "dropped": len(found.flagged_rows), "kept": clean.num_rows},
                "inputs": {"dataset": {"path": str(dataset), "sha256": dataset_sha256(dataset)}},
                "columns": clean.column_names,
                "toolkit": _toolkit(),
            }
            write_training_set(stage, clean, manifest)
    return DecontaminateResult(Path(out_dir), summary)
