"""A small Hugging Face Hub-compatible server: file-backed, stdlib only, for loopback and air-gapped use.

It speaks the part of the Hub HTTP API that ``huggingface_hub`` 2.x and ``datasets`` 5.x use when
``HF_HUB_DISABLE_XET=1``: repositories (model, dataset), NDJSON commits with parents (412 on a stale
parent), LFS batch uploads to capability URLs, tree listings, ``resolve`` with the headers the client
checks and byte ranges, branches, tags and refs.

Storage lives in :mod:`limr_kit.hub.store`; every id, revision, path and body is checked at the edge
(:mod:`limr_kit.hub.validation`, :mod:`limr_kit.hub.bodies`), so malformed input is a 4xx with a JSON
error. Bodies, header sizes and idle time are bounded. With a token file, writes need ``Authorization:
Bearer <token>`` (401 otherwise) and private repositories are hidden from readers without one; tokens
are never logged.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Callable
from pathlib import Path

from limr_kit.errors import ConfigError, HubError, OutputError
from limr_kit.hub.api import HubApi
from limr_kit.hub.store import Store
from limr_kit.hub.transport import DEFAULT_MAX_BODY, HubHTTPServer


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8777
DEFAULT_IDLE_TIMEOUT_S = 60.0
__all__ = ["DEFAULT_HOST", "DEFAULT_MAX_BODY", "DEFAULT_PORT", "HubServer", "default_root", "read_tokens", "serve"]


def default_root() -> Path:
    """Where ``limr-kit hub serve`` keeps repositories unless told otherwise."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "limr-kit" / "hub"


def read_tokens(path: str | Path) -> frozenset[str]:
    """The accepted tokens: one per line; blank lines and ``#`` comments are ignored."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the token file: {exc.strerror}"]) from exc
    tokens = frozenset(line.strip() for line in lines if line.strip() and not line.strip().startswith("#"))
    if not tokens:
        raise ConfigError(path, ["the token file has no token; write one token per line"])
    return tokens


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _exposure(host: str, has_tokens: bool, allow_anonymous_writes: bool) -> str | None:
    """A warning for a server reachable beyond this machine; HubError if anyone could write to it."""
    if _is_loopback(host):
        return None
    if not has_tokens and not allow_anonymous_writes:
        raise HubError(
            f"Refusing to listen on {host} without --token-file: anyone who reaches it could write and delete "
            "repositories. Pass --token-file (one token per line), or --allow-anonymous-writes to accept that."
        )
    if not has_tokens:
        return f"listening on {host} with anonymous writes: anyone who reaches it can change or delete repositories"
    return f"listening on {host} over plain HTTP: tokens cross the network unencrypted, use a trusted network"


class HubServer:
    """The Hub server on a port (0 picks a free one), run in the foreground or on a background thread."""

    def __init__(
        self,
        root: str | Path | None = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token_file: str | Path | None = None,
        *,
        allow_anonymous_writes: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
    ) -> None:
        self.warning = _exposure(host, token_file is not None, allow_anonymous_writes)
        tokens = read_tokens(token_file) if token_file is not None else frozenset()
        self.root = Path(root) if root is not None else default_root()
        try:
            store = Store(self.root)
        except OSError as exc:
            raise OutputError(
                f"Cannot use {self.root} as the hub's storage: {exc.strerror}. Pass another --root."
            ) from exc
        try:
            self.httpd = HubHTTPServer((host, port), HubApi(store, tokens), max_body, idle_timeout)
        except OSError as exc:
            raise HubError(
                f"Cannot listen on {host}:{port}: {exc.strerror}. Pass another --port (0 picks a free one)."
            ) from exc
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.httpd.address}"

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="limr-kit-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (a no-op if already stopped)."""
        if self._thread is None:
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()
        self._thread = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    root: str | Path | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token_file: str | Path | None = None,
    on_ready: Callable[[HubServer], None] | None = None,
    *,
    allow_anonymous_writes: bool = False,
    max_body: int = DEFAULT_MAX_BODY,
) -> None:
    """Serve repositories under ``root`` until interrupted; ``on_ready`` is called once it listens."""
    server = HubServer(root, host, port, token_file, allow_anonymous_writes=allow_anonymous_writes, max_body=max_body)
    if on_ready is not None:
        on_ready(server)
    server.serve_forever()
