"""`selftaught tasks`, `score` and `improve`: look at tasks, score a program, improve it once.

Records: `score` makes no model calls and keeps nothing (a throwaway store in a temporary
directory). `improve` spends model calls, so it records them like a run does, in a run
directory `<output>/<timestamp>-improve-<task>/` (default `runs/`), whose path it prints.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from selftaught.cli import app
from selftaught.config import RunConfig, load_config
from selftaught.errors import UserError
from selftaught.executors import Executor, LocalExecutor, SandboxLike, check_executor, make_executor
from selftaught.lm.registry import check_model_string, make_backend
from selftaught.sandbox import Limits, check_program
from selftaught.sandbox.cgroup import RunBounds, bounds_for
from selftaught.stop.context import RunContext, Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.improvers import resolve_improver
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.solutions import Evaluation, SolutionScorer
from selftaught.store import RunDir
from selftaught.tasks import SPLITS, Task, all_tasks, check_seed, get_task


def open_sandbox(cfg: RunConfig, executor: Executor | None = None) -> SandboxLike:
    """A sandbox with the limits of `cfg`, where `executor` runs work (default: here)."""
    sb = cfg.sandbox
    return (executor or LocalExecutor()).sandbox(
        solution_limits=Limits(cpu_seconds=sb.solution_cpu_seconds, memory_mb=sb.memory_mb),
        improver_limits=Limits(cpu_seconds=sb.improver_cpu_seconds, memory_mb=sb.memory_mb),
        isolate_network=sb.isolate_network,
        drop_privileges=sb.drop_privileges,
        run_bounds=run_bounds(cfg),
    )


def run_bounds(cfg: RunConfig) -> RunBounds:
    """What all sandboxed workers of a run of `cfg` may use together."""
    sb = cfg.sandbox
    return bounds_for(
        parallel=cfg.parallel,
        memory_mb=sb.memory_mb,
        run_memory_mb=sb.run_memory_mb,
        run_pids=sb.run_pids,
    )


@contextlib.contextmanager
def one_off_context(
    cfg: RunConfig, *, record: str | None, console: Console | None = None
) -> Iterator[tuple[RunContext, Path]]:
    """A run context for one command, on the executor of `cfg` (`parallel` wide). With
    `record`, a run directory of that name under `cfg.output` keeps the records; without,
    a temporary directory that is removed."""
    check_executor(cfg.executor, cfg.ray_address)
    with contextlib.ExitStack() as stack:
        if cfg.executor != "local" and console is not None:
            console.print(f"starting the {cfg.executor} executor ...")
        executor = stack.enter_context(
            make_executor(cfg.executor, max_workers=cfg.parallel, address=cfg.ray_address)
        )
        sandbox = stack.enter_context(open_sandbox(cfg, executor))
        if record is None:
            parent = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="selftaught-")))
            run_dir = RunDir.create(parent, "oneoff")
        else:
            run_dir = RunDir.create(Path(cfg.output), record)
            run_dir.write_config(cfg.model_dump(mode="json"))
        store = run_dir.open_store()
        stack.callback(store.close)
        store.set_meta("config", cfg.model_dump(mode="json"))
        store.set_meta("sandbox_network", sandbox.network_mode)
        store.set_meta("sandbox_privileges", sandbox.privileges)
        store.set_meta("sandbox_containment", getattr(sandbox, "containment", None))
        backend = make_backend(cfg.model, cfg.lm) if record is not None else _NoModel()
        yield RunContext(cfg, backend, sandbox, store, executor=executor), run_dir.path


class _NoModel:
    """Backend for commands that never call the model."""

    name = "none"

    def complete(self, request: object) -> object:
        raise RuntimeError("this command does not call the language model")


def read_program(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise UserError(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {what} file {path}: {exc}") from None


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; use {' or '.join(SPLITS)}")


def describe(ev: Evaluation) -> str:
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
) -> None:
    """Score one solution in the sandbox."""
    _check_split(split)
    the_task = get_task(task)
    src = read_program(solution, "solution")
    problem = check_program(src, the_task.function, the_task.arity)
    if problem is not None:  # nothing to score: bad input, before any work starts
        raise UserError(f"{solution}: {problem}")
    cfg = load_config(overrides={"tasks": [the_task.name]})
    with one_off_context(cfg, record=None) as (ctx, _):
        check_seed(the_task, ctx.sandbox)
        ev = SolutionScorer(ctx).evaluate(src, the_task, split, Scope(0, "score"))
    if as_json:
        data = {"task": the_task.name, "split": split, **asdict(ev)}
        data.pop("cache_hit", None)
        print(json.dumps(data))
        return
    print(f"{the_task.name} ({split}): score {describe(ev)}")


def _overrides(**flags: object) -> dict:
    return {k: v for k, v in flags.items() if v is not None}


EXECUTOR_HELP = "Where sandboxed work runs: local or ray."
RAY_ADDRESS_HELP = "Ray cluster: auto or ray://host:port (default: start a local Ray)."


def improve_once(
    ctx: RunContext, task: Task, improver_src: str, solution: str
) -> tuple[Evaluation, Evaluation | None, str | None, str]:
    """Run one improver once on `solution`. Returns the solution's validation score before,
    the returned program's validation score (None if the run failed), the returned
    program, and the run's outcome message."""
    scorer = SolutionScorer(ctx)
    before = scorer.evaluate(solution, task, "validation", Scope(0, "improve/before"))
    meta = MetaUtility(ctx, [task], scorer)
    scope = Scope(0, "improve/run")
    run = run_improver(
        ctx,
        improver_src,
        initial_solution=solution,
        utility=meta.task_utility(task, scope),
        utility_str=task.utility_text,
        required_function=task.function,
        scope=scope,
    )
    if run.outcome != "ok" or run.returned is None:
        return before, None, None, f"{run.outcome}: {run.message}".strip()
    after = scorer.evaluate(run.returned, task, "validation", Scope(0, "improve/after"))
    return before, after, run.returned, "ok"


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
) -> None:
    """Run one improver once on a solution; write the result, show scores and a diff."""
    the_task = get_task(task)
    src = read_program(solution, "solution")
    flags = _overrides(
        model=model, seed=seed, output=output, executor=executor, ray_address=ray_address
    )
    cfg = load_config(preset=preset, overrides=flags)
    cfg = cfg.model_copy(update={"tasks": [the_task.name], "runs": 1})
    check_model_string(cfg.model, cfg.lm)
    check_executor(cfg.executor, cfg.ray_address)
    improver_src = resolve_improver(improver, keep_input=cfg.keep_input)
    target = out or solution.with_name(f"{solution.stem}.improved.py")
    err = Console(stderr=True, highlight=False)
    with one_off_context(cfg, record=f"improve-{the_task.name}", console=err) as (ctx, run_path):
        err.print(f"records: {run_path}")
        check_seed(the_task, ctx.sandbox)
        before, after, returned, message = improve_once(ctx, the_task, improver_src, src)
    print(f"before: {describe(before)}")
    if after is None or returned is None:
        print(f"the improver failed ({message}); nothing written")
        raise typer.Exit(1)
    print(f"after:  {describe(after)}")
    target.write_text(returned)
    print(f"wrote {target}")
    diff = difflib.unified_diff(
        src.splitlines(keepends=True),
        returned.splitlines(keepends=True),
        fromfile=str(solution),
        tofile=str(target),
    )
    sys.stdout.writelines(diff)
