"""Progress of a run, shown as it happens.

`Progress` (the default) shows nothing. `RichProgress` is what the command line shows: a
status line that updates on a terminal, or plain lines when not, and the run table at the
end; every line it prints goes through `text.printable` and is never read as markup.
`NotebookProgress` is a progress bar in a Jupyter notebook (its text HTML-escaped).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from selftaught.lm.base import Usage
from selftaught.lm.usable import describe, short
from selftaught.report.format import decision_line
from selftaught.stop.context import Progress
from selftaught.text import printable

ALL_NOTES = frozenset(
    {"run_dir", "model", "executor", "warning", "halted", "records", "report", "resume", "info"}
)


class RichProgress(Progress):
    """Shows iteration, stage, model calls, samples, candidates scored, best meta-utility;
    at the end of a run its table. Lines go to `console` (default: stderr), the table to
    standard output. `notes` picks which kinds of `note` lines are shown (default: all)."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        iterations: int = 0,
        notes: Iterable[str] | None = None,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.iterations = iterations
        self.notes = ALL_NOTES if notes is None else frozenset(notes)
        self._lock = threading.Lock()
        self.iteration = 0
        self.stage = "starting"
        self.calls = 0
        self.samples = 0
        self.tokens = 0
        self.candidates = 0
        self.usable = 0
        self.reasons: dict[str, int] = {}
        self.improver_runs = 0
        self.best: float | None = None
        self.start_time = time.perf_counter()
        self._live: Live | None = None

    def start(self, iterations: int) -> None:
        self.iterations = iterations
        self.start_time = time.perf_counter()
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4)
            self._live.__enter__()

    def stop(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
            self._live = None

    def note(self, kind: str, line: str) -> None:
        if kind in self.notes:
            self.console.print(printable(line), highlight=False, markup=False)

    def finished(self, result: Any) -> None:
        """The run table on standard output, the share of usable samples, where it is."""
        from selftaught.report.table import iteration_table

        if result.rows:
            out = Console()
            if not out.is_terminal:  # wide enough for the table with its reasons
                out = Console(width=132)
            reasons = _unusable_reasons(result.run_dir)
            rows = [{**r, "unusable_reasons": reasons.get(r["iteration"], {})} for r in result.rows]
            out.print(iteration_table(rows, title=f"STOP run {result.run_dir.name}"))
            if result.samples:
                total: dict[str, int] = {}
                for per_iteration in reasons.values():
                    for name, n in per_iteration.items():
                        total[name] = total.get(name, 0) + n
                self.console.print(
                    printable(
                        f"responses with usable code: {result.usable}/{result.samples} "
                        f"({result.usable / result.samples:.0%})"
                        + (f"; unusable: {describe(total)}" if total else "")
                    ),
                    highlight=False,
                    markup=False,
                )
        self.note("records", f"records: {result.run_dir}")

    def _render(self) -> Text:
        elapsed = int(time.perf_counter() - self.start_time)
        best = "-" if self.best is None else f"{self.best:.3f}"
        return Text(
            f"iteration {self.iteration}/{self.iterations} · {printable(self.stage)} · "
            f"model calls {self.calls} · samples {self.samples}{self._usable()} · "
            f"tokens {self.tokens} · "
            f"improver runs {self.improver_runs} · candidates scored {self.candidates} · "
            f"best meta-utility {best} · {elapsed // 60}:{elapsed % 60:02d}"
        )

    def _usable(self) -> str:
        if not self.samples:
            return ""
        reasons = short(self.reasons)
        return f" (usable {self.usable / self.samples:.0%}" + (f"; {reasons})" if reasons else ")")

    def _refresh(self, line: str | None = None) -> None:
        if self._live is not None:
            self._live.update(self._render())
        elif line is not None:
            self.console.print(printable(line), highlight=False, markup=False)

    def phase(self, iteration: int, text: str) -> None:
        with self._lock:
            self.iteration, self.stage = iteration, text
            self._refresh(f"[{iteration}/{self.iterations}] {text}")

    def model_call(self, usage: Usage) -> None:
        with self._lock:
            self.calls += usage.calls
            self.samples += usage.samples
            self.tokens += usage.tokens
            self._refresh()

    def checked(self, usable: int, reasons: dict[str, int]) -> None:
        with self._lock:
            self.usable += usable
            for name, n in reasons.items():
                self.reasons[name] = self.reasons.get(name, 0) + n
            self._refresh()

    def candidate(self, iteration: int, score: float) -> None:
        with self._lock:
            self.candidates += 1
            self.best = score if self.best is None else max(self.best, score)
            self._refresh(
                f"[{iteration}/{self.iterations}] candidate {self.candidates} scored {score:.3f}"
                f" (model calls {self.calls}, samples {self.samples})"
            )

    def improver_run(self, outcome: str) -> None:
        with self._lock:
            self.improver_runs += 1
            self._refresh()

    def scored(self, iteration: int, validation: float) -> None:
        with self._lock:
            self.best = validation if self.best is None else max(self.best, validation)
            self._refresh()

    def decided(self, iteration: int, decision: Any) -> None:
        with self._lock:
            self.console.print(
                printable(f"[{iteration}/{self.iterations}] {decision_line(decision)}"),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            self._refresh()


def _unusable_reasons(run_dir: Any) -> dict[int, dict[str, int]]:
    """Unusable samples by reason per iteration, from the run's records."""
    from selftaught.report.records import RunRecords

    try:
        with RunRecords(run_dir) as records:
            return {c.iteration: c.unusable_reasons for c in records.costs()}
    except Exception:  # noqa: BLE001 - the table shows without reasons rather than not at all
        return {}


class NotebookProgress(Progress):
    """A progress bar in a Jupyter notebook (updated in place), with the current stage,
    model calls and the best meta-utility so far. Outside a notebook it shows nothing."""

    def __init__(self) -> None:
        self.iterations = 0
        self.iteration = 0
        self.stage = "starting"
        self.calls = 0
        self.best: float | None = None
        self.lines: list[str] = []
        self._handle: Any = None
        self._lock = threading.Lock()

    def _html(self) -> str:
        best = "-" if self.best is None else f"{self.best:.3f}"
        total = max(self.iterations, 1)
        done = min(self.iteration, total)
        notes = "".join(f"<div>{html.escape(line)}</div>" for line in self.lines[-3:])
        return (
            f'<progress value="{done}" max="{total}" style="width:40ch"></progress> '
            f"<code>iteration {self.iteration}/{self.iterations} · {html.escape(self.stage)} · "
            f"model calls {self.calls} · best meta-utility {best}</code>{notes}"
        )

    def _show(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
        except ImportError:
            return
        if get_ipython() is None:  # not in a notebook (or IPython): show nothing
            return
        if self._handle is None:
            self._handle = display(HTML(self._html()), display_id=True)
        else:
            self._handle.update(HTML(self._html()))

    def start(self, iterations: int) -> None:
        with self._lock:
            self.iterations = iterations
            self._show()

    def note(self, kind: str, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            self._show()

    def phase(self, iteration: int, text: str) -> None:
        with self._lock:
            self.iteration, self.stage = iteration, text
            self._show()

    def model_call(self, usage: Usage) -> None:
        with self._lock:
            self.calls += usage.calls
            self._show()

    def scored(self, iteration: int, validation: float) -> None:
        with self._lock:
            self.best = validation if self.best is None else max(self.best, validation)
            self._show()

    def decided(self, iteration: int, decision: Any) -> None:
        with self._lock:
            self.lines.append(f"iteration {iteration}: {decision_line(decision)}")
            self._show()

    def stop(self) -> None:
        with self._lock:
            self.stage = "done"
            self.iteration = self.iterations
            self._show()


__all__ = ["NotebookProgress", "Progress", "RichProgress"]
