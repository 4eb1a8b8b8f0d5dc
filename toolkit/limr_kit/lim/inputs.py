"""Find trajectory files and tell their format from extension and content."""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from limr_kit.errors import BadRowError, InputError


FileFormat = Literal["jsonl", "json-array", "json-object", "csv", "parquet"]

SUPPORTED_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
_SNIFF_BYTES = 64 * 1024
_WHOLE_JSON_LIMIT = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class InputFile:
    """One trajectory file and its detected format."""

    path: Path
    format: FileFormat


def resolve_paths(source: str | Path) -> list[Path]:
    """Expand a file, a folder (searched recursively) or a glob into a sorted list of files."""
    text = str(source)
    if any(char in text for char in "*?["):
        paths = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not paths:
            raise InputError(f"No files match the pattern {text}. Check the path and quote the glob.")
        return paths
    path = Path(text)
    if path.is_file():
        return [path]
    if path.is_dir():
        paths = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        if not paths:
            raise InputError(
                f"Folder {path} holds no trajectory files ({', '.join(SUPPORTED_SUFFIXES)}). Point at the reward logs."
            )
        return paths
    raise InputError(f"{path} does not exist. Give a trajectory file, a folder of shards, or a glob.")


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(_SNIFF_BYTES)


def is_empty(path: Path) -> bool:
    """True when the file has no bytes or only whitespace."""
    if path.stat().st_size == 0:
        return True
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            if chunk.strip():
                return False
    return True


def detect_format(path: Path) -> FileFormat:
    """Format of one non-empty file, from its extension and first bytes."""
    head = _head(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet" or head.startswith(b"PAR1"):
        if not head.startswith(b"PAR1"):
            raise BadRowError(
                path, None, "not a parquet file (missing PAR1 magic)", "re-export it or fix the extension"
            )
        return "parquet"
    if b"\x00" in head:
        raise BadRowError(path, None, "binary content, not JSON, JSON lines or CSV", "point at the reward log itself")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut by the sniff window
            raise BadRowError(path, None, "not UTF-8 text", "save the file as UTF-8") from exc
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip()
    if suffix == ".csv":
        return "csv"
    if stripped.startswith("["):
        return "json-array"
    if stripped.startswith("{"):
        return _object_or_lines(path, stripped)
    if suffix in (".jsonl", ".ndjson", ".json"):
        first = stripped.splitlines()[0] if stripped else ""
        raise BadRowError(path, 1, f"not JSON: starts with {first[:40]!r}", "each line must be one JSON object")
    raise InputError(f"{path}: unsupported file type. Use one of {', '.join(SUPPORTED_SUFFIXES)}.")


def _object_or_lines(path: Path, head: str) -> FileFormat:
    """A file starting with '{' is JSON lines unless the whole file is one JSON object."""
    first_line = head.split("\n", 1)[0].strip()
    try:
        json.loads(first_line)
    except json.JSONDecodeError:
        first_line_parses = False
    else:
        first_line_parses = True
    rest = head.split("\n", 1)[1].strip() if "\n" in head else ""
    if first_line_parses and (rest or path.suffix.lower() in (".jsonl", ".ndjson")):
        return "jsonl"
    if path.stat().st_size > _WHOLE_JSON_LIMIT:
        raise BadRowError(path, 1, "the first line is not a complete JSON object", "write one JSON object per line")
    return "json-object"


def collect_inputs(source: str | Path) -> tuple[list[InputFile], list[Path]]:
    """Detected input files plus the empty shards that were skipped.

    A single named file must not be empty; in a folder or glob, empty shards (a process that logged
    nothing) are skipped, but not all of them.
    """
    paths = resolve_paths(source)
    empty = [path for path in paths if is_empty(path)]
    if len(paths) == 1 and empty:
        raise BadRowError(paths[0], None, "the file is empty", "point at a reward log with at least one row")
    if len(empty) == len(paths):
        raise InputError(f"All {len(paths)} trajectory files under {source} are empty.")
    files = [InputFile(path, detect_format(path)) for path in paths if path not in empty]
    formats = {item.format for item in files}
    if len(formats) > 1:
        listing = ", ".join(sorted(formats))
        raise InputError(f"Trajectory shards under {source} mix formats ({listing}). Keep one format per run.")
    return files, empty
