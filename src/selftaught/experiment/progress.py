"""What an experiment shows while it runs: one line per cell and one for the whole.

`ExperimentProgress` (the library's default) shows nothing. `RichExperimentProgress` is
what the command line shows: on a terminal a live table (cell, state, iteration, stage,
model calls, tokens, best meta-utility) under an overall line; otherwise plain lines as
cells start, change stage and end.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from selftaught.experiment.layout import Cell, Status


class ExperimentProgress:
    """Receives what happens to the experiment's cells. The default shows nothing."""

    def start(self, status: Status) -> None:
        """The experiment (or its resumption) starts."""

    def changed(self, cell: Cell, run: Any = None, line: str | None = None) -> None:
        """A cell changed: its state, or its run's progress (`run`, a `CellProgress`)."""

    def note(self, line: str) -> None:
        """A line for the user."""

    def stop(self) -> None:
        """The experiment's work ended (finished or not)."""


class RichExperimentProgress(ExperimentProgress):
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._lock = threading.Lock()
        self._status: Status | None = None
        self._runs: dict[str, Any] = {}
        self._live: Live | None = None
        self._last: dict[str, str] = {}
        self._start = time.perf_counter()

    def start(self, status: Status) -> None:
        self._status = status
        self._start = time.perf_counter()
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4)
            self._live.__enter__()

    def stop(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
            self._live = None

    def note(self, line: str) -> None:
        with self._lock:
            self.console.print(line, highlight=False, soft_wrap=True)

    def changed(self, cell: Cell, run: Any = None, line: str | None = None) -> None:
        with self._lock:
            if run is not None:
                self._runs[cell.id] = run
            if line:
                self.console.print(f"{cell.id}: {line}", highlight=False, soft_wrap=True)
            if self._live is not None:
                self._live.update(self._render())
                return
            text = self._line(cell)
            if self._last.get(cell.id) != text:  # plain lines: only what changed
                self._last[cell.id] = text
                self.console.print(f"{self._overall()} | {text}", highlight=False, soft_wrap=True)

    def _line(self, cell: Cell) -> str:
        run = self._runs.get(cell.id)
        if cell.state == "running" and run is not None:
            return f"{cell.id} running: iteration {run.iteration}/{run.iterations} {run.stage}"
        return f"{cell.id} {cell.state}" + (f" ({cell.message})" if cell.message else "")

    def _overall(self) -> str:
        assert self._status is not None
        cells = list(self._status.cells.values())
        done = sum(c.state in ("finished", "capped", "failed", "skipped") for c in cells)
        tokens = sum(c.tokens for c in cells) + sum(
            r.tokens for k, r in self._runs.items() if self._status.cells[k].state == "running"
        )
        elapsed = int(time.perf_counter() - self._start)
        return f"cells {done}/{len(cells)} · tokens {tokens} · {elapsed // 60}:{elapsed % 60:02d}"

    def _render(self) -> Group:
        table = Table(box=None, pad_edge=False)
        for name in ("cell", "state", "iteration", "stage", "calls", "tokens", "best"):
            table.add_column(
                name, justify="right" if name in ("calls", "tokens", "best") else "left"
            )
        assert self._status is not None
        for cell in self._status.cells.values():
            run = self._runs.get(cell.id)
            best = "-" if run is None or run.best is None else f"{run.best:.3f}"
            if cell.state == "running" and run is not None:
                row = [f"{run.iteration}/{run.iterations}", run.stage, run.calls, run.tokens]
            else:
                row = ["", cell.message, cell.calls, cell.tokens]
            table.add_row(
                cell.id, cell.state, row[0], str(row[1])[:50], str(row[2]), str(row[3]), best
            )
        return Group(Text(self._overall()), table)
