"""A small Hugging Face Hub-compatible server: file-backed, on uvicorn, for loopback and air-gapped use.

It speaks the part of the Hub HTTP API that ``huggingface_hub`` 2.x and ``datasets`` 5.x use when
``HF_HUB_DISABLE_XET=1``: repositories (model, dataset), NDJSON commits with parents (412 on a stale
parent), LFS batch uploads to capability URLs, tree listings, ``resolve`` with the headers the client
checks and byte ranges, branches, tags and refs.

Storage lives in :mod:`limr_kit.hub.store`; every id, revision, path and body is checked at the edge
(:mod:`limr_kit.hub.validation`, :mod:`limr_kit.hub.bodies`), so malformed input is a 4xx with a JSON
error. The HTTP layer (:mod:`limr_kit.hub.transport`) is an ASGI app served by uvicorn; bodies, header
sizes and idle time are bounded. With a token file, writes need ``Authorization: Bearer <token>`` (401
otherwise) and private repositories are hidden from readers without one; tokens are never logged
(uvicorn's access log is off).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from limr_kit.errors import ConfigError, HubError, OutputError
from limr_kit.hub.validation import DEFAULT_MAX_BODY


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
    """The Hub server on a port (0 picks a free one), run in the foreground or on a background thread.

    The socket is bound when the object is made, so the URL is known and a busy port fails at once.
    """

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
        import uvicorn

        from limr_kit.hub.api import HubApi
        from limr_kit.hub.store import Store
        from limr_kit.hub.transport import HubApp, protocol_class

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
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.socket = socket.create_server((host, port), family=family)
        except OSError as exc:
            raise HubError(
                f"Cannot listen on {host}:{port}: {exc.strerror}. Pass another --port (0 picks a free one)."
            ) from exc
        config = uvicorn.Config(
            HubApp(HubApi(store, tokens), max_body, idle_timeout),
            http=protocol_class(),
            ws="none",
            lifespan="off",
            access_log=False,  # request lines hold capability URLs; the app logs sanitized ones itself
            log_config=None,
            timeout_keep_alive=idle_timeout,  # type: ignore[arg-type]  # a float works: it goes to call_later
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        self.uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM (then ``KeyboardInterrupt`` after a graceful stop)."""
        try:
            self.uvicorn.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.serve_forever, name="limr-kit-hub", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.uvicorn.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.uvicorn.started:
            self.stop()
            raise HubError("The hub server did not start; see the log above.")
        return self

    def stop(self) -> None:
        """Stop serving, or release the socket of a server never started; a no-op if already stopped."""
        if self._thread is None:
            self.socket.close()
            return
        self.uvicorn.should_exit = True
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
