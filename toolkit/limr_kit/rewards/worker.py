"""A grading worker process: ``python -m limr_kit.rewards.worker FD`` serves jobs over a socket.

Started with ``subprocess`` rather than ``multiprocessing`` so that the parent's ``__main__`` (a user's
training script, say) is never re-imported in the worker.
"""

from __future__ import annotations

import logging
import os
import sys
from multiprocessing.connection import Connection


def serve(conn: Connection) -> None:
    """For each job of each received chunk, stream ``("part", x)`` results, the last one as ``("final", x)``;
    a job that raises answers ``("error", message)``."""
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
        for job in chunk:
            try:
                for payload, final in run_job(job):  # stream each result as soon as it is known
                    conn.send(("final" if final else "part", payload))
            except Exception as exc:  # a job's error is its answer, not the worker's end
                conn.send(("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    os.nice(19)  # lowest priority: grading never slows the generation or training it serves
    serve(Connection(int(sys.argv[1])))
