"""Training recipes (``recipes/*.yaml``): one schema for both backends, ``extends`` for recipes that differ from another.

A recipe names the backend, the base model, the dataset and its fields, the reward and the backend's own
arguments, which are kept opaque: ``openrlhf: {dotted.flag: value}`` becomes ``--dotted.flag value`` for
OpenRLHF 0.11's ``train_ppo_ray``, ``trl: {field: value}`` becomes ``GRPOConfig(field=value)``. String values may
hold ``{out}`` (the run folder) and ``{model}`` (the base model); the dataset path may hold ``{recipe_dir}`` (the
folder of the recipe file that names it) and ``{data_dir}`` (``--data-dir`` or ``LIMR_DATA_DIR``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from limr_kit.benchmarks.config import DEFAULT_SYSTEM
from limr_kit.errors import ConfigError, InputError, UnknownNameError, validation_problems
from limr_kit.resources import data_dir


RECIPE_SUFFIXES = (".yaml", ".yml")
Scalar = bool | int | float | str
OpenRLHFValue = Scalar | list[Scalar] | None

# Flags limr-kit sets itself, and what sets them instead.
OPENRLHF_MANAGED = {
    "actor.model_name_or_path": "the recipe's model or --model",
    "reward.remote_url": "limr-kit (its reward file)",
    "data.prompt_dataset": "the recipe's dataset or --dataset",
    "data.input_key": "limr-kit (context_messages, or prompt with a prompt_template)",
    "data.label_key": "limr-kit (label)",
    "data.apply_chat_template": "limr-kit (on, or off with a prompt_template)",
    "data.input_template": "the recipe's prompt_template (rendered into each prompt row)",
}
PROBLEM_SLOT = "[PROBLEM]"  # where a prompt_template takes the question (the paper's Table 6 notation)
TRL_MANAGED = {"output_dir": "--out (checkpoints go to OUT/trl)"}
# train_ppo_ray's only flags without a dot in 0.11; every other one is group.name since 0.10.2.
OPENRLHF_FLAT_FLAGS = frozenset({"local_rank", "use_ms"})
# The flat flags of OpenRLHF <= 0.10.1 people copy most, with their 0.11 names.
STALE_OPENRLHF_FLAGS = {
    "pretrain": "actor.model_name_or_path",
    "critic_pretrain": "critic.model_name_or_path",
    "remote_rm_url": "reward.remote_url",
    "prompt_data": "data.prompt_dataset",
    "input_key": "data.input_key",
    "label_key": "data.label_key",
    "apply_chat_template": "data.apply_chat_template",
    "prompt_max_len": "data.max_len (prompt + response)",
    "generate_max_len": "rollout.max_new_tokens",
    "max_len": "data.max_len",
    "max_new_tokens": "rollout.max_new_tokens",
    "max_samples": "data.max_samples",
    "n_samples_per_prompt": "rollout.n_samples_per_prompt",
    "rollout_batch_size": "rollout.batch_size",
    "micro_rollout_batch_size": "rollout.micro_batch_size",
    "train_batch_size": "train.batch_size",
    "micro_train_batch_size": "train.micro_batch_size",
    "temperature": "rollout.temperature",
    "top_p": "rollout.top_p",
    "init_kl_coef": "algo.kl.init_coef",
    "use_kl_loss": "algo.kl.use_loss",
    "advantage_estimator": "algo.advantage.estimator",
    "lambd": "algo.advantage.lambd",
    "gamma": "algo.advantage.gamma",
    "eps_clip": "actor.eps_clip",
    "value_clip": "critic.value_clip",
    "actor_learning_rate": "actor.adam.lr",
    "critic_learning_rate": "critic.adam.lr",
    "lr_warmup_ratio": "actor.lr_warmup_ratio and critic.lr_warmup_ratio",
    "lr_warmup_steps": "the recipe's warmup_steps",
    "num_episodes": "train.num_episodes",
    "max_epochs": "train.max_epochs",
    "zero_stage": "ds.zero_stage",
    "bf16": "ds.param_dtype bf16",
    "flash_attn": "ds.attn_implementation flash_attention_2",
    "packing_samples": "ds.packing_samples",
    "adam_offload": "ds.adam_offload",
    "gradient_checkpointing": "actor.gradient_checkpointing_enable",
    "normalize_reward": "reward.normalize_enable",
    "colocate_all_models": "train.colocate_all",
    "vllm_num_engines": "vllm.num_engines",
    "vllm_tensor_parallel_size": "vllm.tensor_parallel_size",
    "vllm_gpu_memory_utilization": "vllm.gpu_memory_utilization",
    "vllm_sync_backend": "vllm.sync_backend",
    "vllm_enable_sleep": "vllm.enable_sleep",
    "enforce_eager": "vllm.enforce_eager",
    "save_path": "ckpt.output_dir",
    "ckpt_path": "ckpt.path",
    "save_steps": "ckpt.save_steps",
    "save_hf_ckpt": "ckpt.save_hf",
    "load_checkpoint": "ckpt.load_enable",
    "eval_steps": "eval.steps",
    "seed": "train.seed",
    "use_wandb": "logger.wandb.key",
    "use_tensorboard": "logger.tensorboard_dir",
}
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _numbers(value: Any) -> Any:
    """YAML 1.1 reads ``5e-7`` as text; read number-like text as a float."""
    if isinstance(value, str) and _NUMBER.fullmatch(value) and not value.lstrip("+-").isdigit():
        return float(value)
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return value


def _flag_problem(flag: str) -> str | None:
    """Why ``flag`` cannot be an OpenRLHF 0.11 flag, or None."""
    if flag in OPENRLHF_MANAGED:
        return f"'{flag}' is set by {OPENRLHF_MANAGED[flag]}; remove it"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", flag):
        return f"'{flag}' is not a flag name (write it without dashes, e.g. rollout.temperature)"
    if "." in flag or flag in OPENRLHF_FLAT_FLAGS:
        return None
    hint = (
        f"its 0.11 name is {STALE_OPENRLHF_FLAGS[flag]}" if flag in STALE_OPENRLHF_FLAGS else "0.11 flags are dotted"
    )
    return (
        f"'{flag}' is a flat flag of OpenRLHF 0.10.1 or older, which 0.11 rejects ({hint}; e.g. rollout.temperature)"
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TinyModel(_Strict):
    """limr-kit's tiny Qwen2 model (``limr-kit tiny-model``), written into ``OUT/base-model`` before training."""

    seed: int = 0
    warm_start_steps: int = Field(0, ge=0)


class TinyModelSource(_Strict):
    tiny: TinyModel


class DatasetFields(_Strict):
    """Columns of a dataset row: the question (the first of these names present), the gold answer, an id."""

    question: tuple[str, ...] = ("prompt", "question", "problem", "context")
    answer: str = "answer"
    id: str | None = "id"  # None: the row number is the sample id

    @field_validator("question", mode="before")
    @classmethod
    def _one_name(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


class DatasetSpec(_Strict):
    """A JSON/JSONL/CSV/parquet file or a ``datasets`` ``save_to_disk`` folder (``split`` for a DatasetDict)."""

    path: str
    split: str = "train"
    fields: DatasetFields = DatasetFields()


class RewardSpec(_Strict):
    """limr-kit's grader as the reward; every rollout logged when ``log``.

    ``scheme`` limr: 1 correct, -0.5 wrong, -1 format error (LIMR); binary: 1 correct, else 0, no format term.
    ``answer_policy``: where the answer is read (``limr_kit.rewards.policies``).
    """

    mode: Literal["default", "limr-compat"] = "default"
    answer_policy: Literal["boxed", "last-boxed-or-final", "math-verify"] = "boxed"
    scheme: Literal["limr", "binary"] = "limr"
    timeout: float = Field(2.0, gt=0)
    log: bool = True
    # Grader worker processes per process that grades (OpenRLHF: each vLLM engine actor); None: its CPUs.
    workers: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _policy_fits_mode(self) -> RewardSpec:
        if self.mode == "limr-compat" and self.answer_policy != "boxed":
            raise ValueError("limr-compat (the released reward) reads only the last box: use answer_policy boxed")
        return self


class Recipe(_Strict):
    """One training run: backend, base model, data, reward and the backend's own arguments."""

    description: str
    paper: str | None = None  # how the recipe mirrors (or departs from) the paper
    backend: Literal["openrlhf", "trl"]
    model: str | TinyModelSource
    dataset: DatasetSpec
    system_prompt: str = DEFAULT_SYSTEM
    # Raw text with [PROBLEM] where the question goes: the model sees exactly this, no chat template (None: the
    # tokenizer's chat template with system_prompt and the question as the user turn).
    prompt_template: str | None = None
    reward: RewardSpec = RewardSpec()
    warmup_steps: int | None = Field(None, ge=0)  # LR warm-up in optimizer steps (OpenRLHF: turned into a ratio)
    cpu_threads: int | None = Field(None, ge=1)  # TRL on CPU: torch threads (None: torch's default)
    openrlhf: dict[str, OpenRLHFValue] = Field(default_factory=dict)
    trl: dict[str, Any] = Field(default_factory=dict)

    @field_validator("openrlhf", mode="before")
    @classmethod
    def _openrlhf_flags(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        flags = {str(key).lstrip("-"): _numbers(item) for key, item in value.items()}
        problems = [problem for flag in flags if (problem := _flag_problem(flag))]
        if problems:
            raise ValueError("; ".join(problems))
        return flags

    @field_validator("trl", mode="before")
    @classmethod
    def _trl_args(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        managed = [f"'{key}' is set by {TRL_MANAGED[key]}" for key in value if key in TRL_MANAGED]
        if managed:
            raise ValueError("; ".join(managed))
        return {str(key): _numbers(item) for key, item in value.items()}

    @model_validator(mode="after")
    def _backend_section(self) -> Recipe:
        other = "trl" if self.backend == "openrlhf" else "openrlhf"
        if getattr(self, other):
            raise ValueError(f"a '{other}:' section does not apply to backend {self.backend}; remove it")
        if self.cpu_threads is not None and self.backend != "trl":
            raise ValueError("cpu_threads applies to backend trl only (OpenRLHF runs on GPUs); remove it")
        if self.prompt_template is not None:
            if self.prompt_template.count(PROBLEM_SLOT) != 1:
                raise ValueError(f"prompt_template must hold {PROBLEM_SLOT} once, where the question goes")
            if "system_prompt" in self.model_fields_set and self.system_prompt != DEFAULT_SYSTEM:
                raise ValueError("system_prompt does not apply with a prompt_template (no chat template); keep one")
        ratios = [key for key in ("actor.lr_warmup_ratio", "critic.lr_warmup_ratio") if key in self.openrlhf]
        if self.warmup_steps is not None and (ratios or "warmup_steps" in self.trl or "warmup_ratio" in self.trl):
            raise ValueError("warmup_steps and a backend warm-up argument are both set; keep one")
        return self

    def backend_args(self) -> dict[str, Any]:
        """The backend's own arguments (OpenRLHF flags or GRPOConfig fields)."""
        return self.openrlhf if self.backend == "openrlhf" else self.trl


@dataclass(frozen=True, slots=True)
class LoadedRecipe:
    """A recipe read from ``path`` (``sources``: it and every file it extends)."""

    name: str
    path: Path
    recipe: Recipe
    sources: tuple[Path, ...]


def recipe_names() -> list[str]:
    """The recipes shipped with limr-kit."""
    return sorted(path.stem for path in data_dir("recipes").glob("*.yaml"))


def find_recipe(ref: str | Path, beside: Path | None = None) -> Path:
    """A recipe file: a path (``*.yaml``), or a name looked up beside ``beside`` and then among limr-kit's recipes."""
    text = str(ref)
    if text.endswith(RECIPE_SUFFIXES) or "/" in text:
        path = Path(text) if beside is None else beside / text
        if not path.is_file():
            raise InputError(
                f"Recipe file {path} does not exist. Name a shipped recipe ({', '.join(recipe_names())})."
            )
        return path
    for folder in (beside, data_dir("recipes")):
        if folder is not None and (folder / f"{text}.yaml").is_file():
            return folder / f"{text}.yaml"
    raise UnknownNameError("recipe", text, recipe_names())


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merge key by key, a null value removes the key."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_raw(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """The recipe's mapping with everything it extends merged in, and the files read."""
    resolved = path.resolve()
    if resolved in chain:
        raise ConfigError(path, [f"extends: a cycle ({' -> '.join(p.name for p in (*chain, resolved))})"])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise ConfigError(path, ["(top): a recipe is a mapping of fields (description, backend, model, dataset...)"])
    dataset = raw.get("dataset")
    if isinstance(dataset, dict) and isinstance(dataset.get("path"), str):
        raw["dataset"] = {**dataset, "path": dataset["path"].replace("{recipe_dir}", str(path.parent.resolve()))}
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, (*chain, resolved)
    if not isinstance(parent, str):
        raise ConfigError(path, ["extends: name one recipe (a name or a .yaml path)"])
    base, sources = _read_raw(find_recipe(parent, beside=path.parent), (*chain, resolved))
    return merge(base, raw), sources


def validate_recipe(raw: Mapping[str, Any], where: str | Path) -> Recipe:
    """A :class:`Recipe` from a mapping, or a :class:`ConfigError` naming each bad field by its path."""
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(where, validation_problems(exc)) from exc


def load_recipe(ref: str | Path) -> LoadedRecipe:
    """A recipe by name (``limr-ppo``) or path (``my-recipe.yaml``), with what it extends merged in."""
    path = find_recipe(ref)
    raw, sources = _read_raw(path, ())
    return LoadedRecipe(path.stem, path, validate_recipe(raw, path), sources)


@dataclass(frozen=True, slots=True)
class Overrides:
    """Changes to a recipe from the command line; recorded in ``run.json``."""

    model: str | None = None
    dataset: str | None = None
    reward_mode: str | None = None
    answer_policy: str | None = None
    backend_args: Mapping[str, Any] | None = None  # null values remove an argument

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "reward_mode": self.reward_mode,
            "answer_policy": self.answer_policy,
            "set": dict(self.backend_args or {}),
        }


def with_overrides(recipe: Recipe, overrides: Overrides) -> Recipe:
    """The recipe with the command line's model, dataset, reward mode and backend arguments applied."""
    raw = recipe.model_dump()
    if overrides.model is not None:
        raw["model"] = overrides.model
    if overrides.dataset is not None:
        raw["dataset"]["path"] = overrides.dataset
    if overrides.reward_mode is not None:
        raw["reward"]["mode"] = overrides.reward_mode
    if overrides.answer_policy is not None:
        raw["reward"]["answer_policy"] = overrides.answer_policy
    if overrides.backend_args:
        raw[recipe.backend] = merge(raw[recipe.backend], overrides.backend_args)
    return validate_recipe(raw, "command-line overrides (--model, --dataset, --reward-mode, --answer-policy, --set)")
