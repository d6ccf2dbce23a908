"""`selftaught resume RUN_DIR`: continue a run that was stopped, killed or crashed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from selftaught.cli import app


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run directory to continue.")],
    max_run_tokens: Annotated[int | None, typer.Option(help="Raise the run's token cap.")] = None,
    max_run_cost: Annotated[
        str | None, typer.Option(help="Raise the run's money cap (USD).")
    ] = None,
) -> None:
    """Continue a stopped, killed or crashed run from its last completed iteration."""
    from selftaught.api.running import resume as resume_run
    from selftaught.cli.run import command_progress

    result = resume_run(
        run_dir,
        max_run_tokens=max_run_tokens,
        max_run_cost=max_run_cost,
        progress=command_progress(),
    )
    if result.status == "failed":
        raise typer.Exit(1)
    if result.exit_code:  # stopped by an outage or a full disk: resumable (75)
        raise typer.Exit(result.exit_code)
