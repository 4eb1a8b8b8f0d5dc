"""Check that a GPU image's pins resolve together on PyPI, for the image's Python and platform.

pip resolves everything the image installs (its pin files and limr-kit's own requirements) with
``--dry-run --only-binary=:all: --python-version --platform``. Packages that PyPI has only as source (flash-attn,
DeepSpeed, rouge-score...) cannot take part in such a resolve, so each one found is replaced by a metadata-only
wheel built from its real sdist's metadata (name, version, Requires-Dist, Requires-Python): the sdist must exist
on PyPI and its dependencies must fit the rest; only the compiling is left to the image build.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from limr_kit.containers.targets import Target
from limr_kit.containers.wheelhouse import platform_args, requirement_args


# Lets setup.py of CUDA packages report their metadata on a machine without CUDA.
SDIST_METADATA_ENV = {"FLASH_ATTENTION_SKIP_CUDA_BUILD": "TRUE", "DS_BUILD_OPS": "0", "BUILD_WITH_CUDA": "0"}
_MISSING = re.compile(r"No matching distribution found for (\S+)")


def _pip(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def _stub_wheel(metadata: dict[str, Any], folder: Path) -> Path:
    name, version = metadata["name"], metadata["version"]
    stem = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if metadata.get("requires_python"):
        lines.append(f"Requires-Python: {metadata['requires_python']}")
    lines += [f"Provides-Extra: {extra}" for extra in metadata.get("provides_extra") or []]
    lines += [f"Requires-Dist: {requirement}" for requirement in metadata.get("requires_dist") or []]
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{stem}.dist-info/METADATA", "\n".join(lines) + "\n")
        wheel.writestr(f"{stem}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{stem}.dist-info/RECORD", "")
    return path


def resolve_pins(target: Target, *, root: Path, max_sdists: int = 12) -> list[dict[str, Any]]:
    """pip's install report (the ``install`` list) for everything ``target`` installs; raises on a conflict."""
    with tempfile.TemporaryDirectory(prefix="limr-pins-") as scratch:
        scratch_path = Path(scratch)
        stubs = scratch_path / "sdist-stubs"
        stubs.mkdir()
        report = scratch_path / "report.json"
        args = ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report)]
        args += ["--find-links", str(stubs), *platform_args(target), *requirement_args(target, root, scratch_path)]
        for _ in range(max_sdists + 1):
            result = _pip(args)
            if result.returncode == 0:
                return json.loads(report.read_text())["install"]
            missing = _MISSING.search(result.stderr)
            if missing is None:
                raise AssertionError(f"the {target.name} pins do not resolve:\n{result.stderr[-3000:]}")
            requirement = missing.group(1)
            sdist_report = scratch_path / "sdist.json"
            sdist = _pip(
                [
                    "install",
                    "--dry-run",
                    "--ignore-installed",
                    "--no-deps",
                    "--no-binary=:all:",
                    "--no-build-isolation",
                ]
                + ["--quiet", "--report", str(sdist_report), requirement],
                SDIST_METADATA_ENV,
            )
            if sdist.returncode != 0:
                raise AssertionError(f"{requirement} has neither a wheel nor a usable sdist:\n{sdist.stderr[-3000:]}")
            _stub_wheel(json.loads(sdist_report.read_text())["install"][0]["metadata"], stubs)
        raise AssertionError(f"more than {max_sdists} source-only packages in the {target.name} image")
