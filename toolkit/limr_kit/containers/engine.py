"""The connection to the Docker engine, through the Docker SDK (``docker`` package)."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

from limr_kit.errors import DockerUnavailableError, MissingDependencyError


def engine_address() -> str:
    """Where the SDK looks for the engine: DOCKER_HOST, or the default socket."""
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def docker_client() -> Any:
    """A ``docker.DockerClient`` for the engine at DOCKER_HOST that has answered a ping."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:
        raise MissingDependencyError(
            "docker", "Building and running images", "pip install 'limr-kit[containers]'"
        ) from exc
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except DockerException as exc:
        raise DockerUnavailableError(engine_address(), _short_reason(exc)) from exc
    client.api.timeout = None  # a build step or a job may print nothing for a long time (flash-attn compiles)
    return client


def engine_is_local() -> bool:
    """Whether the engine runs on this machine (so it can reach this machine's loopback)."""
    address = engine_address()
    if address.startswith(("unix://", "npipe://")):
        return True
    host = urllib.parse.urlsplit(address).hostname or ""
    return host in {"localhost", "127.0.0.1", "::1"}


def _short_reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("No such file or directory", "Connection refused", "Permission denied", "timed out"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__
