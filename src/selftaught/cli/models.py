"""`selftaught models`: the model backends, the default, and whether each is usable here."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from selftaught.cli import app
from selftaught.text import printable


@app.command()
def models(
    base_url: Annotated[
        str | None, typer.Option(help="Also probe this OpenAI-compatible server.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Variable holding the API key to look for.")
    ] = None,
) -> None:
    """List the model backends, the default, and whether each is usable here."""
    from selftaught.lm.options import ModelOptions
    from selftaught.lm.registry import BACKENDS, DEFAULT_MODEL, backend_status

    options = ModelOptions(base_url=base_url, api_key_env=api_key_env)
    table = Table(title="model backends", caption=f"default: {DEFAULT_MODEL}")
    for column in ("backend", "usable", "example", "what it is", "free", "at once", "here"):
        table.add_column(column, justify="right" if column == "at once" else "left")
    for row in backend_status(options):
        kind = BACKENDS[row.backend]
        table.add_row(
            row.backend,
            "yes" if row.usable else "no",
            row.example,
            kind.description,
            "yes" if kind.free else "no",
            str(kind.concurrency),
            Text(printable(row.detail)),  # may quote what a model server answered
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)
