"""Read tabular datasets (JSON, JSON lines, CSV, parquet, Hugging Face ``save_to_disk`` folders) as Arrow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from limr_kit._io import iter_jsonl
from limr_kit.errors import BadRowError, InputError


def _read_json_rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if not stripped:
        raise BadRowError(path, None, "the file is empty")
    if stripped.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRowError(path, exc.lineno, f"malformed JSON ({exc.msg})", "the file may be truncated") from exc
        for index, row in enumerate(value, start=1):
            if not isinstance(row, dict):
                raise BadRowError(path, None, f"item {index} is {type(row).__name__}, expected an object")
        return value
    return [row for _, row in iter_jsonl(path)]


def _read_saved_dataset(path: Path, split: str):
    """A ``datasets`` ``save_to_disk`` folder (a Dataset or a DatasetDict) read with pyarrow alone."""
    import pyarrow as pa

    if (path / "dataset_dict.json").is_file():
        splits = json.loads((path / "dataset_dict.json").read_text())["splits"]
        if split not in splits:
            raise InputError(f"{path} has splits {', '.join(splits)}, not '{split}'. Pass --split.")
        path = path / split
    state = json.loads((path / "state.json").read_text())
    tables = []
    for entry in state["_data_files"]:
        with pa.memory_map(str(path / entry["filename"])) as source:
            tables.append(pa.ipc.open_stream(source).read_all())
    return pa.concat_tables(tables)


def read_table(path: str | Path, split: str = "train"):
    """Load a dataset file or folder as a ``pyarrow.Table``."""
    import pyarrow as pa

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return _read_saved_dataset(path, split)
        raise InputError(f"{path} is a folder but not a saved Hugging Face dataset. Point at a data file.")
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise BadRowError(path, None, "the file is empty")
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path)
        except pa.ArrowInvalid as exc:
            raise BadRowError(path, None, f"unreadable parquet ({exc})") from exc
    if suffix == ".csv":
        import pyarrow.csv as pcsv

        try:
            return pcsv.read_csv(path)
        except pa.ArrowInvalid as exc:
            raise BadRowError(path, None, f"unreadable CSV ({exc})") from exc
    if suffix in (".json", ".jsonl", ".ndjson"):
        rows = _read_json_rows(path)
        if not rows:
            raise BadRowError(path, None, "no rows")
        try:
            return pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise BadRowError(path, None, f"rows do not share one schema ({exc})") from exc
    raise InputError(f"{path}: unsupported dataset file. Use .json, .jsonl, .csv, .parquet or a save_to_disk folder.")
