"""``limr-kit publish dataset|model`` and ``limr-kit pull dataset|model``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.rule import Rule
from rich.table import Table

from limr_kit.cli._options import JsonOpt
from limr_kit.console import err, out, print_json


if TYPE_CHECKING:
    from limr_kit.release import PublishResult, PullResult

publish_app = typer.Typer(
    help="Publish a curated dataset or a checkpoint, with its card, to a Hub.", no_args_is_help=True
)
pull_app = typer.Typer(
    help="Download a released dataset or model at a pinned revision, verified.", no_args_is_help=True
)

RepoOpt = Annotated[str, typer.Option("--repo", help="Hub repo id, namespace/name.")]
EndpointOpt = Annotated[
    str | None, typer.Option("--endpoint", help="Hub URL (default: HF_ENDPOINT, else https://huggingface.co).")
]
PrivateOpt = Annotated[bool, typer.Option("--private", help="Create the repo private (if it does not exist yet).")]
TagOpt = Annotated[str | None, typer.Option("--tag", help="Tag the published commit, e.g. v1.0.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Move --tag if it already points to another commit.")]
RevisionOpt = Annotated[str, typer.Option("--revision", help="Branch to publish to (created from main if new).")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print the files, sizes and rendered cards; send nothing to the Hub.")
]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Title of the card (default: the repo name).")]
LanguageOpt = Annotated[str, typer.Option("--language", help="Language code for the card metadata.")]
SpecArg = Annotated[str, typer.Argument(help="namespace/name, optionally @REVISION (tag, branch or commit).")]
OutDirOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Copy the verified files into this folder.")]


def _options(endpoint: str | None, private: bool, tag: str | None, force: bool, revision: str, dry_run: bool):
    from limr_kit.release import PublishOptions

    return PublishOptions(endpoint=endpoint, private=private, tag=tag, force=force, revision=revision, dry_run=dry_run)


def _render(result: PublishResult, as_json: bool) -> None:
    for warning in result.plan.warnings:
        err.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)
    if as_json:
        print_json(result.to_dict())
        return
    plan = result.plan
    if result.dry_run:
        table = Table(title=f"dry run: {plan.repo_type} {plan.repo_id}@{result.revision} on {result.endpoint}")
        for column in ("file", "bytes", "sha256"):
            table.add_column(column, justify="right" if column == "bytes" else "left")
        for item in plan.files:
            table.add_row(item.path_in_repo, f"{item.size:,}", item.sha256[:16])
        out.print(table)
        out.print(Rule("README.md"))
        out.print(plan.card, markup=False, highlight=False)
        err.print("Dry run: nothing was sent to the Hub.")
        return
    where = f"{plan.repo_id}@{result.revision}"
    if result.unchanged:
        out.print(
            f"Unchanged: {where} already holds these files at commit {result.commit}; no new commit.", highlight=False
        )
    else:
        out.print(
            f"Published {where}: commit {result.commit} ({len(result.uploaded)} file(s) uploaded, "
            f"{len(result.deleted)} deleted). {result.url}",
            highlight=False,
        )
    if result.tag:
        out.print(f"Tag {result.tag}: {result.tag_action} (commit {result.commit}).", highlight=False)


@publish_app.command("dataset")
def publish_dataset(
    folder: Annotated[Path, typer.Argument(help="Output folder of `limr-kit curate`.")],
    repo: RepoOpt,
    endpoint: EndpointOpt = None,
    private: PrivateOpt = False,
    tag: TagOpt = None,
    force: ForceOpt = False,
    revision: RevisionOpt = "main",
    dry_run: DryRunOpt = False,
    title: TitleOpt = None,
    license: Annotated[str, typer.Option("--license", help="License id of the published data.")] = "mit",
    language: LanguageOpt = "en",
    as_json: JsonOpt = False,
) -> None:
    """Publish a curated training set (parquet) with its dataset card and score histogram."""
    from limr_kit.release import publish_dataset as run

    with err.status("publishing dataset"):
        result = run(
            folder,
            repo,
            _options(endpoint, private, tag, force, revision, dry_run),
            title=title,
            license=license,
            language=language,
        )
    _render(result, as_json)


@publish_app.command("model")
def publish_model(
    folder: Annotated[Path, typer.Argument(help="Checkpoint folder (config.json + safetensors).")],
    repo: RepoOpt,
    results: Annotated[
        list[Path] | None, typer.Option("--results", help="`limr-kit bench` run folder (repeatable).")
    ] = None,
    base_model: Annotated[str | None, typer.Option("--base-model", help="Hub id of the model trained from.")] = None,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Hub id of the training data, optionally ID@REVISION.")
    ] = None,
    recipe: Annotated[Path | None, typer.Option("--recipe", help="Training recipe file shown in the card.")] = None,
    endpoint: EndpointOpt = None,
    private: PrivateOpt = False,
    tag: TagOpt = None,
    force: ForceOpt = False,
    revision: RevisionOpt = "main",
    dry_run: DryRunOpt = False,
    title: TitleOpt = None,
    license: Annotated[str, typer.Option("--license", help="License id of the weights.")] = "apache-2.0",
    language: LanguageOpt = "en",
    allow_partial: Annotated[
        bool, typer.Option("--allow-partial", help="Accept --limit or unfinished bench runs; the card says so.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Publish a checkpoint with its model card (eval results from `limr-kit bench` as model-index)."""
    from limr_kit.release import publish_model as run

    with err.status("publishing model"):
        result = run(
            folder,
            repo,
            _options(endpoint, private, tag, force, revision, dry_run),
            results=tuple(results or ()),
            base_model=base_model,
            dataset=dataset,
            recipe=recipe,
            license=license,
            language=language,
            title=title,
            allow_partial=allow_partial,
        )
    _render(result, as_json)


def _pull(repo_type: str, spec: str, out_dir: Path | None, endpoint: str | None, as_json: bool) -> None:
    from limr_kit.release import pull

    with err.status(f"pulling {repo_type} {spec}"):
        result: PullResult = pull(repo_type, spec, out=out_dir, endpoint=endpoint)
    for warning in result.warnings:
        err.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"{repo_type} {result.repo_id}", show_header=False)
    table.add_row("revision", result.revision)
    table.add_row("commit", result.commit)
    table.add_row("files (verified)", str(len(result.files)))
    table.add_row("source", "local cache (offline)" if result.offline else "Hub")
    out.print(table)
    out.print(str(result.path), highlight=False, soft_wrap=True)


@pull_app.command("dataset")
def pull_dataset(spec: SpecArg, out_dir: OutDirOpt = None, endpoint: EndpointOpt = None, as_json: JsonOpt = False):
    """Download a dataset repo at a revision and verify it; then `datasets.load_dataset(ID)` works offline too."""
    _pull("dataset", spec, out_dir, endpoint, as_json)


@pull_app.command("model")
def pull_model(spec: SpecArg, out_dir: OutDirOpt = None, endpoint: EndpointOpt = None, as_json: JsonOpt = False):
    """Download a model repo at a revision and verify it (load it with transformers from the printed path)."""
    _pull("model", spec, out_dir, endpoint, as_json)
