"""Transfer evaluation: the shape of the paper's Table 1.

Per task: the seed solution's utility, the seed improver's meta-utility and each given
improver's meta-utility, all on held-out seeds, as mean ± standard error over K improver
runs, and what each cost in model usage. The seed solution is deterministic (seeded
instances, seeded workers), so its K runs would be identical: it is scored once, SE 0.

Everything independent goes through `ctx.executor.map`: the seed solutions of the tasks,
then the (task, improver) cells, each of which maps over its K runs. Cells run
`max_workers // K` at once (at least one), so about `max_workers` improver runs are in
flight in all. Results do not depend on the order: each cell's records have their own
scope, and its usage is read from them once the cell is done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from selftaught.sandbox.results import Outcome
from selftaught.stats import mean_se
from selftaught.stop.context import RunContext, Scope
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.seed_improver import seed_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.tasks.base import Task


@dataclass
class Cell:
    """One improver on one task: held-out scores of its K runs, and what they cost."""

    mean: float
    se: float
    values: list[float] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    model_calls: int = 0
    samples: int = 0
    tokens: int = 0
    seconds: float = 0.0


@dataclass
class TransferRow:
    task: str
    seed_solution: float
    improvers: dict[str, Cell] = field(default_factory=dict)


@dataclass
class TransferResult:
    runs: int
    model: str
    improvers: list[str]
    rows: list[TransferRow] = field(default_factory=list)
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def to_json(self) -> dict:
        return asdict(self)


def _usage(ctx: RunContext, prefix: str) -> dict[str, float]:
    used = ctx.store.usage(scope_like=prefix + "/%")
    return {
        "calls": used.calls,
        "samples": used.samples,
        "tokens": used.tokens,
        "seconds": used.seconds,
    }


def cells_at_once(max_workers: int, runs: int) -> int:
    """How many cells to run at once so that about `max_workers` improver runs are in flight."""
    return max(1, max_workers // max(1, min(max_workers, runs)))


def _cell(ctx: RunContext, meta: MetaUtility, src: str, scope: Scope) -> Cell:
    evaluation = meta.evaluate(src, scope, heldout=True)
    values = [r.heldout or 0.0 for r in evaluation.runs]
    mean, se = mean_se(values)
    usage = _usage(ctx, scope.path)
    return Cell(
        mean,
        se,
        values,
        [r.outcome for r in evaluation.runs],
        int(usage["calls"]),
        int(usage["samples"]),
        int(usage["tokens"]),
        float(usage["seconds"]),
    )


def run_transfer(
    ctx: RunContext,
    improvers: dict[str, str],
    tasks: list[Task],
) -> TransferResult:
    """Score `improvers` (label -> source) on each task, `ctx.config.runs` runs each.

    The seed improver is always a column (labelled `seed`); improver runs see only the
    validation split, and the held-out scores are computed here (docs/design.md, section
    "Invariants").
    """
    columns = {"seed": seed_improver(keep_input=ctx.config.keep_input)}
    columns.update({label: src for label, src in improvers.items() if label != "seed"})
    executor = ctx.executor
    assert executor is not None
    scorer = SolutionScorer(ctx)
    bases = [Scope(0, f"transfer/{task.name}") for task in tasks]
    seeds = executor.map(
        lambda i: (
            scorer.evaluate(
                tasks[i].seed_solution, tasks[i], "heldout", bases[i].child("seed")
            ).score
        ),
        range(len(tasks)),
    )
    metas = [MetaUtility(ctx, [task], scorer) for task in tasks]
    jobs = [(i, label) for i in range(len(tasks)) for label in columns]
    cells = executor.map(
        lambda job: _cell(ctx, metas[job[0]], columns[job[1]], bases[job[0]].child(job[1])),
        jobs,
        max_workers=cells_at_once(executor.max_workers, ctx.config.runs),
    )
    result = TransferResult(ctx.config.runs, ctx.config.model, list(columns))
    for i, task in enumerate(tasks):
        row = TransferRow(task.name, seeds[i])
        for (j, label), cell in zip(jobs, cells, strict=True):
            if j == i:
                row.improvers[label] = cell
        result.rows.append(row)
    return result
