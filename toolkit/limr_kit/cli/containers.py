"""``limr-kit build``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from limr_kit.cli._options import JsonOpt
from limr_kit.console import out, print_json, progress


def build(
    target: Annotated[str, typer.Argument(help="Image to build: train, bench, cpu or all.")] = "all",
    tag: Annotated[
        str | None,
        typer.Option("--tag", "-t", help="Image tag (default limr-kit:<target>); with all, a repository name."),
    ] = None,
    base_image: Annotated[
        str | None, typer.Option("--base-image", help="Base image instead of the Dockerfile's (e.g. a mirror).")
    ] = None,
    wheelhouse: Annotated[
        Path | None,
        typer.Option(
            "--wheelhouse",
            help="Build offline: wheels are gathered into DIR on this host and the image installs only from there.",
        ),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option("--ca-bundle", help="PEM CA bundle of a TLS-intercepting proxy, trusted during the build only."),
    ] = None,
    push: Annotated[
        str | None,
        typer.Option("--push", help="Push the image to this registry (e.g. registry.example.com:5000/team)."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild every layer.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build the container images (OpenRLHF training, vLLM benchmarks, CPU) through the Docker engine."""
    from limr_kit.containers import BuildEvent, build_images

    with progress(transient=True) as bar:
        tasks: dict[str, int] = {}
        log_line = bar.add_task("", total=None, visible=False)

        def show(event: BuildEvent) -> None:
            task = tasks.get(event.target)
            if task is None:
                task = tasks[event.target] = bar.add_task(f"{event.target}: starting", total=None)
            if event.kind == "step":
                bar.update(task, description=f"{event.target}: {escape(event.text[:70])}", total=event.total)
                bar.update(task, completed=event.step - 1)
                return
            if event.kind == "wheelhouse":
                bar.update(task, description=f"{event.target}: wheelhouse")
            bar.update(log_line, description=f"[dim]{escape(event.text[:100])}[/dim]", visible=True)

        results = build_images(
            target,
            tag=tag,
            base_image=base_image,
            wheelhouse=wheelhouse,
            ca_bundle=ca_bundle,
            push=push,
            no_cache=no_cache,
            on_event=show,
        )
    if as_json:
        print_json([_result_row(result) for result in results])
        return
    table = Table(title="images built")
    for column in ("target", "tag", "image", "size", "time", "pushed"):
        table.add_column(column)
    for result in results:
        table.add_row(
            result.target,
            result.tag,
            result.image_id.removeprefix("sha256:")[:12],
            f"{result.size_bytes / 1e9:.2f} GB",
            f"{result.seconds:.0f} s",
            result.pushed or "-",
        )
    out.print(table)


def _result_row(result: object) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(result)  # type: ignore[call-overload]
