"""The build context: only the files an image needs, from limr-kit's source checkout, as a tar stream."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

from limr_kit.errors import LimrError
from limr_kit.resources import data_dir


# Top-level files and folders of the checkout that go into every context; data folders that the wheel
# force-includes (pyproject.toml) are added to these.
CONTEXT_FILES = ("pyproject.toml", "README.md", "LICENSE")
CONTEXT_DIRS = ("toolkit", "requirements", "containers")
_SKIPPED_DIRS = {"__pycache__", "node_modules"}


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def source_root() -> Path:
    """The limr-kit checkout the images are built from (the folder holding pyproject.toml and toolkit/)."""
    root = data_dir("containers").parent
    if not (root / "pyproject.toml").is_file() or not (root / "toolkit" / "limr_kit").is_dir():
        raise LimrError(
            "limr-kit build needs limr-kit's source checkout, and this installation is a wheel. Clone the "
            "limr-kit repository, install it with pip install -e '.[containers]', and run limr-kit build there."
        )
    return root


def project_metadata(root: Path) -> dict[str, Any]:
    """The parsed pyproject.toml of the checkout."""
    return _load_toml(root / "pyproject.toml")


def _data_folders(pyproject: dict[str, Any]) -> list[str]:
    wheel = pyproject.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    return [source.split("/")[0] for source in wheel.get("force-include", {})]


def _wanted(path: Path) -> bool:
    skipped = any(part.startswith(".") or part in _SKIPPED_DIRS or part.endswith(".egg-info") for part in path.parts)
    return not skipped and path.suffix not in {".pyc", ".pyo"}


def context_files(root: Path) -> list[Path]:
    """Paths (relative to ``root``) that the build context holds; hidden files and caches are left out."""
    folders = dict.fromkeys([*CONTEXT_DIRS, *_data_folders(project_metadata(root))])
    files = [Path(name) for name in CONTEXT_FILES if (root / name).is_file()]
    for folder in folders:
        if (root / folder).is_dir():
            files.extend(path.relative_to(root) for path in sorted((root / folder).rglob("*")) if path.is_file())
    return [path for path in files if _wanted(path)]


def make_context(root: Path) -> IO[bytes]:
    """A tar of :func:`context_files` with fixed owners and times, so equal files give equal layers."""
    buffer = tempfile.TemporaryFile()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for relative in context_files(root):
            info = tar.gettarinfo(str(root / relative), arcname=relative.as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            info.mode = 0o755 if info.mode & 0o111 else 0o644
            with open(root / relative, "rb") as handle:
                tar.addfile(info, handle)
    buffer.seek(0)
    return buffer


def git_revision(root: Path) -> str:
    """The checkout's commit, with ``-dirty`` when it has uncommitted changes; ``unknown`` outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if changes else commit


def label_args(root: Path, dockerfile: Path) -> dict[str, str]:
    """Build arguments behind the OCI labels: version, git revision, sha256 of the Dockerfile."""
    return {
        "LIMR_VERSION": str(project_metadata(root)["project"]["version"]),
        "LIMR_REVISION": git_revision(root),
        "LIMR_DOCKERFILE_DIGEST": "sha256:" + hashlib.sha256(dockerfile.read_bytes()).hexdigest(),
    }
