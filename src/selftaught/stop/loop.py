"""The self-improvement loop: I_t = I_{t-1}(û, I_{t-1}, L)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from selftaught.program.check import check_program
from selftaught.sandbox.results import Outcome
from selftaught.stop.adoption import Decision, decide
from selftaught.stop.context import RunContext, Scope
from selftaught.stop.evaluation import MetaEvaluation
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.resume import ResumeState
from selftaught.stop.seed_improver import seed_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.store.db import program_hash
from selftaught.store.rows import IterationRow
from selftaught.store.rundir import RunDir
from selftaught.tasks.registry import get_task


@dataclass
class Iteration:
    """One row of the run table."""

    iteration: int
    improver: str
    evaluation: MetaEvaluation
    adopted: bool
    outcome: Outcome
    message: str
    seconds: float
    decision: Decision | None = None
    """The paired comparison with the parent, when a new candidate was scored."""


def run_stop(
    ctx: RunContext,
    initial_improver: str,
    run_dir: RunDir | None = None,
    *,
    resume: ResumeState | None = None,
    evaluation_cache: bool = True,
) -> list[Iteration]:
    """Evaluate the starting improver, then improve it `iterations` times.

    With `resume`, the completed iterations are taken as recorded and the loop goes on
    from the first one that did not complete (see `selftaught.stop.resume`).
    `evaluation_cache=False` scores a solution again each time it is met (benchmarks).
    """
    cfg = ctx.config
    tasks = [get_task(name) for name in cfg.tasks]
    meta = MetaUtility(ctx, tasks, SolutionScorer(ctx, cache=evaluation_cache))
    rows: list[Iteration] = []

    if resume is not None and resume.current is not None and resume.current_eval is not None:
        current, current_eval, first = resume.current, resume.current_eval, resume.next_iteration
        ctx.progress.scored(first - 1, current_eval.validation)
    else:
        start = time.perf_counter()
        ctx.progress.phase(0, "scoring the starting improver")
        current = initial_improver
        if run_dir is not None:
            run_dir.save_improver(current, 0)
        current_eval = meta.evaluate(current, Scope(0, "it0/eval"), heldout=True, seeds="eval")
        ctx.progress.scored(0, current_eval.validation)
        rows.append(
            Iteration(0, current, current_eval, True, "ok", "", time.perf_counter() - start)
        )
        _record(ctx, rows[-1], parent=None, proposer=None)
        first = 1

    for t in range(first, cfg.iterations + 1):
        start = time.perf_counter()
        ctx.progress.phase(t, "improving the improver")
        step_scope = Scope(t, f"it{t}/step")
        candidates = 0

        def meta_utility(src: str, k: int, _t: int = t, _scope: Scope = step_scope) -> float:
            nonlocal candidates
            candidates += 1
            if run_dir is not None:
                run_dir.save_improver(src, _t, candidate=k)
            score = meta.evaluate(src, _scope.child(f"c{k}"), heldout=False).validation
            ctx.progress.candidate(_t, score)
            return score

        # Non-recursive: the seed improver, not the current one, proposes the next improver.
        proposer = current
        if cfg.mode == "non-recursive":
            proposer = seed_improver(keep_input=cfg.keep_input)
        step = run_improver(
            ctx,
            proposer,
            initial_solution=current,
            utility=meta_utility,
            utility_str=meta.str,
            required_function="improve_algorithm",
            scope=step_scope,
        )
        proposed = step.returned if step.outcome == "ok" else None
        outcome, message = step.outcome, step.message
        if proposed is not None:
            problem = check_program(proposed, "improve_algorithm", 3)
            if problem is not None:
                outcome, message, proposed = "error", f"returned improver: {problem}", None
        decision = None
        if proposed is None or same_program(proposed, current):
            candidate, evaluation, adopted = current, current_eval, False
            if proposed is not None:
                message = "returned its input unchanged"
        else:
            candidate = proposed
            ctx.progress.phase(t, "scoring the new improver")
            evaluation = meta.evaluate(
                candidate, Scope(t, f"it{t}/eval"), heldout=True, seeds="eval"
            )
            ctx.progress.scored(t, evaluation.validation)
            ctx.progress.phase(t, "confirming on fresh instances")
            pairs = meta.confirm(t, evaluation, current_eval)
            decision = decide(cfg.adoption, pairs, level=cfg.adoption_level)
            adopted = decision.adopted
            ctx.progress.decided(t, decision)
        if run_dir is not None:
            run_dir.save_improver(candidate, t)
        parent = current
        if adopted:
            current, current_eval = candidate, evaluation
        rows.append(
            Iteration(
                t,
                candidate,
                evaluation,
                adopted,
                outcome,
                message,
                time.perf_counter() - start,
                decision,
            )
        )
        _record(ctx, rows[-1], parent=parent, proposer=proposer)
    return rows


def _record(ctx: RunContext, row: Iteration, *, parent: str | None, proposer: str | None) -> None:
    usage = ctx.store.usage(iteration=row.iteration)
    ev = row.evaluation
    ctx.store.add_iteration(
        IterationRow(
            iteration=row.iteration,
            improver_hash=ctx.store.save_program(row.improver, "improver"),
            parent_hash=program_hash(parent) if parent else None,
            proposer_hash=program_hash(proposer) if proposer else None,
            validation=ev.validation,
            validation_se=ev.validation_se,
            heldout=ev.heldout,
            heldout_se=ev.heldout_se,
            adopted=int(row.adopted),
            outcome=row.outcome,
            message=row.message[:1000],
            model_calls=usage.calls,
            samples=usage.samples,
            usable=usage.usable,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            evaluations=ctx.store.solution_evaluations(row.iteration),
            seconds=row.seconds,
            **_paired_columns(row.decision),
        )
    )


def same_program(a: str, b: str) -> bool:
    """Whether two improvers are the same program as the loop means it: text that differs
    only in line endings or in blank lines and whitespace at its start or end (which models
    and code fences change freely) is not a new improver and is not scored again."""
    return _normalise(a) == _normalise(b)


def _normalise(src: str) -> str:
    return src.replace("\r\n", "\n").strip("\n").rstrip()


def _paired_columns(decision: Decision | None) -> dict:
    if decision is None:
        return {}
    return {
        "paired_diff": decision.diff,
        "paired_lower": decision.lower,
        "paired_n": decision.n,
        "paired_level": decision.level,
    }
