"""What a report shows, gathered once from the records; `html` and `markdown` only render it."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.program.analysis import Analysis, analyze_source
from selftaught.program.diff import unified_lines
from selftaught.report.records import Candidate, IterationCost, RunRecords
from selftaught.stats import mean_se
from selftaught.store.rows import EvaluationRow, EventRow, IterationRow

REPORTED_EVENTS = 500
"""The most audit events the report lists (it counts them all, by kind): their number is a
hostile improver's to set (docs/security.md, "Events")."""


@dataclass
class LineageStep:
    """One iteration's improver and where it came from."""

    iteration: int
    improver_hash: str
    parent_hash: str | None
    adopted: bool
    validation: float | None
    validation_se: float | None
    heldout: float | None
    heldout_se: float | None
    outcome: str
    message: str
    diff: str
    """Unified diff against the parent (empty for the starting improver or when unchanged)."""


@dataclass
class ProgramAnalysis:
    """Static analysis of one generated improver or solution."""

    iteration: int
    program_hash: str
    where: str
    """`candidate K`, `iteration improver` or `solution`."""
    analysis: Analysis


@dataclass
class RunContent:
    """Everything the report shows about one run."""

    name: str
    path: Path
    meta: Mapping[str, Any]
    iterations: list[IterationRow]
    costs: list[IterationCost]
    candidates: list[Candidate]
    lineage: list[LineageStep]
    events: list[EventRow]
    """The first `REPORTED_EVENTS` audit events (`event_kinds` counts them all)."""
    analyses: list[ProgramAnalysis]
    out_of_bounds: list[EvaluationRow]
    transfer: tuple[Path, Any] | None
    sandbox_attempts: list[dict[str, Any]] = field(default_factory=list)
    """Classified attempts, when the directory holds a sandbox experiment."""
    event_kinds: dict[int, dict[str, int]] = field(default_factory=dict)
    """Per iteration, every audit event counted by kind."""

    @property
    def model(self) -> str:
        return str(self.meta.get("config", {}).get("model", "?"))

    def strategy_counts(self) -> Counter:
        return Counter(s for a in self.analyses for s in a.analysis.strategies)

    def flag_counts(self) -> Counter:
        return Counter(f for a in self.analyses for f in a.analysis.flags)

    def audit_by_iteration(self) -> dict[int, Counter]:
        """Per iteration: sandbox audit events by kind, analysis flags, out-of-bounds scores."""
        out: dict[int, Counter] = defaultdict(Counter)
        for iteration, kinds in self.event_kinds.items():
            for kind, n in kinds.items():
                out[iteration][f"event: {kind}"] += n
        for a in self.analyses:
            for f in a.analysis.flags:
                out[a.iteration][f"flag: {f}"] += 1
        for r in self.out_of_bounds:
            out[r["iteration"] or 0]["flag: score_out_of_bounds"] += 1
        return dict(sorted(out.items()))


@dataclass
class AcrossRuns:
    """Mean ± standard error across runs at each iteration (the paper's Figure 4)."""

    iterations: list[int] = field(default_factory=list)
    validation: list[tuple[float, float, int]] = field(default_factory=list)
    heldout: list[tuple[float, float, int]] = field(default_factory=list)
    """(mean, standard error, number of runs) per iteration."""


def _mean_se(values: list[float]) -> tuple[float, float, int]:
    """(mean, standard error, n); NaN where no run has the score (a gap in the plot)."""
    if not values:
        return math.nan, math.nan, 0
    return (*mean_se(values), len(values))


def across_runs(runs: list[RunContent]) -> AcrossRuns:
    its = sorted({r["iteration"] for run in runs for r in run.iterations})
    out = AcrossRuns(iterations=its)
    for t in its:
        rows = [r for run in runs for r in run.iterations if r["iteration"] == t]
        out.validation.append(
            _mean_se([r["validation"] for r in rows if r["validation"] is not None])
        )
        out.heldout.append(_mean_se([r["heldout"] for r in rows if r["heldout"] is not None]))
    return out


def unified_diff(
    parent: str | None, child: str | None, *, parent_name: str, child_name: str
) -> str:
    if parent is None or child is None or parent == child:
        return ""
    parent, child = parent.rstrip("\n") + "\n", child.rstrip("\n") + "\n"
    return "".join(
        unified_lines(
            parent.splitlines(keepends=True),
            child.splitlines(keepends=True),
            fromfile=parent_name,
            tofile=child_name,
        )
    )


def lineage(records: RunRecords) -> list[LineageStep]:
    out = []
    for r in records.iterations():
        t = r["iteration"]
        parent = records.program(r["parent_hash"])
        child = records.improver_source(t)
        diff = ""
        if t > 0 and r["adopted"]:
            diff = unified_diff(
                parent,
                child,
                parent_name=f"parent {r['parent_hash']}",
                child_name=f"iteration {t} {r['improver_hash']}",
            )
        out.append(
            LineageStep(
                iteration=t,
                improver_hash=r["improver_hash"],
                parent_hash=r["parent_hash"],
                adopted=bool(r["adopted"]),
                validation=r["validation"],
                validation_se=r["validation_se"],
                heldout=r["heldout"],
                heldout_se=r["heldout_se"],
                outcome=r["outcome"] or "",
                message=r["message"] or "",
                diff=diff,
            )
        )
    return out


def analyze_run(records: RunRecords) -> list[ProgramAnalysis]:
    """Every improver the model wrote, once per (iteration, program)."""
    starting = {r["improver_hash"] for r in records.iterations() if r["iteration"] == 0}
    seen: set[tuple[int, str]] = set()
    out = []
    inputs = {(r["iteration"], r["parent_hash"]) for r in records.iterations()}
    for c in records.candidates():
        if c.program_hash in starting or (c.iteration, c.program_hash) in seen:
            continue
        if (c.iteration, c.program_hash) in inputs:  # the step's input, kept as a candidate
            continue
        src = records.candidate_source(c)
        if src is None:
            continue
        seen.add((c.iteration, c.program_hash))
        out.append(
            ProgramAnalysis(
                c.iteration, c.program_hash, f"candidate {c.index}", analyze_source(src)
            )
        )
    for r in records.iterations():
        key = (r["iteration"], r["improver_hash"])
        if r["iteration"] == 0 or r["improver_hash"] in starting or key in seen:
            continue
        src = records.improver_source(r["iteration"])
        if src is None:
            continue
        seen.add(key)
        out.append(
            ProgramAnalysis(
                r["iteration"], r["improver_hash"], "iteration improver", analyze_source(src)
            )
        )
    return out


def analyze_solutions(records: RunRecords) -> list[ProgramAnalysis]:
    """Every solution scored in the run (what improvers and the model wrote, and the task
    seeds they started from), once each, at the first iteration that scored it."""
    return [
        ProgramAnalysis(r["iteration"], r["hash"], "solution", analyze_source(r["source"]))
        for r in records.solutions()
    ]


def gather(records: RunRecords) -> RunContent:
    return RunContent(
        name=records.name,
        path=records.path,
        meta=records.meta,
        iterations=records.iterations(),
        costs=records.costs(),
        candidates=records.candidates(),
        lineage=lineage(records),
        events=records.events(limit=REPORTED_EVENTS),
        event_kinds=records.event_kinds(),
        analyses=analyze_run(records),
        out_of_bounds=records.out_of_bounds_scores(),
        transfer=records.transfer(),
        sandbox_attempts=records.sandbox_attempts(),
    )


def transfer_table(data: Any) -> tuple[list[str], list[list[Any]]] | None:
    """Transfer results as a table, from the shapes a JSON file plausibly has.

    A list of objects; an object with a `rows`/`results`/`tasks` list; or an object of
    objects keyed by task. Anything else: None (the report then shows the JSON).
    """
    rows: list[dict[str, Any]] | None = None
    if isinstance(data, dict):
        for key in ("rows", "results", "tasks", "transfer"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
            if isinstance(data.get(key), dict):
                data = data[key]
                break
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        rows = data
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        rows = [{"task": k, **v} for k, v in data.items()]
    if not rows:
        return None
    flat = [_flatten(row) for row in rows]
    columns: list[str] = []
    for row in flat:
        for k in row:
            if k not in columns:
                columns.append(k)
    return columns, [[row.get(c) for c in columns] for row in flat]


def _cell(value: Any) -> Any:
    if isinstance(value, dict) and "mean" in value:
        mean, se = value.get("mean"), value.get("se")
        if isinstance(mean, int | float):
            return f"{mean:.3f}±{se:.3f}" if isinstance(se, int | float) else f"{mean:.3f}"
    return value


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    """Scalars as they are; `{mean, se}` cells as `mean±se`; a dict of such cells (one per
    improver, as `selftaught transfer` writes) as one column each."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict) and "mean" in v:
            out[k] = _cell(v)
        elif (
            isinstance(v, dict)
            and v
            and all(isinstance(x, dict) and "mean" in x for x in v.values())
        ):
            out.update({name: _cell(cell) for name, cell in v.items()})
        elif not isinstance(v, dict | list):
            out[k] = v
    return out
