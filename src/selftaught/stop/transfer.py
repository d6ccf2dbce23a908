"""Transfer evaluation: the shape of the paper's Table 1.

Per task: the seed solution's utility, the seed improver's meta-utility and each given
improver's meta-utility, all on held-out seeds, as mean ± standard error over K improver
runs, and what each cost in model usage. The seed solution is deterministic (seeded
instances, seeded workers), so its K runs would be identical: it is scored once, SE 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from selftaught.stop.context import RunContext, Scope
from selftaught.stop.meta_utility import MetaUtility, mean_se
from selftaught.stop.seed_improver import seed_improver
from selftaught.stop.solutions import SolutionScorer
from selftaught.tasks.base import Task


@dataclass
class Cell:
    """One improver on one task: held-out scores of its K runs, and what they cost."""

    mean: float
    se: float
    values: list[float] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
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
    row = ctx.store.query(
        "SELECT COUNT(*) calls, COALESCE(SUM(samples), 0) samples, "
        "COALESCE(SUM(prompt_tokens + completion_tokens), 0) tokens, "
        "COALESCE(SUM(seconds), 0) seconds FROM model_calls WHERE scope LIKE ?",
        (prefix + "/%",),
    )[0]
    return dict(row)


def run_transfer(
    ctx: RunContext,
    improvers: dict[str, str],
    tasks: list[Task],
) -> TransferResult:
    """Score `improvers` (label -> source) on each task, `ctx.config.runs` runs each.

    The seed improver is always a column (labelled `seed`); improver runs see only the
    validation split, and the held-out scores are computed here (DESIGN.md invariant 4).
    """
    columns = {"seed": seed_improver(keep_input=ctx.config.keep_input)}
    columns.update({label: src for label, src in improvers.items() if label != "seed"})
    scorer = SolutionScorer(ctx)
    result = TransferResult(ctx.config.runs, ctx.config.model, list(columns))
    for task in tasks:
        base = Scope(0, f"transfer/{task.name}")
        seed_eval = scorer.evaluate(task.seed_solution, task, "heldout", base.child("seed"))
        row = TransferRow(task.name, seed_eval.score)
        meta = MetaUtility(ctx, [task], scorer)
        for label, src in columns.items():
            scope = base.child(label)
            evaluation = meta.evaluate(src, scope, heldout=True)
            values = [r.heldout or 0.0 for r in evaluation.runs]
            mean, se = mean_se(values)
            usage = _usage(ctx, scope.path)
            row.improvers[label] = Cell(
                mean,
                se,
                values,
                [r.outcome for r in evaluation.runs],
                int(usage["calls"]),
                int(usage["samples"]),
                int(usage["tokens"]),
                float(usage["seconds"]),
            )
        result.rows.append(row)
    return result
