"""``limr-kit estimate``: offline pass rates of a training set, as a reward log for ``limr-kit score``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from limr_kit.cli._options import JsonOpt
from limr_kit.cli.bench import (
    DataParallelOpt,
    DistributedBackendOpt,
    PipelineParallelOpt,
    TensorParallelOpt,
    VllmArgOpt,
    vllm_args,
)
from limr_kit.console import err, out, print_json, progress_bars


class EstimateEngine(str, enum.Enum):
    vllm = "vllm"
    hf = "hf"


def estimate(
    model: Annotated[str, typer.Argument(help="A checkpoint folder, or a Hub id org/name (optionally @revision).")],
    dataset: Annotated[
        Path, typer.Option("--dataset", "-d", help="Training prompts (JSON, JSONL, CSV, parquet, save_to_disk).")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Run folder: rewards.jsonl, estimate.json, samples.jsonl.")
    ],
    k: Annotated[int, typer.Option("--k", help="Samples per prompt.")] = 8,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Sampling temperature (set your recipe's rollout temperature).")
    ] = 1.0,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling.")] = 1.0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="New tokens per sample.")] = 3072,
    question_field: Annotated[
        str | None,
        typer.Option("--question-field", help="Prompt column (default: prompt, question, problem, context)."),
    ] = None,
    answer_field: Annotated[str, typer.Option("--answer-field", help="Gold answer column.")] = "answer",
    id_field: Annotated[
        str | None, typer.Option("--id-field", help="Sample id column (default: id if present, else the row number).")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split of a saved DatasetDict.")] = "train",
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N prompts.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Run seed (each prompt's sampling seed derives from it).")] = 0,
    engine: Annotated[EstimateEngine, typer.Option("--engine", help="Generation engine.")] = EstimateEngine.vllm,
    data_parallel_size: DataParallelOpt = 1,
    tensor_parallel_size: TensorParallelOpt = 1,
    pipeline_parallel_size: PipelineParallelOpt = 1,
    distributed_backend: DistributedBackendOpt = None,
    vllm_arg: VllmArgOpt = [],  # noqa: B006
    fresh: Annotated[bool, typer.Option("--fresh", help="Discard samples already in --out instead of resuming.")] = (
        False
    ),
    as_json: JsonOpt = False,
) -> None:
    """Sample k answers per training prompt with bench's engines, prompt, seeds and grader; write the pass rates.

    rewards.jsonl is a reward log (sample_id, epoch 0, reward 1 correct / 0 wrong) for `limr-kit score --method
    learnability|difficulty|solvable`. Resumable: a rerun samples only the prompts not yet in samples.jsonl.
    """
    from limr_kit.benchmarks import EstimateOptions, estimate_pass_rates
    from limr_kit.benchmarks.engine_options import options_for

    options = EstimateOptions(
        k=k,
        temperature=temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
        question_field=question_field,
        answer_field=answer_field,
        id_field=id_field,
        split=split,
        limit=limit,
        seed=seed,
        engine_options=options_for(
            engine.value,
            data_parallel_size=data_parallel_size,
            tensor_parallel_size=tensor_parallel_size,
            pipeline_parallel_size=pipeline_parallel_size,
            distributed_backend=distributed_backend,
            extra=vllm_args(vllm_arg),
        ),
        fresh=fresh,
    )
    with progress_bars() as show:
        result = estimate_pass_rates(model, dataset, out_dir, options, progress=show)
    summary = result.summary
    if as_json:
        print_json(summary)
        return
    counts = summary["counts"]
    table = Table(title=f"{summary['model']['id']}: {summary['decoding']['n']} samples per prompt", show_header=False)
    table.add_row("prompts", f"{counts['prompts']} ({counts['resumed']} resumed, {counts['generated']} sampled now)")
    table.add_row("mean pass rate", "-" if summary["mean_pass_rate"] is None else f"{summary['mean_pass_rate']:.3f}")
    table.add_row(
        "all wrong / mixed / all correct", f"{counts['all_wrong']} / {counts['mixed']} / {counts['all_correct']}"
    )
    if counts["prompt_too_long"]:
        table.add_row("prompt too long (not in the log)", str(counts["prompt_too_long"]))
    table.add_row("reward log", str(out_dir / "rewards.jsonl"))
    out.print(table)
    err.print(f"next: limr-kit score {out_dir / 'rewards.jsonl'} --method learnability --out scores")
