"""TRL (GRPO, in this process): on CPU when there is no GPU, with limr-kit's grader as the logged reward."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from limr_kit._io import staged_output, write_jsonl
from limr_kit.errors import ConfigError, TrainError
from limr_kit.progress import Progress, ProgressEvent
from limr_kit.train.openrlhf import substitute
from limr_kit.train.recipes import RewardSpec


# What a CPU run must use (GRPOConfig's bf16 and gradient checkpointing defaults fail or crawl there).
CPU_SETTINGS = {"use_cpu": True, "bf16": False, "fp16": False, "gradient_checkpointing": False}


def grpo_config_args(
    args: Mapping[str, Any], *, out: Path, model: str, warmup_steps: int | None, where: str | Path
) -> dict[str, Any]:
    """``GRPOConfig`` keyword arguments: the recipe's (checked against GRPOConfig's fields) and limr-kit's own."""
    from trl import GRPOConfig

    known = {item.name for item in dataclasses.fields(GRPOConfig)}
    unknown = [key for key in args if key not in known]
    if unknown:
        problems = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            problems.append(
                f"trl.{key}: not a field of TRL's GRPOConfig" + (f" (did you mean {close[0]}?)" if close else "")
            )
        raise ConfigError(where, problems)
    values = {"out": str(out), "model": model}
    config = {key: substitute(value, values) if isinstance(value, str) else value for key, value in args.items()}
    config.setdefault("report_to", "none")
    if warmup_steps is not None:
        config["warmup_steps"] = warmup_steps
    config.update(output_dir=str(out / "trl"), disable_tqdm=True)
    if not _has_cuda():
        config.update(CPU_SETTINGS)
    try:
        GRPOConfig(**config)
    except (TypeError, ValueError) as exc:  # GRPOConfig refusing a value or a combination
        raise ConfigError(where, [f"trl: TRL's GRPOConfig refuses these arguments: {exc}"]) from exc
    return config


def prompts_per_step(config_args: Mapping[str, Any]) -> int:
    """Distinct prompts one GRPO optimizer step takes (batch × accumulation / generations, on one process)."""
    from trl import GRPOConfig

    config = GRPOConfig(**config_args)
    return max(1, config.per_device_train_batch_size * config.gradient_accumulation_steps // config.num_generations)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def eos_token_ids(model: str) -> list[int]:
    """Every end-of-sequence id of the model: its generation config's and its tokenizer's."""
    from transformers import AutoTokenizer, GenerationConfig

    ids: set[int] = set()
    try:
        configured = GenerationConfig.from_pretrained(model).eos_token_id
    except OSError:  # no generation_config.json
        configured = None
    ids.update(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    eos = AutoTokenizer.from_pretrained(model).eos_token_id
    if eos is not None:
        ids.add(eos)
    return sorted(ids)


def _progress_callback(progress: Progress) -> Any:
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        """Feeds limr-kit's progress display from the trainer's steps and logs."""

        def __init__(self) -> None:
            self.metrics: dict[str, float] = {}

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            progress(ProgressEvent("GRPO", 0, state.max_steps))

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            self.metrics = {key: float(logs[key]) for key in ("reward", "loss") if key in (logs or {})} or self.metrics
            progress(ProgressEvent("GRPO", state.global_step, state.max_steps, self.metrics))

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            progress(ProgressEvent("GRPO", state.global_step, state.max_steps, self.metrics))

    return RichProgress()


@contextlib.contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``count`` (None: unchanged) for the block."""
    import torch

    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_grpo(
    model: str,
    rows: Sequence[dict[str, Any]],
    config_args: Mapping[str, Any],
    reward: RewardSpec,
    out: Path,
    progress: Progress | None = None,
    cpu_threads: int | None = None,
    raw_prompts: bool = False,
) -> int:
    """Train with GRPO; saves the model (with tokenizer and chat template) to ``out/model``; returns the last step.

    Every rollout's reward is logged to ``out/rewards`` (when ``reward.log``) with its epoch and step.
    ``cpu_threads`` sets torch's threads for a CPU run (a tiny model on a busy machine is many times faster on one).
    ``raw_prompts``: the rows' prompts are text the model sees as is, so no chat template is needed.
    """
    from datasets import Dataset
    from transformers import AutoTokenizer, PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from limr_kit.rewards.trainers import make_trl_reward

    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except OSError as exc:
        raise TrainError(f"Cannot load the base model's tokenizer from {model}: {exc}") from exc
    if not raw_prompts and not tokenizer.chat_template:
        raise TrainError(f"{model} has no chat template; GRPO on chat prompts needs one in its tokenizer_config.json.")
    reward_func = make_trl_reward(
        mode=reward.mode,
        policy=reward.answer_policy,
        scheme=reward.scheme,
        log_dir=out / "rewards" if reward.log else None,
        answer_field="answer",
        id_field="sample_id",
        eos_token_ids=eos_token_ids(model),
        timeout=reward.timeout,
        workers=reward.workers,
    )
    try:
        try:
            trainer = GRPOTrainer(
                model=model,
                args=GRPOConfig(**config_args),
                train_dataset=Dataset.from_list(list(rows)),
                reward_funcs=[reward_func],
                processing_class=tokenizer,
                callbacks=[_progress_callback(progress)] if progress else None,
            )
        except ValueError as exc:  # GRPOTrainer refusing the model or data with these arguments
            raise TrainError(f"TRL refuses the run: {exc} Fix the recipe's trl: section or --set.") from exc
        trainer.remove_callback(PrinterCallback)  # it prints every log line to stdout
        with _torch_threads(cpu_threads if config_args.get("use_cpu") else None):
            trainer.train()
    finally:
        reward_func.grader.close()
    write_jsonl(out / "trl" / "log_history.jsonl", trainer.state.log_history)
    with staged_output(out / "model") as stage:
        trainer.save_model(str(stage))
        tokenizer.save_pretrained(str(stage))
    return trainer.state.global_step
