"""``limr-kit pull``: download a released dataset or model at a pinned revision, verified against its commit."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limr_kit._io import staged_output
from limr_kit.errors import HubError, InputError
from limr_kit.hub.client import (
    REPO_TYPES,
    HubSession,
    connect,
    datasets_endpoint,
    hub_errors,
    parse_spec,
    with_retries,
)
from limr_kit.release.publish import file_oids


if TYPE_CHECKING:
    from huggingface_hub import HfApi

_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class PullResult:
    """A verified snapshot: where it is and which commit it holds."""

    repo_id: str
    repo_type: str
    revision: str
    commit: str
    path: Path
    files: tuple[str, ...]
    offline: bool
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "repo_type": self.repo_type,
            "revision": self.revision,
            "commit": self.commit,
            "path": str(self.path),
            "files": list(self.files),
            "offline": self.offline,
            "warnings": list(self.warnings),
        }


def pull(
    repo_type: str,
    spec: str,
    *,
    out: str | Path | None = None,
    endpoint: str | None = None,
    api: HfApi | None = None,
    cache_dir: str | Path | None = None,
) -> PullResult:
    """Download ``spec`` (``ID[@REVISION]``) into the Hub cache, verify every file, copy it to ``out`` if given.

    From ``api`` (an ``HfApi``: its endpoint and token), else from ``endpoint`` with the user's token. Into the
    user's Hub cache, or into ``cache_dir``. A dataset pulled into the user's cache is also loaded once with
    ``datasets`` (from the files just verified), so that ``datasets.load_dataset(ID)`` works offline afterwards.
    With ``HF_HUB_OFFLINE=1`` the snapshot comes from the cache (pulled before) and is verified against the
    content ids the cache recorded for that commit.
    """
    if repo_type not in REPO_TYPES:
        raise InputError(f"Cannot pull a '{repo_type}'; choose one of {', '.join(REPO_TYPES)}.")
    repo_id, revision = parse_spec(spec)
    session = connect(endpoint, api=api)
    from huggingface_hub import snapshot_download

    def download() -> tuple[Path, dict[str, str] | None]:
        try:
            path = Path(
                snapshot_download(
                    repo_id,
                    repo_type=repo_type,
                    revision=revision,
                    cache_dir=cache_dir,
                    endpoint=session.endpoint,
                    token=session.auth,
                )
            )
        except ValueError as exc:  # huggingface_hub refuses a file name that would leave the download folder
            raise HubError(
                f"Cannot pull {repo_type} {spec}: the repo holds a file name huggingface_hub refuses to write "
                f"({str(exc).splitlines()[0]}). Ask its owner to rename the file; nothing was pulled."
            ) from exc
        return path, None if session.offline else _commit_oids(session, repo_id, repo_type, path.name)

    with hub_errors(session, f"pulling {repo_type} {spec}"):
        snapshot, expected = with_retries(download)
        commit = snapshot.name
    files = verify_snapshot(snapshot, expected)
    warnings = ()
    if repo_type == "dataset" and not session.offline and cache_dir is None:
        with hub_errors(session, f"loading dataset {spec} with datasets"), datasets_endpoint(session):
            warnings = _prepare_datasets_cache(repo_id, commit, session.auth)
    path = snapshot
    if out is not None:
        with staged_output(out) as stage:
            for name in files:
                (stage / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(snapshot / name, stage / name)
        path = Path(out)
    return PullResult(repo_id, repo_type, revision, commit, path, files, session.offline, warnings)


def _prepare_datasets_cache(repo_id: str, commit: str, token: str | bool) -> tuple[str, ...]:
    """Load the dataset once at ``commit`` so ``datasets`` has it cached; a warning if it cannot load it."""
    import datasets
    from datasets.exceptions import DatasetsError

    try:
        datasets.load_dataset(repo_id, revision=commit, token=token)
    except (DatasetsError, FileNotFoundError, ValueError) as exc:
        return (f"the files are here, but `datasets.load_dataset` cannot load this repo ({exc}).",)
    return ()


def _commit_oids(session: HubSession, repo_id: str, repo_type: str, commit: str) -> dict[str, str]:
    """Each file's content id at ``commit``: sha256 for LFS files, the git blob sha1 for the others."""
    from huggingface_hub.hf_api import RepoFile

    tree = session.api.list_repo_tree(repo_id, repo_type=repo_type, revision=commit, recursive=True)
    return {e.path: e.lfs.sha256 if e.lfs else e.blob_id for e in tree if isinstance(e, RepoFile)}


def verify_snapshot(snapshot: Path, expected: dict[str, str] | None) -> tuple[str, ...]:
    """Check every file of a cache snapshot against its content id; returns the file names.

    The ids come from the commit's tree (``expected``) or, offline, from the cache: each snapshot file links
    to ``blobs/<etag>``, and the Hub's etag is the content id.
    """
    files = tuple(sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()))
    if expected is not None and (missing := sorted(set(expected) - set(files))):
        raise HubError(f"The snapshot of commit {snapshot.name} lacks {', '.join(missing)}. Pull again.")
    for name in files:
        blob = Path(os.path.realpath(snapshot / name)).name
        oid = expected.get(name) if expected is not None else (blob if _OID.fullmatch(blob) else None)
        if oid is None:
            raise HubError(f"Cannot verify {name} of commit {snapshot.name}: no content id recorded. Pull it online.")
        sha256, git_sha1 = file_oids(snapshot / name)
        if oid not in (sha256, git_sha1):
            raise HubError(
                f"{name} does not match commit {snapshot.name} (content id {oid[:12]}). Delete it from the Hub cache "
                "and pull again."
            )
    return files
