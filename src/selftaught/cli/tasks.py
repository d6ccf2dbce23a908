"""`selftaught tasks`, `score` and `improve`: look at tasks, score a program, improve it once.

Records: `score` makes no model calls and keeps nothing (a throwaway store in a temporary
directory). `improve` spends model calls, so it records them like a run does, in a run
directory `<output>/<timestamp>-improve-<task>/` (default `runs/`), whose path it prints.

`improve` writes only a usable program (`program.check`, the rule every program is run
by); otherwise it says why in one line on stderr and exits 1. The diff it prints is at
most `DIFF_LINES` lines of at most `DIFF_CHARS` characters together; text from programs
and workers is printed without control characters (`text.printable`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from selftaught.cli import app
from selftaught.text import printable

if TYPE_CHECKING:
    from selftaught.api.results import ScoreResult
    from selftaught.stop.solutions import Evaluation

EXECUTOR_HELP = "Where sandboxed work runs: local or ray."
RAY_ADDRESS_HELP = "Ray cluster: auto or ray://host:port (default: start a local Ray)."
INSTANCE_KEY_HELP = "Pin the instance key (a shared benchmark); default: this user's key."
DIFF_LINES = 200
"""The most lines of a diff `improve` prints."""
DIFF_CHARS = 20_000
"""The most characters of a diff `improve` prints."""


def one_line(text: str, limit: int = 300) -> str:
    """The last line of `text` that says something, printable, at most `limit` long."""
    lines = [line for line in printable(text).splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    return last if len(last) <= limit else last[: limit - 3] + "..."


def bounded_diff(lines: list[str], where: str) -> list[str]:
    """A diff's lines to print: printable, at most `DIFF_LINES` lines and `DIFF_CHARS`
    characters, and a last line saying what was left out."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        shown = printable(line.rstrip("\n"))
        if i >= DIFF_LINES or used + len(shown) > DIFF_CHARS:
            out.append(f"... the diff goes on for {len(lines) - i:,} more lines; see {where}")
            break
        out.append(shown)
        used += len(shown) + 1
    return out


def describe(ev: Evaluation | ScoreResult) -> str:
    parts = [f"{ev.solved} answered", f"{ev.failed} failed", f"{ev.timed_out} timed out"]
    text = f"{ev.score:.4f} on {ev.instances} instances ({', '.join(parts)})"
    if one_line(ev.message or ""):
        text += f"; first problem: {one_line(ev.message, 160)}"
    return text


@app.command("tasks")
def tasks_command(
    name: Annotated[str | None, typer.Argument(help="A task name or task file.")] = None,
    seed: Annotated[bool, typer.Option("--seed", help="Print only the seed solution.")] = False,
) -> None:
    """List the tasks, or show one: description, utility text, seed solution."""
    from selftaught.tasks import all_tasks, get_task

    out = Console(highlight=False, soft_wrap=True)
    if name is None:
        listing = all_tasks()
        width = max(len(n) for n in listing)
        for task_name, description in listing.items():
            out.print(printable(f"{task_name:<{width}}  {description}"), markup=False)
        return
    task = get_task(name)
    if seed:
        sys.stdout.write(task.seed_solution)
        return
    out.print(Text(printable(task.name), style="bold") + Text(f": {printable(task.description)}"))
    out.print(
        printable(
            f"solutions define {task.function}() with {task.arity} argument(s); "
            f"{task.n_validation} validation and {task.n_heldout} held-out instances; "
            f"{task.instance_timeout:g} s per instance"
        ),
        markup=False,
    )
    out.print("\n[bold]utility shown to the model[/bold]")
    out.print(printable(task.utility_text), markup=False)
    out.print("[bold]seed solution[/bold]")
    out.print(printable(task.seed_solution), markup=False)


@app.command("score")
def score_command(
    solution: Annotated[Path, typer.Argument(help="The solution .py file.")],
    task: Annotated[str, typer.Option("--task", help="Task name or task file.")],
    split: Annotated[str, typer.Option(help="validation or heldout.")] = "validation",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    instance_key: Annotated[str | None, typer.Option(help=INSTANCE_KEY_HELP)] = None,
) -> None:
    """Score one solution in the sandbox."""
    from selftaught.api.solving import score

    result = score(solution, task, split=split, instance_key=instance_key)
    if as_json:
        data = asdict(result)
        if data["cpu_seconds"] is None:
            data.pop("cpu_seconds")
        print(json.dumps(data))
        return
    print(f"{result.task} ({split}): score {describe(result)}")


def records_line(console: Console):
    """A progress that shows the run directory as `records: PATH` and the executor's start."""
    from selftaught.progress import RichProgress

    class _Records(RichProgress):
        def note(self, kind: str, line: str) -> None:
            if kind == "run_dir":
                shown = printable(line.replace("run directory:", "records:", 1))
                self.console.print(shown, markup=False, highlight=False)
            elif kind == "executor":
                self.console.print(printable(line), markup=False, highlight=False)

    return _Records(console)


@app.command("improve")
def improve_command(
    solution: Annotated[Path, typer.Argument(help="The solution .py file to improve.")],
    task: Annotated[str, typer.Option("--task", help="Task name or task file.")],
    improver: Annotated[
        str, typer.Option(help="seed, greedy, an improver .py file or RUN_DIR:ITER.")
    ] = "seed",
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Where to write the improved solution.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model string, e.g. local:smollm2.")] = None,
    preset: Annotated[str | None, typer.Option(help="Budgets preset: default or paper.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed.")] = None,
    output: Annotated[str | None, typer.Option(help="Folder of run directories.")] = None,
    executor: Annotated[str | None, typer.Option(help=EXECUTOR_HELP)] = None,
    ray_address: Annotated[str | None, typer.Option(help=RAY_ADDRESS_HELP)] = None,
    instance_key: Annotated[str | None, typer.Option(help=INSTANCE_KEY_HELP)] = None,
) -> None:
    """Run one improver once on a solution; write the result, show scores and a diff."""
    from selftaught.api.inputs import resolve_task
    from selftaught.api.solving import improve
    from selftaught.program.check import check_program

    the_task = resolve_task(task)
    result = improve(
        solution,
        the_task,
        improver=improver,
        model=model,
        preset=preset,
        seed=seed,
        output=output,
        executor=executor,
        ray_address=ray_address,
        instance_key=instance_key,
        progress=records_line(Console(stderr=True, highlight=False)),
    )
    print(f"before: {describe(result.before)}")
    target = out or solution.with_name(f"{solution.stem}.improved.py")
    if result.after is None or result.program is None:
        _refuse(f"the improver failed ({one_line(result.message)}); nothing written to {target}")
    print(f"after:  {describe(result.after)}")
    problem = check_program(result.program, the_task.function, the_task.arity)
    if problem is not None:
        _refuse(
            f"the improver returned a program that is not usable ({one_line(problem)});"
            f" nothing written to {target}"
        )
    target.write_text(result.program)
    print(f"wrote {target}")
    from selftaught.program.diff import unified_lines

    diff = unified_lines(
        result.input_program.splitlines(keepends=True),
        result.program.splitlines(keepends=True),
        fromfile=str(solution),
        tofile=str(target),
    )
    for line in bounded_diff(diff, str(target)):
        print(line)


def _refuse(message: str) -> NoReturn:
    """One line on stderr, exit code 1: the improver's result is not written."""
    print(f"selftaught: error: {printable(message)}", file=sys.stderr)
    raise typer.Exit(1)
