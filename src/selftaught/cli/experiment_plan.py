"""`selftaught experiment run|resume|show|report`: a whole plan of STOP runs (models x
seeds, transfer, the sandbox experiment, strategies) and one report comparing the models.
(`sandbox-experiment`, a different command, lives in `cli/experiment.py`.)"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from selftaught.cli import app

experiment_app = typer.Typer(
    name="experiment",
    help="Models x seeds STOP runs, transfer, sandbox circumvention, strategies; one report.",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C: the experiment has recorded its cells as stopped; end the process at once,
    as a kill would (its runs are resumable from their records), rather than wait at exit
    for the threads of runs still in flight."""
    try:
        yield
    except KeyboardInterrupt:
        print(
            "selftaught: interrupted; continue with selftaught experiment resume", file=sys.stderr
        )
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(130)


def _exit_code(state: str) -> int:
    return {"finished": 0, "capped": 0, "stopped": 75, "skipped": 0}.get(state, 1)


def _plan_problems(plan: Path) -> None:
    """A plan with problems: each on its own line on stderr, exit code 2."""
    from selftaught.experiment.plan import PlanError, load_plan

    try:
        load_plan(plan)
    except PlanError as exc:
        for line in exc.problems:
            print(f"selftaught: error: {plan}: {line}", file=sys.stderr)
        raise typer.Exit(2) from None


def _ended(path: Path) -> None:
    from selftaught.experiment.layout import ExperimentDir

    exp = ExperimentDir.open(path)
    _print_status(path)
    if exp.status.state == "capped":
        print(
            "the spending cap stopped the experiment; raise it with "
            f"selftaught experiment resume {path} --max-tokens N / --max-cost X",
            file=sys.stderr,
        )
    raise typer.Exit(_exit_code(exp.status.state))


@experiment_app.command("run")
def run_command(
    plan: Annotated[Path, typer.Argument(help="The plan (TOML); see docs/experiment.md.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The experiment directory (new or empty); default experiments/<time>-<name>.",
        ),
    ] = None,
) -> None:
    """Run a plan: models x seeds STOP runs, transfer, sandbox experiment, report.

    The plan is checked in full before anything runs (docs/experiment.md)."""
    from selftaught.experiment import RichExperimentProgress
    from selftaught.experiment.runner import experiment

    _plan_problems(plan)
    with _interruptible():
        exp = experiment(
            plan, output=output, exact=output is not None, progress=RichExperimentProgress()
        )
    _ended(exp.path)


@experiment_app.command("resume")
def resume_command(
    directory: Annotated[Path, typer.Argument(help="The experiment directory.")],
    max_tokens: Annotated[
        int | None, typer.Option(help="The experiment's token cap (replaces the plan's).")
    ] = None,
    max_cost: Annotated[
        str | None, typer.Option(help="The experiment's money cap in USD (replaces the plan's).")
    ] = None,
) -> None:
    """Continue an experiment that was stopped, killed or capped.

    Every unfinished cell continues where it stopped; nothing recorded is paid for again."""
    from selftaught.experiment import RichExperimentProgress
    from selftaught.experiment.runner import resume

    with _interruptible():
        exp = resume(
            directory, max_tokens=max_tokens, max_cost=max_cost, progress=RichExperimentProgress()
        )
    _ended(exp.path)


@experiment_app.command("show")
def show_command(
    directory: Annotated[Path, typer.Argument(help="The experiment directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The experiment's status, its cells and the headline table."""
    from selftaught.experiment.summary import read_summary

    summary = read_summary(directory)
    if as_json:
        from selftaught.experiment.summary import headline

        headers, rows = headline(summary)
        data = summary.to_json()
        data["headline"] = [dict(zip(headers, r, strict=True)) for r in rows]
        print(json.dumps(data, indent=2, default=str))
        return
    _print_status(directory)


@experiment_app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="The experiment directory.")],
) -> None:
    """Write the experiment's report again (into report/ of the experiment)."""
    from selftaught.experiment.layout import ExperimentDir
    from selftaught.experiment.report import write_report

    html, md = write_report(ExperimentDir.open(directory))
    print(f"report: {html}")
    print(f"report: {md}")


def _print_status(directory: Path) -> None:
    from selftaught.experiment.report import cap_text
    from selftaught.experiment.summary import headline, read_summary

    summary = read_summary(directory)
    out = Console()
    if not out.is_terminal:
        out = Console(width=160)
    cells = Table(title=f"experiment {summary.name}: {summary.state}")
    for name in ("cell", "state", "iterations", "calls", "tokens", "run directory", "message"):
        cells.add_column(name)
    for c in summary.cells:
        cells.add_row(
            c["id"],
            c["state"],
            str(c["iterations"]) if c["kind"] == "stop" else "",
            str(c["calls"]),
            str(c["tokens"]),
            c["run_dir"] or "-",
            c["message"][:60],
        )
    out.print(cells)
    headers, rows = headline(summary)
    table = Table(title="headline: held-out meta-utility, mean ± SE across seeds")
    for i, name in enumerate(headers):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    out.print(table)
    out.print(cap_text(summary), highlight=False)
