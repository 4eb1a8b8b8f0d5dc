"""Small file helpers: atomic writes, staged output folders, hashing, JSON lines."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from limr_kit.errors import BadRowError, OutputError


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON text with NaN/inf written as null, numpy scalars and paths converted."""
    return json.dumps(_finite(value), indent=indent, ensure_ascii=False, default=_json_default)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` for each non-blank line of a JSON-lines file; a bad line is a :class:`BadRowError`."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadRowError(path, number, f"malformed JSON ({exc.msg})", "one JSON object per line") from exc
            if not isinstance(row, dict):
                raise BadRowError(path, number, f"expected a JSON object, got {type(row).__name__}")
            yield number, row


def ensure_writable_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents) or raise an :class:`OutputError` that says why it cannot be used."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"Output path {path} exists and is not a folder. Choose another --out.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create output folder {path}: {exc.strerror}. Choose another --out.") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"Output folder {path} is not writable. Fix its permissions or choose another --out.")
    return path


def current_umask() -> int:
    """The process umask, read without changing it (``/proc/self/status``; else set and restored)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status", encoding="ascii") as status:
            return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def with_umask_mode(path: Path, *, folder: bool = False) -> Path:
    """Give a ``mkstemp``/``mkdtemp`` path (``0600``/``0700``) the mode a plain ``open``/``mkdir`` would have."""
    path.chmod((0o777 if folder else 0o666) & ~current_umask())
    return path


def check_output_file(path: str | Path) -> Path:
    """Raise an :class:`OutputError` now if ``path`` cannot be written as a file later (before the work)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"Output path {path} is a folder; give a file name (e.g. {path / 'out.jsonl'}).")
    folder = next((parent for parent in path.absolute().parents if parent.exists()), Path("/"))
    if not folder.is_dir():
        raise OutputError(f"Cannot write {path}: {folder} is not a folder. Choose another --out.")
    with _temp_error(path):
        with tempfile.TemporaryFile(dir=folder):
            pass
    return path


@contextlib.contextmanager
def _temp_error(path: Path) -> Iterator[None]:
    """An ``OSError`` making a temporary file or folder next to ``path`` as an :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(f"Cannot write {path}: {reason} in {path.parent}. Choose another --out.") from exc


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``."""
    path = Path(path)
    ensure_writable_dir(path.parent)
    if path.is_dir():
        raise OutputError(f"Output path {path} is a folder; give a file name or remove it.")
    with _temp_error(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = with_umask_mode(Path(tmp))
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, value: Any) -> None:
    """Write indented JSON atomically."""
    write_text(path, dumps(value, indent=2) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write JSON lines atomically; returns the number of rows."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(dumps(row))
            handle.write("\n")
            count += 1
    return count


@contextlib.contextmanager
def staged_output(out_dir: str | Path) -> Iterator[Path]:
    """Yield a staging folder whose files move into ``out_dir`` only if the block succeeds.

    A failure part-way leaves ``out_dir`` exactly as it was. A new ``out_dir`` appears in one rename;
    into an existing one each file is moved with an atomic replace.
    """
    out_dir = Path(out_dir)
    ensure_writable_dir(out_dir.parent if out_dir.parent != Path("") else Path("."))
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"Output path {out_dir} exists and is not a folder. Choose another --out.")
    with _temp_error(out_dir):
        stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".staging", dir=out_dir.parent))
    with_umask_mode(stage, folder=True)
    try:
        yield stage
        if not out_dir.exists():
            os.replace(stage, out_dir)
            return
        ensure_writable_dir(out_dir)
        for item in sorted(stage.iterdir()):
            target = out_dir / item.name
            if target.is_dir() and not item.is_dir():
                raise OutputError(f"{target} is a folder; remove it or choose another --out.")
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
