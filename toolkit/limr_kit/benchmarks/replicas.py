"""Data parallelism for the vLLM engine: one vLLM replica per group of GPUs, each in its own process.

vLLM's offline ``LLM`` refuses ``data_parallel_size > 1`` in one process, so each replica is a
``python -m limr_kit.benchmarks.replicas`` child pinned to its devices (``CUDA_VISIBLE_DEVICES``; on the
CPU build, its own cores). The parent deals a benchmark's requests out round-robin and streams each
finished question back to the runner as it arrives. Per-request seeds depend only on the question, so
the samples are the same whatever the number of replicas.

Protocol, one JSON object per line: the parent sends the engine's settings, then one ``{"requests": [...]}``
per benchmark; a replica answers ``{"ready": settings}``, then ``{"key", "completions"}`` per question and
``{"done": true}`` per batch. Replica stdout carries only the protocol (vLLM's own output goes to stderr).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from limr_kit import faults
from limr_kit.benchmarks.engines import Completion, GenerationRequest, OnFinished, is_vllm_cpu_build
from limr_kit.errors import EngineError, InputError, LimrError
from limr_kit.machine import cuda_gpus


CPUS_VARIABLE = "LIMR_REPLICA_CPUS"


def _visible_gpus() -> list[str]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [item.strip() for item in visible.split(",") if item.strip()]
    return [str(index) for index in range(cuda_gpus())]


def replica_placements(replicas: int, devices_per_replica: int) -> list[dict[str, str]]:
    """The environment of each replica: its own GPUs, or on vLLM's CPU build its own share of the cores."""
    if is_vllm_cpu_build():
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < replicas:
            raise InputError(
                f"--data-parallel-size {replicas} needs at least {replicas} CPU cores; this process may use "
                f"{len(cores)}. Lower --data-parallel-size."
            )
        shares = [cores[i * len(cores) // replicas : (i + 1) * len(cores) // replicas] for i in range(replicas)]
        return [{CPUS_VARIABLE: ",".join(map(str, share)), "OMP_NUM_THREADS": str(len(share))} for share in shares]
    gpus = _visible_gpus()
    needed = replicas * devices_per_replica
    if len(gpus) < needed:
        raise InputError(
            f"--data-parallel-size {replicas} with {devices_per_replica} GPU(s) per replica (tensor x pipeline "
            f"parallel size) needs {needed} GPUs; {len(gpus)} are visible. Lower --data-parallel-size or "
            "--tensor-parallel-size, or make more GPUs visible (CUDA_VISIBLE_DEVICES)."
        )
    return [
        {"CUDA_VISIBLE_DEVICES": ",".join(gpus[i * devices_per_replica : (i + 1) * devices_per_replica])}
        for i in range(replicas)
    ]


@dataclass
class _Replica:
    index: int
    placement: dict[str, str]
    process: subprocess.Popen

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise self.stopped() from None

    def stopped(self) -> EngineError:
        status = self.process.wait()
        return EngineError(
            f"vLLM replica {self.index} ({self.devices}) stopped (exit status {status}); its log is above. "
            "Finished questions are saved: run the same command again to resume."
        )

    @property
    def devices(self) -> str:
        gpus = self.placement.get("CUDA_VISIBLE_DEVICES")
        return f"GPUs {gpus}" if gpus is not None else f"CPU cores {self.placement[CPUS_VARIABLE]}"


@dataclass
class DataParallelVllm:
    """``replicas`` copies of :class:`VllmEngine`, one per process and device group; requests dealt round-robin.

    ``engine`` holds the :class:`VllmEngine` arguments every replica is built with.
    """

    replicas: int
    engine: dict[str, Any]
    name: str = "vllm"

    def __post_init__(self) -> None:
        if self.engine.get("distributed_backend") == "ray":
            raise InputError(
                "--data-parallel-size starts its replicas on this node; with --distributed-backend ray spread one "
                "model over nodes with --tensor-parallel-size/--pipeline-parallel-size instead."
            )
        devices_per_replica = self.engine.get("tensor_parallel_size", 1) * self.engine.get("pipeline_parallel_size", 1)
        placements = replica_placements(self.replicas, devices_per_replica)
        self._messages: queue.Queue[tuple[int, dict[str, Any] | None]] = queue.Queue()
        self._replicas = [self._start(index, placement) for index, placement in enumerate(placements)]
        self._busy: set[int] = set()
        try:
            for replica in self._replicas:
                replica.send(self.engine)
            ready: dict[int, dict[str, Any]] = {}
            while len(ready) < self.replicas:
                index, message = self._next()
                ready[index] = message["ready"]
        except BaseException:  # one replica failed (or Ctrl-C): stop the others, still loading, at once
            self._busy.update(replica.index for replica in self._replicas)
            self.close()
            raise
        self.settings: dict[str, Any] = {
            **ready[0],
            "data_parallel_size": self.replicas,
            "replica_devices": [replica.devices for replica in self._replicas],
        }

    def _start(self, index: int, placement: dict[str, str]) -> _Replica:
        process = subprocess.Popen(
            [sys.executable, "-m", "limr_kit.benchmarks.replicas"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env={**os.environ, **placement},
        )
        threading.Thread(target=self._read, args=(index, process.stdout), daemon=True).start()
        return _Replica(index, placement, process)

    def _read(self, index: int, stream: IO[str]) -> None:
        for line in stream:
            self._messages.put((index, json.loads(line)))
        self._messages.put((index, None))

    def _next(self) -> tuple[int, dict[str, Any]]:
        index, message = self._messages.get()
        if message is None:
            raise self._replicas[index].stopped()
        if "error" in message:  # the replica refused its input (e.g. a --vllm-arg): the user's to fix
            raise InputError(message["error"])
        return index, message

    def generate(self, requests: Sequence[GenerationRequest], on_finished: OnFinished) -> None:
        for replica in self._replicas:
            shard = requests[replica.index :: self.replicas]
            if shard:
                replica.send({"requests": [dataclasses.asdict(request) for request in shard]})
                self._busy.add(replica.index)
        while self._busy:
            index, message = self._next()
            if message.get("done"):
                self._busy.discard(index)
            else:
                on_finished(message["key"], [Completion(*item) for item in message["completions"]])

    def close(self) -> None:
        for replica in self._replicas:
            process = replica.process
            if process.poll() is None and process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()  # the replica's end of input: it shuts its engine down and exits
            if replica.index in self._busy and process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._busy.clear()


def serve() -> None:
    """A replica's main loop: build the engine from the first line, then answer each batch of requests."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # stdout carries the protocol only; anything printed goes to stderr
    cpus = os.environ.get(CPUS_VARIABLE)
    if cpus:
        os.sched_setaffinity(0, {int(core) for core in cpus.split(",")})
    from limr_kit.benchmarks.engines import VllmEngine

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message, ensure_ascii=False) + "\n")

    try:
        engine = VllmEngine(**json.loads(sys.stdin.readline()))
    except LimrError as error:
        send({"error": str(error)})
        sys.exit(1)
    send({"ready": engine.settings})

    def answered(key: str, completions: list[Completion]) -> None:
        send({"key": key, "completions": [dataclasses.astuple(c) for c in completions]})
        faults.reached("replica-answered")

    for line in sys.stdin:
        requests = [
            GenerationRequest(**{**item, "messages": tuple(map(tuple, item["messages"]))})
            for item in json.loads(line)["requests"]
        ]
        engine.generate(requests, answered)
        send({"done": True})
    engine.close()


if __name__ == "__main__":
    serve()
