"""What the Hub server accepts from the network: one check per kind of name, applied at the edge.

Repo ids follow the Hub's own rules (``huggingface_hub.utils.validate_repo_id``) restricted to ASCII;
revisions and file paths are relative, without ``..`` segments, NUL, backslashes or control characters;
LFS object ids are 64 lowercase hex digits. Every failure is an :class:`ApiError` 400.
"""

from __future__ import annotations

import re
from typing import Any


DEFAULT_MAX_BODY = 64 << 20  # every request body but LFS uploads, which are bounded by their declared size
REPO_TYPES = ("model", "dataset")
RESERVED_NAMESPACES = {"api", "datasets", "models", "spaces", "lfs-upload"}
MAX_REVISION = 256
MAX_PATH = 1000
_ASCII_ID = re.compile(r"[A-Za-z0-9._-]{1,96}(?:/[A-Za-z0-9._-]{1,96})?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
_HEADER_UNSAFE = re.compile(r"[^\x20-\x7e]")
MAX_HEADER_MESSAGE = 200


def header_text(text: str) -> str:
    """``text`` made safe for a response header: printable ASCII only, no CR/LF, short."""
    return _HEADER_UNSAFE.sub("?", text)[:MAX_HEADER_MESSAGE]


class ApiError(Exception):
    """An HTTP error answer, with the ``X-Error-Code`` the client maps to an exception class."""

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra
        self.headers = {"X-Error-Message": header_text(message), **({"X-Error-Code": code} if code else {})}
        self.headers.update(headers or {})


def _bad(what: str, value: object, rule: str) -> ApiError:
    return ApiError(400, f"Invalid {what} {header_text(repr(value))[:120]}: {rule}.")


def check_repo_type(rtype: object) -> str:
    if rtype not in REPO_TYPES:
        raise _bad("repository type", rtype, f"use one of {', '.join(REPO_TYPES)}")
    return str(rtype)


def check_repo_id(repo_id: object) -> str:
    """A ``namespace/name`` id by the Hub's rules, ASCII letters, digits, '-', '_', '.' only."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    rule = "use namespace/name with ASCII letters, digits, '-', '_', '.' (at most 96 characters each)"
    if not isinstance(repo_id, str) or not _ASCII_ID.fullmatch(repo_id) or "/" not in repo_id:
        raise _bad("repo id", repo_id, rule)
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise _bad("repo id", repo_id, str(exc).split(":")[0]) from exc
    namespace = repo_id.split("/")[0]
    if namespace in RESERVED_NAMESPACES:
        raise ApiError(400, f"The namespace '{namespace}' is reserved.")
    return repo_id


def check_revision(rev: object) -> str:
    """A branch, tag or commit: printable ASCII, relative, no '..'."""
    if (
        not isinstance(rev, str)
        or not rev
        or len(rev) > MAX_REVISION
        or _HEADER_UNSAFE.search(rev)
        or "\\" in rev
        or ".." in rev
        or rev.startswith("/")
        or rev.endswith("/")
    ):
        raise _bad("revision", rev, "use a branch, tag or commit name of printable ASCII without '..'")
    return rev


def check_path(path: object) -> str:
    """A file path inside a repo: relative, '/'-separated, no '.', '..' or empty segment, no control character."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH or _CONTROL.search(path):
        raise _bad("path", path, "use a relative path without control characters or backslashes")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise _bad("path", path, "use a relative path without '.', '..' or empty segments")
    return path


def check_oid(oid: object) -> str:
    if not isinstance(oid, str) or not _SHA256.fullmatch(oid):
        raise _bad("LFS oid", oid, "use the sha256 of the content, 64 lowercase hex digits")
    return oid
