"""``limr-kit hub serve``: the local Hugging Face Hub-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from limr_kit.console import err, out
from limr_kit.hub import server
from limr_kit.hub.server import DEFAULT_HOST, DEFAULT_MAX_BODY, DEFAULT_PORT, default_root


app = typer.Typer(
    help="A local Hugging Face Hub-compatible server (loopback, air-gapped clusters, tests).", no_args_is_help=True
)


@app.command("serve")
def serve(
    root: Annotated[Path, typer.Option("--root", help="Folder holding the repositories (created).")] = default_root(),
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")] = DEFAULT_PORT,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="Accepted tokens, one per line: writes need one (else 401).")
    ] = None,
    allow_anonymous_writes: Annotated[
        bool,
        typer.Option(
            "--allow-anonymous-writes", help="Listen beyond loopback without --token-file (anyone may write)."
        ),
    ] = False,
    max_body_mb: Annotated[
        int, typer.Option("--max-body-mb", min=1, help="Largest request body but LFS uploads, in MiB (else 413).")
    ] = DEFAULT_MAX_BODY >> 20,
) -> None:
    """Serve model and dataset repositories over HTTP until Ctrl-C. Prints the endpoint URL on stdout."""

    def ready(hub: server.HubServer) -> None:
        out.print(hub.url, highlight=False)
        auth = "writes need a token from the token file" if token_file else "no token needed"
        if hub.warning:
            err.print(f"[yellow]Warning:[/] {hub.warning}")
        err.print(
            f"limr-kit hub: serving {hub.root} at {hub.url} ({auth}). Set HF_ENDPOINT={hub.url}. Ctrl-C stops.",
            highlight=False,
        )

    try:
        server.serve(
            root,
            host,
            port,
            token_file,
            on_ready=ready,
            allow_anonymous_writes=allow_anonymous_writes,
            max_body=max_body_mb << 20,
        )
    except KeyboardInterrupt:
        err.print("limr-kit hub: stopped")
