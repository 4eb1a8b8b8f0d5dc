"""A grading worker process: ``python -m limr_kit.rewards.worker FD`` serves jobs over a socket.

Started with ``subprocess`` rather than ``multiprocessing`` so that the parent's ``__main__`` (a user's
training script, say) is never re-imported in the worker.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from multiprocessing.connection import Connection


FLUSH_SECONDS = 0.005


def serve(conn: Connection) -> None:
    """For each job of each received chunk, send its results in order: ``("part", x)``, the last ``("final", x)``,
    or ``("error", message)`` if it raised. Results travel in batches (a list per message): a batch goes out
    before a comparison that may be slow, after 5 ms, and at the end of the chunk."""
    import math_verify  # noqa: F401  (loaded before the worker reports ready, not during a job)

    from limr_kit.rewards.jobs import run_job

    # The pool bounds every job's time; math-verify's own (signal) timeouts are off and it says so per call.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    conn.send("ready")
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        batch: list[tuple[str, object]] = []
        sent = time.monotonic()
        for job in chunk:
            try:
                for payload, final, slow_work_follows in run_job(job):
                    batch.append(("final" if final else "part", payload))
                    if slow_work_follows or time.monotonic() - sent > FLUSH_SECONDS:
                        conn.send(batch)
                        batch, sent = [], time.monotonic()
            except Exception as exc:  # a job's error is its answer, not the worker's end
                batch.append(("error", f"{type(exc).__name__}: {exc}"))
        conn.send(batch)


if __name__ == "__main__":
    os.nice(19)  # lowest priority: grading never slows the generation or training it serves
    serve(Connection(int(sys.argv[1])))
