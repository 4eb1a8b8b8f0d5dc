"""LFS upload and download through the local Hub server, vs a plain file copy on the same disk.

Target (issue 10): a 1 GiB LFS file uploaded and downloaded with the real ``huggingface_hub`` client against
``limr-kit hub serve`` (in its own process) at >= 0.5x the speed of copying the same bytes on the same disk,
with the server's peak RSS (VmHWM) <= 200 MB: uploads and downloads must stream, never sit whole in memory.

The copy is timed to the disk (``fsync``), as the server stores an object (it syncs before any commit can
point at it); the source is synced first, so the copy does not wait on its writeback. Beside it, the client's
own ceiling: the same client library hashing the file (``upload_file`` does, before sending) and sending it to,
and reading it from, a socket that does nothing else (bytes dropped / ``sendfile``), so the server's share of
the time shows.

    python perf/hub_lfs_throughput.py              # 1 GiB
    python perf/hub_lfs_throughput.py --mib 256    # quicker
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


TOOLKIT = Path(__file__).resolve().parents[1] / "toolkit"
COPY_RATIO_TARGET = 0.5
PEAK_RSS_TARGET_MB = 200


def _write_random(path: Path, mib: int) -> None:
    with open(path, "wb") as handle:
        for _ in range(mib // 16):
            handle.write(os.urandom(16 << 20))
        handle.write(os.urandom((mib % 16) << 20))
        os.fsync(handle.fileno())


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return kib / 1024


def _copy_to_disk(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())


def _sink(serve) -> tuple[str, threading.Thread]:
    """A one-request HTTP peer on loopback that runs ``serve(connection, request_head)``; returns its URL."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with listener, listener.accept()[0] as connection:
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(65536)
            serve(connection, head)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/file", thread


def _client_ceiling(source: Path, scratch: Path) -> tuple[float, float]:
    """Seconds for huggingface_hub to hash ``source`` and PUT it to a socket that drops the bytes, and to GET
    it into a file from one that ``sendfile``s it: what no server can beat."""
    from huggingface_hub.utils import get_session
    from huggingface_hub.utils.sha import sha_fileobj

    size = source.stat().st_size

    def drop(connection: socket.socket, head: bytes) -> None:
        left, buffer = size - len(head.split(b"\r\n\r\n", 1)[1]), bytearray(1 << 20)
        while left > 0:
            left -= connection.recv_into(buffer)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def send(connection: socket.socket, head: bytes) -> None:
        connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        with open(source, "rb") as handle:
            connection.sendfile(handle)

    def upload() -> None:
        with open(source, "rb") as handle:
            sha_fileobj(handle)
            handle.seek(0)
            get_session().put(url, content=handle, headers={"Content-Length": str(size)})

    url, thread = _sink(drop)
    up = _timed(upload)
    thread.join()
    url, thread = _sink(send)

    def download() -> None:
        with get_session().stream("GET", url) as response, open(scratch / "ceiling.bin", "wb") as out:
            for piece in response.iter_bytes(10 << 20):
                out.write(piece)

    down = _timed(download)
    thread.join()
    (scratch / "ceiling.bin").unlink()
    return up, down


def _timed(step) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the LFS file in MiB")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: the system temp folder)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="limr-hub-perf-", dir=args.dir))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TOOLKIT), os.environ.get("PYTHONPATH", "")]),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    os.environ.update(HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HOME=str(scratch / "hf-home"))
    server = None
    try:
        source = scratch / "model.safetensors"
        _write_random(source, args.mib)
        size_mb = source.stat().st_size / 1e6
        copy_s = _timed(lambda: _copy_to_disk(source, scratch / "copy.safetensors"))
        (scratch / "copy.safetensors").unlink()
        ceiling_up_s, ceiling_down_s = _client_ceiling(source, scratch)

        command = [sys.executable, "-m", "limr_kit", "hub", "serve", "--root", str(scratch / "root"), "--port", "0"]
        server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = server.stdout.readline().strip()
        idle_rss = _peak_rss_mb(server.pid)

        from huggingface_hub import HfApi, hf_hub_download

        api = HfApi(endpoint=url, token=False)
        api.create_repo("perf/big")
        up_s = _timed(lambda: api.upload_file(path_or_fileobj=source, path_in_repo=source.name, repo_id="perf/big"))
        down: list[str] = []
        down_s = _timed(
            lambda: down.append(hf_hub_download("perf/big", source.name, endpoint=url, cache_dir=scratch / "cache"))
        )
        peak_rss = _peak_rss_mb(server.pid)
        assert Path(down[0]).stat().st_size == source.stat().st_size
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(scratch, ignore_errors=True)

    copy, up, dl = size_mb / copy_s, size_mb / up_s, size_mb / down_s
    ceiling_up, ceiling_dl = size_mb / ceiling_up_s, size_mb / ceiling_down_s
    print(f"LFS file: {size_mb:.0f} MB, scratch on {args.dir or tempfile.gettempdir()}")
    print(f"file copy, synced to disk : {copy:8.0f} MB/s")
    print(
        f"client ceiling, upload    : {ceiling_up:8.0f} MB/s   {ceiling_up / copy:.2f}x the copy (sha256 + PUT, no server)"
    )
    print(f"client ceiling, download  : {ceiling_dl:8.0f} MB/s   {ceiling_dl / copy:.2f}x the copy (no server)")
    print(
        f"upload (huggingface_hub)  : {up:8.0f} MB/s   {up / copy:.2f}x the copy (target >= {COPY_RATIO_TARGET}x), "
        f"{up / ceiling_up:.2f}x the client's ceiling"
    )
    print(
        f"download                  : {dl:8.0f} MB/s   {dl / copy:.2f}x the copy (target >= {COPY_RATIO_TARGET}x), "
        f"{dl / ceiling_dl:.2f}x the client's ceiling"
    )
    print(
        f"server peak RSS           : {peak_rss:8.0f} MB     (idle {idle_rss:.0f} MB; target <= {PEAK_RSS_TARGET_MB} MB)"
    )
    met = min(up, dl) >= COPY_RATIO_TARGET * copy and peak_rss <= PEAK_RSS_TARGET_MB
    print("targets met" if met else "TARGETS MISSED")


if __name__ == "__main__":
    main()
