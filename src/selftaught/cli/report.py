"""Reading runs: `report`, `show`, `export`, `runs`, `analyze`. None of them writes to a run's
records; a folder that is not a run, or a run this version cannot read, is one line and
exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from selftaught.cli import app
from selftaught.report.format import money, score


def _out() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=140)


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories (one or more).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Folder for report.html and report.md "
            "(default: the run directory, or . for several runs).",
        ),
    ] = None,
) -> None:
    """Write report.html (self-contained, opens offline) and report.md for one or more runs."""
    from selftaught.report.build import write_report

    files = write_report(run_dirs, output)
    print(f"report: {files.html}")
    print(f"report: {files.markdown}")


@app.command()
def show(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    iteration: Annotated[
        int | None, typer.Argument(help="Iteration (default: every adopted one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Provenance of adopted improvers: parent, diff, scores ± SE, model, settings, cost, audit."""
    from selftaught.report.provenance import format_provenance, provenance, shown_iterations
    from selftaught.report.records import RunRecords

    with RunRecords(run_dir) as records:
        records_shown = [provenance(records, t) for t in shown_iterations(records, iteration)]
    if as_json:
        print(json.dumps(records_shown, indent=2, default=str))
        return
    print("\n\n".join(format_provenance(p) for p in records_shown) or "no adopted improvers yet")


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    iteration: Annotated[int, typer.Argument(help="Iteration whose improver to write out.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")] = Path(
        "improver.py"
    ),
) -> None:
    """Write the improver of one iteration to a .py file."""
    from selftaught.report.provenance import export_improver
    from selftaught.report.records import RunRecords

    with RunRecords(run_dir) as records:
        path = export_improver(records, iteration, output)
    print(f"wrote {path}")


@app.command()
def runs(
    folder: Annotated[Path, typer.Argument(help="Folder of run directories.")] = Path("runs"),
) -> None:
    """List the runs in a folder: status, best held-out meta-utility, cost, date."""
    from selftaught.report.provenance import RunSummary, list_runs

    table = Table(title=f"runs in {folder}")
    for name in [
        "run",
        "status",
        "created",
        "model",
        "iters",
        "best held-out",
        "calls",
        "tokens",
        "money",
    ]:
        table.add_column(name)
    for item in list_runs(folder):
        if isinstance(item, RunSummary):
            table.add_row(
                item.path.name,
                item.status,
                item.created,
                item.model,
                str(item.iterations) if item.iterations >= 0 else "-",
                score(item.best_heldout, item.best_heldout_se),
                str(item.model_calls),
                str(item.tokens),
                money(item.money),
            )
        else:
            path, reason = item
            table.add_row(path.name, "unreadable", "", reason, "", "", "", "", "")
    _out().print(table)


@app.command()
def analyze(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    rules: Annotated[bool, typer.Option("--rules", help="Print the rule of each label.")] = False,
) -> None:
    """Strategy labels and reward-hacking / budget flags of every improver the model wrote."""
    from selftaught.report.analysis import FLAG_RULES, STRATEGY_RULES
    from selftaught.report.content import analyze_run
    from selftaught.report.records import RunRecords

    with RunRecords(run_dir) as records:
        analyses = analyze_run(records)
        out_of_bounds = records.out_of_bounds_scores()
    if as_json:
        print(
            json.dumps(
                {
                    "improvers": [
                        {
                            "iteration": a.iteration,
                            "what": a.where,
                            "program_hash": a.program_hash,
                            "strategies": a.analysis.strategies,
                            "flags": a.analysis.flags,
                            "error": a.analysis.error,
                        }
                        for a in analyses
                    ],
                    "score_out_of_bounds": len(out_of_bounds),
                },
                indent=2,
            )
        )
        return
    console = _out()
    table = Table(title=f"improvers written in {Path(run_dir).name}")
    for name in ["iter", "what", "program", "strategies", "flags"]:
        table.add_column(name)
    for a in analyses:
        table.add_row(
            str(a.iteration),
            a.where,
            a.program_hash,
            ", ".join(a.analysis.strategies) or "-",
            ", ".join(a.analysis.flags) or a.analysis.error or "-",
        )
    console.print(table)
    counts = Table(title="counts")
    counts.add_column("label")
    counts.add_column("improvers", justify="right")
    if rules:
        counts.add_column("rule")
    for label, rule in {**STRATEGY_RULES, **FLAG_RULES}.items():
        n = sum(label in a.analysis.strategies + a.analysis.flags for a in analyses)
        counts.add_row(label, str(n), *([rule] if rules else []))
    counts.add_row(
        "score_out_of_bounds",
        str(len(out_of_bounds)),
        *(["an evaluation scored outside [0, 1]"] if rules else []),
    )
    console.print(counts)
