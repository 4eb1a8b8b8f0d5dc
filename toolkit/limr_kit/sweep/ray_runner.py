"""Sweep jobs on a Ray cluster: one actor per model (its engine loaded once) runs that model's jobs in turn.

Ray Core only: each actor asks for the job's GPUs and CPUs, Ray places it on a node that has them, and the driver
(this process) waits on the actors' results, retrying a failed job on a fresh actor. Every node needs limr-kit
installed (e.g. the bench image) and must see the sweep's output folder and local model folders at the same paths
(a shared filesystem); Hub models are downloaded on the node.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from limr_kit.console import QUIET_ENV
from limr_kit.errors import InputError, MissingDependencyError
from limr_kit.sweep.spec import Job, Sweep
from limr_kit.sweep.status import Tracker
from limr_kit.sweep.worker import ModelWorker, Outcome, describe


FORWARDED_ENV = (*QUIET_ENV, "HF_ENDPOINT", "HF_HUB_DISABLE_XET", "VLLM_CPU_KVCACHE_SPACE")  # never a token


LOOPBACK = ("127.", "localhost", "::1", "[::1]")


def _ray(address: str) -> Any:
    if address.split("://")[-1].startswith(LOOPBACK):
        # Ray swaps a loopback address for the machine's own IP (so that other nodes can reach it), where a cluster
        # started with --node-ip-address 127.0.0.1 does not listen; this keeps every socket on loopback. It is read
        # when ray is imported, hence before.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "ray", "limr-kit sweep --ray-address", "pip install 'limr-kit[sweep]' (the cluster's Ray version)"
        ) from None
    return ray


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a HOST:PORT where nothing listens (ray.init would retry for minutes)."""
    import socket

    if "://" in address or address == "auto" or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except (OSError, ValueError) as exc:
        raise InputError(
            f"Nothing answers at the Ray address {address} ({describe(exc)}). Start a cluster (ray start --head) "
            "or give the address it printed (--ray-address HOST:PORT, or RAY_ADDRESS)."
        ) from None


def _package(into: Path) -> Path:
    """This process's limr_kit as a wheel lays it out: the package with its data folders in ``_data/`` (a
    checkout keeps them beside ``toolkit/``); staged in ``into`` unless it already is one."""
    import shutil

    import limr_kit
    from limr_kit.resources import FOLDERS, data_dir

    package = Path(limr_kit.__file__).resolve().parent
    if (package / "_data").is_dir():
        return package
    staged = into / "limr_kit"
    shutil.copytree(package, staged, ignore=shutil.ignore_patterns("__pycache__"))
    for name in FOLDERS:
        shutil.copytree(data_dir(name), staged / "_data" / name)
    return staged


def connect(address: str) -> Any:
    """Join the cluster at ``address`` as a driver; returns the ``ray`` module.

    The job ships this process's limr_kit to the workers (``py_modules``), so that they run the same code and
    benchmark definitions as the driver whatever limr-kit their nodes have (they still need its dependencies:
    vLLM, torch, ...)."""
    import tempfile

    ray = _ray(address)
    _reachable(address)
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ} | {"LIMR_NO_PROGRESS": "1"}
    with tempfile.TemporaryDirectory(prefix="limr-kit-ray-") as staging:  # uploaded by ray.init
        runtime_env = {"py_modules": [str(_package(Path(staging)))], "env_vars": env, "excludes": ["__pycache__"]}
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(
                f"Cannot join a Ray cluster at {address} ({describe(exc)}). Start one (ray start --head) or give "
                "the address it printed (--ray-address HOST:PORT, or RAY_ADDRESS); with token authentication, "
                "set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the cluster's token."
            ) from None
    return ray


def _resources(ray: Any, sweep: Sweep) -> dict[str, float]:
    """The actor resource request of every job, checked against the nodes of the cluster."""
    settings, engine = sweep.spec.ray, sweep.spec.engine
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    has_gpus = any(node.get("GPU", 0) for node in nodes)
    gpus = settings.gpus_per_job
    if gpus is None:
        gpus = float(engine.tensor_parallel_size * engine.pipeline_parallel_size) if has_gpus else 0.0
    if not any(node.get("GPU", 0) >= gpus and node.get("CPU", 0) >= settings.cpus_per_job for node in nodes):
        largest = ", ".join(f"{node.get('GPU', 0):g} GPU/{node.get('CPU', 0):g} CPU" for node in nodes)
        raise InputError(
            f"Each job asks for {gpus:g} GPU(s) and {settings.cpus_per_job:g} CPU(s), which no node of the cluster "
            f"has (nodes: {largest}). Lower ray.gpus_per_job / ray.cpus_per_job or the parallel sizes in the spec."
        )
    return {"num_gpus": gpus, "num_cpus": settings.cpus_per_job}


def run_on_ray(
    ray: Any, sweep: Sweep, todo: list[Job], out: Path, tracker: Tracker, refresh: Callable[[], None]
) -> None:
    """Run ``todo`` on the cluster ``ray`` is connected to; states go to ``tracker``."""
    from ray.exceptions import RayActorError

    actor_class = ray.remote(ModelWorker).options(**_resources(ray, sweep), max_restarts=0, max_task_retries=0)
    queues: dict[str, deque[Job]] = {}
    for job in todo:
        queues.setdefault(job.model, deque()).append(job)
    waiting: dict[Any, tuple[str, str, Any, Job | None, float]] = {}  # ref -> (kind, model, actor, job, since)

    def start_actor(model: str) -> None:
        actor = actor_class.remote()
        waiting[actor.ready.remote()] = ("ready", model, actor, None, time.perf_counter())

    def next_job(model: str, actor: Any) -> None:
        if not queues[model]:
            ray.kill(actor)  # its resources go to the actors still waiting for them
            return
        job = queues[model].popleft()
        tracker.started(job)
        ref = actor.run.remote(job, str(job.folder(out)), sweep.options(job))
        waiting[ref] = ("run", model, actor, job, time.perf_counter())

    for model, queue in queues.items():
        for _ in range(min(sweep.spec.ray.actors_per_model, len(queue))):
            start_actor(model)
    try:
        while waiting:
            ready, _ = ray.wait(list(waiting), num_returns=1, timeout=0.5)
            for ref in ready:
                kind, model, actor, job, since = waiting.pop(ref)
                try:
                    value = ray.get(ref)
                except RayActorError as exc:  # the actor's process died (out of memory, a crash in the engine)
                    value = Outcome(job, time.perf_counter() - since, error=f"the Ray actor died: {describe(exc)}")
                if kind == "ready":  # (an actor that died starting fails its first job, which is retried)
                    if not isinstance(value, Outcome):
                        tracker.timed("actor_start", time.perf_counter() - since)
                    next_job(model, actor)
                    continue
                if tracker.finished(value):
                    queues[model].appendleft(job)
                if value.error is not None:  # a fresh process for what follows: the engine may be broken
                    ray.kill(actor)
                    if queues[model]:
                        start_actor(model)
                else:
                    next_job(model, actor)
            refresh()
    finally:
        for _kind, _model, actor, _job, _since in waiting.values():
            ray.kill(actor)
