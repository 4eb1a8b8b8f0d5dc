"""The connection to the Docker engine, through the Docker SDK (``docker`` package)."""

from __future__ import annotations

import os
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
        client = docker.from_env(timeout=600)
        client.ping()
    except DockerException as exc:
        raise DockerUnavailableError(engine_address(), _short_reason(exc)) from exc
    return client


def _short_reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("No such file or directory", "Connection refused", "Permission denied", "timed out"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__
