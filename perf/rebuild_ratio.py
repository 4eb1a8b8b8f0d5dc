"""Rebuild time after a source-only change vs a full build of the cpu image (target ratio <= 0.1).

Builds the cpu image from a copy of the build context with no layer cache, changes one limr-kit source file
in the copy, builds again, and prints both times and their ratio. Needs a Docker engine (DOCKER_HOST) and the
same inputs as the tests: a base image with python3 and python3-venv (--base-image; the tests import a
debootstrapped Debian bookworm as limr-kit-ci/bookworm-python:<key>) and a wheelhouse folder (--wheelhouse,
filled on this host when incomplete).

    python perf/rebuild_ratio.py --base-image limr-kit-ci/bookworm-python:KEY --wheelhouse ~/.cache/limr-kit/ci/wheelhouse-cpu
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from limr_kit.containers import build_image, context_files, docker_client, prepare_wheelhouse
from limr_kit.containers.targets import TARGETS


REPO = Path(__file__).resolve().parents[1]
TAG = "limr-kit-perf:cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", required=True)
    parser.add_argument("--wheelhouse", type=Path, required=True)
    args = parser.parse_args()
    # The wheelhouse is prepared first so that neither timing includes gathering wheels.
    prepare_wheelhouse(TARGETS["cpu"], args.wheelhouse, root=REPO)
    with tempfile.TemporaryDirectory(prefix="limr-perf-") as scratch:
        source = Path(scratch) / "limr-kit"
        for relative in context_files(REPO):
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / relative, source / relative)

        built: list[str] = []

        def build(no_cache: bool) -> float:
            started = time.monotonic()
            result = build_image(
                "cpu", tag=TAG, base_image=args.base_image, wheelhouse=args.wheelhouse, root=source, no_cache=no_cache
            )
            built.append(result.image_id)
            return time.monotonic() - started

        try:
            full = build(no_cache=True)
            init = source / "toolkit" / "limr_kit" / "__init__.py"
            init.write_text(init.read_text() + "# touched by perf/rebuild_ratio.py\n")
            rebuild = build(no_cache=False)
        finally:
            # The no-cache build's layers would otherwise answer later builds' cache lookups for their
            # first steps and then miss for the rest (the classic builder picks the newest match).
            client = docker_client()
            for image_id in reversed(built):
                client.images.remove(image_id, force=True)
    print(f"full cpu build (no cache):       {full:7.1f} s")
    print(f"rebuild after a source change:   {rebuild:7.1f} s")
    print(f"ratio rebuild/full:              {rebuild / full:7.3f}  (target <= 0.1)")


if __name__ == "__main__":
    main()
