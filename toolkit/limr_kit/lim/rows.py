"""Row-by-row reading with exact line numbers: the wide layout, and pinpointing bad long rows."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from limr_kit._io import scan_jsonl
from limr_kit.errors import BadRowError
from limr_kit.lim.inputs import InputFile


Row = dict[str, Any]


def _last_line_torn(path: Path) -> bool:
    """True when the file does not end in a newline and its last line is not valid JSON."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - (1 << 20)))
        tail = handle.read()
    if tail.endswith(b"\n"):
        return False
    last = tail.rsplit(b"\n", 1)[-1]
    try:
        json.loads(last)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    return False


def torn_tail_count(files: list[InputFile]) -> int:
    """How many JSON-lines shards end in a torn line (a writer killed mid-line)."""
    return sum(1 for item in files if item.format == "jsonl" and _last_line_torn(item.path))


def iter_rows(item: InputFile) -> Iterator[tuple[int, Row | None, str | None]]:
    """Yield ``(line, row, problem)``; ``row`` is None when the line does not parse.

    A torn last line of a JSON-lines file is skipped silently: trainers flush per line, so only the
    line being written when a process died can be cut short.
    """
    path = item.path
    if item.format == "jsonl":
        yield from scan_jsonl(path, skip_torn_tail=True, errors="replace")
    elif item.format in ("json-array", "json-object"):
        value = _load_json(path)
        if item.format == "json-object":
            yield 1, value, None
            return
        for index, row in enumerate(value, start=1):
            if isinstance(row, dict):
                yield index, row, None
            else:
                yield index, None, f"item {index} is {type(row).__name__}, expected an object"
    elif item.format == "csv":
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    yield reader.line_num, None, "wrong number of columns"
                    continue
                yield reader.line_num, row, None
    else:
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=65536):
            for row in batch.to_pylist():
                number += 1
                yield number, row, None


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise BadRowError(path, exc.lineno, f"malformed JSON ({exc.msg})", "the file may be truncated") from exc


def as_number(value: Any) -> float | None:
    """A finite float from a JSON/CSV value (booleans count as 1/0), or None for text, NaN and infinities."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def long_row_problem(row: Row, id_field: str, time_field: str | None) -> str | None:
    """Why a long-format row cannot be used, or None."""
    sample_id = row.get(id_field)
    if sample_id is None or (isinstance(sample_id, str) and not sample_id.strip()):
        return f"missing '{id_field}'"
    if "reward" not in row or row["reward"] is None:
        return "missing 'reward'"
    if as_number(row["reward"]) is None:
        return f"reward {row['reward']!r} is not a finite number"
    if time_field is not None:
        if row.get(time_field) is None:
            return f"missing '{time_field}'"
        value = as_number(row[time_field])
        if value is None or value != int(value):
            return f"{time_field} {row[time_field]!r} is not a whole number"
        if value < 0:
            return f"negative {time_field} {int(value)}"
    return None


def first_bad_long_row(files: list[InputFile], id_field: str, time_field: str | None) -> BadRowError | None:
    """Scan the files in order and describe the first unusable row."""
    for item in files:
        for number, row, problem in iter_rows(item):
            problem = problem or long_row_problem(row, id_field, time_field)  # type: ignore[arg-type]
            if problem:
                return BadRowError(item.path, number, problem, "fix the row or pass --on-bad-row skip")
    return None


def wide_trajectory_problem(values: Any) -> str | None:
    """Why a wide trajectory cannot be used, or None."""
    if not isinstance(values, list):
        return f"trajectory must be a list of numbers, got {type(values).__name__}"
    if not values:
        return "trajectory is empty"
    for index, value in enumerate(values, start=1):
        if as_number(value) is None:
            return f"trajectory value {index} ({value!r}) is not a finite number"
    return None


def read_wide(files: list[InputFile], id_field: str, skip_bad: bool) -> tuple[list[str], list[list[float]], int]:
    """Read ``{id: [r1, r2, ...]}`` objects or rows with ``trajectory``; returns ids, values, rows skipped."""
    ids: list[str] = []
    trajectories: list[list[float]] = []
    seen: set[str] = set()
    skipped = 0

    def add(path: Path, line: int, sample_id: Any, values: Any) -> None:
        nonlocal skipped
        problem = wide_trajectory_problem(values)
        if sample_id is None or str(sample_id).strip() == "":
            problem = f"missing '{id_field}'"
        elif str(sample_id) in seen:
            problem = f"sample '{sample_id}' appears twice"
        if problem:
            if skip_bad:
                skipped += 1
                return
            where = line if line else None
            raise BadRowError(path, where, problem, "fix the row or pass --on-bad-row skip")
        seen.add(str(sample_id))
        ids.append(str(sample_id))
        trajectories.append([float(as_number(value)) for value in values])  # type: ignore[arg-type]

    for item in files:
        for number, row, problem in iter_rows(item):
            if row is None:
                if skip_bad:
                    skipped += 1
                    continue
                raise BadRowError(
                    item.path, number, problem or "unreadable row", "fix the row or pass --on-bad-row skip"
                )
            if item.format == "json-object":
                if not all(isinstance(value, list) for value in row.values()):
                    raise BadRowError(
                        item.path, None, 'expected {"<sample_id>": [r_1, r_2, ...], ...}', "see limr-kit score --help"
                    )
                for sample_id, values in row.items():
                    add(item.path, 0, sample_id, values)
            else:
                add(item.path, number, row.get(id_field), row.get("trajectory"))
    return ids, trajectories, skipped


def sample_keys(item: InputFile, limit: int = 100) -> set[str]:
    """Union of the field names of the first ``limit`` readable rows (for layout detection)."""
    if item.format == "parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(item.path).names)
    if item.format == "json-object":
        return {"<wide>"}
    keys: set[str] = set()
    first_problem: BadRowError | None = None
    seen = 0
    for number, row, problem in iter_rows(item):
        if row is None:
            first_problem = first_problem or BadRowError(item.path, number, problem or "unreadable row", "fix the row")
        else:
            keys.update(row)
        seen += 1
        if seen >= limit:
            break
    if not keys and first_problem is not None:
        raise first_problem
    return keys
