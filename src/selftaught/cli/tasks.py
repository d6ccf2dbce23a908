"""`selftaught tasks`, `score` and `improve`: look at tasks, score a program, improve it once.

Records: `score` makes no model calls and keeps nothing (a throwaway store in a temporary
directory). `improve` spends model calls, so it records them like a run does, in a run
directory `<output>/<timestamp>-improve-<task>/` (default `runs/`), whose path it prints.
"""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from selftaught.cli import app

if TYPE_CHECKING:
    from selftaught.api.results import ScoreResult
    from selftaught.stop.solutions import Evaluation

EXECUTOR_HELP = "Where sandboxed work runs: local or ray."
RAY_ADDRESS_HELP = "Ray cluster: auto or ray://host:port (default: start a local Ray)."
INSTANCE_KEY_HELP = "Pin the instance key (a shared benchmark); default: this user's key."


def describe(ev: Evaluation | ScoreResult) -> str:
    parts = [f"{ev.solved} answered", f"{ev.failed} failed", f"{ev.timed_out} timed out"]
    text = f"{ev.score:.4f} on {ev.instances} instances ({', '.join(parts)})"
    if ev.message:
        text += f"; first problem: {ev.message.strip().splitlines()[-1][:160]}"
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
            out.print(f"{task_name:<{width}}  {description}", markup=False)
        return
    task = get_task(name)
    if seed:
        sys.stdout.write(task.seed_solution)
        return
    out.print(f"[bold]{task.name}[/bold]: {task.description}")
    out.print(
        f"solutions define {task.function}() with {task.arity} argument(s); "
        f"{task.n_validation} validation and {task.n_heldout} held-out instances; "
        f"{task.instance_timeout:g} s per instance",
        markup=False,
    )
    out.print("\n[bold]utility shown to the model[/bold]")
    out.print(task.utility_text, markup=False)
    out.print("[bold]seed solution[/bold]")
    out.print(task.seed_solution, markup=False)


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
                self.console.print(line.replace("run directory:", "records:", 1))
            elif kind == "executor":
                self.console.print(line)

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
    from selftaught.api.solving import improve

    result = improve(
        solution,
        task,
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
    if result.after is None or result.program is None:
        print(f"the improver failed ({result.message}); nothing written")
        raise typer.Exit(1)
    print(f"after:  {describe(result.after)}")
    target = out or solution.with_name(f"{solution.stem}.improved.py")
    target.write_text(result.program)
    print(f"wrote {target}")
    diff = difflib.unified_diff(
        result.input_program.splitlines(keepends=True),
        result.program.splitlines(keepends=True),
        fromfile=str(solution),
        tofile=str(target),
    )
    sys.stdout.writelines(diff)
