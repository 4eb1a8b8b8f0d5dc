"""Bench engine options: one typed model per engine, with the same checks for the CLI and a Python caller."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from limr_kit.benchmarks import BenchOptions, EstimateOptions, HfOptions, LmEvalOptions, VllmOptions
from limr_kit.benchmarks.config import resolve_suite
from limr_kit.benchmarks.engine_options import EngineCache, options_for
from limr_kit.benchmarks.models import ResolvedModel
from limr_kit.benchmarks.run import _run_identity
from limr_kit.errors import ConfigError, InputError


MODEL = ResolvedModel("org/model", Path("/models/model"), None, "abc123")


@pytest.mark.parametrize(
    ("options", "engine", "dumped"),
    [
        (
            VllmOptions(tensor_parallel_size=2, extra={"gpu_memory_utilization": 0.9, "max_num_seqs": 8}),
            "vllm",
            {
                "data_parallel_size": 1,
                "tensor_parallel_size": 2,
                "pipeline_parallel_size": 1,
                "distributed_backend": None,
                "extra": {"gpu_memory_utilization": 0.9, "max_num_seqs": 8},
            },
        ),
        (
            LmEvalOptions(backend="hf", extra={"batch_size": 4}),
            "lm-eval",
            {"backend": "hf", "extra": {"batch_size": 4}},
        ),
        (HfOptions(), "hf", {}),
    ],
)
def test_valid_options_name_their_engine_and_record_what_bench_always_recorded(options, engine, dumped):
    assert options.engine == engine
    assert options.model_dump() == dumped  # the dict BenchOptions.engine_options was before it was typed
    assert BenchOptions(engine_options=options).engine == engine


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: VllmOptions(tensor_parallel_size=0),
            "Invalid vllm engine options: tensor_parallel_size: Input should",
        ),
        (lambda: VllmOptions(data_parallel_size=-1), "data_parallel_size: Input should be greater than 0"),
        (lambda: VllmOptions(pipeline_parallel_size="two"), "pipeline_parallel_size: Input should be a valid integer"),
        (lambda: VllmOptions(tensor_parallel=2), "tensor_parallel: Extra inputs are not permitted"),
        (lambda: VllmOptions(distributed_backend="rey"), "distributed_backend: Input should be 'ray', 'mp'"),
        (
            lambda: VllmOptions(extra={"gpu_memory_utilization": 1.5}),
            "gpu_memory_utilization takes a fraction in (0, 1]",
        ),
        (
            lambda: VllmOptions(extra={"gpu_memory_utilization": 0}),
            "gpu_memory_utilization takes a fraction in (0, 1]",
        ),
        (lambda: VllmOptions(extra={"gpu_memory_utilization": "most"}), "takes a fraction in (0, 1], got 'most'"),
        (lambda: VllmOptions(extra={"data_parallel_size": 2}), "Use --data-parallel-size N"),
        (lambda: LmEvalOptions(backend="sglang"), "Unknown lm-eval backend 'sglang'. Use --lm-eval-model vllm or hf"),
        (lambda: LmEvalOptions(extra={"gpu_memory_utilization": 2}), "gpu_memory_utilization takes a fraction"),
        (lambda: LmEvalOptions(tensor_parallel_size=2), "Invalid lm-eval engine options: tensor_parallel_size: Extra"),
        (lambda: HfOptions(extra={"x": 1}), "Invalid hf engine options: extra: Extra inputs are not permitted"),
        (lambda: options_for("vlm"), "Unknown engine 'vlm'. Did you mean: vllm?"),
        (lambda: options_for("hf", data_parallel_size=2), "--data-parallel-size is for --engine vllm"),
    ],
)
def test_invalid_options_are_refused_with_one_clear_error(build, message):
    with pytest.raises(InputError) as raised:
        build()
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_options_cannot_change_once_made():
    options = VllmOptions()
    with pytest.raises(ValueError, match="frozen"):
        options.tensor_parallel_size = 2


def test_a_python_caller_gets_the_checks_the_cli_does():
    with pytest.raises(InputError, match=r"Use --data-parallel-size N"):
        BenchOptions(suite="math500", engine_options=VllmOptions(extra={"data_parallel_size": 2}))
    with pytest.raises(InputError, match=r"BenchOptions.engine_options takes VllmOptions, LmEvalOptions or HfOptions"):
        BenchOptions(engine_options={"tensor_parallel_size": 2})  # the untyped dict of before
    with pytest.raises(InputError, match=r"EstimateOptions.engine_options takes VllmOptions or HfOptions"):
        EstimateOptions(engine_options=LmEvalOptions())
    assert BenchOptions().engine == EstimateOptions().engine == "vllm"


def test_the_run_identity_of_existing_options_is_unchanged():
    """A run folder written before the options were typed resumes: its run.json holds the same identity."""
    specs = resolve_suite("math500")[1]
    recorded = _run_identity(MODEL, BenchOptions(suite="math500", limit=5), specs)
    assert recorded["engine"] == "vllm" and "engine_options" not in recorded
    typed = BenchOptions(suite="math500", limit=5, engine_options=options_for("vllm", tensor_parallel_size=1))
    assert _run_identity(MODEL, typed, specs) == recorded
    lm_eval = BenchOptions(suite="math500", limit=5, engine_options=LmEvalOptions())
    assert _run_identity(MODEL, lm_eval, specs) == {**recorded, "engine": "lm-eval"}


def test_equal_options_share_one_engine_in_the_cache():
    def key(options: BenchOptions) -> tuple[str, int]:
        return EngineCache.key(options, MODEL, 4096)

    cli = BenchOptions(engine_options=options_for("vllm", extra={"max_num_seqs": 8}))
    python = BenchOptions(engine_options=VllmOptions(extra={"max_num_seqs": 8}), seed=3)
    assert key(cli) == key(python) == (key(cli)[0], 0)  # vLLM's samples depend on per-request seeds only
    assert key(BenchOptions(engine_options=VllmOptions(extra={"max_num_seqs": 16}))) != key(cli)
    assert key(BenchOptions(engine_options=HfOptions())) != key(BenchOptions())
    lm_eval = [BenchOptions(engine_options=LmEvalOptions(), seed=seed) for seed in (0, 1)]
    assert key(lm_eval[0]) != key(lm_eval[1])  # lm-eval seeds the engine itself: one per seed
    assert key(lm_eval[1])[1] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--vllm-arg", "max_num_seqs"),
            "--vllm-arg takes KEY=VALUE (for example max_num_seqs=64), got 'max_num_seqs'",
        ),
        (("--vllm-arg", "gpu-memory-utilization=1.5"), "gpu_memory_utilization takes a fraction in (0, 1], got 1.5"),
        (("--vllm-arg", "data_parallel_size=2"), "Use --data-parallel-size N"),
        (("--engine", "lm-eval", "--lm-eval-model", "sglang"), "Unknown lm-eval backend 'sglang'"),
        (("--engine", "hf", "--data-parallel-size", "2"), "--data-parallel-size is for --engine vllm"),
        (("--distributed-backend", "rey"), "distributed_backend: Input should be 'ray', 'mp'"),
    ],
)
def test_a_bad_engine_option_on_the_command_line_is_one_error_line(run_cli, tmp_path, args, message):
    """Refused before the model is looked at (there is none) or anything is written."""
    out = tmp_path / "run"
    result = run_cli("bench", tmp_path / "no-model", "--out", out, *args)
    assert result.code == 1, result.stderr
    assert re.findall(r"^Error:", result.stderr, re.MULTILINE) == ["Error:"], result.stderr
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
    assert not out.exists()


def test_estimate_takes_the_same_options(run_cli, tmp_path):
    dataset = tmp_path / "prompts.jsonl"
    dataset.write_text('{"prompt": "1+1?", "answer": "2"}\n')
    args = ("estimate", tmp_path / "no-model", "--dataset", dataset, "--out", tmp_path / "est")
    result = run_cli(*args, "--vllm-arg", "gpu_memory_utilization=-1")
    assert result.code == 1 and "gpu_memory_utilization takes a fraction in (0, 1], got -1" in result.stderr


def test_a_sweep_spec_with_a_bad_engine_option_is_a_config_error(tmp_path):
    from limr_kit.sweep import load_sweep

    spec = tmp_path / "sweep.yaml"
    spec.write_text("models: [model]\nsuites: [math500]\nengine:\n  vllm_args: {gpu_memory_utilization: 3}\n")
    with pytest.raises(ConfigError, match=r"engine: Invalid vllm engine options: extra: --vllm-arg gpu_memory"):
        load_sweep(spec)
