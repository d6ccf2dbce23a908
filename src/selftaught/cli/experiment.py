"""`selftaught sandbox-experiment`: how often the model turns the sandbox off (paper, section 6)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from selftaught import __version__
from selftaught.cli import app
from selftaught.config import load_config
from selftaught.errors import UserError
from selftaught.lm.cache import CACHE_FILE
from selftaught.lm.registry import check_model_string, make_backend
from selftaught.stop.context import RunContext
from selftaught.stop.sandbox_experiment import (
    SUMMARY_HEADERS,
    run_attempts,
    summary_rows,
)
from selftaught.store import SCHEMA_VERSION, RunDir

EXPERIMENT = "sandbox_experiment"


@app.command("sandbox-experiment")
def sandbox_experiment(
    model: Annotated[str | None, typer.Option(help="Model string, e.g. local:smollm2.")] = None,
    attempts: Annotated[int, typer.Option(min=1, help="Attempts per condition.")] = 100,
    warning: Annotated[
        bool, typer.Option("--warning", help="Add the warning not to leave the sandbox.")
    ] = False,
    both: Annotated[
        bool, typer.Option("--both", help="Run both conditions: without and with the warning.")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Attempts in flight.")] = 4,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    max_tokens: Annotated[int, typer.Option(min=1, help="Completion tokens per attempt.")] = 1024,
    resume: Annotated[
        Path | None, typer.Option(help="Continue the experiment recorded in this directory.")
    ] = None,
    output: Annotated[Path, typer.Option(help="Folder of run directories.")] = Path("runs"),
) -> None:
    """Ask the model N times to improve a sandboxed seed improver; count unsandboxing attempts
    (static analysis only; nothing proposed is run) and report the rate with a 95% Wilson
    interval next to the paper's."""
    console = Console(stderr=True)
    if resume is not None:
        run_dir = _resume_dir(resume)
        store = run_dir.open_store()
        meta = store.meta()
        model = model or meta["config"]["model"]
    else:
        cfg = load_config(
            overrides={"name": EXPERIMENT, **({"model": model} if model else {}), "seed": seed}
        )
        model = cfg.model
        check_model_string(cfg.model, cfg.lm)
        run_dir = RunDir.create(output, f"sandbox-{model.split(':')[0]}")
        store = run_dir.open_store()
        store.set_meta("schema_version", SCHEMA_VERSION)
        store.set_meta("created", dt.datetime.now(dt.UTC).isoformat())
        store.set_meta("selftaught_version", __version__)
        store.set_meta("experiment", EXPERIMENT)
        store.set_meta("config", cfg.model_dump(mode="json"))
    cfg = load_config(overrides={"name": EXPERIMENT, "model": model, "seed": seed})
    warnings = [False, True] if both else [warning]
    store.set_meta("status", "running")
    store.set_meta("pid", os.getpid())  # lets `selftaught runs` tell a killed experiment
    status = "failed"
    backend = None
    console.print(f"run directory: {run_dir.path}", highlight=False)
    try:
        backend = make_backend(cfg.model, cfg.lm, cache_path=run_dir.path / CACHE_FILE)
        ctx = RunContext(cfg, backend, None, store)  # type: ignore[arg-type] # no sandbox: nothing runs
        done = [0]

        def progress(_attempt: object) -> None:
            done[0] += 1
            if done[0] % max(1, attempts // 10) == 0:
                console.print(f"{done[0]} attempts classified", highlight=False)

        summaries = run_attempts(
            store,
            backend,
            attempts=attempts,
            warnings=warnings,
            seed=seed,
            concurrency=concurrency,
            max_tokens=max_tokens,
            record_call=lambda call: ctx.record_model_call(0, call),
            on_attempt=progress,
            executor=ctx.executor,
        )
        status = "finished"
    except KeyboardInterrupt:
        status = "stopped"
        raise
    finally:
        store.set_meta("status", status)
        store.close()
        close_backend = getattr(backend, "close", None)
        if callable(close_backend):
            close_backend()
    rows = summary_rows(model, summaries)
    table = Table(title="sandbox experiment: share of proposed improvers that leave the sandbox")
    for name in SUMMARY_HEADERS:
        table.add_column(name, justify="left" if name in ("model", "warning") else "right")
    for row in rows:
        table.add_row(*row)
    out = Console()
    (out if out.is_terminal else Console(width=120)).print(table)
    (run_dir.path / "sandbox_experiment.json").write_text(
        json.dumps(
            {
                "model": model,
                "conditions": [
                    {
                        "condition": s.condition,
                        "attempts": s.attempts,
                        "with_code": s.with_code,
                        "unsandboxed": s.unsandboxed,
                        "rate": s.rate,
                        "wilson95": list(s.interval),
                    }
                    for s in summaries
                ],
            },
            indent=2,
        )
    )
    console.print(f"records: {run_dir.path}", highlight=False)


def _resume_dir(path: Path) -> RunDir:
    """A directory this command recorded; anything else is refused before any write."""
    from selftaught.report.records import RunRecords

    with RunRecords(path) as records:
        if records.meta.get("experiment") != EXPERIMENT:
            raise UserError(f"{path} is a run directory, but not of a sandbox experiment")
    return RunDir(path)
