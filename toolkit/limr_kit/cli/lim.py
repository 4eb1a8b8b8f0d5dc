"""``limr-kit score``, ``limr-kit curate`` and ``limr-kit demo``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from limr_kit.cli._options import DataDirOpt, JsonOpt, OutOpt, StrictOpt, TextFieldOpt, ThresholdOpt, TopKOpt
from limr_kit.console import err, out, print_json, progress, progress_bars


if TYPE_CHECKING:
    from limr_kit.lim.report import ScoreSummary


class Method(str, enum.Enum):
    lim = "lim"
    variance = "variance"
    linear = "linear"
    random = "random"
    greso = "greso"
    mopps = "mopps"
    learnability = "learnability"
    difficulty = "difficulty"
    solvable = "solvable"


_SCORE_HELP = """Score training samples from reward trajectories.

Methods, where each comes from, and what is our choice:

lim: LIMR (2502.11886), 1 - sum_k (r_ik - rbar_k)^2 / sum_k (1 - rbar_k)^2; threshold 0.6.

variance: One-Shot RLVR (2504.20571), population std of a sample's history; top 1 by default.

linear: our design (LIMR released none): correlation with the epoch index; threshold 0.7.

random: a seeded draw of --n samples.

greso: GRESO (2506.02177, Infini-AI-Lab/GRESO): streak k = latest consecutive epochs all-correct (>= 0.98) or
all-wrong (<= 0.11); skip probability 1 - max(p^k, 0.01); p_easy, p_hard start at 0.5 and move 0.01 toward a 0.25
zero-variance target (1/3 easy, 2/3 hard) within [0.05, 0.95]. Ours: p updated once per epoch of the log (GRESO:
per step); score = keep probability; default selection = one draw of GRESO's skip decision (--seed).

mopps: MoPPS (2507.04632, thu-rllab/MoPPS): Beta(1, 1) per prompt, after each epoch alpha <- lam*alpha +
(1-lam)*alpha0 + s*n, beta likewise with 1 - s (lam 1, n = --rollouts 8). Ours: rank by posterior-mean closeness
1 - |mean - target| (MoPPS draws a Thompson sample), --target 0.5; default selection: mean in MoPPS's [0.3, 0.7].

learnability: p(1 - p) (LILO 2502.12272; SPEED-RL's SNR) on pass rates p (mean of per-epoch pass rates: k samples
per prompt, e.g. an `estimate` log). Ours: default selection p(1 - p) >= 3/16 (0.25 <= p <= 0.75).

difficulty: AdaRFT (2504.05520), 100 (1 - p), ranked by closeness to --target (default 50). Ours: default
selection within --band 10 of the target (AdaRFT moves its target while training).

solvable: DAPO's dynamic-sampling filter (2503.14476): keep 0 < p < 1.
"""


class AggregateChoice(str, enum.Enum):
    pass_rate = "pass-rate"
    mean = "mean"


class AlignChoice(str, enum.Enum):
    truncate = "truncate"
    drop = "drop"


class BadRowChoice(str, enum.Enum):
    error = "error"
    skip = "skip"


def _print_summary(summary: ScoreSummary, out_dir: Path) -> None:
    counts = summary.counts
    table = Table(title=f"{summary.method} scores", show_header=False)
    table.add_row("samples in", str(counts["in"]))
    table.add_row("scored", str(counts["scored"]))
    table.add_row("dropped", f"{counts['dropped']} {summary.dropped_by_reason or ''}")
    table.add_row("selected", str(counts["selected"]))
    for name, value in summary.parameters.items():
        table.add_row(name, str(value))
    stats = summary.score_stats
    table.add_row("score range", f"{stats['min']:.3f} .. {stats['max']:.3f} (mean {stats['mean']:.3f})")
    if summary.input["rows_skipped"] or summary.input["torn_lines"]:
        table.add_row("rows skipped / torn", f"{summary.input['rows_skipped']} / {summary.input['torn_lines']}")
    table.add_row("written to", str(out_dir))
    out.print(table)


def score(
    trajectories: Annotated[str, typer.Argument(help="Reward log: a file, a folder of shards, or a quoted glob.")],
    out_dir: OutOpt,
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            "-m",
            metavar="<method>",
            help="Scorer: " + ", ".join(m.value for m in Method) + " (the README's Scorers list says what each does).",
        ),
    ] = Method.lim,
    threshold: ThresholdOpt = None,
    strict: StrictOpt = False,
    top_k: TopKOpt = None,
    n: Annotated[int | None, typer.Option("--n", help="Samples to draw (random method).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random method and of greso's skip draw.")] = 0,
    target: Annotated[
        float | None,
        typer.Option("--target", help="mopps: target success rate (default 0.5); difficulty: 0-100 (default 50)."),
    ] = None,
    band: Annotated[float, typer.Option("--band", help="difficulty: select |difficulty - target| <= this.")] = 10.0,
    rollouts: Annotated[
        int, typer.Option("--rollouts", min=1, help="mopps: rollouts per prompt per epoch (n in the update).")
    ] = 8,
    p_easy: Annotated[float, typer.Option("--p-easy", help="greso: starting p of all-correct prompts.")] = 0.5,
    p_hard: Annotated[float, typer.Option("--p-hard", help="greso: starting p of all-wrong prompts.")] = 0.5,
    aggregate: Annotated[
        AggregateChoice, typer.Option("--aggregate", help="Per-epoch value: share of rewards == 1, or mean reward.")
    ] = AggregateChoice.pass_rate,
    align: Annotated[
        AlignChoice,
        typer.Option("--align", help="Ragged wide input: cut all to the shortest, or drop shorter trajectories."),
    ] = AlignChoice.truncate,
    samples_per_prompt: Annotated[
        int | None, typer.Option("--samples-per-prompt", min=1, help="Rows without epoch/step: N rows = one epoch.")
    ] = None,
    steps_per_epoch: Annotated[
        int | None, typer.Option("--steps-per-epoch", min=1, help="Rows with step only: epoch = step // N.")
    ] = None,
    id_field: Annotated[str, typer.Option("--id-field", help="Field holding the sample identity.")] = "sample_id",
    on_bad_row: Annotated[
        BadRowChoice, typer.Option("--on-bad-row", help="Stop at the first bad row, or skip and count them.")
    ] = BadRowChoice.error,
    as_json: JsonOpt = False,
) -> None:
    from limr_kit.lim import ReadOptions, SelectorOptions, load_trajectories, score_trajectories, write_score_outputs

    options = ReadOptions(
        id_field=id_field,
        aggregate=aggregate.value,
        samples_per_prompt=samples_per_prompt,
        steps_per_epoch=steps_per_epoch,
        on_bad_row=on_bad_row.value,
    )
    with progress_bars(transient=True) as show:
        loaded = load_trajectories(trajectories, options, progress=show)
    selector = SelectorOptions(p_easy=p_easy, p_hard=p_hard, target=target, band=band, rollouts=rollouts)
    result = score_trajectories(
        loaded,
        method.value,
        threshold=threshold,
        strict=strict,
        top_k=top_k,
        n=n,
        seed=seed,
        align=align.value,
        options=selector,
    )
    with err.status("writing scores and plots"):
        summary = write_score_outputs(result, out_dir)
    if as_json:
        print_json(summary.to_dict())
    else:
        _print_summary(summary, out_dir)
    for warning in summary.warnings:
        err.print(f"[yellow]Warning:[/] {warning}", highlight=False)


score.__doc__ = _SCORE_HELP


def curate(
    scores: Annotated[
        Path, typer.Argument(help="Scores: limr-kit's scores.jsonl or released ones ({prompt, score}).")
    ],
    dataset: Annotated[
        Path, typer.Option("--dataset", help="Source dataset (JSON, JSONL, CSV, parquet, save_to_disk).")
    ],
    key: Annotated[str, typer.Option("--key", help="Dataset field that matches the scores' sample id.")],
    out_dir: OutOpt,
    threshold: ThresholdOpt = None,
    strict: StrictOpt = False,
    top_k: TopKOpt = None,
    split: Annotated[str, typer.Option("--split", help="Split of a saved DatasetDict.")] = "train",
    decontaminate: Annotated[
        str | None,
        typer.Option("--decontaminate", help="Drop selected rows that near-duplicate this bench suite's problems."),
    ] = None,
    text_field: TextFieldOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the curated training set: rows whose score passes the threshold (or the top K)."""
    from limr_kit.curate import curate as run_curate

    with err.status("curating"):
        result = run_curate(
            scores,
            dataset,
            key,
            out_dir,
            threshold=threshold,
            strict=strict,
            top_k=top_k,
            split=split,
            decontaminate=decontaminate,
            text_field=text_field,
            data_dir=data_dir,
        )
    if as_json:
        print_json(result.manifest.to_dict())
        return
    counts = result.manifest.counts
    table = Table(title="curated training set", show_header=False)
    for name, value in counts.items():
        table.add_row(name.replace("_", " "), str(value))
    table.add_row("selection", str(result.manifest.selection))
    table.add_row("written to", str(out_dir))
    out.print(table)


def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for everything the demo writes.")] = Path(
        "demo-output"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="A smaller experiment (16 problems, 6 questions) in a few minutes.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the base model, training and the RAND subset.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """LIMR's experiment in miniature: FULL, LIM, LIMR vs RAND, bench, compare, publish (tiny model, CPU)."""
    from limr_kit.demo import run_demo, summary_lines

    with progress() as bars:

        def finish_last_step() -> None:
            if bars.tasks:
                last = bars.tasks[-1]
                bars.update(last.id, total=last.total or 1, completed=last.total or 1)

        def step(description: str):
            finish_last_step()
            task = bars.add_task(description, total=None)
            return lambda event: bars.update(task, completed=event.done, total=event.total)

        result = run_demo(out_dir, scale="quick" if quick else "standard", seed=seed, step=step)
        finish_last_step()
    if as_json:
        print_json(result.to_dict())
        return
    lines = summary_lines(result)
    table = Table(title=f"limr-kit demo ({result.scale}): held-out additions, Δ vs FULL paired bootstrap")
    for name in lines[0]:
        table.add_column(name)
    for line in lines[1:]:
        table.add_row(*line)
    out.print(table)
    files = Table(title="files to open", show_header=False)
    for label, path in result.files.items():
        files.add_row(label, path)
    out.print(files)
