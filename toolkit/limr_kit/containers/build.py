"""``limr-kit build``: build the images through the Docker SDK's low-level API, streaming the build log."""

from __future__ import annotations

import collections
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limr_kit.containers.context import label_args, make_context, source_root
from limr_kit.containers.engine import docker_client, engine_address, engine_is_local
from limr_kit.containers.targets import Target, resolve_targets
from limr_kit.containers.wheelhouse import prepare_wheelhouse, serve_build_files
from limr_kit.errors import DockerError, ImageBuildError, InputError


_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The builder's own bookkeeping lines, left out of the log tail shown for a failed step.
_BOOKKEEPING = (" ---> ", "Removing intermediate container ")
_LOG_TAIL = 20


@dataclass(frozen=True, slots=True)
class BuildEvent:
    """One thing that happened during a build, for a progress display."""

    target: str
    kind: str  # "wheelhouse" (gathering wheels), "step" (a Dockerfile step starts), "log" (a line of output), "push"
    text: str
    step: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class BuildResult:
    """An image that was built (and pushed, if asked)."""

    target: str
    tag: str
    image_id: str
    size_bytes: int
    seconds: float
    labels: dict[str, str] = field(default_factory=dict)
    pushed: str | None = None
    wheelhouse_files: int | None = None


EventCallback = Callable[[BuildEvent], None]


def _check_ca_bundle(path: Path) -> Path:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"Cannot read the CA bundle {path}: {exc.strerror}. Pass a readable PEM file.") from exc
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InputError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----). Pass the proxy's CA bundle.")
    return path.resolve()


def _follow(chunks: Iterable[dict[str, Any]], target: str, emit: EventCallback) -> str:
    """Read the build's JSON stream; returns the image id or raises with the failing step and its last lines."""
    step = "the start of the build"
    tail: collections.deque[str] = collections.deque(maxlen=_LOG_TAIL)
    image_id = ""
    for chunk in chunks:
        if "error" in chunk or "errorDetail" in chunk:
            message = chunk.get("errorDetail", {}).get("message") or chunk.get("error", "unknown error")
            hint = ""
            if step.split(" : ", 1)[-1].upper().startswith("FROM"):
                hint = (
                    "The base image cannot be found or pulled: pass --base-image with one the engine has "
                    "(docker images) or can pull, e.g. a mirror of the default base."
                )
            raise ImageBuildError(target, step, message.strip(), list(tail), hint)
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        text = chunk.get("stream") or chunk.get("status") or ""
        for line in _ANSI.sub("", text).splitlines():
            line = line.rstrip()
            if not line:
                continue
            match = _STEP.match(line)
            if match:
                step = f"step {match.group(1)}/{match.group(2)} : {match.group(3)}"
                tail.clear()
                emit(BuildEvent(target, "step", match.group(3), int(match.group(1)), int(match.group(2))))
                continue
            if line.startswith("Successfully built ") and not image_id:
                image_id = line.split()[-1]
            if not line.startswith(_BOOKKEEPING):
                tail.append(line)
            emit(BuildEvent(target, "log", line))
    if not image_id:
        raise ImageBuildError(target, step, "the engine ended the build without an image", list(tail))
    return image_id


def _push(client: Any, image_id: str, tag: str, registry: str, target: str, emit: EventCallback) -> str:
    name, _, version = tag.rpartition(":")
    if not name or "/" in version:
        name, version = tag, "latest"
    repository = f"{registry.rstrip('/')}/{name.split('/')[-1]}"
    client.api.tag(image_id, repository, version)
    for chunk in client.api.push(repository, tag=version, stream=True, decode=True):
        if "error" in chunk or "errorDetail" in chunk:
            message = chunk.get("errorDetail", {}).get("message") or chunk.get("error")
            raise DockerError(
                f"Pushing {repository}:{version} failed: {message}. Log in with docker login {registry.split('/')[0]} "
                "and check that the registry address is right."
            )
        if "status" in chunk:
            emit(BuildEvent(target, "push", f"{chunk['status']} {chunk.get('progress', '')}".strip()))
    return f"{repository}:{version}"


def build_image(
    target: Target | str,
    *,
    tag: str | None = None,
    base_image: str | None = None,
    wheelhouse: str | Path | None = None,
    ca_bundle: str | Path | None = None,
    push: str | None = None,
    no_cache: bool = False,
    root: Path | None = None,
    on_event: EventCallback | None = None,
) -> BuildResult:
    """Build one image target from the limr-kit checkout at ``root``.

    ``wheelhouse``: a folder of wheels (filled on the host when incomplete) that the build installs from,
    offline. ``ca_bundle``: a PEM file trusted by the build steps only. Both are served on 127.0.0.1 and the
    build then runs with the host's network. ``push``: a registry (``host[:port][/namespace]``) to push to.
    """
    target = resolve_targets(target)[0] if isinstance(target, str) else target
    emit = on_event or (lambda event: None)
    root = root or source_root()
    tag = tag or target.tag
    ca_path = _check_ca_bundle(Path(ca_bundle)) if ca_bundle is not None else None
    client = docker_client()
    import docker.errors

    if (wheelhouse is not None or ca_path is not None) and not engine_is_local():
        raise InputError(
            f"--wheelhouse and --ca-bundle serve their files on this machine's loopback, which the Docker engine at "
            f"{engine_address()} cannot reach. Run limr-kit build on the engine's machine."
        )
    started = time.monotonic()
    house = None
    if wheelhouse is not None:
        emit(BuildEvent(target.name, "wheelhouse", f"checking the wheels in {wheelhouse}"))
        house = prepare_wheelhouse(
            target, wheelhouse, root=root, on_line=lambda line: emit(BuildEvent(target.name, "wheelhouse", line))
        )
    dockerfile = root / "containers" / target.dockerfile
    buildargs = label_args(root, dockerfile)
    if base_image:
        buildargs["BASE_IMAGE"] = base_image
    with serve_build_files(wheelhouse=house.path if house else None, ca_bundle=ca_path) as served:
        buildargs.update(served)
        with make_context(root) as context:
            try:
                chunks = client.api.build(
                    fileobj=context,
                    custom_context=True,
                    dockerfile=f"containers/{target.dockerfile}",
                    tag=tag,
                    buildargs=buildargs,
                    decode=True,
                    rm=True,
                    forcerm=True,
                    nocache=no_cache,
                    pull=False,
                    network_mode="host" if served else None,
                )
                image_id = _follow(chunks, target.name, emit)
            except docker.errors.APIError as exc:
                raise ImageBuildError(target.name, "the start of the build", exc.explanation or str(exc), []) from exc
    image = client.images.get(image_id)
    pushed = _push(client, image_id, tag, push, target.name, emit) if push else None
    return BuildResult(
        target=target.name,
        tag=tag,
        image_id=image_id,
        size_bytes=int(image.attrs.get("Size", 0)),
        seconds=time.monotonic() - started,
        labels=dict(image.labels),
        pushed=pushed,
        wheelhouse_files=house.files if house else None,
    )


def build_images(
    name: str,
    *,
    tag: str | None = None,
    base_image: str | None = None,
    wheelhouse: str | Path | None = None,
    **options: Any,
) -> list[BuildResult]:
    """Build ``name`` (a target or ``all``); ``options`` go to :func:`build_image` as they are.

    With several targets, ``tag`` is a repository (``REPO:<target>``) and ``wheelhouse`` a parent folder
    (one subfolder per target).
    """
    targets = resolve_targets(name)
    several = len(targets) > 1
    if several and base_image:
        raise InputError(
            "--base-image applies to one target (the GPU and CPU images use different bases). "
            "Build the targets one at a time to change their bases."
        )
    if several and tag and ":" in tag.split("/")[-1]:
        raise InputError(
            f"With several targets --tag is a repository (e.g. {tag.rsplit(':', 1)[0]}): each image "
            "is tagged REPOSITORY:<target>. Drop the ':' part."
        )
    return [
        build_image(
            target,
            tag=f"{tag}:{target.name}" if several and tag else tag,
            base_image=base_image,
            wheelhouse=Path(wheelhouse) / target.name if several and wheelhouse is not None else wheelhouse,
            **options,
        )
        for target in targets
    ]
