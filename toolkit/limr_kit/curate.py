"""Join sample scores with the source dataset and write the curated training set."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limr_kit import __version__
from limr_kit._io import sha256_file, staged_output, write_json, write_jsonl
from limr_kit.datasets_io import read_table
from limr_kit.errors import InputError
from limr_kit.lim.plots import plot_selection_histogram
from limr_kit.lim.rows import as_number
from limr_kit.lim.scoring import check_selection


SCORE_COLUMN = "selection_score"
DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True, slots=True)
class CurateResult:
    """Counts and file hashes of one curation."""

    out_dir: Path
    manifest: dict[str, Any]

    @property
    def n_selected(self) -> int:
        return int(self.manifest["counts"]["selected"])


@dataclass(frozen=True, slots=True)
class _Scores:
    by_key: dict[str, float]
    flagged: set[str] | None  # keys marked selected=true in the file, if it has that column
    duplicates: int
    key_field: str

    def restricted_to(self, keys: list[str]) -> _Scores:
        """The same scores limited to ``keys`` (in this file's order)."""
        flagged = None if self.flagged is None else self.flagged.intersection(keys)
        return _Scores({key: self.by_key[key] for key in keys}, flagged, self.duplicates, self.key_field)


def _load_scores(path: Path, key: str) -> _Scores:
    table = read_table(path)
    names = set(table.column_names)
    key_field = key if key in names else "sample_id"
    if key_field not in names or "score" not in names:
        raise InputError(
            f"{path}: score rows need '{key}' (or 'sample_id') and 'score' fields; found {', '.join(sorted(names))}."
        )
    keys = table.column(key_field).to_pylist()
    values = table.column("score").to_pylist()
    flags = table.column("selected").to_pylist() if "selected" in names else None
    by_key: dict[str, float] = {}
    flagged: set[str] = set()
    duplicates = 0
    for index, (raw_key, raw_score) in enumerate(zip(keys, values, strict=True)):
        if raw_key is None:
            raise InputError(f"{path}: score row {index + 1} has no '{key_field}'.")
        text = str(raw_key)
        if text in by_key:
            duplicates += 1
            continue
        score = as_number(raw_score)
        by_key[text] = math.nan if score is None else score
        if flags is not None and flags[index]:
            flagged.add(text)
    return _Scores(by_key, flagged if flags is not None else None, duplicates, key_field)


def _choose(scores: _Scores, threshold: float | None, strict: bool, top_k: int | None) -> tuple[set[str], dict]:
    """Keys to keep and a description of the rule used."""
    check_selection(threshold, top_k)
    finite = {key: value for key, value in scores.by_key.items() if not math.isnan(value)}
    if top_k is not None:
        if top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {top_k}.")
        ranked = sorted(finite, key=lambda key: -finite[key])  # stable: ties keep file order
        return set(ranked[:top_k]), {"rule": "top_k", "top_k": top_k}
    if threshold is None and scores.flagged is not None:
        return scores.flagged, {"rule": "selected_flag"}
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if strict:
        chosen = {key for key, value in finite.items() if value > threshold}
    else:
        chosen = {key for key, value in finite.items() if value >= threshold}
    return chosen, {"rule": "threshold", "threshold": threshold, "strict": strict}


def curate(
    scores_path: str | Path,
    dataset_path: str | Path,
    key: str,
    out_dir: str | Path,
    *,
    threshold: float | None = None,
    strict: bool = False,
    top_k: int | None = None,
    split: str = "train",
    decontaminate: str | None = None,
    text_field: str | None = None,
    data_dir: str | Path | None = None,
) -> CurateResult:
    """Keep the dataset rows whose score passes the rule; write train.parquet, train.jsonl, manifest.json, score_hist.png.

    Scores match dataset rows on ``key`` (compared as text). Dataset rows are unique by key: later
    duplicates are dropped and counted. Without ``threshold``/``top_k``, a scores file with a ``selected``
    column (``limr-kit score`` output) keeps its own selection; otherwise the LIM default 0.6 applies.
    With ``decontaminate`` (a bench suite), selected rows matching its problems under the default rule are
    dropped and the report goes to ``decontamination/``.
    """
    import pyarrow as pa

    scores_path, dataset_path = Path(scores_path), Path(dataset_path)
    scores = _load_scores(scores_path, key)
    table = read_table(dataset_path, split=split)
    if key not in table.column_names:
        raise InputError(
            f"{dataset_path} has no column '{key}'. Columns: {', '.join(table.column_names)}. Pass --key with one."
        )
    if SCORE_COLUMN in table.column_names:
        raise InputError(f"{dataset_path} already has a '{SCORE_COLUMN}' column; rename it before curating.")
    first_row: dict[str, int] = {}
    duplicates = 0
    for row, value in enumerate(table.column(key).to_pylist()):
        if str(value) in first_row:
            duplicates += 1
        else:
            first_row[str(value)] = row
    matched = [text for text in scores.by_key if text in first_row]
    if not matched:
        raise InputError(
            f"None of the {len(scores.by_key)} score keys ('{scores.key_field}') match '{key}' in {dataset_path}. "
            "Check --key."
        )
    chosen, rule = _choose(scores.restricted_to(matched), threshold, strict, top_k)
    kept = sorted((first_row[text], text) for text in chosen)  # dataset order
    keep_rows = [row for row, _ in kept]
    kept_scores = [scores.by_key[text] for _, text in kept]
    selected = table.take(pa.array(keep_rows, type=pa.int64())).append_column(
        SCORE_COLUMN, pa.array(kept_scores, type=pa.float64())
    )
    found = None
    if decontaminate is not None:
        from limr_kit.decontam import check, clean_table

        found = check(selected, decontaminate, text_field=text_field, data_dir=data_dir, where=str(dataset_path))
    curated = selected if found is None else clean_table(selected, found)
    manifest: dict[str, Any] = {
        "key": key,
        "selection": rule,
        "scoring": _scoring_provenance(scores_path),
        "counts": {
            "dataset_rows": table.num_rows,
            "dataset_duplicate_keys": duplicates,
            "scores": len(scores.by_key),
            "score_duplicate_keys": scores.duplicates,
            "scores_matched": len(matched),
            "scores_unmatched": len(scores.by_key) - len(matched),
            "selected": curated.num_rows,
            **({"decontaminated_dropped": selected.num_rows - curated.num_rows} if found is not None else {}),
        },
        "inputs": {
            "scores": {"path": str(scores_path), "sha256": sha256_file(scores_path)},
            "dataset": {"path": str(dataset_path), "sha256": dataset_sha256(dataset_path)},
        },
        "columns": curated.column_names,
        "toolkit": {"name": "limr-kit", "version": __version__},
    }
    if found is not None:
        manifest["decontamination"] = found.summary()
    with staged_output(out_dir) as stage:
        if found is not None:
            from limr_kit.decontam import write_reports

            (stage / "decontamination").mkdir()
            write_reports(stage / "decontamination", found, selected, key)
        plot_selection_histogram(scores.by_key, chosen, rule.get("threshold"), stage / "score_hist.png")
        write_training_set(stage, curated, manifest)
    return CurateResult(Path(out_dir), manifest)


def write_training_set(stage: Path, table, manifest: dict[str, Any]) -> None:
    """Write ``table`` as train.parquet and train.jsonl into ``stage``, and manifest.json with their hashes."""
    import pyarrow.parquet as pq

    pq.write_table(table, stage / "train.parquet")
    write_jsonl(stage / "train.jsonl", table.to_pylist())
    manifest["outputs"] = {
        name: {"sha256": sha256_file(stage / name), "rows": table.num_rows}
        for name in ("train.parquet", "train.jsonl")
    }
    write_json(stage / "manifest.json", manifest)


def _scoring_provenance(scores_path: Path) -> dict[str, Any] | None:
    """Method, parameters and counts of the ``limr-kit score`` run that wrote these scores, if known."""
    summary_path = scores_path.parent / "summary.json"
    if scores_path.name != "scores.jsonl" or not summary_path.is_file():
        return None
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return {key: summary.get(key) for key in ("method", "parameters", "counts", "n_epochs", "toolkit")}


def dataset_sha256(path: Path) -> str:
    """sha256 of a file, or of a folder's files in name order (a save_to_disk dataset)."""
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(sha256_file(item).encode())
    return digest.hexdigest()
