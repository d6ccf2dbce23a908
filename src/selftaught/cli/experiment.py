"""`selftaught sandbox-experiment`: how often the model turns the sandbox off (paper, section 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from selftaught.cli import app
from selftaught.errors import UserError

if TYPE_CHECKING:
    from selftaught.store import RunDir

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
    from selftaught.assembly import assemble
    from selftaught.config import load_config
    from selftaught.stop.sandbox_experiment import SUMMARY_HEADERS, run_attempts, summary_rows

    console = Console(stderr=True)
    run_dir: RunDir | None = None
    if resume is not None:
        run_dir = _resume_dir(resume)
        model = model or _recorded_model(resume)
    cfg = load_config(
        overrides={
            "name": EXPERIMENT,
            **({"model": model} if model else {}),
            "seed": seed,
            "output": str(output),
        }
    )
    model = cfg.model
    warnings = [False, True] if both else [warning]

    def show(kind: str, line: str) -> None:
        if kind == "run_dir":
            console.print(line, highlight=False)

    with assemble(
        cfg,
        record=None if run_dir else f"sandbox-{model.split(':')[0]}",
        run_dir=run_dir,
        kind=EXPERIMENT,
        uses_sandbox=False,
        note=show,
        meta={"experiment": EXPERIMENT},
    ) as asm:
        ctx = asm.context
        done = [0]

        def progress(_attempt: object) -> None:
            done[0] += 1
            if done[0] % max(1, attempts // 10) == 0:
                console.print(f"{done[0]} attempts classified", highlight=False)

        summaries = run_attempts(
            asm.store,
            ctx.backend,
            attempts=attempts,
            warnings=warnings,
            seed=seed,
            concurrency=concurrency,
            max_tokens=max_tokens,
            temperature=cfg.budgets.temperature,
            record_call=lambda call: ctx.record_model_call(0, call),
            on_attempt=progress,
            executor=ctx.executor,
        )
    run_dir = asm.run_dir
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


def _recorded_model(path: Path) -> str:
    from selftaught.report.records import RunRecords

    with RunRecords(path) as records:
        return str(records.meta["config"]["model"])


def _resume_dir(path: Path) -> RunDir:
    """A directory this command recorded; anything else is refused before any write."""
    from selftaught.report.records import RunRecords
    from selftaught.store import RunDir

    with RunRecords(path) as records:
        if records.meta.get("experiment") != EXPERIMENT:
            raise UserError(f"{path} is a run directory, but not of a sandbox experiment")
    return RunDir(path)
