"""The meta-utility: the mean downstream score an improver reaches over a task suite.

û(I) = mean over tasks and runs of u(I(u, s, L)). Improver runs see only the validation
split; the held-out score of what they returned is computed here, by the orchestrator,
and never passed to an improver (docs/design.md, section "Invariants"). So is the
confirmation score an adoption decision weighs (`confirm`, docs/loop.md).
"""

from __future__ import annotations

from selftaught.stop.context import RunContext, Scope
from selftaught.stop.evaluation import ConfirmationPair, MetaEvaluation, RunScore
from selftaught.stop.improver_run import run_improver
from selftaught.stop.seed_improver import meta_utility_text
from selftaught.stop.solutions import SolutionScorer
from selftaught.store.db import program_hash
from selftaught.store.rows import EvaluationRow, ImproverRunRow
from selftaught.tasks.base import Task, confirmation_split


class MetaUtility:
    """Scores improvers by running them on the task suite in the sandbox."""

    def __init__(self, ctx: RunContext, tasks: list[Task], scorer: SolutionScorer) -> None:
        self.ctx = ctx
        self.tasks = tasks
        self.scorer = scorer
        b = ctx.config.budgets
        self.str = meta_utility_text(
            tasks=[t.name for t in tasks],
            runs=ctx.config.runs,
            lm_calls=b.lm_calls,
            samples_per_call=b.samples_per_call,
            utility_calls=b.utility_calls,
        )

    def task_utility(self, task: Task, scope: Scope):
        """The validation utility an improver run on `task` may call."""

        def utility(src: str, k: int) -> float:
            return self.scorer.evaluate(src, task, "validation", scope.child(f"u{k}")).score

        return utility

    def _one_run(
        self, improver_src: str, task: Task, r: int, scope: Scope, heldout: bool, seeds: str | None
    ) -> RunScore:
        run_scope = scope.child(f"{task.name}/r{r}")
        run = run_improver(
            self.ctx,
            improver_src,
            initial_solution=task.seed_solution,
            utility=self.task_utility(task, run_scope),
            utility_str=task.utility_text,
            required_function=task.function,
            scope=run_scope,
            seed_key=None if seeds is None else f"{seeds}/{task.name}/r{r}",
        )
        validation, held = 0.0, (0.0 if heldout else None)
        returned_hash = returned = None
        if run.outcome == "ok" and run.returned is not None:
            returned = run.returned
            # kept whatever it is, so that a resumed run can score it again (`confirm`)
            returned_hash = self.ctx.store.save_program(returned, "solution")
            final = run_scope.child("final")
            validation = self.scorer.evaluate(run.returned, task, "validation", final).score
            if heldout:
                held = self.scorer.evaluate(run.returned, task, "heldout", final).score
        self.ctx.store.add_improver_run(
            ImproverRunRow(
                iteration=scope.iteration,
                scope=run_scope.path,
                purpose="meta_utility",
                improver_hash=program_hash(improver_src),
                task=task.name,
                initial_hash=program_hash(task.seed_solution),
                returned_hash=returned_hash,
                outcome=run.outcome,
                message=run.message[:1000],
                validation=validation,
                heldout=held,
                model_calls=run.model_calls,
                utility_calls=run.utility_calls,
                seconds=run.seconds,
            )
        )
        self.ctx.progress.improver_run(run.outcome)
        return RunScore(task.name, r, run.outcome, validation, held, returned)

    def evaluate(
        self, improver_src: str, scope: Scope, *, heldout: bool, seeds: str | None = None
    ) -> MetaEvaluation:
        """Run the improver `runs` times on every task. Evaluations given the same `seeds`
        name use the same model-sampling seeds for run r of task k, so their per-run scores
        pair up; without one the seeds derive from the scope."""
        jobs = [(task, r) for task in self.tasks for r in range(self.ctx.config.runs)]
        executor = self.ctx.executor
        assert executor is not None
        runs = executor.map(
            lambda job: self._one_run(improver_src, *job, scope, heldout, seeds), jobs
        )
        result = MetaEvaluation(runs)
        self._record(improver_src, scope, result, heldout)
        return result

    def confirm(
        self, iteration: int, candidate: MetaEvaluation, parent: MetaEvaluation
    ) -> list[ConfirmationPair]:
        """Score the solution run r of task k of `candidate` returned and the one run r of
        task k of `parent` returned on the same fresh instances, drawn for this iteration
        and run (`confirmation_split`), which no utility call has scored on; one pair per
        (task, run) both evaluations hold. A run that returned no solution scores 0; a run
        whose solution the records lost (`RunScore.lost`) is left out of the comparison
        rather than scored 0, which would favour the candidate."""
        before = {(r.task, r.run): r for r in parent.runs if not r.lost}
        by_name = {t.name: t for t in self.tasks}
        jobs = [
            (by_name[r.task], r, before[(r.task, r.run)])
            for r in candidate.runs
            if (r.task, r.run) in before and r.task in by_name and not r.lost
        ]
        scope = Scope(iteration, f"it{iteration}/confirm")

        def one(job: tuple[Task, RunScore, RunScore]) -> ConfirmationPair:
            task, mine, theirs = job
            split = confirmation_split(iteration, mine.run)
            run_scope = scope.child(f"{task.name}/r{mine.run}")
            scores = [
                0.0
                if src is None
                else self.scorer.evaluate(src, task, split, run_scope.child(who)).score
                for who, src in (("parent", theirs.returned), ("candidate", mine.returned))
            ]
            return ConfirmationPair(task.name, mine.run, scores[0], scores[1])

        executor = self.ctx.executor
        assert executor is not None
        return executor.map(one, jobs)

    def _record(self, src: str, scope: Scope, ev: MetaEvaluation, heldout: bool) -> None:
        for split, score in (("validation", ev.validation), ("heldout", ev.heldout)):
            if split == "heldout" and not heldout:
                continue
            self.ctx.store.add_evaluation(
                EvaluationRow(
                    iteration=scope.iteration,
                    scope=scope.path,
                    kind="improver",
                    program_hash=program_hash(src),
                    task=",".join(t.name for t in self.tasks),
                    split=split,
                    score=score,
                    instances=len(ev.runs),
                    solved=sum(r.outcome == "ok" for r in ev.runs),
                    failed=sum(r.outcome != "ok" for r in ev.runs),
                    timed_out=sum(r.outcome == "timeout" for r in ev.runs),
                    outcome="ok",
                    cache_hit=0,
                )
            )
