"""The ``limr-kit`` command line: a thin layer over the Python API."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from rich.markup import escape

from limr_kit import __version__
from limr_kit.cli import (
    bench,
    containers,
    decontam,
    estimate,
    hub,
    lim,
    models,
    polymath,
    release,
    rewards,
    selections,
    sft,
    sweep,
    train,
)
from limr_kit.cli._help import tidy_help
from limr_kit.console import err, quiet_third_party, setup_logging
from limr_kit.errors import LimrError


app = typer.Typer(
    name="limr-kit",
    help="Score RL training samples (LIM), curate, train, benchmark and publish. Data goes to stdout, "
    "progress to stderr.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"limr-kit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show debug logs, and other libraries' warnings and progress bars.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """limr-kit: Less-is-More RL toolkit."""
    quiet_third_party(verbose)
    setup_logging(verbose)


app.command("score", rich_help_panel="Select samples")(lim.score)
app.command("estimate", rich_help_panel="Select samples")(estimate.estimate)
app.command("curate", rich_help_panel="Select samples")(lim.curate)
app.command("decontaminate", rich_help_panel="Select samples")(decontam.decontaminate)
app.command("train", rich_help_panel="Train")(train.train)
app.command("sft", rich_help_panel="Train")(sft.sft)
app.command("grade", rich_help_panel="Grade and benchmark")(rewards.grade)
app.command("bench", rich_help_panel="Grade and benchmark")(bench.bench)
app.command("compare", rich_help_panel="Grade and benchmark")(bench.compare)
app.command("sweep", rich_help_panel="Grade and benchmark")(sweep.sweep)
app.command("demo", rich_help_panel="Get started")(lim.demo)
app.command("tiny-model", rich_help_panel="Get started")(models.tiny_model)
app.add_typer(polymath.app, name="polymath", rich_help_panel="Select samples")
app.add_typer(selections.app, name="selections", rich_help_panel="Select samples")
app.add_typer(release.publish_app, name="publish", rich_help_panel="Release")
app.add_typer(release.pull_app, name="pull", rich_help_panel="Release")
app.add_typer(hub.app, name="hub", rich_help_panel="Release")
app.command("build", rich_help_panel="Containers")(containers.build)


def format_error(exc: LimrError) -> str:
    """The one-line (or few-line) message shown for a user error."""
    return f"[bold red]Error:[/bold red] {escape(str(exc))}"


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors print one message and exit with status 1."""
    try:
        # The arguments are kept for commands that repeat themselves inside an image (--image).
        command = typer.main.get_command(app)
        tidy_help(command)
        command(args=argv, prog_name="limr-kit", obj={"argv": list(sys.argv[1:] if argv is None else argv)})
    except LimrError as exc:
        err.print(format_error(exc), highlight=False)
        if os.environ.get("LIMR_DEBUG") == "1":
            traceback.print_exc()
        else:
            err.print("[dim]Set LIMR_DEBUG=1 to see the full traceback.[/dim]", highlight=False)
        sys.exit(1)
