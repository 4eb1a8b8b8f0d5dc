"""The grader every limr-kit number rests on: training rewards, benchmark verdicts and ``limr-kit grade``.

Reward as the paper: 1 correct, -0.5 wrong but well formatted, -1 format error (the ``limr`` scheme; ``binary``
is 1 correct, else 0, with no format term). Two modes: ``default`` grades correctly (see ``equivalence``);
``limr-compat`` is bit-for-bit the released LIMR reward (math-verify on bare strings, depth-3 box regex), for
reproducing the released scores. The answer policy (``policies``) says where the answer is read from.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from limr_kit.errors import InputError, UnknownNameError
from limr_kit.progress import Progress, ProgressCounter
from limr_kit.rewards.jobs import COMPAT, Analysis, GradeJob
from limr_kit.rewards.policies import BOXED, check_policy
from limr_kit.rewards.pool import Outcome, WorkerPool


MODES = ("default", COMPAT)
REWARD_CORRECT = 1.0
REWARD_WRONG = -0.5
REWARD_FORMAT_ERROR = -1.0
DEFAULT_TIMEOUT = 2.0
REWARD_SCHEMES = ("limr", "binary")


@dataclass(frozen=True, slots=True)
class GradeInput:
    """One response to grade. ``finish_reason`` "length" means it was cut off (no end of sequence)."""

    prediction: str
    gold: str
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Grade:
    """The verdict on one response."""

    correct: bool  # the final answer matches the gold (format errors aside, as benchmarks count it)
    reward: float  # 1, -0.5 or -1
    # correct | mismatch | no_box | no_answer | too_many_boxes | no_eos | garbled | repetition | timeout | error
    reason: str
    extracted: str | None  # the final answer as written in the response
    via: str | None = None  # where the answer policy found it: boxed | final_statement | math_verify

    def scored(self, scheme: str) -> float:
        """The reward under ``scheme``: ``limr`` (1 / -0.5 / -1) or ``binary`` (1 correct, else 0; no format term)."""
        if scheme == "binary":
            return REWARD_CORRECT if self.correct else 0.0
        return self.reward


def default_workers() -> int:
    """Worker processes per grader: ``LIMR_GRADER_WORKERS``, else the CPUs this process may run on."""
    given = os.environ.get("LIMR_GRADER_WORKERS")
    return max(1, int(given) if given else len(os.sched_getaffinity(0)))


class Grader:
    """Grades responses in worker processes, each response within the time bound. Thread-safe.

    Close it (or use it as a context manager) to stop its workers.
    """

    def __init__(
        self,
        mode: str = "default",
        *,
        policy: str = BOXED,
        timeout: float = DEFAULT_TIMEOUT,
        workers: int | None = None,
    ) -> None:
        if mode not in MODES:
            raise UnknownNameError("grading mode", mode, MODES)
        check_policy(policy, mode)
        if timeout <= 0:
            raise InputError(f"The grading timeout must be positive, got {timeout}.")
        self.mode = mode
        self.policy = policy
        self.timeout = timeout
        self.workers = workers or default_workers()
        self._lock = threading.Lock()
        self._pool: WorkerPool | None = None

    @property
    def pool(self) -> WorkerPool:
        with self._lock:
            if self._pool is None:
                self._pool = WorkerPool(self.workers, self.timeout)
            return self._pool

    def start(self) -> Grader:
        """Start the worker processes now (they load in the background), not at the first grade."""
        _ = self.pool
        return self

    def grade(self, prediction: str, gold: str, finish_reason: str | None = None) -> Grade:
        """Grade one response."""
        return self.grade_many([GradeInput(prediction, gold, finish_reason)])[0]

    def grade_many(
        self, items: Sequence[GradeInput], progress: Progress | None = None, task: str = "grading"
    ) -> list[Grade]:
        """Grade responses in parallel; ``progress`` hears of each one finished, as ``task``."""
        # Rollouts of one prompt share its gold: keeping them together sends them to one worker's memo.
        order = sorted(range(len(items)), key=lambda index: str(items[index].gold))
        jobs = [
            GradeJob(self.mode, items[i].prediction, str(items[i].gold), items[i].finish_reason, self.policy)
            for i in order
        ]
        grades: list[Grade | None] = [None] * len(items)
        for index, outcome in zip(
            order, self.pool.run(jobs, ProgressCounter(progress, task, len(items))), strict=True
        ):
            grades[index] = self._assemble(outcome)
        return grades  # type: ignore[return-value]

    def _assemble(self, outcome: Outcome) -> Grade:
        if not outcome.messages:  # the format checks themselves ran out of time (or crashed)
            return Grade(False, REWARD_FORMAT_ERROR, outcome.status, None)
        analysis: Analysis = outcome.messages[0]
        verdict = outcome.messages[1] if len(outcome.messages) > 1 else None
        correct = verdict is True
        if analysis.format_error:
            return Grade(correct, REWARD_FORMAT_ERROR, analysis.format_error, analysis.extracted, analysis.via)
        if verdict is None:  # the comparison ran out of time (or crashed): wrong
            reward = REWARD_FORMAT_ERROR if self.mode == COMPAT else REWARD_WRONG
            return Grade(False, reward, outcome.status, analysis.extracted, analysis.via)
        reward = REWARD_CORRECT if correct else REWARD_WRONG
        return Grade(correct, reward, "correct" if correct else "mismatch", analysis.extracted, analysis.via)

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
