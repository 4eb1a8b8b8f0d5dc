"""Offline builds: gather the wheels an image installs on the host, and serve them to the build over loopback.

A build then installs with ``pip --no-index --find-links http://127.0.0.1:PORT/wheels/`` (see
``containers/build-env.sh``), so it needs no index and no network beyond the build host. The same loopback
server hands out a TLS-intercepting proxy's CA bundle (``--ca-bundle``) to the build steps that need it.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from limr_kit._io import ensure_writable_dir
from limr_kit.containers.context import source_root
from limr_kit.containers.targets import Target
from limr_kit.errors import WheelhouseError


# A fixed port keeps the build arguments, and so the layer cache, the same from one build to the next;
# LIMR_BUILD_SERVER_PORT changes it. A busy port falls back to a free one (the next build misses the cache).
BUILD_SERVER_PORT = 47813
_PIP_LOG_TAIL = 15


@dataclass(frozen=True, slots=True)
class Wheelhouse:
    """A folder holding every wheel an image target installs."""

    path: Path
    files: int
    fetched: bool  # wheels were downloaded or built this time (False: the folder was already complete)


def platform_args(target: Target) -> list[str]:
    """pip options that select wheels for the target image's Python and glibc, whatever the host runs."""
    newest = int(target.glibc.split(".")[1])
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(newest, 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    args = ["--only-binary=:all:", "--python-version", target.python, "--implementation", "cp"]
    for platform in platforms:
        args += ["--platform", platform]
    return args


def project_requirements(root: Path, extras: tuple[str, ...]) -> list[str]:
    """limr-kit's own requirements and those of ``extras``, as the GPU Dockerfiles install them."""
    script = root / "containers" / "limr-deps.py"
    result = subprocess.run(
        [sys.executable, str(script), str(root / "pyproject.toml"), *extras], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise WheelhouseError(f"Cannot read limr-kit's requirements with {script}: {result.stderr.strip()}")
    return result.stdout.split()


def requirement_args(target: Target, root: Path, scratch: Path) -> list[str]:
    """``-r FILE`` options for everything the target installs (its pin files and limr-kit's requirements)."""
    args = [arg for name in target.requirements for arg in ("-r", str(root / name))]
    if target.extras:
        extra_file = scratch / "limr-kit-requirements.txt"
        extra_file.write_text("\n".join(project_requirements(root, target.extras)) + "\n", encoding="utf-8")
        args += ["-r", str(extra_file)]
    if target.closed:
        args.append("--no-deps")
    return args


def _run_pip(args: list[str], on_line: Callable[[str], None] | None = None) -> tuple[int, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pip", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        if "is ignored: it is neither a file nor a directory" in line:
            continue
        lines.append(line)
        if on_line is not None:
            on_line(line)
    return process.wait(), lines[-_PIP_LOG_TAIL:]


def prepare_wheelhouse(
    target: Target, dest: str | Path, *, root: Path | None = None, on_line: Callable[[str], None] | None = None
) -> Wheelhouse:
    """Fill ``dest`` with the wheels ``target`` installs; a folder that already has them all is left alone.

    Completeness is checked offline (pip resolving with ``--no-index`` for the image's Python and platform).
    Missing wheels are fetched with ``pip wheel`` (which also builds pure-Python sdists into wheels), so that
    step needs the host's Python to be the image's; otherwise the error says how to fill the folder by hand.
    """
    root = root or source_root()
    dest = ensure_writable_dir(dest).resolve()
    with tempfile.TemporaryDirectory(prefix="limr-wheelhouse-") as scratch:
        requirements = requirement_args(target, root, Path(scratch))
        check = ["install", "--isolated", "--dry-run", "--ignore-installed", "--quiet", "--no-index"]
        check += ["--find-links", str(dest), *platform_args(target), *requirements]
        if _run_pip(check)[0] == 0:
            return Wheelhouse(dest, _count(dest), fetched=False)
        host = f"{sys.version_info.major}.{sys.version_info.minor}"
        if host != target.python:
            raise WheelhouseError(
                f"The {target.name} image installs wheels for Python {target.python} and {dest} lacks some of them, "
                f"but this is Python {host}, so limr-kit cannot build them here. Fill the folder on a machine with "
                f"Python {target.python} and network access (pip wheel -w {dest} "
                + " ".join(requirements)
                + "), then run limr-kit build again."
            )
        code, tail = _run_pip(["wheel", "--wheel-dir", str(dest), "--find-links", str(dest), *requirements], on_line)
        if code != 0:
            raise WheelhouseError(
                f"Gathering the {target.name} image's wheels into {dest} failed (pip exit {code}):\n"
                + "\n".join(f"  | {line}" for line in tail)
                + "\nCheck the network access to the package index (and pip's --cert for a proxy), then retry."
            )
        code, tail = _run_pip(check)
        if code != 0:
            raise WheelhouseError(
                f"{dest} still cannot install the {target.name} image for Python {target.python}:\n"
                + "\n".join(f"  | {line}" for line in tail)
            )
    return Wheelhouse(dest, _count(dest), fetched=True)


def _count(folder: Path) -> int:
    return sum(1 for path in folder.iterdir() if path.name.endswith((".whl", ".tar.gz", ".zip")))


class _BuildFilesHandler(BaseHTTPRequestHandler):
    files: dict[str, Path]  # URL path -> file
    index: bytes  # the /wheels/ listing pip's --find-links reads

    def do_GET(self) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if path == "/wheels/":
            self._send(200, "text/html", len(self.index))
            self.wfile.write(self.index)
            return
        file = self.files.get(path)
        if file is None:
            self._send(404, "text/plain", 0)
            return
        self._send(200, "application/octet-stream", file.stat().st_size)
        with open(file, "rb") as handle:
            shutil.copyfileobj(handle, self.wfile, 1 << 20)

    def _send(self, status: int, content_type: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the build's own log shows what pip fetched."""


def _bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    port = int(os.environ.get("LIMR_BUILD_SERVER_PORT", BUILD_SERVER_PORT))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:
        return ThreadingHTTPServer(("127.0.0.1", 0), handler)


@contextlib.contextmanager
def serve_build_files(*, wheelhouse: Path | None = None, ca_bundle: Path | None = None) -> Iterator[dict[str, str]]:
    """Serve a wheelhouse and/or a CA bundle on 127.0.0.1 while the block runs; yields the build arguments."""
    files: dict[str, Path] = {}
    wheels = sorted(path for path in wheelhouse.iterdir() if path.is_file()) if wheelhouse else []
    for wheel in wheels:
        files[f"/wheels/{wheel.name}"] = wheel
    # The bundle's digest is in its address, so a new bundle rebuilds the layers that used the old one.
    ca_path = f"/ca-bundle-{hashlib.sha256(ca_bundle.read_bytes()).hexdigest()[:16]}.pem" if ca_bundle else ""
    if ca_bundle is not None:
        files[ca_path] = ca_bundle
    links = "".join(f'<a href="{urllib.parse.quote(w.name)}">{html.escape(w.name)}</a>\n' for w in wheels)
    handler = type(
        "BuildFilesHandler",
        (_BuildFilesHandler,),
        {"files": files, "index": f"<!DOCTYPE html><html><body>\n{links}</body></html>\n".encode()},
    )
    server = _bind(handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="limr-build-files", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    args = {}
    if wheelhouse is not None:
        args["LIMR_WHEELHOUSE_URL"] = f"{base}/wheels/"
    if ca_bundle is not None:
        args["LIMR_CA_BUNDLE_URL"] = f"{base}{ca_path}"
    try:
        yield args
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
