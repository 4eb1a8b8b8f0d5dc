"""Worker processes that run grading jobs under a hard, process-level time bound.

Signal-based timeouts fail in threads (trainers call reward functions from worker threads) and
cannot interrupt a long C-level computation (a sympy power tower, a backtracking regex). Here every
job runs in a child process. Jobs travel in chunks to save round trips, but each job gets its own
time bound (starting when the job before it finished; results come back in small batches, so by a few
milliseconds) and its own results: a job past its bound is answered with what it had sent so far, its worker is killed and replaced
(start-up is not charged to any job), and the rest of its chunk goes to another worker.

The bound counts the worker's CPU time (Linux), not wall time, up to a wall-clock cap of 10 bounds:
verdicts must not depend on how busy the machine is. Workers run at the lowest priority (nice 19) so
that they never slow the generation or training they serve. The pool is thread-safe: concurrent
callers check workers out of a queue.
"""

from __future__ import annotations

import atexit
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any


if TYPE_CHECKING:
    from limr_kit.progress import ProgressCounter


MAX_CHUNK = 64
WALL_CAP = 10  # a starved job still ends after this many bounds of wall time
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, or None where /proc is not available."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


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


@dataclass(slots=True)
class _Assignment:
    """A worker's chunk: the job indices it was sent, how far it got, and the current job's clocks."""

    worker: _Worker
    indices: list[int]
    position: int
    deadline: float  # when to look at the current job again
    started: float  # wall time the current job started
    cpu_started: float | None  # the worker's CPU time when it started

    def restart_clocks(self, timeout: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.cpu_started = cpu_seconds(self.worker.process.pid)

    def out_of_time(self, timeout: float) -> bool:
        """Past its bound: ``timeout`` seconds of CPU (of wall time where CPU time is unknown), or the cap."""
        now = time.monotonic()
        wall = now - self.started
        if wall >= WALL_CAP * timeout:
            return True
        cpu_now = cpu_seconds(self.worker.process.pid)
        if self.cpu_started is None or cpu_now is None:
            return wall >= timeout
        remaining = timeout - (cpu_now - self.cpu_started)
        if remaining <= 0:
            return True
        self.deadline = now + remaining  # starved, not slow: look again once it could have used its bound
        return False


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

    def run(self, jobs: Sequence[Any], finished: ProgressCounter) -> list[Outcome]:
        """One outcome per job, in order, each counted in ``finished``. Neighbouring jobs share a chunk (and a
        worker's memo)."""
        if self._closed:
            raise RuntimeError("the grading pool is closed")
        outcomes = [Outcome() for _ in jobs]
        pending = deque(range(len(jobs)))
        active: dict[Connection, _Assignment] = {}

        def advance(assignment: _Assignment) -> None:
            """The current job is over: move on, or hand the worker back when the chunk is done."""
            assignment.position += 1
            assignment.restart_clocks(self.timeout)
            finished.advance()
            if assignment.position == len(assignment.indices):
                del active[assignment.worker.conn]
                self._idle.put(assignment.worker)

        def abandon(assignment: _Assignment, status: str) -> None:
            """The worker is gone (timed out or died): the current job ends, the rest of the chunk requeues."""
            outcomes[assignment.indices[assignment.position]].status = status
            del active[assignment.worker.conn]
            pending.extendleft(reversed(assignment.indices[assignment.position + 1 :]))
            self._idle.put(self._replace(assignment.worker))
            finished.advance()

        while pending or active:
            while pending and (worker := self._checkout(block=not active)) is not None:
                size = max(1, min(MAX_CHUNK, len(pending) // (2 * self.size)))
                indices = [pending.popleft() for _ in range(min(size, len(pending)))]
                worker.conn.send([jobs[index] for index in indices])
                assignment = _Assignment(worker, indices, 0, 0.0, 0.0, None)
                assignment.restart_clocks(self.timeout)
                active[worker.conn] = assignment
            soonest = min(assignment.deadline for assignment in active.values())
            for conn in wait(list(active), timeout=max(0.0, soonest - time.monotonic())):
                assignment = active[conn]  # type: ignore[index]
                try:
                    batch = conn.recv()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    abandon(assignment, "error")
                    continue
                for kind, payload in batch:  # results of the chunk's jobs, in order
                    outcome = outcomes[assignment.indices[assignment.position]]
                    if kind == "part":
                        outcome.messages.append(payload)
                        continue
                    if kind == "final":
                        outcome.messages.append(payload)
                    outcome.status = "ok" if kind == "final" else "error"
                    advance(assignment)
            now = time.monotonic()
            for assignment in list(active.values()):
                if now >= assignment.deadline and assignment.out_of_time(self.timeout):
                    abandon(assignment, "timeout")
        return outcomes

    def close(self) -> None:
        """Stop every worker (also registered to run at exit)."""
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()
