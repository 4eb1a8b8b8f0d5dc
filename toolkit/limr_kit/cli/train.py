"""``limr-kit train``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from limr_kit.cli._options import GpusOpt, ImageOpt, JsonOpt, PolicyChoice, rerun_in_image
from limr_kit.console import err, out, print_json, progress_bars


class RewardModeChoice(str, enum.Enum):
    default = "default"
    limr_compat = "limr-compat"


def train(
    ctx: typer.Context,
    recipe: Annotated[
        str, typer.Argument(help="A recipe name (limr-ppo, full-ppo, tiny-grpo) or a recipe YAML file.")
    ],
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset",
            help="Train on this data instead of the recipe's (JSON, JSONL, CSV, parquet, save_to_disk folder; "
            "read with the recipe's field names), e.g. a curated train.parquet.",
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Base model: a checkpoint folder or Hub id.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (default runs/<recipe>).")] = None,
    sets: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="Backend argument KEY=VALUE, repeatable: an OpenRLHF 0.11 flag (train.num_episodes=30) or a "
            "GRPOConfig field (num_train_epochs=2); VALUE is YAML, null removes the argument.",
        ),
    ] = [],  # noqa: B006
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Folder with LIMR's released data, for recipes reading {data_dir} (or LIMR_DATA_DIR)."
        ),
    ] = None,
    reward_mode: Annotated[
        RewardModeChoice | None,
        typer.Option("--reward-mode", help="Grader mode; limr-compat is the released LIMR reward, bit for bit."),
    ] = None,
    answer_policy: Annotated[
        PolicyChoice | None,
        typer.Option("--answer-policy", help="Where the reward reads the answer (default: the recipe's, boxed)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Write the prompt file, launch script and run.json, print the launch; run nothing."
        ),
    ] = False,
    as_json: JsonOpt = False,
    image: ImageOpt = None,
    gpus: GpusOpt = None,
) -> None:
    """Train with a recipe: OpenRLHF PPO on GPUs (paper settings) or TRL GRPO here; every rollout's reward is logged."""
    from limr_kit.train import Overrides, TrainOptions, default_run_folder, parse_assignments

    run_folder = out_dir or default_run_folder(recipe)
    if image is not None:
        rerun_in_image(ctx, image, gpus=gpus, out_dir=run_folder, inputs=(recipe, dataset, model, data_dir))
    from limr_kit.train import train as run_training

    options = TrainOptions(
        out=run_folder,
        overrides=Overrides(
            model=model,
            dataset=str(dataset) if dataset is not None else None,
            reward_mode=reward_mode.value if reward_mode else None,
            answer_policy=answer_policy.value if answer_policy else None,
            backend_args=parse_assignments(sets),
        ),
        data_dir=data_dir,
        dry_run=dry_run,
    )
    with progress_bars() as show:
        result = run_training(recipe, options, progress=show)
    if as_json:
        print_json(result.to_dict())
    elif result.launch_script and result.status == "dry-run":
        out.print(result.launch_script.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
    else:
        table = Table(title=f"{result.recipe} ({result.backend}): {result.status}", show_header=False)
        for key, value in (
            ("samples", result.samples),
            ("base model", result.model),
            ("final step", result.final_step),
            ("run folder", result.out),
        ):
            table.add_row(key, str(value))
        out.print(table)
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    err.print(f"wrote in {result.out}: {', '.join(result.files)}", markup=False, highlight=False, soft_wrap=True)
    if result.status == "dry-run":
        err.print("dry run: nothing was trained", markup=False, highlight=False, soft_wrap=True)
    if result.next_steps:
        err.print(f"next: {'; then '.join(result.next_steps)}", markup=False, highlight=False, soft_wrap=True)
