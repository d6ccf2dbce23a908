"""The experiment's numbers, gathered from its run directories: what the report, `show`
and the CSV/JSON files hold. Reads only.

Across seeds, a model's figure is the mean over its seeds with the standard error of that
mean; a difference is paired by seed (the same seed of two models, or of a model's first
and last iteration) and shown with its 95% Student t interval.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.experiment.layout import Cell, ExperimentDir
from selftaught.stats import mean_se, t_quantile, wilson_interval

NO_STRATEGY = "(none)"
"""The label counted for an improver that carries no strategy label."""


@dataclass
class Estimate:
    """A mean over `n` values with its standard error and 95% t interval (None for n < 2)."""

    mean: float | None
    se: float | None
    n: int
    low: float | None = None
    high: float | None = None
    values: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, values: list[float]) -> Estimate:
        vals = [v for v in values if v is not None and not math.isnan(v)]
        if not vals:
            return cls(None, None, 0)
        mean, se = mean_se(vals)
        if len(vals) < 2:
            return cls(mean, None, 1, values=vals)
        half = t_quantile(0.975, len(vals) - 1) * se
        return cls(mean, se, len(vals), mean - half, mean + half, vals)

    def text(self, digits: int = 3, *, interval: bool = False, pct: bool = False) -> str:
        if self.mean is None:
            return "-"
        k = 100.0 if pct else 1.0
        out = f"{k * self.mean:.{digits}f}"
        if self.se is not None:
            out += f" ± {k * self.se:.{digits}f}"
        if interval and self.low is not None and self.high is not None:
            out += f" [{k * self.low:.{digits}f}, {k * self.high:.{digits}f}]"
        return out


@dataclass
class SeedRun:
    seed: int
    state: str
    run_dir: str | None
    iterations: list[dict[str, Any]] = field(default_factory=list)
    """Per iteration: iteration, validation, heldout, adopted."""
    strategies: dict[int, dict[str, int]] = field(default_factory=dict)
    """Per iteration: strategy label -> improvers the model wrote that carry it."""
    improvers_analysed: dict[int, int] = field(default_factory=dict)


@dataclass
class ModelSummary:
    label: str
    model: str
    seeds: list[SeedRun] = field(default_factory=list)
    calls: int = 0
    tokens: int = 0
    cost: str | None = None
    cost_by_part: dict[str, dict[str, Any]] = field(default_factory=dict)
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """`validation` / `heldout` -> per iteration {iteration, mean, se, n}."""
    start: Estimate | None = None
    final: Estimate | None = None
    gain: Estimate | None = None
    """Held-out meta-utility of the final iteration minus iteration 0, paired by seed."""
    adopted: int = 0
    steps: int = 0
    transfer: list[dict[str, Any]] = field(default_factory=list)
    sandbox: list[dict[str, Any]] = field(default_factory=list)
    strategies: dict[int, dict[str, int]] = field(default_factory=dict)
    improvers_analysed: dict[int, int] = field(default_factory=dict)


@dataclass
class ExperimentSummary:
    name: str
    path: str
    state: str
    wall_seconds: float
    cap: dict[str, Any]
    cells: list[dict[str, Any]]
    models: list[ModelSummary]
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _seed_run(exp: ExperimentDir, cell: Cell, strategies: bool) -> SeedRun:
    from selftaught.report.content import analyze_run
    from selftaught.report.records import RunRecords

    assert cell.seed is not None
    out = SeedRun(cell.seed, cell.state, cell.run_dir)
    if not cell.run_dir or not exp.abs(cell.run_dir).is_dir():
        return out
    try:
        with RunRecords(exp.abs(cell.run_dir)) as records:
            for r in records.iterations():
                out.iterations.append(
                    {
                        "iteration": r["iteration"],
                        "validation": r["validation"],
                        "heldout": r["heldout"],
                        "adopted": bool(r["adopted"]),
                    }
                )
            if strategies:
                for a in analyze_run(records):
                    counts = out.strategies.setdefault(a.iteration, {})
                    out.improvers_analysed[a.iteration] = (
                        out.improvers_analysed.get(a.iteration, 0) + 1
                    )
                    for s in a.analysis.strategies or [NO_STRATEGY]:
                        counts[s] = counts.get(s, 0) + 1
    except Exception:  # noqa: BLE001 - an unreadable run shows as a run without rows
        pass
    return out


def _series(seeds: list[SeedRun], key: str) -> list[dict[str, Any]]:
    its = sorted({r["iteration"] for s in seeds for r in s.iterations})
    out = []
    for t in its:
        est = Estimate.of(
            [
                r[key]
                for s in seeds
                for r in s.iterations
                if r["iteration"] == t and r[key] is not None
            ]
        )
        out.append({"iteration": t, "mean": est.mean, "se": est.se, "n": est.n})
    return out


def _last_heldout(run: SeedRun) -> float | None:
    """The held-out meta-utility a finished run ended with (None for a run that has not
    finished: its last row is not its end)."""
    if run.state != "finished":
        return None
    rows = [r for r in run.iterations if r["heldout"] is not None]
    return rows[-1]["heldout"] if rows else None


def _first_heldout(run: SeedRun) -> float | None:
    rows = [r for r in run.iterations if r["iteration"] == 0 and r["heldout"] is not None]
    return rows[0]["heldout"] if rows else None


def _transfer_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per task: seed solution, seed improver (mean ± SE over K runs), and the model's final
    improvers across seeds (each seed's mean over K runs, then mean ± SE across seeds),
    with their difference from the seed improver paired by seed."""
    rows = []
    for row in data.get("rows", []):
        cells = row.get("improvers", {})
        seed_cell = cells.get("seed", {})
        finals = {k: v for k, v in cells.items() if k != "seed"}
        means = [v["mean"] for v in finals.values()]
        rows.append(
            {
                "task": row["task"],
                "seed_solution": row.get("seed_solution"),
                "seed_improver": asdict(Estimate.of(list(seed_cell.get("values", [])))),
                "final_improvers": asdict(Estimate.of(means)),
                "difference": asdict(Estimate.of([m - seed_cell.get("mean", 0.0) for m in means])),
                "per_seed": {k: v["mean"] for k, v in finals.items()},
            }
        )
    return rows


def _sandbox_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in data.get("conditions", []):
        lo, hi = wilson_interval(int(c["unsandboxed"]), int(c["attempts"]))
        rows.append(
            {
                "condition": c["condition"],
                "attempts": c["attempts"],
                "with_code": c.get("with_code"),
                "unsandboxed": c["unsandboxed"],
                "rate": c["unsandboxed"] / c["attempts"] if c["attempts"] else 0.0,
                "wilson_low": lo,
                "wilson_high": hi,
            }
        )
    return rows


def _json_in(exp: ExperimentDir, cell: Cell | None, name: str) -> dict[str, Any] | None:
    if cell is None or cell.state != "finished" or not cell.run_dir:
        return None
    try:
        data = json.loads((exp.abs(cell.run_dir) / name).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _add(a: str | None, b: str | None) -> str | None:
    if a is None and b is None:
        return None
    return str(Decimal(a or 0) + Decimal(b or 0))


def gather_experiment(exp: ExperimentDir, plan: Any) -> ExperimentSummary:
    """Everything the report and `show` say about an experiment, from its records."""
    from selftaught.experiment.plan import read_plan

    plan = plan or read_plan(exp.plan_file)
    status = exp.status
    strategies = "strategies" in plan.parts
    models = []
    for label, m in zip(plan.labels(), plan.models, strict=True):
        ms = ModelSummary(label, m.model)
        mine = [c for c in status.cells.values() if c.label == label]
        for c in mine:
            ms.calls += c.calls
            ms.tokens += c.tokens
            ms.cost = _add(ms.cost, c.cost)
            part = ms.cost_by_part.setdefault(c.kind, {"calls": 0, "tokens": 0, "cost": None})
            part["calls"] += c.calls
            part["tokens"] += c.tokens
            part["cost"] = _add(part["cost"], c.cost)
        ms.seeds = [_seed_run(exp, c, strategies) for c in mine if c.kind == "stop"]
        ms.series = {k: _series(ms.seeds, k) for k in ("validation", "heldout")}
        pairs = [(_first_heldout(s), _last_heldout(s)) for s in ms.seeds]
        ms.start = Estimate.of([a for a, _ in pairs if a is not None])
        ms.final = Estimate.of([b for _, b in pairs if b is not None])
        ms.gain = Estimate.of([b - a for a, b in pairs if a is not None and b is not None])
        for s in ms.seeds:
            steps = [r for r in s.iterations if r["iteration"] > 0]
            ms.steps += len(steps)
            ms.adopted += sum(r["adopted"] for r in steps)
            for t, counts in s.strategies.items():
                into = ms.strategies.setdefault(t, {})
                for k, n in counts.items():
                    into[k] = into.get(k, 0) + n
            for t, n in s.improvers_analysed.items():
                ms.improvers_analysed[t] = ms.improvers_analysed.get(t, 0) + n
        transfer = _json_in(exp, status.cells.get(f"transfer/{label}"), "transfer.json")
        ms.transfer = _transfer_rows(transfer) if transfer else []
        sandbox = _json_in(exp, status.cells.get(f"sandbox/{label}"), "sandbox_experiment.json")
        ms.sandbox = _sandbox_rows(sandbox) if sandbox else []
        models.append(ms)
    return ExperimentSummary(
        name=status.name,
        path=str(exp.path),
        state=status.state,
        wall_seconds=status.wall_seconds,
        cap={"tokens": status.cap_tokens, "cost": status.cap_cost},
        cells=[asdict(c) for c in status.cells.values()],
        models=models,
        comparisons=_comparisons(models),
        parts=list(plan.parts),
    )


def _comparisons(models: list[ModelSummary]) -> list[dict[str, Any]]:
    """Each pair of models: the difference of their final held-out meta-utility (and of
    their gain over iteration 0), seed by seed, over the seeds both finished."""
    out = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            fa = {s.seed: (_first_heldout(s), _last_heldout(s)) for s in a.seeds}
            fb = {s.seed: (_first_heldout(s), _last_heldout(s)) for s in b.seeds}
            both = sorted(
                k for k in fa if k in fb and fa[k][1] is not None and fb[k][1] is not None
            )
            final = Estimate.of([fa[k][1] - fb[k][1] for k in both])  # type: ignore[operator]
            gain = Estimate.of(
                [
                    (fa[k][1] - fa[k][0]) - (fb[k][1] - fb[k][0])  # type: ignore[operator]
                    for k in both
                    if fa[k][0] is not None and fb[k][0] is not None
                ]
            )
            out.append(
                {
                    "a": a.label,
                    "b": b.label,
                    "seeds": both,
                    "final": asdict(final),
                    "gain": asdict(gain),
                }
            )
    return out


def frequency_rows(ms: ModelSummary) -> list[list[Any]]:
    """(iteration, label, improvers with it, improvers analysed, share) of one model."""
    rows = []
    for t in sorted(ms.strategies):
        n = ms.improvers_analysed.get(t, 0)
        for label, k in sorted(ms.strategies[t].items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append([t, label, k, n, k / n if n else 0.0])
    return rows


def headline(summary: ExperimentSummary) -> tuple[list[str], list[list[str]]]:
    """The headline table: per model, held-out meta-utility at the start and the end
    (mean ± SE across seeds), the gain paired by seed [95% interval], adoptions,
    tokens and cost, and, when run, transfer and circumvention."""
    headers = [
        "model",
        "seeds",
        "held-out start",
        "held-out final",
        "gain [95% CI]",
        "adopted",
        "tokens",
        "cost",
    ]
    has_transfer = any(m.transfer for m in summary.models)
    has_sandbox = any(m.sandbox for m in summary.models)
    if has_transfer:
        headers.append("transfer Δ vs seed improver")
    if has_sandbox:
        headers.append("unsandboxed [95% Wilson]")
    rows = []
    for m in summary.models:
        done = sum(s.state == "finished" for s in m.seeds)
        row = [
            m.label,
            f"{done}/{len(m.seeds)}",
            _est(m.start),
            _est(m.final),
            _est(m.gain, interval=True),
            f"{m.adopted}/{m.steps}",
            str(m.tokens),
            "-" if m.cost is None else f"${Decimal(m.cost):.4f}",
        ]
        if has_transfer:
            diffs = [v for r in m.transfer for v in [r["difference"]["mean"]] if v is not None]
            row.append(f"{statistics.fmean(diffs):+.3f}" if diffs else "-")
        if has_sandbox:
            bad = sum(r["unsandboxed"] for r in m.sandbox)
            n = sum(r["attempts"] for r in m.sandbox)
            lo, hi = wilson_interval(bad, n)
            row.append(f"{bad}/{n} [{100 * lo:.1f}-{100 * hi:.1f}%]" if n else "-")
        rows.append(row)
    return headers, rows


def _est(e: Estimate | None, *, interval: bool = False) -> str:
    return "-" if e is None else e.text(interval=interval)


def read_summary(path: str | Path) -> ExperimentSummary:
    """The summary of the experiment in `path` (reads only). An experiment recorded as
    running that no live process holds was killed: it, and its running cells, show as
    `stopped`."""
    exp = ExperimentDir.open(path)
    if exp.status.state == "running" and exp.running_pid() is None:
        exp.status.state = "stopped"
        for cell in exp.status.cells.values():
            if cell.state == "running":
                cell.state = "stopped"
    return gather_experiment(exp, None)
