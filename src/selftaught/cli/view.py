"""`selftaught view`: watch, inspect and compare runs in the browser, live, read-only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from selftaught.cli import app


@app.command()
def view(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[FOLDER_OR_RUN]...",
            help="Run directories or folders of them (default: runs).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; anything but loopback requires a printed token."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: a free one, printed).")] = 0,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in a browser.")
    ] = False,
) -> None:
    """Serve a live view of runs: list, live run pages, model calls, evaluations, lineage
    with diffs, compare; a JSON API under /api. Reads the records only, never writes."""
    from selftaught.view.folders import Folders
    from selftaught.view.serve import Bound, serve

    folders = list(paths or [Path("runs")])
    Folders(folders)  # a folder that does not exist is one line, before listening

    def announce(bound: Bound) -> None:
        print(f"selftaught view: {bound.url}", flush=True)
        if bound.token:
            print(
                f"selftaught view: listening on {bound.host}:{bound.port}, beyond this machine;"
                " every request needs the token in that address",
                flush=True,
            )
        print("selftaught view: Ctrl-C stops it", file=sys.stderr, flush=True)

    serve(folders, host=host, port=port, open_browser=open_browser, announce=announce)
