"""A real Ray cluster on this machine for tests and perf scripts: every socket on 127.0.0.1, ports of its own.

``ray start`` defaults to fixed ports (6379, 10001 for the client server, 8265 for the dashboard) that collide
between concurrent sessions, and its processes bind the machine's interface unless told otherwise; here every
port is a free one picked on loopback and the processes live in their own session (process group), which is
stopped by its id. Never ``ray stop``: that stops every Ray cluster of the machine's user.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


RAY = Path(sys.executable).with_name("ray")
# The cluster and its drivers agree on no token authentication (a ~/.ray/auth_token left by another cluster would
# otherwise switch it on for one side only), and Ray keeps loopback addresses as they are.
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
PORT_OPTIONS = (
    "--port",
    "--ray-client-server-port",
    "--object-manager-port",
    "--node-manager-port",
    "--dashboard-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--runtime-env-agent-port",
    "--metrics-export-port",
)


@dataclass(frozen=True)
class LocalCluster:
    address: str  # 127.0.0.1:PORT, for --ray-address
    temp_dir: Path
    start_seconds: float

    @property
    def env(self) -> dict[str, str]:
        """The environment of a driver of this cluster."""
        return {**os.environ, **ENV, "RAY_ADDRESS": self.address}


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _worker_ports(count: int = 32) -> tuple[int, int]:
    """A run of ``count`` consecutive free ports for the workers (the range Ray picks from)."""
    for _ in range(50):
        low = _free_ports(1)[0]
        if low + count > 65535:
            continue
        try:
            with contextlib.ExitStack() as stack:
                for port in range(low, low + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return low, low + count - 1
        except OSError:
            continue
    raise RuntimeError("no run of free ports for the Ray workers")


@contextlib.contextmanager
def local_cluster(num_cpus: int = 2) -> Iterator[LocalCluster]:
    """A head node with ``num_cpus`` CPUs, stopped (its process group only) on exit."""
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    ports = dict(zip(PORT_OPTIONS, _free_ports(len(PORT_OPTIONS)), strict=True))
    low, high = _worker_ports()
    args = [str(RAY), "start", "--head", "--node-ip-address", "127.0.0.1", "--num-cpus", str(num_cpus)]
    args += ["--num-gpus", "0", "--include-dashboard", "false", "--dashboard-host", "127.0.0.1"]
    args += ["--temp-dir", str(temp_dir), "--disable-usage-stats", "--min-worker-port", str(low)]
    args += ["--max-worker-port", str(high), *(item for option, port in ports.items() for item in (option, str(port)))]
    start = time.perf_counter()
    # its own session: the daemons it leaves behind share one process group, ours to stop
    proc = subprocess.Popen(
        args, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{output[-3000:]}")
        yield LocalCluster(f"127.0.0.1:{ports['--port']}", temp_dir, time.perf_counter() - start)
    finally:
        _stop(proc.pid, temp_dir)


def _stop(group: int, temp_dir: Path, grace: float = 15.0) -> None:
    """SIGTERM the cluster's process group, SIGKILL what is left after ``grace`` seconds; then the workers (each
    in a session of its own), found by the cluster's own temp dir in their command line."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            os.killpg(group, 0)  # ProcessLookupError once every process of the group is gone
            time.sleep(0.2)
        os.killpg(group, signal.SIGKILL)
    marker = str(temp_dir).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if marker in cmdline.read_bytes():
                os.kill(int(cmdline.parent.name), signal.SIGKILL)
