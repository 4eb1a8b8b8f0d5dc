"""``limr-kit polymath``: one-sample RL (pool, skills, select, synthesize, label-check, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from limr_kit.console import err, out, print_json


app = typer.Typer(
    help="One-sample RL (arXiv 2601.03111, One-Shot RLVR): choose, engineer, check and export one sample.",
    no_args_is_help=True,
)

Endpoint = Annotated[
    str, typer.Option("--endpoint", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1.")
]
Model = Annotated[str, typer.Option("--model", help="Model name the endpoint serves.")]
KeyEnv = Annotated[
    str, typer.Option("--api-key-env", help="Environment variable holding the API key (never printed).")
]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, help="Calls in flight at once.")]
Retries = Annotated[int, typer.Option("--retries", min=0, help="Retries per call (exponential backoff).")]
Timeout = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per call.")]


def _client(
    endpoint: str, model: str, cache: Path | None, key_env: str, concurrency: int, retries: int, timeout: float
):
    from limr_kit.polymath.client import ChatClient

    return ChatClient(
        endpoint,
        model,
        cache_dir=cache,
        api_key_env=key_env,
        concurrency=concurrency,
        retries=retries,
        timeout_s=timeout,
    )


@app.command("pool")
def pool(
    scores: Annotated[Path, typer.Argument(help="LIMR's scores.json (prompt, score).")],
    prompts: Annotated[Path, typer.Argument(help="LIMR's math.8k.json (id, prompt, answer).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Pool JSONL to write.")],
    floor: Annotated[float, typer.Option("--floor", help="The LIM score of the pool (LIMR's floor).")] = 0.60,
    tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, help="Allowed distance from --floor.")] = 1e-9,
) -> None:
    """The natural-candidate pool: every prompt whose LIM score equals the floor."""
    from limr_kit.polymath.api import write_pool

    count = write_pool(scores, prompts, out_path, floor=floor, tolerance=tolerance)
    out.print(f"{count} prompts at LIM score {floor} -> {out_path}")


@app.command("skills")
def skills(
    pool_path: Annotated[Path, typer.Argument(help="Pool JSONL (id, prompt or question, answer).")],
    endpoint: Endpoint,
    model: Model,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for skills.jsonl and cache/.")],
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only these categories (repeatable; default all five).")
    ] = None,
    classify: Annotated[
        bool, typer.Option("--classify", help="Also ask each problem's MATH subject (for `select --rule natural`).")
    ] = False,
    api_key_env: KeyEnv = "OPENAI_API_KEY",
    concurrency: Concurrency = 4,
    retries: Retries = 3,
    timeout: Timeout = 120.0,
) -> None:
    """Salient skills per category (the paper's Table 8 prompt), one call per (problem, category), cached."""
    from limr_kit.polymath.api import run_skills

    client = _client(endpoint, model, out_dir / "cache", api_key_env, concurrency, retries, timeout)
    result = run_skills(pool_path, client, out_dir, category, classify)
    out.print(f"{result.problems} problems annotated, {result.calls} calls made -> {result.path}")
    if result.failures:
        err.print(
            f"[yellow]{result.failures} calls failed or were unparsable (recorded in 'failures'); rerun to retry."
        )


@app.command("select")
def select(
    pool_path: Annotated[Path, typer.Argument(help="Pool JSONL.")],
    skills_path: Annotated[Path, typer.Argument(help="skills.jsonl from `polymath skills`.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for selection.json and radar plots.")],
    rule: Annotated[str, typer.Option("--rule", help="natural, prime or specialist:<category>.")] = "natural",
    tie_break: Annotated[str, typer.Option("--tie-break", help="natural: most-skills, variance or first.")] = (
        "most-skills"
    ),
    tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, help="natural: distance from 0.60.")] = 1e-9,
    categories: Annotated[Path | None, typer.Option("--categories", help="JSON id -> category.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="natural: one category for all.")] = None,
    history: Annotated[
        Path | None, typer.Option("--history", help="variance: One-Shot RLVR's acc_step_500.json.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print selection.json.")] = False,
) -> None:
    """Choose the sample(s): natural (one per category at the LIM floor), prime or a specialist."""
    from limr_kit.polymath.api import run_select

    record = run_select(
        pool_path,
        skills_path,
        rule,
        out_dir,
        tie_break=tie_break,
        tolerance=tolerance,
        categories_path=categories,
        category=category,
        history_path=history,
    )
    if as_json:
        print_json(record)
        return
    for choice in record["chosen"]:
        out.print(f"{choice['category'] or rule}: {choice['id']} spectrum {choice['spectrum']}")
    out.print(f"-> {out_dir / 'selection.json'}")


@app.command("synthesize")
def synthesize(
    endpoint: Annotated[list[str], typer.Option("--endpoint", help="Generator base URL (repeat, with --model).")],
    model: Annotated[list[str], typer.Option("--model", help="Generator model, one per --endpoint.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for candidates.jsonl and pool.jsonl.")],
    per_generator: Annotated[int, typer.Option("--per-generator", min=1, help="Problems per generator.")] = 8,
    api_key_env: KeyEnv = "OPENAI_API_KEY",
    concurrency: Concurrency = 4,
    retries: Retries = 3,
    timeout: Timeout = 600.0,
) -> None:
    """Candidate problems from generators (Table 7 prompt), kept where every generator's answer agrees."""
    from limr_kit.errors import InputError
    from limr_kit.polymath.api import run_synthesize

    if len(endpoint) != len(model):
        raise InputError("Give one --model per --endpoint.")
    clients = [
        _client(e, m, out_dir / "cache", api_key_env, concurrency, retries, timeout)
        for e, m in zip(endpoint, model, strict=True)
    ]
    kept, total = run_synthesize(clients, per_generator, out_dir)
    out.print(f"{kept} of {total} candidates kept (all generators agree) -> {out_dir / 'pool.jsonl'}")


@app.command("label-check")
def label_check(
    sample: Annotated[Path, typer.Argument(help="The sample: selection.json, a JSON object or JSONL rows.")],
    endpoint: Endpoint,
    model: Model,
    name: Annotated[str | None, typer.Option("--name", help="Which sample of a multi-sample file.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Solutions to sample.")] = 8,
    majority: Annotated[
        float, typer.Option("--majority", min=0.5, max=1.0, help="Share of k that must agree on another answer.")
    ] = 0.6,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="New tokens per solution.")] = 2048,
    api_key_env: KeyEnv = "OPENAI_API_KEY",
    concurrency: Concurrency = 4,
    retries: Retries = 3,
    timeout: Timeout = 600.0,
) -> None:
    """Solve the sample k times; flag it (exit 1) when a clear majority disagrees with the gold answer."""
    from limr_kit.polymath.api import run_label_check

    client = _client(endpoint, model, None, api_key_env, concurrency, retries, timeout)
    result = run_label_check(sample, client, name=name, k=k, majority=majority, max_tokens=max_tokens)
    print_json(result.to_dict())
    if result.flagged:
        err.print(
            f"[bold yellow]Flagged:[/bold yellow] {result.majority_count}/{k} solutions answer "
            f"{result.majority_answer}, not the gold {result.gold}."
        )
        raise typer.Exit(1)


@app.command("export")
def export(
    sample: Annotated[Path, typer.Argument(help="The sample: selection.json, a JSON object or JSONL rows.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for train.jsonl and train.parquet.")],
    replicate: Annotated[int, typer.Option("--replicate", min=1, help="Copies of the sample.")] = 128,
    name: Annotated[str | None, typer.Option("--name", help="Which sample of a multi-sample file.")] = None,
) -> None:
    """The one-sample training set (`limr-kit train --dataset OUT/train.jsonl`; parquet for other trainers)."""
    from limr_kit.polymath.export import export as write
    from limr_kit.polymath.sample import read_sample

    paths = write(read_sample(sample, name), out_dir, replicate)
    out.print(f"{replicate} rows -> {paths['jsonl']} and {paths['parquet']}")
