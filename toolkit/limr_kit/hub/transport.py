"""HTTP plumbing of the Hub server: bounded request bodies, replies, the ``http.server`` adapter."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from limr_kit.hub import bodies
from limr_kit.hub.validation import (
    ApiError,
)


log = logging.getLogger("limr_kit.hub.server")  # one logger for the whole server

DEFAULT_MAX_BODY = 64 << 20  # every body but LFS uploads, which are bounded by their declared size
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[^\r\n]*)?\r?\n")
_CHUNK = 1 << 20
_MAX_DRAIN = 1 << 20
_MAX_LINE = 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    base_url: str
    stream: BinaryIO
    max_body: int = DEFAULT_MAX_BODY
    consumed: bool = False  # reading the body started
    done: bool = False  # the body was read to its end

    @property
    def token(self) -> bytes | None:
        """The bearer token as bytes (headers arrive as Latin-1), so any byte compares without error."""
        value = self.headers.get("Authorization", "")
        return value[7:].strip().encode("latin-1", "replace") if value.lower().startswith("bearer ") else None

    def chunks(self, limit: int | None = None) -> Iterator[bytes]:
        """The body piece by piece (Content-Length or chunked); 413 past ``limit`` (default ``max_body``)."""
        limit = self.max_body if limit is None else limit
        self.consumed = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while size := self._chunk_size():
                total += size
                if total > limit:
                    raise ApiError(413, f"The request body is over the {limit}-byte limit.")
                yield self._read_exactly(size)
                self.stream.readline(4)
            while self.stream.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass
        else:
            left = content_length(self.headers, limit)
            while left:
                chunk = self._read_exactly(min(left, _CHUNK))
                left -= len(chunk)
                yield chunk
        self.done = True

    def _chunk_size(self) -> int:
        match = _CHUNK_LINE.fullmatch(self.stream.readline(_MAX_LINE))
        if match is None:
            raise ApiError(400, "Malformed chunked transfer encoding.")
        return int(match.group(1), 16)

    def _read_exactly(self, size: int) -> bytes:
        data = self.stream.read(size)
        if len(data) != size:
            raise ConnectionError("request body cut off")
        return data

    def body(self) -> bytes:
        return b"".join(self.chunks())

    def json(self) -> Any:
        return bodies.load_json(self.body() or b"{}")

    def parse(self, model: type[bodies.Model]) -> bodies.Model:
        return bodies.parse(model, self.json())


def content_length(headers: Any, limit: int) -> int:
    """The declared body size: 400 unless a plain decimal number, 413 over ``limit``."""
    value = (headers.get("Content-Length") or "0").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise ApiError(400, "Content-Length must be a non-negative decimal number.")
    if int(value) > limit:
        raise ApiError(413, f"The request body is over the {limit}-byte limit.")
    return int(value)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None  # streamed instead of body: bytes [offset, offset + length)
    offset: int = 0
    length: int = 0


def json_reply(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(value).encode(), {"Content-Type": "application/json", **(headers or {})})


class _Handler(BaseHTTPRequestHandler):
    """Adapter from ``http.server`` to :class:`HubApi`: parse, dispatch, answer, drain the body."""

    protocol_version = "HTTP/1.1"
    server: HubHTTPServer

    @property
    def timeout(self) -> float:  # type: ignore[override]  # read by StreamRequestHandler.setup
        return self.server.idle_timeout

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        request = Request(
            self.command,
            url.path,
            parse_qs(url.query),
            self.headers,
            f"http://{self.headers.get('Host') or self.server.address}",
            self.rfile,
            self.server.max_body,
        )
        try:
            reply = self.server.api.handle(request)
        except ApiError as exc:
            reply = json_reply({"error": exc.message, **exc.extra}, exc.status, exc.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:  # a bug: answer 500 rather than drop the connection
            log.exception("error serving %s %s", self.command, url.path)
            reply = json_reply({"error": "internal server error"}, 500)
        if not request.done and (request.consumed or not self._drain(request)):
            reply.headers["Connection"] = "close"
            self.close_connection = True
        try:
            self._send(reply)
        except (ConnectionError, TimeoutError):  # the client went away: nothing left to answer
            self.close_connection = True

    def _drain(self, request: Request) -> bool:
        """Read an unread request body so the connection can be reused; False if it is too large."""
        try:
            for _ in request.chunks(limit=_MAX_DRAIN):
                pass
        except (ApiError, ConnectionError, TimeoutError):
            return False
        return True

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        length = reply.length if reply.file is not None else len(reply.body)
        for name, value in {**reply.headers, "Content-Length": str(length)}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        if reply.file is None:
            self.wfile.write(reply.body)
            return
        with open(reply.file, "rb") as handle:
            handle.seek(reply.offset)
            left = reply.length
            while left and (chunk := handle.read(min(left, _CHUNK))):
                self.wfile.write(chunk)
                left -= len(chunk)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        path = re.sub(r"/lfs-upload/[\w-]+", "/lfs-upload/<capability>", urlsplit(self.path).path)
        log.debug("%s %s %s", self.command, path, args[1] if len(args) > 1 else "")


class HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], api: Any, max_body: int, idle_timeout: float) -> None:
        super().__init__(address, _Handler)
        self.api, self.max_body, self.idle_timeout = api, max_body, idle_timeout

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"
