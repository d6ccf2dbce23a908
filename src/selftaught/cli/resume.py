"""`selftaught resume RUN_DIR`: continue a run that was stopped, killed or crashed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from selftaught.cli import app
from selftaught.cli.run import execute
from selftaught.config import load_config
from selftaught.errors import UserError
from selftaught.lm.registry import check_model_string
from selftaught.report.records import connect_readonly
from selftaught.stop.improvers import resolve_improver
from selftaught.stop.resume import discard_from, load_state
from selftaught.store import SCHEMA_VERSION, RunDir


def check_run_dir(path: Path) -> dict:
    """The meta header of a run directory, read without modifying anything.

    Anything that is not a run recorded by a compatible version is a user error.
    """
    records = path / RunDir.RECORDS
    if not path.is_dir():
        raise UserError(f"not a directory: {path}")
    if not records.is_file() or not (path / RunDir.CONFIG).is_file():
        raise UserError(f"not a run directory (no {RunDir.RECORDS} and {RunDir.CONFIG}): {path}")
    try:
        db = connect_readonly(records)  # creates no -wal/-shm files beside a closed run
        try:
            meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
        finally:
            db.close()
    except (sqlite3.Error, ValueError) as exc:
        raise UserError(f"cannot read the records of {path}: {exc}") from None
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UserError(
            f"{path} was recorded with records schema {version}; this selftaught reads "
            f"schema {SCHEMA_VERSION}"
        )
    return meta


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run directory to continue.")],
    max_run_tokens: Annotated[int | None, typer.Option(help="Raise the run's token cap.")] = None,
    max_run_cost: Annotated[
        str | None, typer.Option(help="Raise the run's money cap (USD).")
    ] = None,
) -> None:
    """Continue a stopped, killed or crashed run from its last completed iteration."""
    meta = check_run_dir(run_dir)
    caps = {
        k: v
        for k, v in {"max_run_tokens": max_run_tokens, "max_run_cost": max_run_cost}.items()
        if v is not None
    }
    cfg = load_config(file=run_dir / RunDir.CONFIG, overrides={"lm": caps} if caps else None)
    check_model_string(cfg.model, cfg.lm)
    console = Console(stderr=True)
    if meta.get("status") == "finished":
        console.print(f"{run_dir} has already finished; nothing to do.", highlight=False)
        return
    rd = RunDir(run_dir)
    saved = rd.improver_path(0)
    if saved.is_file():  # the starting improver as the run saw it
        start_improver = saved.read_text()
    else:
        start_improver = resolve_improver(cfg.improver, keep_input=cfg.keep_input)
    store = rd.open_store()
    try:
        state = load_state(store)
        removed = discard_from(store, state.next_iteration)
    finally:
        store.close()
    console.print(
        f"resuming at iteration {state.next_iteration} "
        f"({removed} records of the unfinished iteration replaced)",
        highlight=False,
    )
    execute(cfg, start_improver, console, run_dir=rd, resume=state)
