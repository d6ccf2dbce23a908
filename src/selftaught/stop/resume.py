"""Continuing a stopped, killed or crashed run.

Completed iterations are read back from the records. The first incomplete iteration is
discarded (its rows removed in one transaction) and run again: its model calls come back
from the run's response cache, so nothing already answered is paid for again, and its
solution evaluations are deterministic. With the same seeds and recorded responses the
finished run equals an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from selftaught.sandbox.results import is_outcome
from selftaught.stop.evaluation import MetaEvaluation, RunScore
from selftaught.store.db import Store
from selftaught.store.rows import IterationRow


@dataclass
class ResumeState:
    """Where a run stands: the iterations it completed and the improver it holds."""

    next_iteration: int
    current: str | None = None
    current_eval: MetaEvaluation | None = None
    completed: list[IterationRow] = field(default_factory=list)


def evaluation_of(store: Store, iteration: int) -> MetaEvaluation:
    """The meta-utility evaluation recorded at scope `it{iteration}/eval`, with the
    solutions its runs returned (which the next adoption decision scores again)."""
    runs = []
    for r in store.improver_runs(scope_like=f"it{iteration}/eval/%"):
        run_index = int((r.scope or "").rsplit("/r", 1)[1])
        validation = 0.0 if r.validation is None else r.validation
        outcome = r.outcome if is_outcome(r.outcome) else "error"
        returned = store.program(r.returned_hash) if outcome == "ok" else None
        lost = outcome == "ok" and bool(r.returned_hash) and returned is None
        runs.append(
            RunScore(r.task or "", run_index, outcome, validation, r.heldout, returned, lost)
        )
    runs.sort(key=lambda s: (s.task, s.run))
    return MetaEvaluation(runs)


def load_state(store: Store) -> ResumeState:
    """Read back the completed iterations of a run."""
    completed = store.iterations()
    if not completed:
        return ResumeState(next_iteration=0)
    current_row = next(r for r in reversed(completed) if r.adopted)
    current = store.program(current_row.improver_hash)
    return ResumeState(
        next_iteration=completed[-1].iteration + 1,
        current=current,
        current_eval=evaluation_of(store, current_row.iteration),
        completed=completed,
    )
