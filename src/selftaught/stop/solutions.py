"""Scoring solutions: run in the sandbox on the inputs, compared here with the answers.

Instances come from the run's secret instance key (`tasks.keys`). Solution evaluations
are deterministic (the key's instances, seeded worker state), so the
same program text on the same task and split is run once per run and then reused.
"""

from __future__ import annotations

import json
import statistics
import threading
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from selftaught.program.check import check_program
from selftaught.sandbox.results import Outcome
from selftaught.stop.context import RunContext, Scope
from selftaught.store.db import program_hash
from selftaught.store.rows import EvaluationRow
from selftaught.tasks.base import Task
from selftaught.tasks.speed import is_speed_task, speed_score


def _per_instance(result: Any, n: int) -> float:
    """CPU seconds per instance; where the CPU clock cannot be read (not Linux), the
    instances' measured seconds instead."""
    if result.cpu_seconds is not None:
        return result.cpu_seconds / n
    return sum(r.seconds for r in result.instances) / n


@dataclass(frozen=True)
class Evaluation:
    """A solution's score on one split of one task, and how its instances went."""

    score: float
    instances: int
    solved: int
    failed: int
    timed_out: int
    outcome: Outcome
    message: str = ""
    seconds: float = 0.0
    cache_hit: bool = False
    cpu_seconds: float | None = None
    """CPU time of the workers (see `SolveResult.cpu_seconds`)."""


class SolutionScorer:
    """Scores solutions for one run; shares a content-addressed cache across threads."""

    def __init__(self, ctx: RunContext, *, cache: bool = True) -> None:
        """`cache=False` runs every evaluation, as code that caches nothing would."""
        self.ctx = ctx
        self.cache = cache
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], Future[Evaluation]] = {}

    def evaluate(self, src: str, task: Task, split: str, scope: Scope) -> Evaluation:
        digest = program_hash(src)
        if not self.cache:
            result = self._run(src, task, split, scope, digest)
            self._record(result, digest, task, split, scope)
            return result
        key = (digest, task.name, split)
        with self._lock:
            fut = self._cache.get(key)
            owner = fut is None
            if owner:
                fut = self._cache[key] = Future()
        assert fut is not None
        if owner:
            try:
                result = self._run(src, task, split, scope, digest)
            except BaseException as exc:
                fut.set_exception(exc)
                with self._lock:
                    self._cache.pop(key, None)
                raise
            fut.set_result(result)
        else:
            result = replace(fut.result(), cache_hit=True, seconds=0.0)
        self._record(result, digest, task, split, scope)
        return result

    def _run(self, src: str, task: Task, split: str, scope: Scope, digest: str) -> Evaluation:
        instances = task.instances(split, self.ctx.instance_key)
        n = len(instances)
        problem = check_program(src, task.function, task.arity)
        if problem is not None:
            return Evaluation(0.0, n, 0, n, 0, "error", problem)
        self.ctx.store.save_program(src, "solution")
        result = self.ctx.sandbox.solve(
            src,
            function=task.function,
            instances=[inst.inputs for inst in instances],
            instance_timeout=task.instance_timeout,
        )
        self.ctx.record_events(scope, digest, result.events)
        if result.outcome != "ok":
            return Evaluation(
                0.0,
                n,
                0,
                0 if result.outcome == "timeout" else n,
                n if result.outcome == "timeout" else 0,
                result.outcome,
                result.message,
                result.seconds,
            )
        scores = []
        for inst, res in zip(instances, result.instances, strict=True):
            scores.append(task.safe_score(res.output, inst.answer) if res.outcome == "ok" else 0.0)
        outcomes = [r.outcome for r in result.instances]
        first_error = next((r.message for r in result.instances if r.outcome != "ok"), "")
        value = sum(scores) / n if n else 0.0
        if is_speed_task(task) and n:
            value = self._speed(src, task, split, value, _per_instance(result, n))
        return Evaluation(
            score=value,
            instances=n,
            solved=outcomes.count("ok"),
            failed=sum(o not in ("ok", "timeout") for o in outcomes),
            timed_out=outcomes.count("timeout"),
            outcome="ok",
            message=first_error[:500],
            seconds=result.seconds,
            cpu_seconds=result.cpu_seconds,
        )

    def _timed(self, src: str, task: Task, split: str) -> float | None:
        """CPU seconds per instance of one more run of `src` on `split`."""
        instances = task.instances(split, self.ctx.instance_key)
        run = self.ctx.sandbox.solve(
            src,
            function=task.function,
            instances=[inst.inputs for inst in instances],
            instance_timeout=task.instance_timeout,
        )
        return _per_instance(run, len(instances)) if run.outcome == "ok" else None

    def _speed(
        self, src: str, task: Task, split: str, correct: float, first: float | None
    ) -> float:
        """A speed task's score, `correct / (1 + r)`: r is the median over `timing_runs`
        pairs of this program's CPU time over the seed's, each pair timed back to back, so
        that both see the same load from the rest of the machine."""
        if correct <= 0 or first is None:
            return 0.0
        ratios = []
        for k in range(task.timing_runs):
            mine = first if k == 0 else self._timed(src, task, split)
            seed = self._timed(task.seed_solution, task, split)
            if mine is not None and seed:
                ratios.append(mine / seed)
        return speed_score(correct, statistics.median(ratios), 1.0) if ratios else 0.0

    def _record(self, ev: Evaluation, digest: str, task: Task, split: str, scope: Scope) -> None:
        self.ctx.store.add_evaluation(
            EvaluationRow(
                iteration=scope.iteration,
                scope=scope.path,
                kind="solution",
                program_hash=digest,
                task=task.name,
                split=split,
                seeds=json.dumps([task.seeds(split)[0], task.seeds(split)[-1]]),
                score=ev.score,
                instances=ev.instances,
                solved=ev.solved,
                failed=ev.failed,
                timed_out=ev.timed_out,
                outcome=ev.outcome,
                message=ev.message,
                seconds=ev.seconds,
                cache_hit=int(ev.cache_hit),
            )
        )
