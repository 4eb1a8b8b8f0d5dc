"""The Hub API: routes, access checks and endpoints over :class:`~limr_kit.hub.store.Store`."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from limr_kit.hub import bodies
from limr_kit.hub.store import LFS_SUFFIXES, Store
from limr_kit.hub.transport import Reply, Request, json_reply
from limr_kit.hub.validation import (
    ApiError,
    check_oid,
    check_path,
    check_repo_id,
    check_repo_type,
    check_revision,
)


log = logging.getLogger("limr_kit.hub.server")  # one logger for the whole server


LFS_MIN_SIZE = 10 * 1024 * 1024
_NAME = re.compile(r"(?!.*(--|\.\.))[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9])?")
_REF_KINDS = {"branches": "branch", "tags": "tag"}
_REPO_STATIC = {"gated": False, "disabled": False, "tags": [], "downloads": 0, "likes": 0}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CAPABILITY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UPLOAD_TTL_S = 3600
_CHECKED = {"repo": check_repo_id, "rev": check_revision, "path": check_path}


def _lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


_REPO = r"/api/(?P<rtype>models|datasets)/(?P<repo>[^/]+/[^/]+)"
_GIT_REPO = r"/(?:(?P<prefix>datasets)/)?(?P<repo>[^/]+/[^/]+)"


class HubApi:
    """The endpoints; ``handle`` routes a request to one of them."""

    def __init__(self, store: Store, tokens: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.tokens = frozenset(token.encode("utf-8") for token in tokens)
        self.uploads: dict[str, tuple[str, int, float]] = {}  # capability -> (sha256, size, expiry)
        self.routes: list[tuple[set[str], re.Pattern[str], Callable[..., Reply]]] = [
            ({"GET"}, r"/api/whoami-v2", self.whoami),
            ({"POST"}, r"/api/repos/create", self.create_repo),
            ({"DELETE"}, r"/api/repos/delete", self.delete_repo),
            ({"POST"}, r"/api/validate-yaml", self.validate_yaml),
            ({"GET"}, rf"{_REPO}(?:/revision/(?P<rev>[^/]+))?", self.repo_info),
            ({"POST"}, rf"{_REPO}/preupload/(?P<rev>[^/]+)", self.preupload),
            ({"POST"}, rf"{_REPO}/commit/(?P<rev>[^/]+)", self.commit),
            ({"GET"}, rf"{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", self.tree),
            ({"POST"}, rf"{_REPO}/paths-info/(?P<rev>[^/]+)", self.paths_info),
            ({"GET"}, rf"{_REPO}/commits/(?P<rev>[^/]+)", self.commits),
            ({"GET"}, rf"{_REPO}/refs", self.refs),
            ({"POST", "DELETE"}, rf"{_REPO}/tag/(?P<rev>[^/]+)", self.tag),
            ({"POST", "DELETE"}, rf"{_REPO}/branch/(?P<rev>[^/]+)", self.branch),
            ({"POST"}, rf"{_GIT_REPO}\.git/info/lfs/objects/batch", self.lfs_batch),
            ({"POST"}, rf"{_GIT_REPO}\.git/info/lfs/objects/verify", self.lfs_verify),
            ({"PUT"}, r"/lfs-upload/(?P<capability>[\w-]+)", self.lfs_upload),
            ({"GET", "HEAD"}, rf"{_GIT_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", self.resolve),
        ]
        self.routes = [(methods, re.compile(pattern), handler) for methods, pattern, handler in self.routes]

    def handle(self, request: Request) -> Reply:
        for methods, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match and request.method in methods:
                return handler(request, **_checked_params(match))
        raise ApiError(404, f"No endpoint {request.method} {request.path}")

    # access

    def _authenticated(self, request: Request) -> bool:
        token = request.token
        return not self.tokens or (token is not None and any(hmac.compare_digest(token, t) for t in self.tokens))

    def _require_write(self, request: Request) -> None:
        if not self._authenticated(request):
            raise ApiError(
                401,
                "Invalid or missing token: send 'Authorization: Bearer <token>' with a token "
                "listed in the server's token file.",
            )

    def _open(self, request: Request, rtype: str, repo: str, *, write: bool = False) -> tuple[Path, dict[str, Any]]:
        """The repo folder and metadata, after the access checks."""
        if write:
            self._require_write(request)
        meta = self.store.repo(rtype, repo)
        if meta["private"] and not self._authenticated(request):
            raise ApiError(404, f"Repository {repo} ({rtype}) not found.", "RepoNotFound")
        return self.store.repo_dir(rtype, repo), meta

    def _tree(self, request: Request, rtype: str, repo: str, rev: str) -> tuple[Path, str, dict[str, Any]]:
        rdir, _ = self._open(request, _singular(rtype), repo)
        sha = self.store.resolve(rdir, rev)
        return rdir, sha, self.store.commit(rdir, sha)["tree"]

    # endpoints

    def whoami(self, request: Request) -> Reply:
        if self.tokens and not self._authenticated(request):
            raise ApiError(401, "Invalid user token.")
        access = {"displayName": "limr-kit hub", "role": "write"}
        return json_reply(
            {
                "type": "user",
                "name": "local",
                "fullname": "limr-kit local hub",
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": access},
            }
        )

    def create_repo(self, request: Request) -> Reply:
        self._require_write(request)
        payload = request.parse(bodies.CreateRepo)
        rtype = check_repo_type(payload.type or "model")
        repo_id = check_repo_id(f"{payload.organization or 'local'}/{payload.name}")
        url = f"{request.base_url}/{_url_prefix(rtype)}{repo_id}"
        private = (payload.visibility or ("private" if payload.private else "public")) == "private"
        if not self.store.create_repo(rtype, repo_id, private):
            raise ApiError(409, f"You already created this {rtype} repo: {repo_id}", url=url)
        log.info("created %s repo %s", rtype, repo_id)
        return json_reply({"url": url, "name": repo_id, "id": repo_id})

    def delete_repo(self, request: Request) -> Reply:
        self._require_write(request)
        payload = request.parse(bodies.DeleteRepo)
        rtype = check_repo_type(payload.type or "model")
        repo_id = check_repo_id(f"{payload.organization or 'local'}/{payload.name}")
        self._open(request, rtype, repo_id, write=True)
        self.store.delete_repo(rtype, repo_id)
        return json_reply({})

    def validate_yaml(self, request: Request) -> Reply:
        content = request.parse(bodies.ValidateYaml).content
        lines = content.splitlines()
        if not lines or lines[0].strip() != "---":
            return json_reply({"errors": [], "warnings": [{"message": "empty or missing yaml metadata in repo card"}]})
        if "---" not in (line.strip() for line in lines[1:]):
            return json_reply({"errors": [{"message": "the YAML metadata block is not closed with '---'"}]}, 400)
        return json_reply({"errors": [], "warnings": []})

    def repo_info(self, request: Request, rtype: str, repo: str, rev: str = "main") -> Reply:
        rdir, meta = self._open(request, _singular(rtype), repo)
        sha = self.store.resolve(rdir, rev)
        commit = self.store.commit(rdir, sha)
        siblings = [
            {"rfilename": path, "size": entry["size"], "blobId": entry["oid"], "lfs": _lfs_info(entry, "sha256")}
            for path, entry in commit["tree"].items()
        ]
        dates = {"createdAt": meta["createdAt"], "lastModified": commit["date"]}
        return json_reply(
            {"id": repo, "author": repo.split("/")[0], "sha": sha, "private": meta["private"], **dates, **_REPO_STATIC}
            | {"siblings": siblings}
        )

    def preupload(self, request: Request, rtype: str, repo: str, rev: str) -> Reply:
        self._require_write(request)
        _, _, tree = self._tree(request, rtype, repo, rev)
        files = []
        for item in request.parse(bodies.Preupload).files:
            path, size = check_path(item.path), item.size
            sample = bodies.b64decode(item.sample, f"sample of {path}")
            lfs = path.lower().endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE or b"\0" in sample
            current = tree.get(path)
            oid = None if current is None else (current["sha256"] if current["lfs"] else current["oid"])
            files.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        return json_reply({"files": files})

    def lfs_batch(self, request: Request, repo: str, prefix: str | None = None) -> Reply:
        rtype = "dataset" if prefix else "model"
        self._open(request, rtype, repo, write=True)
        payload = request.parse(bodies.LfsBatch)
        if payload.operation != "upload":
            raise ApiError(400, "Only the LFS 'upload' operation is served; download files through /resolve/.")
        verify = f"{request.base_url}/{_url_prefix(rtype)}{repo}.git/info/lfs/objects/verify"
        objects = []
        for item in payload.objects:
            oid, size = item.get("oid"), item.get("size")
            entry: dict[str, Any] = {"oid": str(oid), "size": size if isinstance(size, int) else -1}
            if not (isinstance(oid, str) and _SHA256.fullmatch(oid) and isinstance(size, int) and size >= 0):
                entry["error"] = {"code": 422, "message": "oid must be a sha256 and size a non-negative integer"}
            elif not self.store.has_object(oid, size):
                capability = secrets.token_urlsafe(24)
                with self.store.lock:
                    self.uploads[capability] = (oid, size, time.time() + _UPLOAD_TTL_S)
                upload = {"href": f"{request.base_url}/lfs-upload/{capability}", "expires_in": _UPLOAD_TTL_S}
                entry.update(authenticated=True, actions={"upload": upload, "verify": {"href": verify}})
            objects.append(entry)
        return json_reply(
            {"transfer": "basic", "objects": objects}, headers={"Content-Type": "application/vnd.git-lfs+json"}
        )

    def lfs_upload(self, request: Request, capability: str) -> Reply:
        with self.store.lock:
            oid, size, expiry = self.uploads.get(capability, ("", 0, 0.0))
        if expiry < time.time():
            raise ApiError(404, "Unknown or expired upload URL; ask the LFS batch endpoint for a new one.")
        self.store.receive_object(request.chunks(limit=size), oid, size)
        with self.store.lock:
            self.uploads.pop(capability, None)
        return Reply(200)

    def lfs_verify(self, request: Request, repo: str, prefix: str | None = None) -> Reply:
        self._open(request, "dataset" if prefix else "model", repo, write=True)
        payload = request.parse(bodies.LfsVerify)
        if not self.store.has_object(check_oid(payload.oid), payload.size):
            raise ApiError(404, f"LFS object {payload.oid} was not uploaded.")
        return json_reply({})

    def commit(self, request: Request, rtype: str, repo: str, rev: str) -> Reply:
        rdir, _ = self._open(request, _singular(rtype), repo, write=True)
        what = "NDJSON line of the commit body"
        lines = [
            bodies.parse(bodies.CommitLine, bodies.load_json(line, what), what)
            for line in request.body().splitlines()
            if line.strip()
        ]
        if not lines or lines[0].key != "header":
            raise ApiError(400, "The commit body must start with a 'header' line.")
        header = bodies.parse(bodies.CommitHeader, lines[0].value, "commit header")
        with self.store.lock:
            head = self.store.refs(rdir)["branches"].get(rev.removeprefix("refs/heads/"))
            if head is None:
                raise ApiError(404, f"Branch {rev} does not exist; create it first.", "RevisionNotFound")
            parent = header.parentCommit
            if parent is not None and parent != head:
                raise ApiError(412, "A commit has happened since. Please refresh and try again.")
            tree = dict(self.store.commit(rdir, head)["tree"])
            for line in lines[1:]:
                self._apply(tree, line.key, line.value)
            sha = self.store.write_commit(rdir, [head], tree, header.summary, header.description)
            self.store.update_refs(
                rdir, lambda refs: refs["branches"].__setitem__(rev.removeprefix("refs/heads/"), sha)
            )
        log.info("commit %s on %s %s@%s", sha[:10], _singular(rtype), repo, rev)
        url = f"{request.base_url}/{_url_prefix(_singular(rtype))}{repo}/commit/{sha}"
        return json_reply({"success": True, "commitOid": sha, "commitUrl": url, "pullRequestUrl": None})

    def _apply(self, tree: dict[str, Any], key: str, value: dict[str, Any]) -> None:
        if key == "file":
            op = bodies.parse(bodies.FileOp, value, "file operation")
            path = check_path(op.path)
            self.store.add_blob(tree, path, bodies.b64decode(op.content, f"content of {path}"))
        elif key == "lfsFile":
            lfs = bodies.parse(bodies.LfsFileOp, value, "lfsFile operation")
            path, oid = check_path(lfs.path), check_oid(lfs.oid)
            if not self.store.has_object(oid):
                raise ApiError(400, f"LFS object {oid} for {path} was never uploaded.")
            size = self.store.object_path(oid).stat().st_size
            pointer = _lfs_pointer(oid, size)
            from huggingface_hub.utils.sha import git_hash

            tree[path] = dict(sha256=oid, size=size, oid=git_hash(pointer), lfs=True, pointerSize=len(pointer))
        elif key == "deletedFile":
            path = check_path(bodies.parse(bodies.DeletedOp, value, "deletedFile operation").path)
            if tree.pop(path, None) is None:
                raise ApiError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
        elif key == "deletedFolder":
            path = check_path(bodies.parse(bodies.DeletedOp, value, "deletedFolder operation").path.rstrip("/"))
            doomed = [name for name in tree if name.startswith(path + "/")]
            if not doomed:
                raise ApiError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
            for name in doomed:
                del tree[name]
        else:
            raise ApiError(400, f"Unknown commit operation '{key}'.")

    def tree(self, request: Request, rtype: str, repo: str, rev: str, path: str = "") -> Reply:
        _, _, tree = self._tree(request, rtype, repo, rev)
        recursive = request.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        entries = _list_tree(tree, path, recursive)
        if path and path not in _directories(tree):
            raise ApiError(404, f"Directory {path} not found.", "EntryNotFound")
        return json_reply(entries)

    def paths_info(self, request: Request, rtype: str, repo: str, rev: str) -> Reply:
        _, _, tree = self._tree(request, rtype, repo, rev)
        wanted = [path.strip("/") for path in parse_qs(request.body().decode("utf-8", "replace")).get("paths", [])]
        entries = _list_tree(tree, "", recursive=True)
        return json_reply([entry for entry in entries if entry["path"] in wanted])

    def commits(self, request: Request, rtype: str, repo: str, rev: str) -> Reply:
        rdir, sha, _ = self._tree(request, rtype, repo, rev)
        history = []
        while sha:
            commit = self.store.commit(rdir, sha)
            text = {key: commit[key] for key in ("title", "message", "date")}
            history.append({"id": sha, "authors": [{"user": "local"}], **text})
            sha = commit["parents"][0] if commit["parents"] else ""
        return json_reply(history)

    def refs(self, request: Request, rtype: str, repo: str) -> Reply:
        rdir, _ = self._open(request, _singular(rtype), repo)
        refs = self.store.refs(rdir)
        listing: dict[str, Any] = {"converts": []}
        for kind, prefix in (("branches", "refs/heads/"), ("tags", "refs/tags/")):
            listing[kind] = [
                {"name": name, "ref": prefix + name, "targetCommit": sha} for name, sha in refs[kind].items()
            ]
        if "include_prs" in request.query:
            listing["pullRequests"] = []
        return json_reply(listing)

    def tag(self, request: Request, rtype: str, repo: str, rev: str) -> Reply:
        """POST tags revision ``rev`` with ``{"tag": name}``; DELETE removes the tag ``rev``."""
        return self._ref(request, rtype, repo, "tags", rev)

    def branch(self, request: Request, rtype: str, repo: str, rev: str) -> Reply:
        """POST creates branch ``rev`` at ``{"startingPoint": rev}`` (default main); DELETE removes it."""
        return self._ref(request, rtype, repo, "branches", rev)

    def _ref(self, request: Request, rtype: str, repo: str, kind: str, rev: str) -> Reply:
        rdir, _ = self._open(request, _singular(rtype), repo, write=True)
        if request.method == "DELETE":
            if kind == "branches" and rev == "main":
                raise ApiError(403, "The main branch cannot be deleted.")

            def drop(refs: dict[str, dict[str, str]]) -> None:
                if refs[kind].pop(rev, None) is None:
                    raise ApiError(404, f"No {_REF_KINDS[kind]} named {rev}.", "RevisionNotFound")

            self.store.update_refs(rdir, drop)
            return json_reply({})
        if kind == "tags":
            name, start = request.parse(bodies.Tag).tag, rev
        else:
            name, start = rev, check_revision(request.parse(bodies.Branch).startingPoint or "main")
        if not _NAME.fullmatch(name.replace("/", "-")):
            raise ApiError(400, f"Invalid {_REF_KINDS[kind]} name: {name!r}")

        def add(refs: dict[str, dict[str, str]]) -> None:
            if name in refs[kind]:
                raise ApiError(409, f"{name} already exists.")
            refs[kind][name] = self.store.resolve(rdir, start)

        self.store.update_refs(rdir, add)
        return json_reply({})

    def resolve(self, request: Request, repo: str, rev: str, path: str, prefix: str | None = None) -> Reply:
        rtype = "dataset" if prefix else "model"
        rdir, _ = self._open(request, rtype, repo)
        sha = self.store.resolve(rdir, rev)
        entry = self.store.commit(rdir, sha)["tree"].get(path)
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
        if entry is None:
            raise ApiError(404, f"Entry {path} not found at {rev}.", "EntryNotFound", headers=headers)
        headers.update(ETag=f'"{entry["sha256"] if entry["lfs"] else entry["oid"]}"')
        headers["Content-Type"] = "application/octet-stream"
        if entry["lfs"]:
            headers.update({"X-Linked-Etag": f'"{entry["sha256"]}"', "X-Linked-Size": str(entry["size"])})
        size, content = entry["size"], self.store.object_path(entry["sha256"])
        start, end = _byte_range(request.headers.get("Range"), size)
        if start is None:
            return Reply(200, headers=headers, file=content, length=size)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return Reply(206, headers=headers, file=content, offset=start, length=end - start + 1)


def _checked_params(match: re.Match[str]) -> dict[str, str]:
    """The route's parameters, percent-decoded and then validated (paths lose their outer slashes)."""
    params = {}
    for key, raw in match.groupdict().items():
        if raw is None:
            continue
        try:
            value = unquote(raw, errors="strict")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "The URL's percent-encoding is not UTF-8.") from exc
        if key == "path":
            value = value.strip("/")
        if key in _CHECKED and (value or key != "path"):
            _CHECKED[key](value)
        if key == "capability" and not _CAPABILITY.fullmatch(value):
            raise ApiError(404, "Unknown or expired upload URL; ask the LFS batch endpoint for a new one.")
        params[key] = value
    return params


def _singular(rtype: str) -> str:
    return rtype.removesuffix("s")


def _url_prefix(rtype: str) -> str:
    return "" if rtype == "model" else f"{rtype}s/"


def _lfs_info(entry: dict[str, Any], oid_key: str) -> dict[str, Any] | None:
    if not entry["lfs"]:
        return None
    return {oid_key: entry["sha256"], "size": entry["size"], "pointerSize": entry["pointerSize"]}


def _directories(tree: dict[str, Any]) -> set[str]:
    return {"/".join(path.split("/")[:depth]) for path in tree for depth in range(1, path.count("/") + 1)}


def _list_tree(tree: dict[str, Any], folder: str, recursive: bool) -> list[dict[str, Any]]:
    """Tree entries under ``folder`` (direct children, or everything when recursive), folders included."""
    base = f"{folder}/" if folder else ""
    entries = []
    for directory in sorted(_directories(tree)):
        if directory.startswith(base) and (recursive or "/" not in directory[len(base) :]):
            children = sorted((p, e["oid"]) for p, e in tree.items() if p.startswith(directory + "/"))
            oid = hashlib.sha1(json.dumps(children).encode()).hexdigest()
            entries.append({"type": "directory", "oid": oid, "size": 0, "path": directory})
    for path, entry in sorted(tree.items()):
        if path.startswith(base) and (recursive or "/" not in path[len(base) :]):
            item = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": path}
            if entry["lfs"]:
                item["lfs"] = _lfs_info(entry, "oid")
            entries.append(item)
    return entries


def _byte_range(header: str | None, size: int) -> tuple[int | None, int]:
    """(start, end) of a single ``bytes=a-b`` range, (None, 0) for the whole file; 416 if unsatisfiable."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not match or match.groups() == ("", ""):
        return None, 0
    first, last = match.groups()
    start, end = (int(first), int(last) if last else size - 1) if first else (max(0, size - int(last)), size - 1)
    if start >= size or start > end:
        raise ApiError(
            416, f"Range {header} is outside the file ({size} bytes).", headers={"Content-Range": f"bytes */{size}"}
        )
    return start, min(end, size - 1)
