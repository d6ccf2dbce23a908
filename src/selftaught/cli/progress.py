"""Live progress of a run: a status line that updates, or plain lines when not a terminal."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

from selftaught.lm.base import Usage
from selftaught.stop.context import Progress


class LiveProgress(Progress):
    """Shows iteration, stage, model calls, samples, candidates scored, best meta-utility."""

    def __init__(self, console: Console, *, iterations: int) -> None:
        self.console = console
        self.iterations = iterations
        self._lock = threading.Lock()
        self.iteration = 0
        self.stage = "starting"
        self.calls = 0
        self.samples = 0
        self.tokens = 0
        self.candidates = 0
        self.improver_runs = 0
        self.best: float | None = None
        self.start = time.perf_counter()
        self._live: Live | None = None

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)

    def _render(self) -> Text:
        elapsed = int(time.perf_counter() - self.start)
        best = "-" if self.best is None else f"{self.best:.3f}"
        return Text(
            f"iteration {self.iteration}/{self.iterations} · {self.stage} · "
            f"model calls {self.calls} · samples {self.samples} · tokens {self.tokens} · "
            f"improver runs {self.improver_runs} · candidates scored {self.candidates} · "
            f"best meta-utility {best} · {elapsed // 60}:{elapsed % 60:02d}"
        )

    def _refresh(self, line: str | None = None) -> None:
        if self._live is not None:
            self._live.update(self._render())
        elif line is not None:
            self.console.print(line, highlight=False)

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
