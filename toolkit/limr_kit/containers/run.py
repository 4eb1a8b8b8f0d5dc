"""Run a command inside an image: GPUs, mounts, the calling user, exit status and logs, cleanup on Ctrl-C."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from limr_kit._io import ensure_writable_dir
from limr_kit.containers.engine import docker_client
from limr_kit.errors import DockerError, GpuRequiredError, ImageNotFoundError, InputError


# Host variables handed to the container at run time (never baked into an image): Hub access, offline
# switches, vLLM settings and limr-kit's own.
FORWARDED_ENV = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_ENDPOINT",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "WANDB_API_KEY",
    "LIMR_DEBUG",
    "LIMR_NO_PROGRESS",
)
FORWARDED_PREFIXES = ("VLLM_",)
CONTAINER_HF_HOME = "/data/hf"
# Folders of the images that a same-path bind mount must not cover.
_IMAGE_PATHS = ("/opt/venv", "/opt/limr-kit", "/usr", "/etc", "/bin", "/lib", "/data/hf", "/tmp")

OutputCallback = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class Mount:
    """A host path bound into the container."""

    source: Path
    target: str
    read_only: bool = False


def _device_requests(gpus: str) -> list[object]:
    from docker.types import DeviceRequest

    gpus = gpus.strip()
    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if gpus.isdigit() and int(gpus) > 0:
        return [DeviceRequest(count=int(gpus), capabilities=[["gpu"]])]
    ids = [part.strip() for part in gpus.removeprefix("device=").split(",") if part.strip()]
    if not gpus.startswith("device=") or not ids:
        raise InputError(f"--gpus {gpus!r} is not a GPU choice. Use all, a count (e.g. 2) or device ids (device=0,1).")
    return [DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]


def run_in_image(
    image: str,
    argv: Sequence[str],
    *,
    gpus: str | None = None,
    mounts: Iterable[Mount] = (),
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
    network: str | None = None,
    shm_size: str = "2g",
    on_output: OutputCallback | None = None,
) -> int:
    """Run ``argv`` (program and arguments) in a new container of ``image``; returns its exit status.

    Output is handed to ``on_output(stream, data)`` (stream ``"stdout"`` or ``"stderr"``) as it comes. The
    container is removed afterwards, also when the caller is interrupted (Ctrl-C), which is re-raised.
    """
    mounts = list(mounts)
    client = docker_client()
    import docker.errors
    from docker.types import Mount as DockerMount

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound as exc:
        raise ImageNotFoundError(image) from exc
    # The job records the exact image it ran in (results.json provenance): the registry digest when pushed.
    digest = (found.attrs.get("RepoDigests") or [found.id])[0]
    for mount in mounts:
        if not mount.source.exists():
            raise InputError(f"{mount.source} does not exist, so it cannot be mounted into the container.")
    container = client.containers.create(
        image,
        command=list(argv[1:]),
        entrypoint=list(argv[:1]),
        environment={**(env or {}), "LIMR_IMAGE": image, "LIMR_IMAGE_DIGEST": digest},
        working_dir=workdir,
        user=user,
        mounts=[DockerMount(m.target, str(m.source), type="bind", read_only=m.read_only) for m in mounts],
        device_requests=_device_requests(gpus) if gpus else None,
        network_mode=network,
        shm_size=shm_size,
        init=True,
        labels={"dev.limr-kit.run": "1"},
    )
    try:
        stream = client.api.attach(container.id, stdout=True, stderr=True, stream=True, logs=True, demux=True)
        try:
            container.start()
        except docker.errors.APIError as exc:
            reason = exc.explanation or str(exc)
            if gpus and ("device driver" in reason or "nvidia" in reason.lower() or "gpu" in reason.lower()):
                raise GpuRequiredError(gpus, reason) from exc
            raise DockerError(f"The container of {image} did not start: {reason}") from exc
        for stdout, stderr in stream:
            if on_output is not None:
                if stdout:
                    on_output("stdout", stdout)
                if stderr:
                    on_output("stderr", stderr)
        return int(container.wait()["StatusCode"])
    except KeyboardInterrupt:
        try:
            container.kill()
        except docker.errors.APIError:
            pass  # it had already stopped
        raise
    finally:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass


def _shadows_image(path: Path) -> bool:
    text = path.as_posix().rstrip("/") or "/"
    return any(inside == text or inside.startswith(text + "/") or text == "/" for inside in _IMAGE_PATHS)


def forwarded_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The host variables a job in a container gets (tokens at run time only)."""
    environ = os.environ if environ is None else environ
    return {
        name: value for name, value in environ.items() if name in FORWARDED_ENV or name.startswith(FORWARDED_PREFIXES)
    }


def run_limr_kit_in_image(
    image: str,
    args: Sequence[str],
    *,
    out_dir: str | Path | None = None,
    inputs: Iterable[str | Path] = (),
    gpus: str | None = None,
    hf_home: str | Path | None = None,
    user: str | None = None,
    network: str | None = None,
    on_output: OutputCallback | None = None,
) -> int:
    """Run ``limr-kit ARGS`` in ``image`` as the calling user, with host paths at the same paths inside.

    The working folder, the folder holding ``out_dir`` and each of ``inputs`` (read-only) are bound at their
    own absolute paths, so the arguments need no rewriting; the host's
    Hugging Face cache (``hf_home``, else $HF_HOME, else ~/.cache/huggingface) is the image's HF_HOME volume.
    """
    mounts: list[Mount] = []

    def bind(path: Path, read_only: bool) -> None:
        covered = any(path == m.source or m.source in path.parents for m in mounts)
        if not covered and not _shadows_image(path):
            mounts.append(Mount(path, path.as_posix(), read_only))

    cwd = Path.cwd().resolve()
    bind(cwd, False)
    if out_dir is not None:
        # limr-kit stages its output beside --out, so the folder holding it is mounted (and --out is made
        # inside the container, by the user the job runs as); where that folder is one of the image's own,
        # --out itself is mounted.
        out = Path(out_dir).resolve()
        ensure_writable_dir(out.parent)
        if _shadows_image(out.parent):
            bind(ensure_writable_dir(out), False)
        else:
            bind(out.parent, False)
    for item in inputs:
        path = Path(item).resolve()
        if not path.exists():
            raise InputError(f"{item} does not exist. Check the path.")
        bind(path, True)
    cache = Path(hf_home or os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    mounts.append(Mount(ensure_writable_dir(cache).resolve(), CONTAINER_HF_HOME))
    env = {**forwarded_env(), "HF_HOME": CONTAINER_HF_HOME, "HOME": "/tmp"}
    return run_in_image(
        image,
        ["limr-kit", *args],
        gpus=gpus,
        mounts=mounts,
        env=env,
        workdir=cwd.as_posix() if any(m.source == cwd for m in mounts) else None,
        user=user or f"{os.getuid()}:{os.getgid()}",
        network=network,
        on_output=on_output,
    )


def strip_options(args: Sequence[str], names: Iterable[str]) -> list[str]:
    """``args`` without the options ``names`` (``--opt VALUE`` and ``--opt=VALUE`` forms)."""
    names = set(names)
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif arg.split("=", 1)[0] not in names:
            kept.append(arg)
    return kept


def rerun_limr_kit_in_image(
    image: str,
    argv: Sequence[str],
    *,
    gpus: str | None = None,
    out_dir: str | Path | None = None,
    inputs: Iterable[str | Path | None] = (),
    on_start: Callable[[list[str]], None] | None = None,
    on_output: OutputCallback | None = None,
) -> int:
    """Run the limr-kit command line ``argv`` inside ``image`` instead of here; its exit status.

    The command line is repeated without ``--image`` and ``--gpus``; ``out_dir`` and the ``inputs`` that are local
    paths (not Hub ids, not unset) are mounted at their own paths. ``on_start`` gets the arguments run.
    """
    args = strip_options(argv, ("--image", "--gpus"))
    local = [Path(item) for item in inputs if item is not None and Path(item).exists()]
    if on_start is not None:
        on_start(args)
    return run_limr_kit_in_image(image, args, out_dir=out_dir, inputs=local, gpus=gpus, on_output=on_output)
