"""LFS upload and download through the local Hub server, vs a plain file copy on the same disk.

Target (issue 10): a 1 GiB LFS file uploaded and downloaded with the real ``huggingface_hub`` client against
``limr-kit hub serve`` (in its own process) at >= 0.5x the speed of copying the same bytes on the same disk,
with the server's peak RSS (VmHWM) <= 200 MB: uploads and downloads must stream, never sit whole in memory.

    python perf/hub_lfs_throughput.py              # 1 GiB
    python perf/hub_lfs_throughput.py --mib 256    # quicker
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
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


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return kib / 1024


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
        copy_s = _timed(lambda: shutil.copyfile(source, scratch / "copy.safetensors"))
        (scratch / "copy.safetensors").unlink()

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
    print(f"LFS file: {size_mb:.0f} MB, scratch on {args.dir or tempfile.gettempdir()}")
    print(f"plain file copy : {copy:8.0f} MB/s")
    print(f"upload (client) : {up:8.0f} MB/s   {up / copy:.2f}x the copy (target >= {COPY_RATIO_TARGET}x)")
    print(f"download        : {dl:8.0f} MB/s   {dl / copy:.2f}x the copy (target >= {COPY_RATIO_TARGET}x)")
    print(f"server peak RSS : {peak_rss:8.0f} MB     (idle {idle_rss:.0f} MB; target <= {PEAK_RSS_TARGET_MB} MB)")
    met = min(up, dl) >= COPY_RATIO_TARGET * copy and peak_rss <= PEAK_RSS_TARGET_MB
    print("targets met" if met else "TARGETS MISSED")


if __name__ == "__main__":
    main()
