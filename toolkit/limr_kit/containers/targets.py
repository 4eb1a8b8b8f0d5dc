"""The images limr-kit builds: one Dockerfile in ``containers/`` per target."""

from __future__ import annotations

from dataclasses import dataclass

from limr_kit.errors import UnknownNameError


@dataclass(frozen=True, slots=True)
class Target:
    """An image target and what its Dockerfile installs."""

    name: str
    dockerfile: str  # file name in containers/
    tag: str  # default tag
    python: str  # the image's Python (major.minor): the wheels it installs must be built for it
    glibc: str  # the base image's glibc: the newest manylinux tag its wheels may carry
    requirements: tuple[str, ...]  # requirement files the image installs, relative to the source root
    closed: bool  # the requirements are a complete pinned set, installed with --no-deps
    extras: tuple[str, ...] = ()  # limr-kit extras whose requirements are installed beside the pins
    gpu: bool = False


TARGETS: dict[str, Target] = {
    "train": Target(
        name="train",
        dockerfile="train.Dockerfile",
        tag="limr-kit:train",
        python="3.12",
        glibc="2.39",
        requirements=(
            "containers/requirements/train-stack.txt",
            "containers/requirements/train-flash-attn.txt",
            "containers/requirements/train-openrlhf.txt",
            "containers/requirements/build.txt",
        ),
        closed=False,
        extras=("train",),
        gpu=True,
    ),
    "bench": Target(
        name="bench",
        dockerfile="bench.Dockerfile",
        tag="limr-kit:bench",
        python="3.12",
        glibc="2.39",
        requirements=("containers/requirements/bench.txt", "containers/requirements/build.txt"),
        closed=False,
        extras=("bench",),
        gpu=True,
    ),
    "cpu": Target(
        name="cpu",
        dockerfile="cpu.Dockerfile",
        tag="limr-kit:cpu",
        python="3.11",
        glibc="2.36",
        requirements=("requirements/cpu-constraints.txt", "containers/requirements/build.txt"),
        closed=True,
    ),
}


def resolve_targets(name: str) -> list[Target]:
    """The targets meant by ``name``: one of :data:`TARGETS` or ``all``."""
    if name == "all":
        return list(TARGETS.values())
    if name not in TARGETS:
        raise UnknownNameError("image target", name, [*TARGETS, "all"])
    return [TARGETS[name]]
