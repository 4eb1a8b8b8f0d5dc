"""A small OpenAI-compatible chat client: bounded concurrency, retries with backoff, an on-disk cache.

The API key is read from an environment variable and only ever sent as a header, never printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from limr_kit._io import write_json


@dataclass(frozen=True, slots=True)
class Reply:
    """One call's outcome: the reply text, or the error that made it a failure."""

    text: str | None
    error: str | None = None
    cached: bool = False


class ChatClient:
    """Chat completions against ``endpoint`` (a base URL ending in /v1) for ``model``."""

    def __init__(
        self,
        endpoint: str,
        model: str,
        *,
        cache_dir: Path | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 4,
        retries: int = 3,
        timeout_s: float = 120.0,
        backoff_s: float = 0.5,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        self.cache_dir = cache_dir
        self._key = os.environ.get(api_key_env) or None
        self.concurrency = max(1, concurrency)
        self.retries = max(0, retries)
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.calls = 0  # HTTP requests sent (retries included)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """``model@endpoint``: how outputs name this client."""
        return f"{self.model}@{self.endpoint}"

    def _cache_file(self, prompt: str, temperature: float, seed: int) -> Path | None:
        if self.cache_dir is None:
            return None
        key = json.dumps([self.endpoint, self.model, prompt, temperature, seed], ensure_ascii=False)
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def _post(self, prompt: str, temperature: float, max_tokens: int, seed: int) -> Reply:
        import httpx

        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": temperature,
            "max_tokens": max_tokens,
            "seed": seed,
        }
        error = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            with self._lock:
                self.calls += 1
            try:
                response = httpx.post(
                    f"{self.endpoint}/chat/completions", json=body, headers=headers, timeout=self.timeout_s
                )
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                error = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                return Reply(None, f"HTTP {response.status_code}: {response.text[:200]}")
            try:
                text = response.json()["choices"][0]["message"]["content"]
            except (ValueError, KeyError, IndexError, TypeError):
                return Reply(None, f"not an OpenAI chat reply: {response.text[:200]!r}")
            if not isinstance(text, str):
                return Reply(None, "reply content is not text")
            return Reply(text)
        return Reply(None, error)

    def chat(self, prompt: str, *, temperature: float = 0.0, max_tokens: int = 512, seed: int = 0) -> Reply:
        """One reply, from the cache when this (endpoint, model, prompt, temperature, seed) was answered before."""
        path = self._cache_file(prompt, temperature, seed)
        if path is not None and path.is_file():
            try:
                return Reply(json.loads(path.read_text(encoding="utf-8"))["text"], cached=True)
            except (OSError, ValueError, KeyError, TypeError):
                pass  # an unreadable cache entry is asked again and rewritten
        reply = self._post(prompt, temperature, max_tokens, seed)
        if path is not None and reply.text is not None:  # failures are never cached: a rerun retries them
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json(path, {"model": self.model, "text": reply.text})
        return reply

    def chat_many(self, jobs: list[tuple[str, float, int]], *, max_tokens: int = 512) -> list[Reply]:
        """Replies for ``(prompt, temperature, seed)`` jobs, at most ``concurrency`` in flight."""
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(
                pool.map(lambda job: self.chat(job[0], temperature=job[1], seed=job[2], max_tokens=max_tokens), jobs)
            )
