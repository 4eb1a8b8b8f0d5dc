"""``limr-kit bench`` and ``limr-kit compare``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from limr_kit.cli._options import AnswerPolicyOpt, GpusOpt, ImageOpt, JsonOpt, PolicyChoice, rerun_in_image
from limr_kit.console import err, out, print_json, progress_bars
from limr_kit.parsing import parse_assignments


if TYPE_CHECKING:
    from limr_kit.benchmarks.results import BenchResults


class EngineChoice(str, enum.Enum):
    vllm = "vllm"
    lm_eval = "lm-eval"
    hf = "hf"


def vllm_args(pairs: list[str]) -> dict[str, Any]:
    return parse_assignments(pairs, option="--vllm-arg", example="max_num_seqs=64", dashes=True)


DataParallelOpt = Annotated[
    int,
    typer.Option(
        "--data-parallel-size",
        min=1,
        help="vLLM: model replicas, one process each on its own GPUs (lm-eval: --vllm-arg data_parallel_size=N).",
    ),
]
TensorParallelOpt = Annotated[int, typer.Option("--tensor-parallel-size", min=1, help="vLLM: GPUs per model.")]
PipelineParallelOpt = Annotated[int, typer.Option("--pipeline-parallel-size", min=1, help="vLLM: pipeline stages.")]
DistributedBackendOpt = Annotated[
    str | None, typer.Option("--distributed-backend", help="vLLM: 'ray' (multi-node) or 'mp'.")
]
VllmArgOpt = Annotated[list[str], typer.Option("--vllm-arg", help="Extra vllm.LLM argument KEY=VALUE (repeatable).")]


def _results_table(results: BenchResults) -> Table:
    table = Table(title=f"{results.model.id} on {results.suite} ({results.engine})")
    for column in ("benchmark", "metric", "accuracy", "95% CI", "questions", "samples"):
        table.add_column(column, justify="left" if column in ("benchmark", "metric") else "right")
    for item in results.benchmarks.values():
        low, high = item.ci95
        spread = f" ± {item.std:.1f} ({item.seeds.n} seeds)" if item.seeds and item.std is not None else ""
        table.add_row(
            item.title,
            item.metric,
            f"{item.accuracy:.1f}{spread}",
            f"{low:.1f}-{high:.1f}",
            str(item.n_questions),
            str(item.n_samples),
        )
    if results.average is not None:
        table.add_row("AVG", "mean", f"{results.average:.1f}", "", "", "")
    polymath = results.polymath
    if polymath:
        for domain, score in polymath["domains"].items():
            table.add_row(f"domain {domain.replace('_', ' ')}", "subject mean", f"{score:.1f}", "", "", "")
        if polymath["avg"] is not None:
            table.add_row("Avg (8 domains)", "domain mean", f"{polymath['avg']:.1f}", "", "", "")
    return table


def bench(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A checkpoint folder, or a Hub id org/name (optionally @revision).")],
    suite: Annotated[
        str, typer.Option("--suite", "-s", help="Suite or single benchmark (see benchmarks/).")
    ] = "limr-paper",
    engine: Annotated[EngineChoice, typer.Option("--engine", help="Generation engine.")] = EngineChoice.vllm,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Run folder: results.json, samples.jsonl.")] = Path(
        "bench-run"
    ),
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N questions of each benchmark.")
    ] = None,
    data_dir: Annotated[
        list[Path],
        typer.Option(
            "--data-dir",
            help="Read DIR/<benchmark>/test.jsonl (polymath: DIR/scibench, DIR/gpqa/dataset.zip...) instead of the "
            "Hub; repeatable, searched in order.",
        ),
    ] = [],  # noqa: B006
    full: Annotated[
        bool, typer.Option("--full", help="Polymath benchmarks: whole sets instead of the seeded subsets.")
    ] = False,
    dedupe_across: Annotated[
        bool,
        typer.Option("--dedupe-across", help="Polymath suites: count a question shared by two benchmarks once."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Run seed (each question's sampling seed derives from it).")] = 0,
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds",
            min=1,
            help="Run N seeds (--seed, --seed+1, ...), each in OUT/seed-<s>/, and report mean ± std over them "
            "(default: the suite's own counts, e.g. sober; else 1).",
        ),
    ] = None,
    data_parallel_size: DataParallelOpt = 1,
    tensor_parallel_size: TensorParallelOpt = 1,
    pipeline_parallel_size: PipelineParallelOpt = 1,
    distributed_backend: DistributedBackendOpt = None,
    vllm_arg: VllmArgOpt = [],  # noqa: B006
    lm_eval_model: Annotated[str, typer.Option("--lm-eval-model", help="lm-eval backend: vllm or hf.")] = "vllm",
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Discard results already in --out instead of resuming.")
    ] = False,
    answer_policy: AnswerPolicyOpt = PolicyChoice.boxed,
    as_json: JsonOpt = False,
    image: ImageOpt = None,
    gpus: GpusOpt = None,
) -> None:
    """Benchmark a checkpoint on a suite (paper protocol) and write results.json and samples.jsonl."""
    if image is not None:
        rerun_in_image(ctx, image, gpus=gpus, out_dir=out_dir, inputs=(model, *data_dir))
    from limr_kit.benchmarks import BenchOptions, run_bench
    from limr_kit.benchmarks.engine_options import options_for

    options = BenchOptions(
        suite=suite,
        limit=limit,
        data_dir=tuple(data_dir) or None,
        seed=seed,
        seeds=seeds,
        engine_options=options_for(
            engine.value,
            data_parallel_size=data_parallel_size,
            tensor_parallel_size=tensor_parallel_size,
            pipeline_parallel_size=pipeline_parallel_size,
            distributed_backend=distributed_backend,
            extra=vllm_args(vllm_arg),
            lm_eval_model=lm_eval_model,
        ),
        fresh=fresh,
        answer_policy=answer_policy.value,
        full=full,
        dedupe_across=dedupe_across,
    )
    with progress_bars() as show:
        results = run_bench(model, out_dir, options, progress=show)
    if as_json:
        print_json(results.to_dict())
    else:
        out.print(_results_table(results))
        samples = "seed-*/samples.jsonl" if results.seeds is not None else "samples.jsonl"
        err.print(f"results: {out_dir / 'results.json'}, samples: {out_dir / samples}")


class FormatChoice(str, enum.Enum):
    rich = "rich"
    markdown = "markdown"
    csv = "csv"
    latex = "latex"
    json = "json"


def _rich_table(lines: list[list[str]], title: str) -> Table:
    table = Table(title=title)
    for index, column in enumerate(lines[0]):
        table.add_column(column, justify="left" if index == 0 else "right")
    for line in lines[1:]:
        table.add_row(*line)
    return table


def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run folders written by limr-kit bench.")],
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="'paper': add LIMR's reported Table 2-3 rows; 'sober': Hochlehnert et al.'s mean ± std rows for LIMR "
            "and Qwen2.5-Math-7B; 'polymath': the polymath paper's Table 3 / 12 rows.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="With --reference polymath: 'domain' (Table 3) or 'benchmark' (Table 12, default)."),
    ] = None,
    fmt: Annotated[FormatChoice, typer.Option("--format", "-f", help="Output format.")] = FormatChoice.rich,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also write a grouped bar chart (PNG).")] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Run to test the others against (paired bootstrap).")
    ] = None,
) -> None:
    """Compare runs in one table with 95% CIs, optionally against the paper and a baseline run."""
    from limr_kit._io import atomic_path
    from limr_kit.benchmarks.compare import compare_runs, paired_rows, plot_comparison, render, table_rows

    comparison = compare_runs(list(runs), reference, baseline, by)
    if fmt is FormatChoice.rich:
        out.print(_rich_table(table_rows(comparison), "accuracy (%) with 95% bootstrap CI"))
        if comparison.paired:
            out.print(_rich_table(paired_rows(comparison), f"difference vs {comparison.baseline} (points)"))
        for note in comparison.notes:
            out.print(f"[dim]{note}[/dim]")
    else:
        out.print(render(comparison, fmt.value), markup=False, highlight=False, soft_wrap=True)
    if plot is not None:
        with atomic_path(plot) as tmp:
            plot_comparison(comparison, tmp)
        err.print(f"plot: {plot}")
