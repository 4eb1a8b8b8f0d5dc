"""Test-wide settings and helpers. The Docker fixtures (a private engine, the Debian base, the cpu image) live in
docker_fixtures."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest


pytest_plugins = ["docker_fixtures"]
os.environ.setdefault("COLUMNS", "200")
os.environ["NO_COLOR"] = "1"
os.environ["LIMR_NO_PROGRESS"] = "1"
os.environ.pop("LIMR_DEBUG", None)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys):
    """Run ``limr-kit ARGS`` in-process through the real entry point; returns exit code and output."""
    from limr_kit.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(arg) for arg in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny model, warm-started on additions so that it answers some held-out ones in a box."""
    from limr_kit.tinymodel import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0, warm_start_steps=600)


@pytest.fixture
def shared_data() -> Path:
    """The released data beside the checkout (../shared/data); skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def bench_data(tmp_path_factory) -> Path:
    """A --data-dir in the layout of shared/data/bench, holding additions the tiny model never trained on."""
    from limr_kit.tinymodel import held_out_problems

    problems = held_out_problems()
    root = tmp_path_factory.mktemp("bench-data")
    rows = {
        "aime24/test.jsonl": [
            {"id": 60 + i, "problem": p["question"], "answer": f"{int(p['answer']):03d}"}
            for i, p in enumerate(problems[:4])
        ],
        "math500/test.jsonl": [
            {"problem": p["question"], "answer": p["answer"], "unique_id": f"test/algebra/{i}.json"}
            for i, p in enumerate(problems[4:14])
        ],
        "amc23/test.jsonl": [
            {"id": i, "problem": p["question"], "answer": float(p["answer"])} for i, p in enumerate(problems[14:18])
        ],
    }
    for name, items in rows.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("".join(json.dumps(row) + "\n" for row in items))
    return root
