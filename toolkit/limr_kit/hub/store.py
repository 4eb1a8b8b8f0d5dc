"""The Hub server's storage: repositories, commits and content-addressed objects under one root folder.

Layout::

    objects/ab/<sha256>                            file contents, content-addressed
    repos/<type>s/<ns>/<name>/repo.json            id, type, private, creation date
    repos/<type>s/<ns>/<name>/commits/<sha1>.json  parents, message, date and the full file tree
    repos/<type>s/<ns>/<name>/refs.json            branches and tags; replaced atomically, last
    tmp/                                           uploads in flight; emptied at start

Objects and commits are written before ``refs.json`` is replaced, so an upload or commit cut off at any
point leaves every branch on its previous commit. Every path is resolved and checked to lie inside the
root before it is read, written or deleted, whatever the caller checked before.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from limr_kit._io import write_json
from limr_kit.hub.validation import ApiError, check_oid, check_repo_id, check_repo_type


# Files stored through LFS, as the real Hub's default .gitattributes does; also any binary or >= 10 MiB file.
LFS_SUFFIXES = tuple(
    ".parquet .arrow .safetensors .bin .pt .pth .ckpt .h5 .onnx .gguf .npy .npz .pkl .msgpack .zip .gz .tar .png .jpg "
    ".jpeg".split()
)
_SHA1 = re.compile(r"[0-9a-f]{40}")


class OutsideRoot(ApiError):
    """A path that would leave the store's root: refused whatever asked for it."""

    def __init__(self) -> None:
        super().__init__(400, "The request names a location outside the hub's storage.")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Store:
    """Repositories, commits and content-addressed objects in a folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.lock = threading.RLock()
        for name in ("objects", "repos"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.root / "tmp", ignore_errors=True)  # uploads cut off by a crash
        (self.root / "tmp").mkdir()
        self.real_root = self.root.resolve()

    def inside(self, path: Path) -> Path:
        """``path`` resolved, or :class:`OutsideRoot` if it is not inside the root."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.real_root):
            raise OutsideRoot()
        return resolved

    # objects

    def object_path(self, sha256: str) -> Path:
        check_oid(sha256)
        return self.inside(self.root / "objects" / sha256[:2] / sha256)

    def has_object(self, sha256: str, size: int | None = None) -> bool:
        path = self.object_path(sha256)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def receive_object(self, chunks: Iterator[bytes], sha256: str | None = None, size: int | None = None) -> str:
        """Store a stream of bytes; checks the expected hash and size. Returns the sha256.

        Each piece is written (past the page cache: :mod:`limr_kit.hub.direct`) on a second thread while
        this one hashes it and receives the next, so the disk, the hash and the network overlap; one piece
        at a time is in flight.
        """
        from concurrent.futures import ThreadPoolExecutor

        from limr_kit.hub.direct import DirectFile

        digest, total = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with DirectFile(fd) as handle, ThreadPoolExecutor(1, "limr-kit-hub-write") as writer:
                writing = None
                for chunk in chunks:
                    if writing is not None:
                        writing.result()
                    writing = writer.submit(handle.write, chunk)
                    digest.update(chunk)
                    total += len(chunk)
                if writing is not None:
                    writing.result()
                handle.sync()  # on disk before any commit can point at it
            oid = digest.hexdigest()
            if (sha256 is not None and oid != sha256) or (size is not None and total != size):
                raise ApiError(400, f"Uploaded content does not match oid {sha256} and size {size}.")
            target = self.object_path(oid)
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
            return oid
        finally:
            Path(tmp).unlink(missing_ok=True)

    # repositories

    def repo_dir(self, rtype: str, repo_id: str) -> Path:
        check_repo_type(rtype)
        check_repo_id(repo_id)
        return self.inside(self.root / "repos" / f"{rtype}s" / repo_id)

    def repo(self, rtype: str, repo_id: str) -> dict[str, Any]:
        path = self.repo_dir(rtype, repo_id) / "repo.json"
        if not path.is_file():
            raise ApiError(404, f"Repository {repo_id} ({rtype}) not found.", "RepoNotFound")
        return json.loads(path.read_text(encoding="utf-8"))

    def create_repo(self, rtype: str, repo_id: str, private: bool) -> bool:
        """Create a repo with an initial commit holding ``.gitattributes``; False if it exists."""
        with self.lock:
            rdir = self.repo_dir(rtype, repo_id)
            if (rdir / "repo.json").is_file():
                return False
            shutil.rmtree(rdir, ignore_errors=True)  # leftovers of a creation cut off half-way
            (rdir / "commits").mkdir(parents=True)
            attributes = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES)
            sha = self.write_commit(
                rdir, [], self.add_blob({}, ".gitattributes", attributes.encode()), "initial commit"
            )
            self._write_json(rdir / "refs.json", {"branches": {"main": sha}, "tags": {}})
            meta = {"id": repo_id, "type": rtype, "private": private, "createdAt": now()}
            self._write_json(rdir / "repo.json", meta)  # written last: the repo exists once this exists
            return True

    def delete_repo(self, rtype: str, repo_id: str) -> None:
        with self.lock:
            self.repo(rtype, repo_id)
            rdir = self.repo_dir(rtype, repo_id)
            trash = self.root / "tmp" / f"deleted-{secrets.token_hex(8)}"
            os.replace(rdir, trash)
            shutil.rmtree(trash, ignore_errors=True)

    # refs and commits

    def refs(self, rdir: Path) -> dict[str, dict[str, str]]:
        return json.loads(self.inside(rdir / "refs.json").read_text(encoding="utf-8"))

    def update_refs(self, rdir: Path, change: Callable[[dict[str, dict[str, str]]], None]) -> None:
        with self.lock:
            refs = self.refs(rdir)
            change(refs)
            self._write_json(rdir / "refs.json", refs)

    def resolve(self, rdir: Path, rev: str) -> str:
        """The commit sha a branch, tag or full commit sha points to."""
        refs = self.refs(rdir)
        for kind in ("branches", "tags"):
            name = rev.removeprefix(f"refs/{'heads' if kind == 'branches' else 'tags'}/")
            if name in refs[kind]:
                return refs[kind][name]
        if _SHA1.fullmatch(rev) and self.inside(rdir / "commits" / f"{rev}.json").is_file():
            return rev
        raise ApiError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def commit(self, rdir: Path, sha: str) -> dict[str, Any]:
        return json.loads(self.inside(rdir / "commits" / f"{sha}.json").read_text(encoding="utf-8"))

    def add_blob(self, tree: dict[str, Any], path: str, data: bytes) -> dict[str, Any]:
        """Store ``data`` as a regular (non-LFS) file at ``path`` of ``tree``; returns the tree."""
        oid = self.receive_object(iter([data]))
        from huggingface_hub.utils.sha import git_hash

        tree[path] = {"sha256": oid, "size": len(data), "oid": git_hash(data), "lfs": False}
        return tree

    def write_commit(self, rdir: Path, parents: list[str], tree: dict[str, Any], title: str, message: str = "") -> str:
        body = {"parents": parents, "tree": dict(sorted(tree.items())), "title": title, "message": message}
        body["date"] = now()
        sha = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
        self._write_json(rdir / "commits" / f"{sha}.json", {"id": sha, **body})
        return sha

    def _write_json(self, path: Path, value: Any) -> None:
        write_json(self.inside(path), value, durable=True)
