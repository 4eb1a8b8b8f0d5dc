"""``limr-kit publish model``: a checkpoint folder as a Hub model repo, its card built from bench results."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from limr_kit._io import sha256_file
from limr_kit.benchmarks.results import BenchmarkResult, BenchResults, EvaluatedModel
from limr_kit.errors import InputError
from limr_kit.hub.client import check_repo_id, parse_spec
from limr_kit.release.cards import TAGS, render_card
from limr_kit.release.publish import (
    PlannedFile,
    PublishOptions,
    PublishResult,
    ReleasePlan,
    publish,
    require_folder,
)


# Training state that is not part of a released model; README.md is replaced by the generated card.
IGNORED = (
    "README.md",
    "optimizer*",
    "scheduler*",
    "rng_state*",
    "trainer_state.json",
    "training_args.bin",
    "*.pt",
    "global_step*",
)
_RECIPE_LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}
_MAX_RECIPE_BYTES = 256 * 1024


def plan_model(
    folder: str | Path,
    repo_id: str,
    *,
    results: tuple[str | Path, ...] = (),
    base_model: str | None = None,
    dataset: str | None = None,
    recipe: str | Path | None = None,
    license: str = "apache-2.0",
    language: str = "en",
    title: str | None = None,
    allow_partial: bool = False,
) -> ReleasePlan:
    """The files and card that publishing this checkpoint uploads.

    Results of a partial bench run (``--limit``, or stopped early) are refused unless ``allow_partial``; the card
    then says on how many questions each number rests.
    """
    from huggingface_hub import ModelCardData

    check_repo_id(repo_id)
    folder = require_folder(folder, "checkpoint folder", "Save one with `model.save_pretrained(DIR)`.")
    config = _read_config(folder)
    weights = _checkpoint_files(folder)
    title = title or repo_id.split("/")[1]
    runs = [BenchResults.of_run(run) for run in results]
    benchmarks = _merge_benchmarks(runs, results)
    unanswered = [key for key, bench in benchmarks.items() if bench.accuracy is None]
    if unanswered:
        raise InputError(f"No question of {', '.join(unanswered)} was answered: there is no accuracy to publish.")
    partial = _partial_runs(runs, benchmarks, results)
    if partial and not allow_partial:
        raise InputError(
            f"The bench results are partial ({'; '.join(partial)}): their numbers do not describe the benchmarks. "
            "Run `limr-kit bench` without --limit to the end, or pass --allow-partial (the card then says so)."
        )
    dataset_id, dataset_revision = parse_spec(dataset, default="") if dataset else ("", "")
    card_data = ModelCardData(
        model_name=title,
        base_model=base_model,
        datasets=[dataset_id] if dataset_id else None,
        language=[language],
        library_name="transformers",
        pipeline_tag="text-generation",
        license=license,
        tags=list(TAGS),
        eval_results=[_eval_result(key, bench) for key, bench in benchmarks.items()] or None,
    )
    warnings = [
        f"no {what}: the card says it is not recorded (pass {flag})"
        for what, flag, value in (("base model", "--base-model", base_model), ("bench results", "--results", runs))
        if not value
    ]
    card = render_card(
        "model",
        card_data,
        title=title,
        repo_id=repo_id,
        license=license,
        architecture=(config.get("architectures") or [config.get("model_type", "transformers")])[0],
        base_model=base_model,
        dataset=dataset,
        dataset_id=dataset_id,
        dataset_revision=dataset_revision,
        recipe=_read_recipe(Path(recipe)) if recipe else None,
        benchmarks=[_row(bench) for bench in benchmarks.values()],
        partial=partial,
        average=sum(b.accuracy for b in benchmarks.values()) / len(benchmarks) if benchmarks else None,
        engines=", ".join(sorted({_engine(run) for run in runs})),
        suites=", ".join(sorted({run.suite for run in runs})),
        evaluated_models="; ".join(sorted({_model_label(run.model) for run in runs})),
        software=", ".join(sorted({_software(name, v) for run in runs for name, v in run.provenance.items()} - {""})),
    )
    files = [PlannedFile.from_bytes("README.md", card.encode())]
    files += [PlannedFile.from_path(path.relative_to(folder).as_posix(), path) for path in weights]
    return ReleasePlan(repo_id, "model", tuple(files), f"Publish {title} with limr-kit", tuple(warnings))


def publish_model(
    folder: str | Path, repo_id: str, options: PublishOptions = PublishOptions(), **card_options: Any
) -> PublishResult:
    """Publish a checkpoint (safetensors through LFS) and its model card to ``repo_id``; see :func:`publish`."""
    return publish(plan_model(folder, repo_id, **card_options), options)


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise InputError(f"{folder} has no config.json: not a transformers checkpoint. Save it with save_pretrained.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc}). Save the checkpoint again with save_pretrained.") from exc
    if not isinstance(config, dict):
        raise InputError(f"{path} must hold a JSON object.")
    return config


def _checkpoint_files(folder: Path) -> list[Path]:
    """Files to publish: everything but hidden files and training state; needs safetensors weights."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue
        if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in IGNORED):
            continue
        files.append(path)
    if not any(path.suffix == ".safetensors" for path in files):
        raise InputError(
            f"{folder} has no .safetensors weights. Save the model with save_pretrained (safetensors is the default)."
        )
    return files


def _merge_benchmarks(runs: list[BenchResults], sources: tuple[str | Path, ...]) -> dict[str, BenchmarkResult]:
    """All benchmarks of all runs, each once, for one model."""
    models = {run.model.id for run in runs if run.model.id}
    if len(models) > 1:
        raise InputError(f"The results are for different models ({', '.join(sorted(models))}); pass one model's runs.")
    merged: dict[str, BenchmarkResult] = {}
    seen: dict[str, str | Path] = {}
    for run, source in zip(runs, sources, strict=True):
        for key, bench in run.benchmarks.items():
            if key in merged:
                raise InputError(f"Benchmark '{key}' appears in both {seen[key]} and {source}; pass only one of them.")
            merged[key], seen[key] = bench, source
    return merged


def _partial_runs(
    runs: list[BenchResults], benchmarks: dict[str, BenchmarkResult], sources: tuple[str | Path, ...]
) -> list[str]:
    """What is partial: a benchmark answered on part of its questions, a run that stopped before its end."""
    found = [
        f"{key}: {bench.n_questions} of {bench.n_available} questions"
        for key, bench in benchmarks.items()
        if bench.partial
    ]
    found += [
        f"{where} stopped before its last benchmark"
        for run, where in zip(runs, sources, strict=True)
        if not run.complete
    ]
    return found


def _eval_result(key: str, bench: BenchmarkResult) -> Any:
    from huggingface_hub import EvalResult

    return EvalResult(
        task_type="text-generation",
        task_name="Text Generation",
        dataset_type=bench.hub_dataset or key,
        dataset_name=bench.title,
        dataset_split=bench.split,
        metric_type=bench.metric,
        metric_name=f"{bench.metric} accuracy (%)"
        + (f", partial: {bench.n_questions} of {bench.n_available} questions" if bench.partial else ""),
        metric_value=bench.accuracy,
        metric_args=bench.decoding.model_dump(),
    )


def _row(bench: BenchmarkResult) -> dict[str, Any]:
    ci = f"{bench.ci95[0]:.1f} – {bench.ci95[1]:.1f}" if bench.ci95 else "–"
    questions = f"{bench.n_questions} of {bench.n_available}" if bench.partial else str(bench.n_questions)
    return {**bench.model_dump(), "ci": ci, "decoding": bench.decoding, "questions": questions}


def _software(name: str, version: object) -> str:
    """``vllm 0.32.0`` for a package version in the provenance; "" for its other entries (settings, seeds)."""
    if not isinstance(version, str) or not version or name in ("image", "image_digest"):
        return ""
    return f"{'limr-kit' if name == 'toolkit' else name} {version}"


def _engine(run: BenchResults) -> str:
    version = run.provenance.get(run.engine)
    return f"{run.engine} {version}" if version else run.engine


def _model_label(model: EvaluatedModel) -> str:
    """The evaluated model as a Hub id with its pins; a local folder by content fingerprint, never by its path."""
    local = (model.sha or "").startswith("local-") or not model.id
    name = "a local checkpoint" if local else model.id
    pins = [f"{label} {value}" for label, value in (("revision", model.revision), ("sha", model.sha)) if value]
    return (name if local else f"`{name}`") + (f" ({', '.join(pins)})" if pins else "")


def _read_recipe(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise InputError(f"Recipe {path} not found. Pass --recipe with the training recipe file.")
    if path.stat().st_size > _MAX_RECIPE_BYTES:
        raise InputError(f"Recipe {path} is larger than {_MAX_RECIPE_BYTES // 1024} KiB; pass the recipe, not logs.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"Recipe {path} is not UTF-8 text.") from exc
    language = _RECIPE_LANGUAGES.get(path.suffix.lower(), "text")
    return {"name": path.name, "sha256": sha256_file(path), "language": language, "text": text.rstrip()}
