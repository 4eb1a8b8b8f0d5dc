"""Worker processes that run grading jobs under a hard, process-level time bound.

Signal-based timeouts fail in threads (trainers call reward functions from worker threads) and
cannot interrupt a long C-level computation (a sympy power tower, a backtracking regex). Here every
job runs in a child process; a job past its bound is answered ``TIMEOUT`` and its worker is killed
and replaced (the replacement's start-up is not charged to any job). The pool is thread-safe:
concurrent callers check workers out of a queue.
"""

from __future__ import annotations

import atexit
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any


@dataclass(slots=True)
class Outcome:
    """What one job produced: its messages (partial results, then the final one) and how it ended."""

    status: str = "timeout"  # "ok" once the final message arrived, "error" if the job raised or the worker died
    messages: list[Any] = field(default_factory=list)


class _Worker:
    def __init__(self) -> None:
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "limr_kit.rewards.worker", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self.conn = Connection(parent.detach())
        self.ready = False

    def wait_ready(self) -> None:
        """Block until the worker has imported its modules (not charged to any job's time)."""
        if not self.ready:
            self.conn.recv()
            self.ready = True

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.conn.close()


class WorkerPool:
    """A fixed number of grading workers; ``run`` answers a batch of jobs in order."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(self.size):
            self._idle.put(self._start())
        atexit.register(self.close)

    def _start(self) -> _Worker:
        worker = _Worker()
        with self._lock:
            self._all.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
        return self._start()

    def _checkout(self, block: bool) -> _Worker | None:
        try:
            worker = self._idle.get(block=block)
        except queue.Empty:
            return None
        worker.wait_ready()
        return worker

    def run(self, jobs: Sequence[Any], on_done: Callable[[int], None] | None = None) -> list[Outcome]:
        """One outcome per job, in order. A job past the time bound keeps the partial results it sent."""
        if self._closed:
            raise RuntimeError("the grading pool is closed")
        outcomes = [Outcome() for _ in jobs]
        pending = deque(range(len(jobs)))
        active: dict[Connection, tuple[int, _Worker, float]] = {}

        def finish(conn: Connection, worker: _Worker) -> None:
            del active[conn]
            self._idle.put(worker)
            if on_done:
                on_done(1)

        while pending or active:
            while pending and (worker := self._checkout(block=not active)) is not None:
                index = pending.popleft()
                worker.conn.send(jobs[index])
                active[worker.conn] = (index, worker, time.monotonic() + self.timeout)
            soonest = min(deadline for _, _, deadline in active.values())
            for conn in wait(list(active), timeout=max(0.0, soonest - time.monotonic())):
                index, worker, _ = active[conn]  # type: ignore[index]
                try:
                    kind, payload = conn.recv()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    outcomes[index].status = "error"
                    finish(conn, self._replace(worker))  # type: ignore[arg-type]
                    continue
                if kind == "part":
                    outcomes[index].messages.append(payload)
                    continue
                outcomes[index].status = "ok" if kind == "done" else "error"
                finish(conn, worker)  # type: ignore[arg-type]
            now = time.monotonic()
            for conn, (_, worker, deadline) in list(active.items()):
                if now >= deadline:
                    finish(conn, self._replace(worker))
        return outcomes

    def close(self) -> None:
        """Stop every worker (also registered to run at exit)."""
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()
