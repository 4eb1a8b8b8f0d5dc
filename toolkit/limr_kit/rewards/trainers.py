"""The grader inside trainers: a TRL reward function, OpenRLHF's ``reward_func``, and the trajectory log.

Each rollout's reward is appended to a per-process JSONL shard (flushed per line, so a crash tears at
most the last line), which is exactly the long-format input of ``limr-kit score``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from limr_kit._io import JsonlAppender
from limr_kit.rewards.extract import EOS_MARKERS
from limr_kit.rewards.grader import DEFAULT_TIMEOUT, REWARD_FORMAT_ERROR, REWARD_SCHEMES, Grade, GradeInput, Grader
from limr_kit.rewards.policies import BOXED


logger = logging.getLogger(__name__)

ASSISTANT_MARKER = "<|im_start|>assistant\n"


class TrajectoryLog:
    """Append-only JSONL shard ``<dir>/rewards.<host>.<pid>.jsonl``; thread-safe, one flushed line per row."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._appender: JsonlAppender | None = None
        self._pid: int | None = None

    @property
    def path(self) -> Path:
        return self.directory / f"rewards.{socket.gethostname()}.{os.getpid()}.jsonl"

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows (each a reward of one rollout)."""
        with self._lock:
            if self._pid != os.getpid():  # first write, or a forked child: its own shard
                self.directory.mkdir(parents=True, exist_ok=True)
                self._appender = JsonlAppender(self.path)
                self._pid = os.getpid()
            for row in rows:
                self._appender.write(row)


def _log_rows(
    grades: Sequence[Grade], sample_ids: Sequence[Any], grader: Grader, scheme: str, **fields: Any
) -> list[dict[str, Any]]:
    """One row per rollout: the reward the trainer got, the verdict, and the grading settings that gave it."""
    now = time.time()
    rows = []
    for grade, sample_id in zip(grades, sample_ids, strict=True):
        row = {
            "sample_id": sample_id,
            "reward": grade.scored(scheme),
            "correct": grade.correct,
            "reason": grade.reason,
            "answer_policy": grader.policy,
        }
        row.update({key: value for key, value in fields.items() if value is not None})
        row["time"] = now
        rows.append(row)
    return rows


def make_trl_reward(
    *,
    mode: str = "default",
    policy: str = BOXED,
    scheme: str = "limr",
    log_dir: str | Path | None = None,
    answer_field: str = "answer",
    id_field: str = "sample_id",
    eos_token_ids: Sequence[int] = (),
    timeout: float = DEFAULT_TIMEOUT,
    workers: int | None = None,
) -> Callable[..., list[float]]:
    """A TRL GRPO reward function (``scheme`` limr: 1 / -0.5 / -1; binary: 1 / 0) that also logs each rollout's
    reward per epoch; ``policy`` is where the answer is read (``rewards.policies``).

    TRL passes every dataset column to reward functions, so ``id_field`` and ``answer_field`` arrive
    with each completion; ``trainer_state`` gives the epoch. A completion whose last token is not one
    of ``eos_token_ids`` was cut off (no end of sequence).
    """
    _check_scheme(scheme)
    grader = Grader(mode, policy=policy, timeout=timeout, workers=workers)
    log = TrajectoryLog(log_dir) if log_dir is not None else None
    eos = set(eos_token_ids)

    def limr_reward(completions: list, completion_ids: list | None = None, **columns: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        if eos and completion_ids is not None:
            finish = ["stop" if ids and ids[-1] in eos else "length" for ids in completion_ids]
        else:
            finish = [None] * len(texts)
        golds = columns[answer_field]
        grades = grader.grade_many([GradeInput(t, str(g), f) for t, g, f in zip(texts, golds, finish, strict=True)])
        if log is not None:
            state = columns.get("trainer_state")
            epoch = math.floor(state.epoch) if state is not None and state.epoch is not None else None
            step = state.global_step if state is not None else None
            ids = columns.get(id_field, [None] * len(grades))
            log.write(_log_rows(grades, ids, grader, scheme, epoch=epoch, step=step))
        return [grade.scored(scheme) for grade in grades]

    limr_reward.grader = grader  # type: ignore[attr-defined]  (so callers can close its workers)
    return limr_reward


def _check_scheme(scheme: str) -> None:
    if scheme not in REWARD_SCHEMES:
        from limr_kit.errors import UnknownNameError

        raise UnknownNameError("reward scheme", scheme, REWARD_SCHEMES)


def split_query(query: str, prompt: str) -> tuple[str, str]:
    """The response of an OpenRLHF query (prompt + response decoded with special tokens) and its finish."""
    if query.startswith(prompt):
        response = query[len(prompt) :]
    else:
        response = query.rsplit(ASSISTANT_MARKER, 1)[-1]
    finished = any(marker in response for marker in EOS_MARKERS)
    return response, "stop" if finished else "length"


def parse_label(label: Any, prompt: str) -> tuple[Any, str]:
    """(sample id, gold answer) from a label: JSON ``{"sample_id", "answer"}``, or a bare answer."""
    if isinstance(label, str):
        try:
            value = json.loads(label)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict) and "answer" in value:
            return value.get("sample_id", prompt), str(value["answer"])
    if isinstance(label, dict) and "answer" in label:
        return label.get("sample_id", prompt), str(label["answer"])
    return prompt, str(label)


class OpenRLHFReward:
    """OpenRLHF's ``reward_func(queries, prompts, labels)``, configured from the environment:
    ``LIMR_REWARD_MODE`` (default | limr-compat), ``LIMR_ANSWER_POLICY`` (boxed | last-boxed-or-final |
    math-verify), ``LIMR_REWARD_SCHEME`` (limr | binary), ``LIMR_REWARD_LOG_DIR``, ``LIMR_REWARD_TIMEOUT``.

    OpenRLHF calls it from worker threads and swallows its exceptions, so it catches everything
    itself and answers -1 (a format error) for a batch it could not grade.
    """

    def __init__(self) -> None:
        self._grader: Grader | None = None
        self._log: TrajectoryLog | None = None
        self._scheme = "limr"
        self._lock = threading.Lock()

    def _setup(self) -> tuple[Grader, TrajectoryLog | None]:
        with self._lock:
            if self._grader is None:
                mode = os.environ.get("LIMR_REWARD_MODE", "default")
                timeout = float(os.environ.get("LIMR_REWARD_TIMEOUT", DEFAULT_TIMEOUT))
                self._scheme = os.environ.get("LIMR_REWARD_SCHEME", "limr")
                _check_scheme(self._scheme)
                policy = os.environ.get("LIMR_ANSWER_POLICY", BOXED)
                self._grader = Grader(mode, policy=policy, timeout=timeout)
                log_dir = os.environ.get("LIMR_REWARD_LOG_DIR")
                self._log = TrajectoryLog(log_dir) if log_dir else None
            return self._grader, self._log

    def __call__(self, queries: list[str], prompts: list[str], labels: list[Any], **_: Any) -> dict[str, Any]:
        import torch

        try:
            grader, log = self._setup()
            ids, items = [], []
            for query, prompt, label in zip(queries, prompts, labels, strict=True):
                sample_id, gold = parse_label(label, prompt)
                response, finish = split_query(query, prompt)
                ids.append(sample_id)
                items.append(GradeInput(response, gold, finish))
            grades = grader.grade_many(items)
            if log is not None:
                log.write(_log_rows(grades, ids, grader, self._scheme))
            rewards = [grade.scored(self._scheme) for grade in grades]
            correct = [float(grade.correct) for grade in grades]
        except Exception:  # OpenRLHF would swallow it and leave the reward empty
            logger.exception("limr-kit reward_func failed; answering a format error for this batch")
            failed = 0.0 if self._scheme == "binary" else REWARD_FORMAT_ERROR
            rewards, correct = [failed] * len(queries), [0.0] * len(queries)
        return {
            "rewards": torch.tensor(rewards),
            "scores": torch.tensor(correct),
            "extra_logs": {"correct": torch.tensor(correct)},
        }
