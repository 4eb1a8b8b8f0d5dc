"""Resolve the model to benchmark: a local checkpoint folder or a Hub id ``org/name[@revision]``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limr_kit.errors import InputError


if TYPE_CHECKING:
    from huggingface_hub import HfApi

_FINGERPRINT_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Where the weights are and which exact version they are."""

    id: str
    path: Path
    revision: str | None  # as asked (Hub only)
    sha: str  # the Hub commit, or a content fingerprint of a local folder

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "revision": self.revision, "sha": self.sha}


def fingerprint(folder: Path) -> str:
    """sha256 over each file's name, size, first and last MiB: fast even for 15 GB of weights."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder)}\0{size}\0".encode())
        with open(path, "rb") as handle:
            digest.update(handle.read(_FINGERPRINT_BYTES))
            if size > 2 * _FINGERPRINT_BYTES:
                handle.seek(-_FINGERPRINT_BYTES, 2)
                digest.update(handle.read())
    return "local-" + digest.hexdigest()


def resolve_model(model: str, *, api: HfApi | None = None, cache_dir: str | Path | None = None) -> ResolvedModel:
    """A checkpoint folder (with config.json) as is; a Hub id is downloaded at its revision (from ``api``'s Hub,
    into the user's Hub cache or ``cache_dir``)."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(f"{path} has no config.json: it is not a Hugging Face checkpoint folder.")
        return ResolvedModel(str(path), path.resolve(), None, fingerprint(path))
    if path.exists() or model.startswith((".", "/", "~")) or model.partition("@")[0].count("/") != 1:
        raise InputError(
            f"Model '{model}' is neither a checkpoint folder nor a Hub id like Qwen/Qwen2.5-Math-7B[@REV]."
        )
    from limr_kit.hub.client import connect, hub_errors, parse_spec

    repo_id, revision = parse_spec(model)
    session = connect(api=api)
    from huggingface_hub import snapshot_download

    with hub_errors(session, f"downloading model {model}"):
        snapshot = Path(
            snapshot_download(
                repo_id, revision=revision, endpoint=session.endpoint, token=session.auth, cache_dir=cache_dir
            )
        )
    if not (snapshot / "config.json").is_file():
        raise InputError(f"Hub repo {repo_id} has no config.json: it is not a model checkpoint.")
    return ResolvedModel(repo_id, snapshot, revision, snapshot.name)


def context_length(path: Path) -> int:
    """The model's context window (``max_position_embeddings``), which prompt + new tokens must fit."""
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    for key in ("max_position_embeddings", "max_sequence_length", "n_positions"):
        if isinstance(config.get(key), int):
            return config[key]
    raise InputError(f"{path}/config.json gives no context length (max_position_embeddings).")
