"""Fixtures for tests that need a Docker engine (marker ``docker``).

Engine: the one at DOCKER_HOST (or the default socket) when it answers. Otherwise, as root on Linux, a private
engine is started with ``.ci/dockerd.sh`` for the session and stopped by its pid afterwards; elsewhere the
tests skip, except in CI (CI=true), where they fail.

No registry can be pulled from, so the base image is Debian bookworm made with ``debootstrap --variant=minbase``
and ``docker import``ed; its root filesystem is cached as a tarball under ``$LIMR_CI_CACHE`` (default
``~/.cache/limr-kit/ci``), keyed by suite and package list. The cpu image is built on it offline, from a
wheelhouse cached there too, with a throwaway CA bundle (to check that none stays in the image).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("LIMR_CI_CACHE", Path.home() / ".cache" / "limr-kit" / "ci"))
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
MIRROR = os.environ.get("LIMR_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CPU_TAG = "limr-kit-ci:cpu"


def _engine_answers(host: str | None = None) -> bool:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.DockerClient(base_url=host, timeout=10) if host else docker.from_env(timeout=10)
        client.ping()
    except DockerException:
        return False
    return True


def _no_engine(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f'CI needs a Docker engine: {reason}. Start one with: eval "$(bash .ci/dockerd.sh start)"')
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """DOCKER_HOST of an engine that answers (started here for the session if need be)."""
    if _engine_answers():
        yield os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        _no_engine("no Docker engine answers and only root can start a private one")
    folder = os.environ.get("LIMR_DOCKERD_DIR", "/tmp/limr-dockerd")
    private = f"unix://{folder}/docker.sock"
    previous = os.environ.get("DOCKER_HOST")
    if _engine_answers(private):  # started earlier by someone else (e.g. .ci/run): use it, leave it running
        os.environ["DOCKER_HOST"] = private
        yield private
        _restore_docker_host(previous)
        return
    started = subprocess.run(
        ["bash", str(REPO / ".ci" / "dockerd.sh"), "start", folder], capture_output=True, text=True
    )
    if started.returncode != 0:
        _no_engine(f"cannot start a private Docker engine: {started.stderr.strip()[-500:]}")
    os.environ["DOCKER_HOST"] = private
    try:
        yield private
    finally:
        subprocess.run(["bash", str(REPO / ".ci" / "dockerd.sh"), "stop", folder], capture_output=True)
        _restore_docker_host(previous)


def _restore_docker_host(previous: str | None) -> None:
    if previous is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = previous


def _rootfs_tarball() -> Path:
    key = hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)} {MIRROR}".encode()).hexdigest()[:12]
    tarball = CACHE / f"{SUITE}-minbase-{key}.tar"
    if tarball.is_file():
        return tarball
    if shutil.which("debootstrap") is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=True, capture_output=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="limr-rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), MIRROR],
            check=True,
            capture_output=True,
        )
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.rename(tarball)
    return tarball


@pytest.fixture(scope="session")
def ci_base_image(docker_engine: str) -> str:
    """A Debian bookworm image with python3, python3-venv and ca-certificates, imported from a rootfs tarball."""
    import docker
    from docker.errors import ImageNotFound

    tarball = _rootfs_tarball()
    tag = f"limr-kit-ci/{SUITE}-python:{tarball.stem.rsplit('-', 1)[-1]}"
    client = docker.from_env()
    try:
        client.images.get(tag)
    except ImageNotFound:
        repository, version = tag.split(":")
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version)
    return tag


def _make_test_ca(path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "limr-kit test proxy CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="session")
def ci_ca_bundle() -> tuple[Path, bytes]:
    """A throwaway self-signed CA (made once per cache, so the image's cached layers were built with it) and a
    fragment of its body to search the image for."""
    path = CACHE / "test-proxy-ca.pem"
    if not path.is_file():
        _make_test_ca(path)
    body = b"".join(path.read_bytes().splitlines()[1:-1])
    return path, body[40:100]


@dataclass
class BuiltImage:
    tag: str
    result: object  # limr_kit.containers.BuildResult
    log: list[str]


@pytest.fixture(scope="session")
def cpu_image(ci_base_image: str, ci_ca_bundle: tuple[Path, bytes]) -> BuiltImage:
    """The cpu image, built offline on the Debian base from the cached wheelhouse, with a build-only CA."""
    from limr_kit.containers import build_image

    log: list[str] = []
    result = build_image(
        "cpu",
        tag=CPU_TAG,
        base_image=ci_base_image,
        wheelhouse=CACHE / "wheelhouse-cpu",
        ca_bundle=ci_ca_bundle[0],
        root=REPO,
        on_event=lambda event: log.append(f"{event.kind}: {event.text}"),
    )
    return BuiltImage(CPU_TAG, result, log)


@pytest.fixture
def local_registry(docker_engine: str, tmp_path: Path) -> Iterator[str]:
    """A Docker registry (Debian's docker-registry) on 127.0.0.1, storing under tmp_path; yields host:port."""
    import socket
    import urllib.request

    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not Path(binary).exists():
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "docker-registry"], check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: warn\n"
    )
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
