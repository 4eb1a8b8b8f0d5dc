"""A FAKE OpenAI-compatible server for the polymath tests: a real HTTP server (starlette + uvicorn on loopback)
that answers chat completions with recorded, real-shaped replies chosen by a substring of the prompt.

It exists because no model that runs here can solve the label-check samples or tag skills sensibly; the
endpoint client itself is also tested against a real vLLM server (test_polymath_vllm.py).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ReplayServer:
    """``answer(prompt, seed) -> text | None``; None answers HTTP 500. ``requests`` counts calls received."""

    def __init__(self, answer: Callable[[str, int], str | None]) -> None:
        self.answer = answer
        self.requests = 0
        self.authorization: str | None = None  # the last request's header, to check a key was sent
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._server = None
        self._thread = None

    def _app(self):
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def completions(request: Request) -> JSONResponse:
            self.requests += 1
            self.authorization = request.headers.get("authorization")
            body = await request.json()
            text = self.answer(body["messages"][-1]["content"], int(body.get("seed", 0)))
            if text is None:
                return JSONResponse({"error": "replay: no recorded reply"}, status_code=500)
            message = {"role": "assistant", "content": text}
            return JSONResponse({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

        return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])

    def __enter__(self) -> ReplayServer:
        import uvicorn

        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("replay server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
