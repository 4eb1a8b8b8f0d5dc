"""Shared Hub client setup: endpoint, token, error translation, retries, secret scanning.

Every call takes its endpoint from an ``HfApi`` (or an endpoint URL) given to it, never from ``HF_ENDPOINT``
having been set before ``huggingface_hub`` or ``datasets`` was imported, so one process can talk to two Hubs;
``HF_ENDPOINT`` is only the default when neither is given. Xet is off by default: the public Hub still accepts
classic LFS uploads and the local server (``limr-kit hub serve``) speaks only LFS; set ``HF_HUB_DISABLE_XET=0``
to use Xet against the public Hub.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from limr_kit.errors import HubAuthError, HubError, HubUnreachableError, InputError, SecretFoundError


if TYPE_CHECKING:
    from huggingface_hub import HfApi

log = logging.getLogger("limr_kit.hub")

PUBLIC_ENDPOINT = "https://huggingface.co"
REPO_TYPES = ("dataset", "model")
TOKEN_PATTERN = re.compile(rb"(?:hf_|api_org_)[A-Za-z0-9]{30,}")
RETRY_DELAYS_S = (1.0, 2.0, 4.0)
_TRANSIENT_STATUS = {408, 412, 429, 500, 502, 503, 504}  # 412: the branch moved; the next attempt re-reads it
_SCAN_OVERLAP = 256
_TRUE = ("1", "true", "yes", "on")

T = TypeVar("T")


def resolve_endpoint(endpoint: str | None = None, api: HfApi | None = None) -> str:
    """``api``'s endpoint, else ``endpoint``, else ``HF_ENDPOINT``, else the public Hub; an http(s) URL.

    Both ``api`` and an ``endpoint`` that differs from its own are refused.
    """
    url = _checked_url(api.endpoint if api is not None else endpoint)
    if api is not None and endpoint is not None and _checked_url(endpoint) != url:
        raise InputError(f"Endpoint '{endpoint}' differs from the given HfApi's ({url}); give one of them.")
    return url


def _checked_url(endpoint: str | None) -> str:
    url = (endpoint or os.environ.get("HF_ENDPOINT") or PUBLIC_ENDPOINT).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"Endpoint '{url}' is not an http(s) URL. Pass e.g. --endpoint http://127.0.0.1:8777.")
    return url


_REPO_ID = re.compile(r"[A-Za-z0-9_.-]{1,96}/[A-Za-z0-9_.-]{1,96}")  # ASCII: `\w` would match any letter


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a valid ``namespace/name`` Hub id (the Hub's own rules).

    Checked without importing ``huggingface_hub`` (slow to import), so bad input fails fast.
    """
    problems = []
    if not _REPO_ID.fullmatch(repo_id):
        problems.append("use namespace/name with ASCII letters, digits, '-', '_' or '.' (at most 96 each)")
    elif "--" in repo_id or ".." in repo_id:
        problems.append("'--' and '..' are not allowed")
    elif any(part[0] in "-." or part[-1] in "-." for part in repo_id.split("/")) or repo_id.endswith(".git"):
        problems.append("names cannot start or end with '-' or '.', nor end with '.git'")
    if problems:
        raise InputError(f"Invalid repo id '{repo_id}': {problems[0]}, e.g. my-org/limr-math.")
    return repo_id


def parse_spec(spec: str, default: str = "main") -> tuple[str, str]:
    """``namespace/name[@revision]`` as (repo id, revision); the revision is ``default`` when not written."""
    repo_id, at, revision = spec.partition("@")
    if at and not revision:
        raise InputError(f"'{spec}' has an empty revision after '@'. Write ID@TAG, ID@BRANCH or ID@COMMIT.")
    return check_repo_id(repo_id), revision or default


@dataclass(frozen=True, slots=True)
class HubSession:
    """An ``HfApi`` bound to one endpoint and token (never printed; ``repr`` hides it)."""

    api: HfApi = field(repr=False)
    endpoint: str
    token: str | None = field(repr=False)

    @property
    def auth(self) -> str | bool:
        """The ``token`` argument for ``huggingface_hub`` calls: ``False`` when there is none, so none is looked up."""
        return self.token or False

    @property
    def offline(self) -> bool:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)


def connect(endpoint: str | None = None, *, api: HfApi | None = None) -> HubSession:
    """A session on ``api``, or on an ``HfApi`` for ``endpoint`` with the user's token (``HF_TOKEN``, else the login).

    An ``api`` made with ``token=False`` sends no token; one made with ``token=None`` uses the user's.
    """
    url = resolve_endpoint(endpoint, api)
    from huggingface_hub import HfApi, constants, get_token

    from limr_kit import __version__

    # Xet stays off unless HF_HUB_DISABLE_XET says otherwise; huggingface_hub reads the setting at call time
    constants.HF_HUB_DISABLE_XET = os.environ.get("HF_HUB_DISABLE_XET", "1").strip().lower() in _TRUE
    if api is None:
        token = get_token()
        api = HfApi(endpoint=url, token=token, library_name="limr-kit", library_version=__version__)
    else:
        token = api.token if isinstance(api.token, str) else (None if api.token is False else get_token())
    return HubSession(api, url, token)


@contextlib.contextmanager
def datasets_endpoint(session: HubSession) -> Iterator[None]:
    """``datasets`` calls inside talk to the session's endpoint (``datasets`` keeps one, read from ``HF_ENDPOINT``).

    It is a module setting of ``datasets``, read at call time: set for the block, then restored (one Hub at a time).
    """
    from datasets import config

    saved = config.HF_ENDPOINT, config.HUB_DATASETS_URL
    config.HF_ENDPOINT = session.endpoint
    config.HUB_DATASETS_URL = session.endpoint + saved[1].removeprefix(saved[0])
    try:
        yield
    finally:
        config.HF_ENDPOINT, config.HUB_DATASETS_URL = saved


def _redact(text: str, token: str | None) -> str:
    text = TOKEN_PATTERN.sub(b"<token>", text.encode()).decode()
    return text.replace(token, "<token>") if token else text


@contextlib.contextmanager
def hub_errors(session: HubSession, what: str) -> Iterator[None]:
    """Turn client exceptions into one clear :class:`HubError` (token masked)."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import httpx

    where = f"the Hub at {session.endpoint}"
    try:
        yield
    except RepositoryNotFoundError as exc:
        raise HubError(f"{what}: repository not found on {where}. Check the repo id and the token's access.") from exc
    except RevisionNotFoundError as exc:
        raise HubError(f"{what}: revision not found on {where}. List branches and tags on the Hub.") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        detail = _redact(str(exc).splitlines()[0], session.token)
        if status in (401, 403):
            raise HubAuthError(
                f"{what}: {where} refused {'the token' if session.token else 'a request without a token'} ({status}). "
                "Set HF_TOKEN to a token with write access "
                "(or log in with `hf auth login`); with `limr-kit hub serve --token-file`, use a listed token."
            ) from exc
        raise HubError(f"{what}: {where} answered {status}: {detail}") from exc
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as exc:
        raise HubError(
            f"{what}: not available offline (HF_HUB_OFFLINE=1) and not in the local cache. Pull it once online."
        ) from exc
    except (httpx.TransportError, ConnectionError) as exc:
        raise HubUnreachableError(
            f"{what}: no Hub answers at {session.endpoint} ({_redact(str(exc), session.token) or type(exc).__name__}). "
            "Check --endpoint / HF_ENDPOINT, or start a local one with `limr-kit hub serve`."
        ) from exc


def is_transient(exc: BaseException) -> bool:
    """5xx, 408/412/429, and connections reset or cut off mid-request (not refused connections)."""
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import httpx

    if isinstance(exc, HfHubHTTPError):
        return exc.response is not None and exc.response.status_code in _TRANSIENT_STATUS
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return False
    return isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ReadTimeout, ConnectionResetError))


def with_retries(attempt: Callable[[], T], delays: tuple[float, ...] = RETRY_DELAYS_S) -> T:
    """Run ``attempt``; after a transient failure wait and run it again (it must be safe to repeat)."""
    for delay in (*delays, None):
        try:
            return attempt()
        except Exception as exc:
            if delay is None or not is_transient(exc):
                raise
            log.warning("transient Hub error (%s); retrying in %g s", type(exc).__name__, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def find_secret(data: bytes, token: str | None = None) -> int | None:
    """Offset of the first token-like string (``hf_...``, ``api_org_...`` or ``token`` itself) in ``data``."""
    found = [match.start()] if (match := TOKEN_PATTERN.search(data)) else []
    if token and len(token) >= 8 and (index := data.find(token.encode())) >= 0:
        found.append(index)
    return min(found) if found else None


def scan_for_secrets(name: str, source: Path | bytes, token: str | None = None) -> None:
    """Raise :class:`SecretFoundError` if a file about to be published contains a token-like string.

    Parquet files are scanned as their decoded rows (compression would hide a token); other files as bytes.
    """
    if isinstance(source, Path) and source.suffix == ".parquet":
        source = _parquet_text(source)
    chunks = [source] if isinstance(source, bytes) else _file_chunks(source)
    offset, tail = 0, b""
    for chunk in chunks:
        window = tail + chunk
        if (position := find_secret(window, token)) is not None:
            raise SecretFoundError(
                f"{name} contains a token-like string (at position {offset - len(tail) + position}). Remove it; "
                "nothing was published."
            )
        offset += len(chunk)
        tail = window[-_SCAN_OVERLAP:]


def _file_chunks(path: Path, size: int = 1 << 22) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def _parquet_text(path: Path) -> bytes:
    import pyarrow.parquet as pq

    from limr_kit._io import dumps

    rows: list[Any] = pq.read_table(path).to_pylist()
    return "\n".join(dumps(row) for row in rows).encode()
