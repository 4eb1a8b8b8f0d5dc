"""Every exception limr-kit raises for a user's mistake or environment.

Each message says what went wrong and how to fix it. The CLI prints ``Error: <message>`` and
exits with status 1 for any :class:`LimrError`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from pydantic import ValidationError


class LimrError(Exception):
    """Base class of every error meant for the user."""


# INPUT ERRORS


class InputError(LimrError):
    """A file or value given by the user cannot be used."""


class BadRowError(InputError):
    """A row of an input file is malformed; names the file and the 1-based line."""

    def __init__(self, path: str | Path, line: int | None, problem: str, hint: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        message = f"{where}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class ConfigError(InputError):
    """A YAML/JSON file a person wrote does not match its schema."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def validation_problems(exc: ValidationError) -> list[str]:
    """A pydantic ``ValidationError`` as one ``field.path: message`` line per problem (``(top)`` for the whole)."""
    return [
        f"{'.'.join(str(part) for part in error['loc']) or '(top)'}: {error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors(include_input=False)
    ]


class UnknownNameError(InputError):
    """A name (suite, benchmark, method, target...) is not one of the known choices."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        close = difflib.get_close_matches(name, self.choices, n=3, cutoff=0.5)
        message = f"Unknown {kind} '{name}'."
        if close:
            message += f" Did you mean: {', '.join(close)}?"
        message += f" Choices: {', '.join(self.choices)}."
        super().__init__(message)


class SecretFoundError(InputError):
    """A file about to be published contains something that looks like an access token."""


class ScoringError(LimrError):
    """Scores cannot be computed from the given trajectories."""


# ENVIRONMENT ERRORS


class MissingDependencyError(LimrError):
    """An optional dependency needed for this command is not installed."""

    def __init__(self, package: str, purpose: str, install: str | None = None) -> None:
        self.package = package
        install = install or f"pip install {package}"
        super().__init__(f"{purpose} needs the '{package}' package. Install it with: {install}")


class OutputError(LimrError):
    """An output location cannot be written."""


class EngineError(LimrError):
    """A generation engine failed while benchmarking."""


class TrainError(LimrError):
    """Training cannot start here, or the trainer failed."""


class HubError(LimrError):
    """A Hugging Face Hub (or limr-kit hub server) request failed."""


class HubAuthError(HubError):
    """The Hub refused the token (401/403)."""


class HubUnreachableError(HubError):
    """No Hub answers at the endpoint."""


# CONTAINERS


class DockerError(LimrError):
    """The Docker engine refused or failed a request."""


class DockerUnavailableError(DockerError):
    """No Docker engine answers: not installed, not running, or DOCKER_HOST points nowhere."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        super().__init__(
            f"Cannot reach a Docker engine at {where} ({reason}). Install Docker (e.g. apt-get install docker.io), "
            "start its daemon (sudo systemctl start docker), or set DOCKER_HOST to the socket of a running one "
            "(e.g. export DOCKER_HOST=unix:///run/user/$UID/docker.sock)."
        )


class ImageBuildError(DockerError):
    """An image build failed; names the failing step and shows its last log lines."""

    def __init__(self, target: str, step: str, message: str, log_tail: list[str], hint: str = "") -> None:
        self.target = target
        self.step = step
        self.log_tail = log_tail
        tail = "".join(f"\n  | {line}" for line in log_tail)
        hint = hint or "Fix the cause shown above and run limr-kit build again (finished steps are cached)."
        super().__init__(f"Building the {target} image failed at {step}: {message}{tail}\n{hint}")


class ImageNotFoundError(DockerError):
    """The image asked for is not in the local engine."""

    def __init__(self, image: str) -> None:
        self.image = image
        super().__init__(
            f"Image '{image}' is not in the local Docker engine. Build it with limr-kit build (e.g. "
            f"limr-kit build cpu --tag {image}) or pull it with docker pull {image}."
        )


class GpuRequiredError(DockerError):
    """GPUs were asked for but the engine cannot give any to a container."""

    def __init__(self, requested: str, reason: str) -> None:
        self.requested = requested
        super().__init__(
            f"--gpus {requested} was asked for, but the Docker engine cannot give GPUs to a container ({reason}). "
            "Install the NVIDIA driver and the NVIDIA Container Toolkit, run "
            "'nvidia-ctk runtime configure --runtime=docker' and restart the daemon; or drop --gpus to run on CPU."
        )


class WheelhouseError(LimrError):
    """The wheels an offline image build needs cannot be gathered."""
