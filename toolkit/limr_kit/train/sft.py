"""SFT baselines of the LIMR paper's Table 3 (``recipes/sft/*.yaml``: s1, LIMO, and sft-tiny for CPU): the recipe,
its dataset mapped into the chat schema the bench uses, over-long traces counted, OpenRLHF 0.11's ``train_sft``
launch and TRL's ``SFTTrainer`` in this process."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from limr_kit.benchmarks.config import DEFAULT_SYSTEM
from limr_kit.errors import BadRowError, ConfigError, InputError, UnknownNameError, validation_problems
from limr_kit.resources import data_dir
from limr_kit.train.openrlhf import SUPPORTED, TESTED, check_flags, render_flags
from limr_kit.train.recipes import OpenRLHFValue, _numbers


SFT_ENTRY_POINT = ("deepspeed", "--module", "openrlhf.cli.train_sft")
# Flags limr-kit sets itself, and what sets them instead.
SFT_MANAGED = {
    "model.model_name_or_path": "the recipe's model",
    "data.dataset": "--dataset (the mapped chat rows)",
    "data.input_key": "limr-kit (messages)",
    "data.output_key": "limr-kit (the chat rows hold the trace)",
    "data.multiturn": "limr-kit (always on)",
    "data.apply_chat_template": "limr-kit (always on)",
    "data.max_len": "the recipe's max_len",
}


class SftFields(BaseModel):
    """Which source columns hold the problem, the reasoning trace (joined in order) and the final answer."""

    model_config = ConfigDict(extra="forbid")
    question: str
    trace: list[str] = Field(min_length=1)
    answer: str


class SftDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hub_id: str
    revision: str | None = None  # a commit to pin; the download refuses to run without one
    split: str = "train"
    fields: SftFields


class SftRecipe(BaseModel):
    """An SFT recipe as a person writes it."""

    model_config = ConfigDict(extra="forbid")
    description: str
    paper: str = ""
    model: str
    samples: int = Field(gt=0)
    max_len: int = Field(gt=0)
    system: str = DEFAULT_SYSTEM
    dataset: SftDataset
    openrlhf: dict[str, OpenRLHFValue] = {}
    trl: dict[str, Any] = {}  # SFTConfig fields for the in-process backend


def sft_recipe_names() -> list[str]:
    return sorted(path.stem for path in data_dir("recipes").joinpath("sft").glob("*.yaml"))


def load_sft_recipe(ref: str | Path) -> SftRecipe:
    """An SFT recipe by name (``sft-s1``) or path."""
    path = Path(ref)
    if not path.is_file():
        if ref not in sft_recipe_names():
            raise UnknownNameError("SFT recipe", str(ref), sft_recipe_names())
        path = data_dir("recipes") / "sft" / f"{ref}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["openrlhf"] = {key: _numbers(value) for key, value in (raw.get("openrlhf") or {}).items()}
        recipe = SftRecipe.model_validate(raw)
    except (yaml.YAMLError, TypeError, AttributeError) as exc:
        raise ConfigError(path, [f"not a YAML mapping ({exc})"]) from exc
    except ValidationError as exc:
        raise ConfigError(path, validation_problems(exc)) from exc
    managed = [f"'{key}' is set by {SFT_MANAGED[key]}; remove it" for key in recipe.openrlhf if key in SFT_MANAGED]
    if managed:
        raise ConfigError(path, managed)
    return recipe


def to_chat(row: Mapping[str, Any], fields: SftFields, system: str, where: str | Path, line: int) -> dict[str, Any]:
    """One source row as ``{"messages": [system, user problem, assistant trace]}``; the trace ends boxed."""
    missing = [name for name in (fields.question, *fields.trace, fields.answer) if not row.get(name)]
    if missing:
        raise BadRowError(where, line, f"no {', '.join(missing)} field", "map the dataset's columns in fields:")
    parts = [part for name in fields.trace for part in (row[name] if isinstance(row[name], list) else [row[name]])]
    trace = "\n\n".join(str(part).strip() for part in parts)
    if "\\boxed{" not in trace:
        trace += f"\n\nThe final answer is $\\boxed{{{str(row[fields.answer]).strip()}}}$."
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": str(row[fields.question]).strip()},
            {"role": "assistant", "content": trace},
        ]
    }


@dataclass(frozen=True, slots=True)
class SftRows:
    """The mapped rows and how many were longer than ``max_len`` tokens (cut to fit when ``truncated``)."""

    rows: list[dict[str, Any]]
    too_long: int
    longest: int
    truncated: bool


def map_rows(
    rows: Iterable[Mapping[str, Any]],
    recipe: SftRecipe,
    count_tokens: Callable[[list[dict[str, Any]]], int],
    *,
    where: str | Path,
    truncate: bool = False,
) -> SftRows:
    """Every row in the chat schema, its length counted; over-long rows refused unless ``truncate``."""
    mapped = [to_chat(row, recipe.dataset.fields, recipe.system, where, line) for line, row in enumerate(rows, 1)]
    lengths = [count_tokens(row["messages"]) for row in mapped]
    too_long = sum(length > recipe.max_len for length in lengths)
    if too_long and not truncate:
        raise InputError(
            f"{where}: {too_long} of {len(mapped)} traces are longer than max_len {recipe.max_len} tokens (the "
            f"longest {max(lengths)}); raise max_len (and max_position_embeddings) or pass --truncate to cut them"
        )
    return SftRows(mapped, too_long, max(lengths, default=0), bool(too_long))


def write_rows(rows: SftRows, path: Path) -> None:
    """The chat rows as JSON lines, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows.rows), encoding="utf-8")
    partial.replace(path)


@dataclass(frozen=True, slots=True)
class SftPlan:
    command: tuple[str, ...]
    script: str


def plan_sft_launch(recipe: SftRecipe, *, dataset: Path, out: Path, name: str) -> SftPlan:
    """``train_sft``'s argv: the flags limr-kit owns, then the recipe's, placeholders filled."""
    managed: dict[str, Any] = {
        "model.model_name_or_path": recipe.model,
        "data.dataset": str(dataset),
        "data.input_key": "messages",
        "data.multiturn": True,
        "data.apply_chat_template": True,
        "data.max_len": recipe.max_len,
    }
    flags = render_flags({**managed, **recipe.openrlhf}, {"out": str(out), "model": recipe.model})
    command = (*SFT_ENTRY_POINT, *flags)
    script = "\n".join(
        [
            "#!/usr/bin/env bash",
            f"# Written by `limr-kit sft` (recipe {name}): OpenRLHF {SUPPORTED} SFT with DeepSpeed.",
            f"# Run it on a GPU machine with OpenRLHF {TESTED}.",
            "set -euo pipefail",
            " ".join(shlex.quote(token) for token in command),
            "",
        ]
    )
    return SftPlan(command, script)


def check_sft_flags(command: Sequence[str], package_dir: str | Path, where: str | Path) -> list[str]:
    """``train_sft``'s flags checked by OpenRLHF's own parser and the checks after it."""
    return check_flags(command, package_dir, where, entry=SFT_ENTRY_POINT, script="train_sft")


def run_sft_trl(model: str, rows: SftRows, recipe: SftRecipe, out: Path) -> list[float]:
    """SFT with TRL in this process (CPU when there is no GPU); saves ``out/model``; returns the logged losses."""
    from datasets import Dataset
    from transformers import AutoTokenizer, PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from limr_kit._io import staged_output, write_jsonl
    from limr_kit.train.trl_backend import CPU_SETTINGS, _has_cuda

    config = {"report_to": "none", **recipe.trl, "max_length": recipe.max_len}
    config.update(output_dir=str(out / "trl"), disable_tqdm=True, **({} if _has_cuda() else CPU_SETTINGS))
    try:
        args = SFTConfig(**config)
    except (TypeError, ValueError) as exc:
        raise ConfigError("recipe", [f"trl: TRL's SFTConfig refuses these arguments: {exc}"]) from exc
    tokenizer = AutoTokenizer.from_pretrained(model)
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows.rows), processing_class=tokenizer
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    write_jsonl(out / "trl" / "log_history.jsonl", trainer.state.log_history)
    with staged_output(out / "model") as stage:
        trainer.save_model(str(stage))
        tokenizer.save_pretrained(str(stage))
    return [float(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry]
