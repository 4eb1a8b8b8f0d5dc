"""Test-only fault injection at defined points, so fault tests never race a kill against the work.

``LIMR_TEST_FAULT=<point>:<n>`` makes the process that reaches ``point`` for the ``n``-th time die by SIGKILL (its
whole process group when it leads one, as a user's Ctrl-\\ or an OOM kill of the session would). Points:

- ``sample-saved``: the bench runner, just after a generated question is flushed to ``samples.jsonl``;
- ``replica-answered``: a vLLM data-parallel replica, just after it sent a question's completions.

Unset in normal use: then :func:`reached` only reads one environment variable.
"""

from __future__ import annotations

import os
import signal
from collections import Counter


VARIABLE = "LIMR_TEST_FAULT"
_reached: Counter[str] = Counter()


def reached(point: str) -> None:
    """Count one arrival at ``point``; die here if ``LIMR_TEST_FAULT`` names this point and this arrival."""
    spec = os.environ.get(VARIABLE)
    if not spec:
        return
    name, _, count = spec.partition(":")
    if name != point:
        return
    _reached[point] += 1
    if _reached[point] == int(count or 1):
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
