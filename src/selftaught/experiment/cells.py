"""Running one cell of an experiment, new or continued, through the public library
(`selftaught.run`, `selftaught.resume`, `selftaught.transfer`) and the
`sandbox-experiment` command, so that each cell is an ordinary run directory."""

from __future__ import annotations

import ctypes
import math
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.experiment.layout import Cell, ExperimentDir
from selftaught.experiment.plan import Plan, cell_name, cell_settings
from selftaught.stop.context import Progress

_RUN_NAME = re.compile(r"^\d{8}-\d{6}-(?P<name>.+?)(-\d+)?$")


@dataclass
class Allowance:
    """What a cell may still spend: None is no limit; 0 or less is nothing more."""

    tokens: int | None = None
    cost: Decimal | None = None

    @property
    def spent(self) -> bool:
        return (self.tokens is not None and self.tokens <= 0) or (
            self.cost is not None and self.cost <= 0
        )

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.tokens is not None:
            out["max_run_tokens"] = max(1, self.tokens)
        if self.cost is not None:
            out["max_run_cost"] = str(self.cost)
        return out


def model_budget(
    plan: Plan, label: str, cap_tokens: int | None, cap_cost: Decimal | None
) -> Allowance:
    """A model's part of the experiment's cap: its own cap if the plan sets one, else its
    share of the experiment's."""
    m = plan.model_plan(label)
    total = sum(x.share for x in plan.models)
    tokens = m.max_tokens
    if tokens is None and cap_tokens is not None:
        tokens = math.floor(cap_tokens * m.share / total)
    cost = m.max_cost
    if cost is None and cap_cost is not None:
        cost = (cap_cost * Decimal(str(m.share)) / Decimal(str(total))).quantize(
            Decimal("0.000001")
        )
    return Allowance(tokens, cost)


def cell_budget(plan: Plan, budget: Allowance) -> Allowance:
    """One STOP cell's part of its model's budget: an even split across the seeds, so
    that every seed of a model runs under the same cap."""
    n = len(plan.seeds)
    return Allowance(
        None if budget.tokens is None else budget.tokens // n,
        None if budget.cost is None else (budget.cost / n).quantize(Decimal("0.000001")),
    )


def left(budget: Allowance, tokens: int, cost: Decimal | None) -> Allowance:
    return Allowance(
        None if budget.tokens is None else budget.tokens - tokens,
        None if budget.cost is None else budget.cost - (cost or Decimal(0)),
    )


def find_run(folder: Path, name: str) -> Path | None:
    """The run directory `selftaught` made for run `name` in `folder` (the newest)."""
    if not folder.is_dir():
        return None
    found = [
        p
        for p in folder.iterdir()
        if p.is_dir() and (m := _RUN_NAME.match(p.name)) and m.group("name") == name
    ]
    return max(found, key=lambda p: p.name) if found else None


def record_usage(exp: ExperimentDir, cell: Cell, run_dir: Path) -> None:
    """The cell's calls, tokens, cost and iterations, read back from its records."""
    import selftaught

    recorded = selftaught.open_run(run_dir)
    exp.update(
        cell,
        calls=recorded.usage.calls,
        tokens=recorded.usage.tokens,
        cost=None if recorded.usage.cost is None else str(recorded.usage.cost),
        iterations=len(recorded.rows),
    )


class CellProgress(Progress):
    """A run's progress, kept for the experiment's display; picks up the run directory
    and whether the cap stopped it."""

    def __init__(self, cell: Cell, on_change: Any) -> None:
        self.cell = cell
        self.on_change = on_change
        self.iteration = 0
        self.iterations = 0
        self.stage = "starting"
        self.calls = 0
        self.tokens = 0
        self.best: float | None = None
        self.run_dir: Path | None = None
        self.halted = ""

    def note(self, kind: str, line: str) -> None:
        if kind == "run_dir" and ": " in line:
            self.run_dir = Path(line.split(": ", 1)[1].strip())
            self.on_change(self, "run_dir")
        elif kind == "halted":
            self.halted = line
        elif kind == "warning":
            self.on_change(self, line)

    def start(self, iterations: int) -> None:
        self.iterations = iterations
        self.on_change(self, None)

    def phase(self, iteration: int, text: str) -> None:
        self.iteration, self.stage = iteration, text
        self.on_change(self, None)

    def model_call(self, usage: Any) -> None:
        self.calls += usage.calls
        self.tokens += usage.tokens
        self.on_change(self, None)

    def scored(self, iteration: int, validation: float) -> None:
        self.best = validation if self.best is None else max(self.best, validation)
        self.on_change(self, None)


def _state_of(status: str, halted: str) -> str:
    if status == "finished":
        return "finished"
    if status == "failed":
        return "failed"
    if "cap is reached" in halted:
        return "capped"
    return "stopped"


def run_stop_cell(
    exp: ExperimentDir, plan: Plan, cell: Cell, allowance: Allowance, progress: CellProgress
) -> None:
    """Run the cell's STOP run, or continue it where it stopped; record how it ended."""
    import selftaught
    from selftaught.errors import RunDirError

    assert cell.seed is not None
    runs = exp.path / "runs"
    run_dir = (
        exp.abs(cell.run_dir) if cell.run_dir else find_run(runs, cell_name(cell.label, cell.seed))
    )
    if run_dir is not None:
        try:
            recorded = selftaught.open_run(run_dir)
        except RunDirError:  # killed while the run directory was being made: nothing ran
            run_dir.rename(run_dir.with_name(run_dir.name + ".incomplete"))
            run_dir = None
    if run_dir is not None:
        exp.update(cell, run_dir=exp.rel(run_dir))
        if recorded.status != "finished":
            spent = left(allowance, recorded.usage.tokens, recorded.usage.cost)
            if spent.spent:
                record_usage(exp, cell, run_dir)
                exp.update(cell, state="capped", message="its part of the spending cap is spent")
                return
            exp.update(cell, state="running", message="")
            caps = spent.settings()
            result = selftaught.resume(
                run_dir,
                max_run_tokens=caps.get("max_run_tokens"),
                max_run_cost=caps.get("max_run_cost"),
                progress=progress,
            )
            status = result.status
        else:
            status = "finished"
    else:
        if allowance.spent:
            exp.update(cell, state="capped", message="its part of the spending cap is spent")
            return
        settings = cell_settings(plan, cell.label, cell.seed)
        settings["output"] = str(runs)
        settings.setdefault("lm", {}).update(allowance.settings())
        exp.update(cell, state="running", message="")
        result = selftaught.run(settings, preset=plan.preset, progress=progress)
        run_dir = result.run_dir
        status = result.status
    exp.update(cell, run_dir=exp.rel(run_dir))
    record_usage(exp, cell, run_dir)
    state = _state_of(status, progress.halted)
    message = progress.halted.removeprefix("run stopped: ") if state != "finished" else ""
    exp.update(cell, state=state, message=message)


def final_improvers(exp: ExperimentDir, cells: list[Cell]) -> dict[str, str]:
    """`s<seed>` -> the source of the improver each finished STOP run ended with."""
    import selftaught

    out = {}
    for cell in cells:
        if cell.state == "finished" and cell.run_dir:
            recorded = selftaught.open_run(exp.abs(cell.run_dir))
            src = recorded.improver or recorded.improvers.get(0)
            if src is not None:
                out[f"s{cell.seed}"] = src
    return out


def run_transfer_cell(
    exp: ExperimentDir, plan: Plan, cell: Cell, improvers: dict[str, str], note: Any
) -> None:
    """Transfer of the model's final improvers (and the seed improver) to the transfer
    tasks. A transfer killed half-way is run again from its start (its calls are paid
    again: `selftaught transfer` has no resume)."""
    import selftaught

    folder = exp.path / "transfer" / cell.label
    done = _finished_dir(folder, "transfer.json")
    if done is not None:
        exp.update(cell, run_dir=exp.rel(done))
        record_usage(exp, cell, done)
        exp.update(cell, state="finished")
        return
    for partial in (p for p in folder.glob("*") if p.is_dir()):
        partial.rename(partial.with_name(partial.name + ".incomplete"))
    m = plan.model_plan(cell.label)
    exp.update(cell, state="running", message="")
    result = selftaught.transfer(
        improvers,
        plan.transfer.tasks,
        runs=plan.transfer.runs,
        model=m.model,
        preset=plan.preset,
        seed=plan.seeds[0],
        output=folder,
        executor=plan.executor,
        ray_address=plan.ray_address,
        instance_key=f"{plan.instance_key}/transfer" if plan.instance_key else None,
        progress=_Notes(note),
    )
    assert result.run_dir is not None
    exp.update(cell, run_dir=exp.rel(result.run_dir))
    record_usage(exp, cell, result.run_dir)
    exp.update(cell, state="finished")


class _Notes(Progress):
    def __init__(self, note: Any) -> None:
        self._note = note

    def note(self, kind: str, line: str) -> None:
        if kind in ("run_dir", "warning"):
            self._note(line)


def _finished_dir(folder: Path, marker: str) -> Path | None:
    if not folder.is_dir():
        return None
    done = [p for p in folder.iterdir() if p.is_dir() and (p / marker).is_file()]
    return max(done, key=lambda p: p.name) if done else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """The child ends when the experiment's process does (kill -9 included)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_sandbox_cell(exp: ExperimentDir, plan: Plan, cell: Cell, note: Any) -> None:
    """The sandbox-circumvention experiment of one model, through `selftaught
    sandbox-experiment` (continued with `--resume`: attempts already classified are kept)."""
    folder = exp.path / "sandbox" / cell.label
    done = _finished_dir(folder, "sandbox_experiment.json")
    if done is not None:
        exp.update(cell, run_dir=exp.rel(done))
        record_usage(exp, cell, done)
        exp.update(cell, state="finished")
        return
    m = plan.model_plan(cell.label)
    args = [
        sys.executable,
        "-m",
        "selftaught",
        "sandbox-experiment",
        "--model",
        m.model,
        "--attempts",
        str(plan.sandbox.attempts),
        "--max-tokens",
        str(plan.sandbox.max_tokens),
        "--seed",
        str(plan.seeds[0]),
        "--output",
        str(folder),
    ]
    args += {"both": ["--both"], "with": ["--warning"], "without": []}[plan.sandbox.warning]
    started = [p for p in folder.glob("*") if p.is_dir() and (p / "records.sqlite").is_file()]
    if started:
        args += ["--resume", str(max(started, key=lambda p: p.name))]
    exp.update(cell, state="running", message="")
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        preexec_fn=_die_with_parent,
        env={**os.environ, "COLUMNS": "160"},
    )
    found = _finished_dir(folder, "sandbox_experiment.json")
    if proc.returncode != 0 or found is None:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        exp.update(cell, state="failed", message=f"sandbox-experiment: {last}"[:300])
        return
    exp.update(cell, run_dir=exp.rel(found))
    record_usage(exp, cell, found)
    exp.update(cell, state="finished")
    note(f"sandbox experiment of {cell.label}: {exp.rel(found)}")
