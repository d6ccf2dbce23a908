"""Running an experiment, and continuing one: the cells in order (STOP runs, several at
once; then transfer and the sandbox experiment per model), then the report."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from selftaught.experiment.cells import (
    CellProgress,
    cell_budget,
    final_improvers,
    left,
    model_budget,
    run_sandbox_cell,
    run_stop_cell,
    run_transfer_cell,
)
from selftaught.experiment.layout import Cell, ExperimentDir
from selftaught.experiment.plan import Plan, load_plan, parse_plan, plan_data
from selftaught.experiment.progress import ExperimentProgress

DONE = ("finished", "capped", "failed", "skipped")


def make_cells(plan: Plan) -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    labels = plan.labels()
    if "stop" in plan.parts:
        for label in labels:
            for seed in plan.seeds:
                cell = Cell(f"stop/{label}/s{seed}", "stop", label, seed)
                cells[cell.id] = cell
    if "transfer" in plan.parts:
        for label in labels:
            cells[f"transfer/{label}"] = Cell(f"transfer/{label}", "transfer", label)
    if "sandbox" in plan.parts:
        for label in labels:
            cells[f"sandbox/{label}"] = Cell(f"sandbox/{label}", "sandbox", label)
    return cells


def _plan_of(plan: Plan | dict | str | Path) -> Plan:
    from selftaught.experiment.plan import PlanError, check_plan

    if isinstance(plan, Plan):
        the_plan = plan
    elif isinstance(plan, dict):
        the_plan = parse_plan(dict(plan), Path.cwd())
    else:
        return load_plan(plan)
    problems = check_plan(the_plan)
    if problems:
        raise PlanError(problems)
    return the_plan


class _Local:
    """Runs of one `local:` model take turns: the embedded model runs in this process,
    and two copies of it would only share the same cores."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, model: str) -> threading.Lock | None:
        if not model.startswith("local:"):
            return None
        with self._guard:
            return self._locks.setdefault(model, threading.Lock())


class Driver:
    """One session of running an experiment's unfinished cells."""

    def __init__(self, exp: ExperimentDir, plan: Plan, progress: ExperimentProgress) -> None:
        self.exp, self.plan, self.progress = exp, plan, progress
        status = exp.status
        self.cap_tokens = status.cap_tokens
        self.cap_cost = None if status.cap_cost is None else Decimal(status.cap_cost)
        self.local = _Local()

    def _changed(self, cell: Cell) -> Callable[[CellProgress, str | None], None]:
        def on_change(run: CellProgress, what: str | None) -> None:
            if what == "run_dir" and run.run_dir is not None:
                self.exp.update(cell, run_dir=self.exp.rel(run.run_dir))
                what = None
            self.progress.changed(cell, run, what)

        return on_change

    def _spent(self, label: str, kind: str | None = None) -> tuple[int, Decimal]:
        cells = [c for c in self.exp.status.cells.values() if c.label == label]
        cells = [c for c in cells if kind is None or c.kind == kind]
        return sum(c.tokens for c in cells), sum((Decimal(c.cost or 0) for c in cells), Decimal(0))

    def _stop_cell(self, cell: Cell) -> None:
        m = self.plan.model_plan(cell.label)
        budget = cell_budget(
            self.plan, model_budget(self.plan, cell.label, self.cap_tokens, self.cap_cost)
        )
        lock = self.local.lock(m.model)
        run = CellProgress(cell, self._changed(cell))
        try:
            if lock is not None:
                with lock:
                    run_stop_cell(self.exp, self.plan, cell, budget, run)
            else:
                run_stop_cell(self.exp, self.plan, cell, budget, run)
        except Exception as exc:  # noqa: BLE001 - one cell's failure is recorded, the others go on
            self.exp.update(cell, state="failed", message=f"{type(exc).__name__}: {exc}"[:300])
        self.progress.changed(cell, run)

    def _run_stop_cells(self, cells: list[Cell]) -> None:
        todo = list(cells)
        guard = threading.Lock()

        def worker() -> None:
            while True:
                with guard:
                    if not todo:
                        return
                    cell = todo.pop(0)
                self._stop_cell(cell)

        n = min(self.plan.cells_at_once, len(cells))
        if n <= 1:
            worker()
            return
        # daemon threads: a Ctrl-C ends the experiment like a kill, and `resume` continues it
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)

    def _under_budget(self, cell: Cell) -> bool:
        budget = model_budget(self.plan, cell.label, self.cap_tokens, self.cap_cost)
        tokens, cost = self._spent(cell.label)
        if left(budget, tokens, cost).spent:
            self.exp.update(
                cell, state="capped", message="the model's part of the spending cap is spent"
            )
            return False
        return True

    def run(self) -> None:
        cells = self.exp.status.cells
        pending = [c for c in cells.values() if c.state not in ("finished", "skipped")]
        self._run_stop_cells([c for c in pending if c.kind == "stop"])
        for cell in (c for c in pending if c.kind == "transfer"):
            stops = [c for c in cells.values() if c.kind == "stop" and c.label == cell.label]
            waiting = [c.id for c in stops if c.state != "finished"]
            if waiting and "stop" in self.plan.parts:
                self.exp.update(cell, state="skipped", message=f"waits for {', '.join(waiting)}")
                continue
            if not self._under_budget(cell):
                continue
            self.exp.update(cell, state="running", message="")
            self.progress.changed(cell)
            try:
                improvers = final_improvers(self.exp, stops)
                run_transfer_cell(self.exp, self.plan, cell, improvers, self.progress.note)
            except Exception as exc:  # noqa: BLE001
                self.exp.update(cell, state="failed", message=f"{type(exc).__name__}: {exc}"[:300])
            self.progress.changed(cell)
        for cell in (c for c in pending if c.kind == "sandbox"):
            if not self._under_budget(cell):
                continue
            self.exp.update(cell, state="running", message="")
            self.progress.changed(cell)
            try:
                run_sandbox_cell(self.exp, self.plan, cell, self.progress.note)
            except Exception as exc:  # noqa: BLE001
                self.exp.update(cell, state="failed", message=f"{type(exc).__name__}: {exc}"[:300])
            self.progress.changed(cell)


def overall_state(cells: dict[str, Cell]) -> str:
    states = {c.state for c in cells.values()}
    for state in ("running", "failed", "stopped", "capped", "skipped", "pending"):
        if state in states:
            return "stopped" if state in ("running", "pending") else state
    return "finished"


@contextlib.contextmanager
def _shared_ray(plan: Plan) -> Iterator[None]:
    """With `executor = "ray"`, one Ray connection (or local Ray) for every run of the
    experiment: a run that started or connected Ray itself would shut it down under the
    others when it ends."""
    if plan.executor != "ray":
        yield
        return
    import ray

    from selftaught.executors.ray_executor import connect_ray, init_local_ray

    started = not ray.is_initialized()
    if started:
        if plan.ray_address:
            connect_ray(plan.ray_address)
        else:
            init_local_ray()
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _drive(exp: ExperimentDir, plan: Plan, progress: ExperimentProgress) -> ExperimentDir:
    from selftaught.experiment.report import write_report

    exp.lock()
    start = time.perf_counter()
    try:
        exp.status.state = "running"
        exp.save()
        progress.start(exp.status)
        try:
            with _shared_ray(plan):
                Driver(exp, plan, progress).run()
        finally:
            progress.stop()
            for cell in exp.status.cells.values():
                if cell.state == "running":  # interrupted
                    cell.state = "stopped"
            exp.status.state = overall_state(exp.status.cells)
            exp.status.wall_seconds += time.perf_counter() - start
            exp.save()
        files = write_report(exp, plan)
        progress.note(f"report: {files[0]}")
        progress.note(f"report: {files[1]}")
    finally:
        exp.unlock()
    if exp.status.state != "finished":
        progress.note(f"continue with: selftaught experiment resume {exp.path}")
    return exp


def experiment(
    plan: Plan | dict | str | Path,
    /,
    *,
    output: str | Path | None = None,
    exact: bool = False,
    progress: ExperimentProgress | None = None,
) -> ExperimentDir:
    """Run an experiment: every model x seed STOP run of the plan, then transfer and the
    sandbox experiment per model as the plan says, then the report.

    `plan` is a TOML file, a dict of the same shape, or a `Plan`; it is checked in full
    first (a `PlanError` lists every problem, before anything is created or spent). The
    experiment lands in `<output>/<timestamp>-<name>` (default `experiments/`), or in
    `output` itself with `exact=True`. Returns the `ExperimentDir` (its `status` holds
    every cell; `selftaught.experiment.summary(path)` the headline table).
    """
    the_plan = _plan_of(plan)
    progress = progress or ExperimentProgress()
    exp = ExperimentDir.create(
        Path(output) if output is not None else None,
        the_plan.name,
        plan_data(the_plan),
        exact=exact,
    )
    exp.status.cap_tokens = the_plan.cap.tokens
    exp.status.cap_cost = None if the_plan.cap.cost is None else str(the_plan.cap.cost)
    exp.status.cells = make_cells(the_plan)
    exp.save()
    progress.note(f"experiment directory: {exp.path}")
    return _drive(exp, the_plan, progress)


def resume(
    path: str | Path,
    *,
    max_tokens: int | None = None,
    max_cost: str | float | Decimal | None = None,
    progress: ExperimentProgress | None = None,
) -> ExperimentDir:
    """Continue an experiment that was stopped, killed or capped: every cell not finished
    continues where it stopped (its run's `selftaught.resume`), nothing recorded is paid
    for again. `max_tokens` / `max_cost` replace the experiment's spending cap (raise it
    to continue a capped experiment)."""
    from selftaught.errors import UserError
    from selftaught.experiment.plan import read_plan

    exp = ExperimentDir.open(path)
    pid = exp.running_pid()
    if pid is not None:
        raise UserError(f"{exp.path} is being run by process {pid}; wait for it or stop it first")
    plan = read_plan(exp.plan_file)
    if max_tokens is not None:
        if max_tokens < 1:
            raise UserError("--max-tokens must be at least 1")
        exp.status.cap_tokens = max_tokens
    if max_cost is not None:
        try:
            cost = Decimal(str(max_cost))
        except ArithmeticError:
            raise UserError(f"--max-cost must be a number of dollars, not {max_cost!r}") from None
        if cost <= 0:
            raise UserError("--max-cost must be more than 0")
        exp.status.cap_cost = str(cost)
    for cell in exp.status.cells.values():
        if cell.state in ("capped", "skipped", "stopped", "running", "failed"):
            cell.state = "pending"
    exp.save()
    progress = progress or ExperimentProgress()
    progress.note(f"resuming experiment {exp.path}")
    return _drive(exp, plan, progress)
