"""The engine a bench run generates with and its settings: one typed model per engine, and the engines kept open.

``VllmOptions``, ``LmEvalOptions`` and ``HfOptions`` check what ``limr-kit bench`` checks, for the CLI and a
Python caller alike: a bad value raises :class:`InputError` naming it. ``model_dump()`` is the settings' record
(the key the engines of one process are cached by).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator

from limr_kit.errors import InputError, UnknownNameError, validation_problems


if TYPE_CHECKING:
    from limr_kit.benchmarks.engines import Engine
    from limr_kit.benchmarks.models import ResolvedModel
    from limr_kit.benchmarks.run import BenchOptions


LM_EVAL_BACKENDS = ("vllm", "hf")
DistributedBackend = Literal["ray", "mp", "uni", "external_launcher"]  # vLLM's distributed_executor_backend


def _check_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """The extra vllm.LLM arguments (``--vllm-arg``) whose values can be checked before vLLM starts."""
    fraction = extra.get("gpu_memory_utilization", 1)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise ValueError(f"--vllm-arg gpu_memory_utilization takes a fraction in (0, 1], got {fraction!r}")
    return extra


class _EngineOptions(BaseModel):
    """Settings of one engine; constructing them with a bad value raises InputError."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    engine: ClassVar[str]
    per_request_seeds: ClassVar[bool]  # samples depend only on each request's seed, not on the engine's

    def __init__(self, **settings: Any) -> None:
        try:
            super().__init__(**settings)
        except ValidationError as exc:
            raise InputError(f"Invalid {self.engine} engine options: {'; '.join(validation_problems(exc))}.") from None


class VllmOptions(_EngineOptions):
    """vLLM: data parallelism (one replica per process), model parallelism, extra ``vllm.LLM`` arguments."""

    engine: ClassVar[str] = "vllm"
    per_request_seeds: ClassVar[bool] = True
    data_parallel_size: PositiveInt = 1
    tensor_parallel_size: PositiveInt = 1
    pipeline_parallel_size: PositiveInt = 1
    distributed_backend: DistributedBackend | None = None  # "ray" for multi-node, "mp" for one node
    extra: dict[str, Any] = Field(default_factory=dict)  # any other vllm.LLM argument (--vllm-arg KEY=VALUE)

    @field_validator("extra")
    @classmethod
    def _extra(cls, extra: dict[str, Any]) -> dict[str, Any]:
        if "data_parallel_size" in extra:  # vLLM's LLM refuses it in one process
            raise ValueError("Use --data-parallel-size N (one vLLM replica per process) instead of a --vllm-arg")
        return _check_extra(extra)

    def start(self, model: ResolvedModel, context: int, seed: int) -> Engine:
        """The engine, loaded with ``model`` (``context`` tokens of prompt and answer)."""
        engine = {"model_path": str(model.path), "max_model_len": context, "seed": seed}
        engine.update(self.model_dump(exclude={"data_parallel_size"}))
        if self.data_parallel_size > 1:
            from limr_kit.benchmarks.replicas import DataParallelVllm

            return DataParallelVllm(self.data_parallel_size, engine)
        from limr_kit.benchmarks.engines import VllmEngine

        return VllmEngine(**engine)


class LmEvalOptions(_EngineOptions):
    """lm-eval with its vLLM or transformers backend; ``extra`` goes to that backend (vLLM: --vllm-arg)."""

    engine: ClassVar[str] = "lm-eval"
    per_request_seeds: ClassVar[bool] = False
    backend: Literal["vllm", "hf"] = "vllm"
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("backend", mode="before")
    @classmethod
    def _backend(cls, backend: object) -> object:
        if backend not in LM_EVAL_BACKENDS:
            raise ValueError(f"Unknown lm-eval backend {backend!r}. Use --lm-eval-model vllm or hf")
        return backend

    @field_validator("extra")
    @classmethod
    def _extra(cls, extra: dict[str, Any]) -> dict[str, Any]:
        return _check_extra(extra)

    def start(self, model: ResolvedModel, context: int, seed: int) -> Engine:
        from limr_kit.benchmarks.lm_eval_engine import LmEvalEngine

        return LmEvalEngine(str(model.path), max_model_len=context, seed=seed, **self.model_dump())


class HfOptions(_EngineOptions):
    """transformers ``generate``: no settings."""

    engine: ClassVar[str] = "hf"
    per_request_seeds: ClassVar[bool] = True

    def start(self, model: ResolvedModel, context: int, seed: int) -> Engine:
        from limr_kit.benchmarks.engines import HfEngine

        return HfEngine(str(model.path), seed=seed)


EngineOptions = VllmOptions | LmEvalOptions | HfOptions
KINDS: tuple[type[EngineOptions], ...] = (VllmOptions, LmEvalOptions, HfOptions)
OPTIONS = {kind.engine: kind for kind in KINDS}


def options_for(
    engine: str,
    *,
    data_parallel_size: int = 1,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    distributed_backend: str | None = None,
    extra: dict[str, Any] | None = None,
    lm_eval_model: str = "vllm",
) -> EngineOptions:
    """The options of ``engine`` from the settings ``limr-kit bench`` takes (those of other engines are ignored)."""
    if engine not in OPTIONS:
        raise UnknownNameError("engine", engine, OPTIONS)
    if engine == "vllm":
        return VllmOptions(
            data_parallel_size=data_parallel_size,
            tensor_parallel_size=tensor_parallel_size,
            pipeline_parallel_size=pipeline_parallel_size,
            distributed_backend=distributed_backend,
            extra=dict(extra or {}),
        )
    if data_parallel_size > 1:
        raise InputError(
            "--data-parallel-size is for --engine vllm; with lm-eval pass --vllm-arg data_parallel_size=N "
            "(lm-eval's own replicas, on Ray)."
        )
    if engine == "lm-eval":
        return LmEvalOptions(backend=lm_eval_model, extra=dict(extra or {}))
    return HfOptions()


def check_options(owner: str, options: object, kinds: tuple[type[EngineOptions], ...] = KINDS) -> None:
    """Refuse ``owner.engine_options`` that are not typed options of one of ``kinds``."""
    if not isinstance(options, kinds):
        *others, last = [kind.__name__ for kind in kinds]
        names = f"{', '.join(others)} or {last}" if others else last
        raise InputError(
            f"{owner}.engine_options takes {names} (limr_kit.benchmarks.engine_options), not {type(options).__name__}."
        )


class EngineCache:
    """Engines kept open across the bench runs of one process (the seeds of a run, a sweep worker's jobs).

    One engine per model and engine settings; for vLLM and transformers it serves every seed (built with seed 0:
    their samples depend only on the per-request seeds), other engines get one per seed.
    """

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self.load_seconds = 0.0  # spent starting engines

    @staticmethod
    def key(options: BenchOptions, model: ResolvedModel, context: int) -> tuple[str, int]:
        """The engine ``options`` take for ``model``, and the seed it is built with."""
        settings = options.engine_options
        seed = 0 if settings.per_request_seeds else options.seed
        key = [model.sha, str(model.path), settings.engine, settings.model_dump(), context, seed]
        return json.dumps(key, default=str), seed

    def get(self, options: BenchOptions, model: ResolvedModel, context: int) -> Engine:
        key, seed = self.key(options, model, context)
        if key not in self._engines:
            start = time.perf_counter()
            self._engines[key] = options.engine_options.start(model, context, seed)
            self.load_seconds += time.perf_counter() - start
        return self._engines[key]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()
