"""`score`, `improve` and `transfer`: one program scored, one program improved, improvers
compared on tasks (the paper's Table 1)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.api.inputs import Program, make_config, program_source, resolve_task
from selftaught.api.results import (
    Candidate,
    ImproveResult,
    ScoreResult,
    TransferResult,
    Usage,
)
from selftaught.assembly import assemble, check_settings
from selftaught.errors import ProgramError, UserError
from selftaught.stop.context import Progress, RunContext, Scope
from selftaught.tasks.base import SPLITS, Task

TaskSpec = str | Path | Task | type[Task]
"""A task: a built-in name, a task file, an installed task's name, or a Python object."""


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; use {' or '.join(SPLITS)}")


def score(
    program: Program,
    task: TaskSpec,
    *,
    split: str = "validation",
    instance_key: str | None = None,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score `program` (source text, a .py path or a function) on one split of `task`
    (`validation` or `heldout`) in the sandbox. Makes no model calls and keeps nothing.
    Instances come from this user's instance key, or from `instance_key` if given."""
    from selftaught.program import check_program
    from selftaught.stop.solutions import SolutionScorer

    _check_split(split)
    the_task = resolve_task(task)
    src, label = program_source(program, "solution")
    problem = check_program(src, the_task.function, the_task.arity)
    if problem is not None:  # nothing to score: bad input, before any work starts
        raise ProgramError(f"{label}: {problem}")
    cfg = make_config(tasks=[the_task.name], instance_key=instance_key)
    with assemble(cfg, uses_model=False, progress=progress, tasks=[the_task]) as asm:
        ev = SolutionScorer(asm.context).evaluate(src, the_task, split, Scope(0, "score"))
    return ScoreResult.of(the_task.name, split, ev)


def _usage(ctx: RunContext, prefix: str) -> Usage:
    used = ctx.store.usage(scope_like=prefix + "%")
    run = ctx.store.usage()  # money is the whole run's
    return Usage(
        used.calls,
        used.samples,
        used.tokens,
        (run.cost or Decimal(0)) if run.priced else None,
    )


def _candidates(ctx: RunContext, prefix: str) -> list[Candidate]:
    out = []
    for r in ctx.store.evaluations(kind="solution", scope_like=prefix + "/u%"):
        src = ctx.store.program(r.program_hash)
        if src is not None:
            out.append(Candidate(src, 0.0 if r.score is None else r.score))
    return out


def improve(
    program: Program,
    task: TaskSpec,
    *,
    model: str | None = None,
    improver: str = "seed",
    preset: str | None = None,
    budgets: dict[str, Any] | None = None,
    seed: int | None = None,
    output: str | Path | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    instance_key: str | None = None,
    progress: Progress | None = None,
) -> ImproveResult:
    """Run one improver once on `program` against `task`'s utility.

    `program` is source text, a .py path or a function; `task` a task name, task file or
    Python task object; `improver` is `seed`, `greedy`, an improver .py file, `RUN_DIR:ITER`
    or improver source text. `budgets` overrides the preset's (`lm_calls`,
    `samples_per_call`, `utility_calls`, `max_tokens`). The model calls are recorded in a
    new run directory `<output>/<timestamp>-improve-<task>` (default `runs/`).

    The result holds the returned program (None if the improver failed), its validation
    and held-out scores next to the input's, the usage, the candidates the improver scored
    and the run directory. Bad input raises a `UserError` before any work starts.
    """
    from selftaught.stop.improver_run import run_improver
    from selftaught.stop.meta_utility import MetaUtility
    from selftaught.stop.solutions import SolutionScorer

    the_task = resolve_task(task)
    src, _ = program_source(program, "solution")
    cfg = make_config(
        preset=preset,
        model=model,
        seed=seed,
        output=None if output is None else str(output),
        executor=executor,
        ray_address=ray_address,
        budgets=budgets,
        instance_key=instance_key,
    )
    cfg = cfg.model_copy(update={"tasks": [the_task.name], "runs": 1})
    check_settings(cfg)
    improver_src = _improver_source(improver, cfg.keep_input)
    record = f"improve-{the_task.name}"
    note = progress.note if progress is not None else None
    with assemble(
        cfg,
        record=record,
        kind="improve",
        progress=progress,
        note=note,
        checked=True,
        tasks=[the_task],
    ) as asm:
        ctx = asm.context
        scorer = SolutionScorer(ctx)
        before = scorer.evaluate(src, the_task, "validation", Scope(0, "improve/before"))
        before_held = scorer.evaluate(src, the_task, "heldout", Scope(0, "improve/before"))
        scope = Scope(0, "improve/run")
        meta = MetaUtility(ctx, [the_task], scorer)
        ran = run_improver(
            ctx,
            improver_src,
            initial_solution=src,
            utility=meta.task_utility(the_task, scope),
            utility_str=the_task.utility_text,
            required_function=the_task.function,
            scope=scope,
        )
        after = after_held = None
        returned = ran.returned if ran.outcome == "ok" else None
        message = "ok"
        if returned is None:
            message = f"{ran.outcome}: {ran.message}".strip()
        else:
            after = scorer.evaluate(returned, the_task, "validation", Scope(0, "improve/after"))
            after_held = scorer.evaluate(returned, the_task, "heldout", Scope(0, "improve/after"))
        usage = _usage(ctx, "improve/")
        candidates = _candidates(ctx, scope.path)
        asm.status = "finished" if returned is not None else "failed"
    return ImproveResult(
        task=the_task.name,
        program=returned,
        input_program=src,
        validation=after.score if after else None,
        heldout=after_held.score if after_held else None,
        input_validation=before.score,
        input_heldout=before_held.score,
        outcome=ran.outcome,
        message=message,
        usage=usage,
        candidates=candidates,
        run_dir=asm.path,
        before=before,
        after=after,
    )


def _improver_source(improver: str, keep_input: bool) -> str:
    from selftaught.program import check_program
    from selftaught.stop.improvers import resolve_improver

    if "improve_algorithm" in improver and "\n" in improver:  # source text
        problem = check_program(improver, "improve_algorithm", 3)
        if problem is not None:
            raise ProgramError(f"improver: {problem}")
        return improver
    return resolve_improver(improver, keep_input=keep_input)


def transfer(
    improvers: str | list[str] | dict[str, str],
    tasks: Sequence[TaskSpec] | None = None,
    *,
    runs: int = 5,
    model: str | None = None,
    preset: str | None = None,
    seed: int | None = None,
    output: str | Path | None = None,
    parallel: int | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    instance_key: str | None = None,
    progress: Progress | None = None,
) -> TransferResult:
    """The paper's Table 1: per task, the seed solution's held-out utility, the seed
    improver's and each given improver's held-out meta-utility (mean ± SE over `runs`
    improver runs), and what each cost.

    `improvers` are specs (`greedy`, a .py file, `RUN_DIR:ITER`) or a dict label -> spec
    or source; `tasks` default to the five transfer tasks. Records and `transfer.json`
    land in a new run directory `<output>/<timestamp>-transfer`, kept as
    `result.run_dir`. Returns a `TransferResult`.
    """
    from selftaught.stop.improvers import improver_label
    from selftaught.stop.transfer import run_transfer
    from selftaught.tasks import TRANSFER_TASKS

    if runs < 1:
        raise UserError("--runs must be at least 1")
    the_tasks = [resolve_task(t) for t in (tasks or TRANSFER_TASKS)]
    cfg = make_config(
        preset=preset,
        model=model,
        seed=seed,
        output=None if output is None else str(output),
        parallel=parallel,
        executor=executor,
        ray_address=ray_address,
        instance_key=instance_key,
    )
    cfg = cfg.model_copy(update={"runs": runs, "tasks": [t.name for t in the_tasks]})
    check_settings(cfg)
    if isinstance(improvers, str):  # one improver, not its letters
        improvers = [improvers]
    specs: dict[str, str] = dict(improvers) if isinstance(improvers, dict) else {}
    if not isinstance(improvers, dict):
        for spec in improvers:
            label = improver_label(spec)
            while label in specs:
                label += "'"
            specs[label] = spec
    sources = {label: _improver_source(spec, cfg.keep_input) for label, spec in specs.items()}
    note = progress.note if progress is not None else None
    with assemble(
        cfg,
        record="transfer",
        kind="transfer",
        progress=progress,
        note=note,
        checked=True,
        tasks=the_tasks,
    ) as asm:
        result = run_transfer(asm.context, sources, the_tasks)
        path = asm.path / "transfer.json"
        path.write_text(json.dumps(result.to_json(), indent=2))
    return TransferResult.of(result, asm.path)
