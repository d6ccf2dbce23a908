"""Reading runs: `report`, `show`, `export`, `runs`, `analyze`. None of them writes to a run's
records; a folder that is not a run, or a run this version cannot read, is one line and
exit code 2. Text from the records reaches the terminal only through `text.printable` (no
escape sequences, no control characters but newline and tab) and never as rich markup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from selftaught.cli import app
from selftaught.text import printable


def _out() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=140)


def _cell(value: object) -> Text:
    """A table cell of text from the records: printable, never read as markup."""
    return Text(printable(str(value)))


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
    print(printable(f"report: {files.html}"))
    print(printable(f"report: {files.markdown}"))


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
    shown = "\n\n".join(format_provenance(p) for p in records_shown)
    print(printable(shown) or "no adopted improvers yet")


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
    print(printable(f"wrote {path}"))


@app.command()
def runs(
    folder: Annotated[Path, typer.Argument(help="Folder of run directories.")] = Path("runs"),
) -> None:
    """List the runs in a folder: status, best held-out meta-utility, cost, date."""
    from selftaught.report.format import money, score
    from selftaught.report.provenance import RunSummary, list_runs

    table = Table(title=_cell(f"runs in {folder}"))
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
                *map(
                    _cell,
                    [
                        item.path.name,
                        item.status,
                        item.created,
                        item.model,
                        str(item.iterations) if item.iterations >= 0 else "-",
                        score(item.best_heldout, item.best_heldout_se),
                        str(item.model_calls),
                        str(item.tokens),
                        money(item.money),
                    ],
                )
            )
        else:
            path, reason = item
            table.add_row(*map(_cell, [path.name, "unreadable", "", reason, "", "", "", "", ""]))
    _out().print(table)


@app.command()
def analyze(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    rules: Annotated[bool, typer.Option("--rules", help="Print the rule of each label.")] = False,
    confirm: Annotated[
        bool,
        typer.Option("--confirm", help="Ask the model yes/no about each strategy label."),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model to ask with --confirm (default: the run's model)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="JSON file for the --confirm answers (default: ./confirm_<run>.json; "
            "never inside the run directory).",
        ),
    ] = None,
) -> None:
    """Strategy labels and reward-hacking / budget flags of every improver the model wrote,
    and the flags of every solution scored."""
    from selftaught.program.analysis import FLAG_RULES, STRATEGY_RULES
    from selftaught.report.content import analyze_run, analyze_solutions
    from selftaught.report.records import RunRecords

    confirmation = target = None
    with RunRecords(run_dir) as records:
        analyses = analyze_run(records)
        solutions = analyze_solutions(records)
        out_of_bounds = records.out_of_bounds_scores()
        if confirm:
            from selftaught.assembly import confirm_backend
            from selftaught.lm.registry import default_concurrency
            from selftaught.report.confirm import (
                confirm_labels,
                output_path,
                with_sources,
            )

            target = output_path(run_dir, output)
            backend = confirm_backend(records.config, model)
            try:
                confirmation = confirm_labels(
                    with_sources(records, analyses),
                    backend,
                    run=str(records.path),
                    concurrency=default_concurrency(backend.name),
                )
            finally:
                backend.close()
    if confirmation is not None and target is not None:
        from selftaught.report.confirm import write_confirmation

        write_confirmation(confirmation, target)
    answers = {
        (i.iteration, i.program_hash): {x.label: x.answer for x in i.answers}
        for i in (confirmation.improvers if confirmation else [])
    }
    confirmed = confirmation.counts() if confirmation else {}
    if as_json:
        found: dict = {
            "improvers": [
                {
                    "iteration": a.iteration,
                    "what": a.where,
                    "program_hash": a.program_hash,
                    "strategies": a.analysis.strategies,
                    "flags": a.analysis.flags,
                    "error": a.analysis.error,
                    **(
                        {"confirmed": answers.get((a.iteration, a.program_hash), {})}
                        if confirmation
                        else {}
                    ),
                }
                for a in analyses
            ],
            "solutions": [
                {
                    "iteration": a.iteration,
                    "program_hash": a.program_hash,
                    "flags": a.analysis.flags,
                    "error": a.analysis.error,
                }
                for a in solutions
            ],
            "score_out_of_bounds": len(out_of_bounds),
        }
        if confirmation:
            found["confirm"] = {
                "model": confirmation.model,
                "file": str(target),
                "counts": confirmation.to_json()["counts"],
            }
        print(json.dumps(found, indent=2))
        return
    console = _out()
    table = Table(title=_cell(f"improvers written in {Path(run_dir).name}"))
    columns = ["iter", "what", "program", "strategies", "flags"]
    for name in columns + (["model says"] if confirmation else []):
        table.add_column(name)
    for a in analyses:
        said = answers.get((a.iteration, a.program_hash), {})
        table.add_row(
            *map(
                _cell,
                [
                    str(a.iteration),
                    a.where,
                    a.program_hash,
                    ", ".join(a.analysis.strategies) or "-",
                    ", ".join(a.analysis.flags) or a.analysis.error or "-",
                    *(
                        [", ".join(f"{k}: {v}" for k, v in said.items()) or "-"]
                        if confirmation
                        else []
                    ),
                ],
            )
        )
    console.print(table)
    flagged = [a for a in solutions if a.analysis.flags]
    if flagged:
        found_in = Table(title=_cell(f"flagged solutions scored in {Path(run_dir).name}"))
        for name in ["iter", "program", "flags"]:
            found_in.add_column(name)
        for a in flagged:
            found_in.add_row(
                *map(_cell, [str(a.iteration), a.program_hash, ", ".join(a.analysis.flags)])
            )
        console.print(found_in)
    counts = Table(title="counts")
    counts.add_column("label")
    counts.add_column("improvers", justify="right")
    counts.add_column("solutions", justify="right")
    if confirmation:
        for name in ["confirmed", "denied", "unclear"]:
            counts.add_column(name, justify="right")
    if rules:
        counts.add_column("rule")
    for label, rule in {**STRATEGY_RULES, **FLAG_RULES}.items():
        n = sum(label in a.analysis.strategies + a.analysis.flags for a in analyses)
        in_solutions = str(sum(label in a.analysis.flags for a in solutions))
        asked: list[str] = []
        if confirmation:
            c = confirmed.get(label)
            asked = [str(c[k]) for k in ("yes", "no", "unclear")] if c is not None else [""] * 3
        shown = in_solutions if label in FLAG_RULES else "-"
        counts.add_row(label, str(n), shown, *asked, *([rule] if rules else []))
    counts.add_row(
        "score_out_of_bounds",
        str(len(out_of_bounds)),
        "",
        *([""] * 3 if confirmation else []),
        *(["an evaluation scored outside [0, 1]"] if rules else []),
    )
    console.print(counts)
    if confirmation:
        asked_n = sum(len(i.answers) for i in confirmation.improvers)
        print(
            printable(
                f"confirm: asked {confirmation.model} {asked_n} questions "
                f"({confirmation.usage.tokens} tokens); answers in {target}"
            )
        )
