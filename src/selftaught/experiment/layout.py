"""The experiment directory and its status file.

    <output>/<timestamp>-<name>/
        plan.toml           the plan as run (file paths made absolute)
        experiment.json     the experiment's status: cells, their states and run
                            directories, what each spent, the spending cap
        runs/               one ordinary run directory per STOP cell (model x seed)
        transfer/<label>/   the transfer run directory of each model
        sandbox/<label>/    the sandbox-experiment run directory of each model
        report/             report.html, report.md, data/ (CSV, JSON), tables/ (MD, LaTeX),
                            figures/ (SVG)

The status file is rewritten whole (write, then rename) after every change, so a kill
leaves the last complete version. It is a summary for `show` and `resume`: the records
of each run directory stay the truth, and `resume` reads them again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from selftaught.errors import UserError

PLAN = "plan.toml"
STATUS = "experiment.json"
RUNS, TRANSFER, SANDBOX, REPORT = "runs", "transfer", "sandbox", "report"
FORMAT = 1
"""Version of `experiment.json`."""

STATES = ("pending", "running", "finished", "capped", "stopped", "failed", "skipped")
"""A cell's state. `capped`: the spending cap stopped it (raise the cap and resume);
`stopped`: interrupted or halted by a fault outside it (resume); `skipped`: not run,
because what it needs did not finish."""


@dataclass
class Cell:
    """One unit of work of the experiment and what is known of it."""

    id: str
    """`stop/<label>/s<seed>`, `transfer/<label>` or `sandbox/<label>`."""
    kind: str
    label: str
    seed: int | None = None
    state: str = "pending"
    run_dir: str | None = None
    """Relative to the experiment directory."""
    calls: int = 0
    tokens: int = 0
    cost: str | None = None
    """Dollars (a decimal string), None while unpriced."""
    iterations: int = 0
    """Iterations recorded (STOP cells)."""
    message: str = ""


@dataclass
class Status:
    name: str
    created: str
    state: str = "pending"
    cap_tokens: int | None = None
    cap_cost: str | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    format: int = FORMAT
    updated: str = ""
    wall_seconds: float = 0.0
    """Wall time spent running the experiment, over all its sessions."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        cells = {k: Cell(**v) for k, v in data.get("cells", {}).items()}
        fields = {k: v for k, v in data.items() if k != "cells" and k in cls.__dataclass_fields__}
        return cls(**fields, cells=cells)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ExperimentDir:
    """An experiment directory; `save()` writes the status, thread-safe."""

    def __init__(self, path: Path, status: Status) -> None:
        self.path = Path(path)
        self.status = status
        self._lock = threading.Lock()
        self._held: Any = None

    @classmethod
    def create(
        cls, parent: Path | None, name: str, plan: dict[str, Any], *, exact: bool
    ) -> ExperimentDir:
        """A new experiment directory: `parent` itself when `exact` (it must be new or
        empty), else `<parent>/<timestamp>-<name>`."""
        if exact:
            assert parent is not None
            path = Path(parent)
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise UserError(f"{path} exists and is not an empty folder; pick a new one")
        else:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"
            base = Path(parent or "experiments")
            path = base / f"{stamp}-{slug}"
            n = 1
            while path.exists():
                n += 1
                path = base / f"{stamp}-{slug}-{n}"
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            for sub in (RUNS, TRANSFER, SANDBOX):
                (path / sub).mkdir(exist_ok=True, mode=0o700)
            (path / PLAN).write_text(tomli_w.dumps(plan))
        except OSError as exc:
            raise UserError(
                f"cannot create the experiment directory {path}: {exc.strerror or exc}"
            ) from None
        out = cls(path, Status(name=name, created=_now()))
        out.save()
        return out

    @classmethod
    def open(cls, path: Path | str) -> ExperimentDir:
        """An existing experiment directory; anything else is a one-line `UserError`."""
        path = Path(path)
        status_file = path / STATUS
        if not path.is_dir():
            raise UserError(f"not a directory: {path}")
        if not status_file.is_file() or not (path / PLAN).is_file():
            raise UserError(f"not an experiment directory (no {STATUS} and {PLAN}): {path}")
        try:
            data = json.loads(status_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read {status_file}: {exc}") from None
        if data.get("format") != FORMAT:
            raise UserError(
                f"{status_file} has format {data.get('format')!r}; this version reads {FORMAT}"
            )
        return cls(path, Status.from_json(data))

    def lock(self) -> None:
        """Hold the experiment while running it: a second `resume` of it is refused."""
        from selftaught.store.faults import RunLock

        if self._held is None:
            self._held = RunLock(self.path)

    def unlock(self) -> None:
        if self._held is not None:
            self._held.release()
            self._held = None

    def running_pid(self) -> int | None:
        from selftaught.store.faults import holder

        return holder(self.path)

    def save(self) -> None:
        with self._lock:
            self.status.updated = _now()
            text = json.dumps(self.status.to_json(), indent=2)
            tmp = self.path / (STATUS + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, self.path / STATUS)

    def update(self, cell: Cell, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(cell, key, value)
        self.save()

    def rel(self, path: Path) -> str:
        with contextlib.suppress(ValueError):
            return str(Path(path).resolve().relative_to(self.path.resolve()))
        return str(path)

    def abs(self, rel: str) -> Path:
        return self.path / rel

    @property
    def plan_file(self) -> Path:
        return self.path / PLAN

    @property
    def report_dir(self) -> Path:
        return self.path / REPORT
