"""HTTP plumbing of the Hub server: an ASGI app (Starlette responses) over uvicorn's httptools protocol.

:class:`~limr_kit.hub.api.HubApi` stays synchronous: each request runs in a worker thread and reads its
body piece by piece from the event loop (:meth:`Request.chunks`), so an LFS upload streams to disk and
a download streams from it, never whole in memory. Limits: bodies (``max_body``, LFS uploads their
declared size), headers (``MAX_HEADER_BYTES``), and idle time: a connection must send complete
headers within ``idle_timeout`` of opening or of its last answer, and each MiB of a body within it (408).
Protocol errors get a JSON 400 with ``Connection: close``; no raw input is ever echoed into a header.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from limr_kit.hub import bodies
from limr_kit.hub.validation import DEFAULT_MAX_BODY, ApiError


log = logging.getLogger("limr_kit.hub.server")  # one logger for the whole server

MAX_HEADER_BYTES = 64 << 10  # request line and headers together; more is a 400
_CHUNK = 1 << 20  # a body is handed to the API in pieces of about this size
_READ_AHEAD = 4  # pieces read ahead of the API thread
_MAX_DRAIN = 1 << 20  # an unread body up to this size is skipped so the connection stays usable
_MAX_THREADS = 128  # requests served at once (a slow upload holds one); more wait for a free thread
_CAPABILITY_URL = re.compile(r"/lfs-upload/[^/?]+")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Request:
    """One request as the API sees it; its methods run in the worker thread the API runs in."""

    method: str
    path: str  # still percent-encoded: the routes match it before their parameters are decoded
    query: dict[str, list[str]]
    headers: Any  # starlette.datastructures.Headers: case-insensitive, values decoded as Latin-1
    base_url: str
    receive: Receive
    start_task: Callable[..., None]  # starts a task in the event loop, cancelled once the API has answered
    max_body: int = DEFAULT_MAX_BODY
    idle_timeout: float = 60.0
    consumed: bool = False  # reading the body started
    done: bool = False  # the server received the body to its end
    _pieces: Any = None  # the read-ahead: a memory object stream of pieces, ``None`` at the end, or an error

    @property
    def token(self) -> bytes | None:
        """The bearer token as bytes (headers arrive as Latin-1), so any byte compares without error."""
        value = self.headers.get("Authorization", "")
        return value[7:].strip().encode("latin-1", "replace") if value.lower().startswith("bearer ") else None

    def chunks(self, limit: int | None = None) -> Iterator[bytes]:
        """The body piece by piece; 413 past ``limit`` (default ``max_body``), before reading if declared.

        The event loop reads ahead (``_READ_AHEAD`` pieces) while this thread hashes and writes, so the
        network and the disk work at the same time; memory stays bounded by the read-ahead.
        """
        from anyio.from_thread import run

        limit = self.max_body if limit is None else limit
        if "Content-Length" in self.headers:
            content_length(self.headers, limit)
        if not self.consumed:
            self.consumed = True
            run(self._start_reading)
        total = 0
        while (parts := run(self._pieces.receive)) is not None:
            if isinstance(parts, Exception):
                raise parts
            total += sum(map(len, parts))
            if total > limit:
                raise ApiError(413, f"The request body is over the {limit}-byte limit.")
            yield from filter(None, parts)

    async def _start_reading(self) -> None:
        import anyio

        sender, self._pieces = anyio.create_memory_object_stream(_READ_AHEAD)
        self.start_task(self._read_body, sender)

    async def _read_body(self, sender: Any) -> None:
        """Lists of parts, about ``_CHUNK`` bytes each, into ``sender``, then ``None``; a piece that takes over
        the idle time to arrive, or a client gone, is sent as the error the API thread raises."""
        import anyio

        async with sender:
            try:
                while not self.done:
                    parts, size = [], 0
                    with anyio.fail_after(self.idle_timeout):  # one deadline per piece: cheaper than per read
                        while size < _CHUNK and not self.done:
                            message = await self.receive()
                            if message["type"] == "http.disconnect":
                                raise ConnectionError("the client went away mid-body")
                            parts.append(message.get("body", b""))
                            size += len(parts[-1])
                            self.done = not message.get("more_body", False)
                    await sender.send(parts)  # a list, not joined: no copy in the event loop
                await sender.send(None)
            except (TimeoutError, ConnectionError) as exc:
                await sender.send(exc)

    def body(self) -> bytes:
        return b"".join(self.chunks())

    def json(self) -> Any:
        return bodies.load_json(self.body() or b"{}")

    def parse(self, model: type[bodies.Model]) -> bodies.Model:
        return bodies.parse(model, self.json())

    def keeps_connection(self) -> bool:
        """True if the connection can serve another request: the body was read, or is small enough to skip."""
        if self.done:
            return True
        if self.consumed or self.headers.get("Transfer-Encoding"):
            return False
        try:
            return content_length(self.headers, _MAX_DRAIN) >= 0
        except ApiError:
            return False


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


class HubApp:
    """The ASGI app: build a :class:`Request`, run the API on it in a thread, send its :class:`Reply`."""

    def __init__(self, api: Any, max_body: int, idle_timeout: float) -> None:
        self.api, self.max_body, self.idle_timeout = api, max_body, idle_timeout
        self.threads: Any = None  # an anyio.CapacityLimiter, made in the event loop

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        import anyio
        from starlette.datastructures import Headers

        if scope["type"] != "http":
            return
        headers = Headers(scope=scope)
        host = headers.get("Host") or "{}:{}".format(*scope["server"])
        async with anyio.create_task_group() as tasks:
            request = Request(
                scope["method"],
                scope["raw_path"].decode("latin-1"),
                parse_qs(scope["query_string"].decode("latin-1")),
                headers,
                f"http://{host}",
                receive,
                tasks.start_soon,
                self.max_body,
                self.idle_timeout,
            )
            reply = await self._answer(request)
            tasks.cancel_scope.cancel()  # stop reading a body the API left unread
        if request._pieces is not None:
            request._pieces.close()
        if reply is None:
            return  # the client went away: nobody to answer
        if not request.keeps_connection():
            reply.headers["Connection"] = "close"
        log.debug("%s %s %d", request.method, _safe_path(request.path), reply.status)
        await _response(reply, request.method)(scope, receive, send)

    async def _answer(self, request: Request) -> Reply | None:
        """The API's reply, an error reply, or ``None`` if the client went away."""
        import anyio

        if self.threads is None:
            self.threads = anyio.CapacityLimiter(_MAX_THREADS)
        try:
            return await anyio.to_thread.run_sync(self.api.handle, request, limiter=self.threads)
        except ApiError as exc:
            return json_reply({"error": exc.message, **exc.extra}, exc.status, exc.headers)
        except TimeoutError:
            return json_reply({"error": f"The request body stalled: 1 MiB took over {self.idle_timeout:g} s."}, 408)
        except ConnectionError:
            return None
        except Exception:  # a bug: answer 500 rather than drop the connection
            log.exception("error serving %s %s", request.method, _safe_path(request.path))
            return json_reply({"error": "internal server error"}, 500)


def _safe_path(path: str) -> str:
    """``path`` for the log: upload capability URLs are secrets."""
    return _CAPABILITY_URL.sub("/lfs-upload/<url>", path)


def _response(reply: Reply, method: str) -> Any:
    from starlette.responses import Response, StreamingResponse

    if reply.file is None:
        return Response(reply.body, reply.status, reply.headers)
    headers = {**reply.headers, "Content-Length": str(reply.length)}
    if method == "HEAD":
        return Response(b"", reply.status, headers)
    from limr_kit.hub.direct import read_pieces

    return StreamingResponse(read_pieces(reply.file, reply.offset, reply.length), reply.status, headers)


@functools.cache
def protocol_class() -> type:
    """uvicorn's httptools protocol (a C parser) with a header size limit, a header deadline, a wider body
    window and JSON protocol errors."""
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HubProtocol(HttpToolsProtocol):
        """Idle time is counted from the connection's start or its last answer until complete headers arrive
        (uvicorn counts only from an answer, and restarts the count on every byte). A request's head is held
        until its blank line arrives, then parsed, as h11 does: past ``MAX_HEADER_BYTES`` it is a 400, and
        unfinished headers get no answer, only the close at the deadline. The head of a pipelined request
        that starts in the same read as the previous request's end is parsed as it comes, its bytes counted
        from the next read on."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.head: bytearray | None = bytearray()  # the next request's head, until its blank line
            self.head_bytes: int | None = None  # bytes of a head the parser has started and not finished
            self.between_requests = True
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def data_received(self, data: bytes) -> None:
            if self.head is not None:
                self.head += data
                end = self.head.find(b"\r\n\r\n", max(len(self.head) - len(data) - 3, 0))  # not all of it each read
                if end < 0 and len(self.head) <= MAX_HEADER_BYTES:
                    return
                if end < 0 or end + 4 > MAX_HEADER_BYTES:
                    self.send_400_response("")
                    return
                data, self.head = bytes(self.head), None
            elif self.head_bytes is not None:
                self.head_bytes += len(data)
                if self.head_bytes > MAX_HEADER_BYTES:
                    self.send_400_response("")
                    return
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.send_400_response("")
                return
            except httptools.HttpParserUpgrade:  # served as plain HTTP (no WebSockets); the rest is ignored
                self._unsupported_upgrade_warning()
            if self.between_requests:
                self.head = bytearray()

        def on_message_begin(self) -> None:
            self.between_requests, self.head_bytes = False, 0
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self.head_bytes = None
            self._unset_keepalive_if_required()  # the header deadline is met
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self.between_requests = True
            super().on_message_complete()

        def on_body(self, body: bytes) -> None:
            """As uvicorn's, but reading pauses past ``_CHUNK`` unread bytes rather than 64 KiB: fewer
            round trips through the event loop for a large upload, memory still bounded per connection."""
            if self.cycle.response_complete:
                return
            self.cycle.body += body
            if len(self.cycle.body) > _CHUNK:
                self.flow.pause_reading()
            self.cycle.message_event.set()

        def send_400_response(self, msg: str) -> None:
            if self.cycle is not None and self.cycle.response_started and not self.cycle.response_complete:
                self.transport.close()  # an answer had started: nothing sensible to add
                return
            body = json.dumps({"error": "Malformed HTTP request (request line, headers or body framing)."})
            head = f"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            self.transport.write(f"{head}connection: close\r\n\r\n{body}".encode())
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True  # the app's own answer, if any, is not sent after this one
                self.cycle.message_event.set()
            self.transport.close()

    return HubProtocol
