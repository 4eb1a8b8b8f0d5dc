"""``limr-kit sft``: an SFT recipe on a local dataset file, into a run folder (rows, launch or trained model)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from limr_kit._io import write_json, write_text
from limr_kit.errors import InputError
from limr_kit.train.openrlhf import ensure_can_launch
from limr_kit.train.sft import load_sft_recipe, map_rows, plan_sft_launch, run_sft_trl, write_rows


ROWS = Path("data") / "sft.jsonl"


@dataclass(frozen=True, slots=True)
class SftOptions:
    """A dataset file (JSON, JSONL, CSV, parquet, ``save_to_disk``) in the recipe's fields, and where to write."""

    dataset: Path
    out: Path
    model: str | None = None  # a checkpoint folder (its tokenizer counts trace lengths); default: the recipe's
    backend: Literal["openrlhf", "trl"] = "openrlhf"
    truncate: bool = False
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class SftResult:
    recipe: str
    backend: str
    out: Path
    samples: int
    too_long: int
    model: str
    launch_script: str | None
    losses: tuple[float, ...]


def _model(reference: str, out: Path) -> str:
    """The model folder: ``tiny`` is written into ``OUT/base-model``; a Hub id must be a local folder here."""
    if reference == "tiny":
        from limr_kit.tinymodel import write_tiny_model

        return str(write_tiny_model(out / "base-model"))
    if not (Path(reference).expanduser() / "config.json").is_file():
        raise InputError(
            f"The model {reference!r} is not a local checkpoint folder; its tokenizer is needed to count trace "
            "lengths. Fetch it first (`limr-kit pull model ID --out DIR`) and pass --model DIR."
        )
    return str(Path(reference).expanduser().resolve())


def train_sft(recipe_name: str, options: SftOptions) -> SftResult:
    """Map the dataset into chat rows (over-long traces refused unless ``truncate``), then write the OpenRLHF
    ``train_sft`` launch (``OUT/launch.sh``; run when GPUs are present) or train with TRL here."""
    from transformers import AutoTokenizer

    from limr_kit.datasets_io import read_table

    recipe = load_sft_recipe(recipe_name)
    if options.backend == "openrlhf" and not options.dry_run:
        ensure_can_launch()
    out = options.out.expanduser().resolve()
    source = read_table(options.dataset).to_pylist()
    model = _model(options.model or recipe.model, out)
    tokenizer = AutoTokenizer.from_pretrained(model)

    def count(messages: list[dict]) -> int:  # tokens of the rendered chat (transformers 5 returns a dict if asked)
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    rows = map_rows(source, recipe, count, where=options.dataset, truncate=options.truncate)
    write_rows(rows, out / ROWS)
    record = {"recipe": recipe_name, "backend": options.backend, "model": model, "dataset": str(options.dataset),
              "samples": len(rows.rows), "too_long": rows.too_long, "truncated": rows.truncated}  # fmt: skip
    script, losses = None, ()
    if options.backend == "openrlhf":
        plan = plan_sft_launch(
            recipe.model_copy(update={"model": model}), dataset=out / ROWS, out=out, name=recipe_name
        )
        script = plan.script
        write_text(out / "launch.sh", script)
        (out / "launch.sh").chmod(0o755)
        if not options.dry_run:
            from limr_kit.train.openrlhf import launch

            launch(out / "launch.sh")
    elif not options.dry_run:
        losses = tuple(run_sft_trl(model, rows, recipe, out))
        record["losses"] = list(losses)
    write_json(out / "run.json", {**record, "status": "dry-run" if options.dry_run else "completed"})
    return SftResult(recipe_name, options.backend, out, len(rows.rows), rows.too_long, model, script, losses)
