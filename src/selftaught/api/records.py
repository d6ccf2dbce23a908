"""`open_run`: a recorded run read back, without modifying anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.api.results import RunResult, Usage
from selftaught.store import Records


@dataclass(repr=False)
class RecordedRun(RunResult):
    """A run directory read back: `rows`, `improvers`, `usage` and `meta` as recorded;
    `calls()`, `evaluations()` and `events()` read those records on demand."""

    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.meta.get("config")
        return cfg if isinstance(cfg, dict) else {}

    def _records(self) -> Records:
        return Records(self.run_dir)

    def calls(self) -> list[dict[str, Any]]:
        """Every model call: scope, prompt messages, responses, tokens, seconds, cost."""
        with self._records() as records:
            return [r.as_dict() for r in records.model_calls()]

    def evaluations(self) -> list[dict[str, Any]]:
        """Every evaluation: program hash, task, split, score, instances and outcome."""
        with self._records() as records:
            return [r.as_dict() for r in records.evaluations()]

    def events(self) -> list[dict[str, Any]]:
        """Sandbox audit events (blocked actions, over-budget calls, oversized outputs)."""
        with self._records() as records:
            return [r.as_dict() for r in records.events()]

    def program(self, digest: str) -> str | None:
        """A recorded program's source by its hash (as in `evaluations()`)."""
        with self._records() as records:
            return records.program(digest)


def open_run(run_dir: str | Path) -> RecordedRun:
    """Read a recorded run (any run directory selftaught wrote): its per-iteration rows,
    improvers, usage and meta; calls, evaluations and events on demand. Never writes.
    A folder that is not a readable run raises `RunDirError`."""
    from selftaught.errors import RunDirError, UserError
    from selftaught.report.records import RunRecords

    try:
        records = RunRecords(run_dir)
    except UserError as exc:
        raise RunDirError(str(exc)) from None
    with records:
        rows = [r.as_dict() for r in records.iterations()]
        improvers = {r["iteration"]: records.improver_source(r["iteration"]) for r in rows}
        totals = records.usage()
        money = records.total_money()
        return RecordedRun(
            Path(run_dir),
            records.status,
            rows,
            {k: v for k, v in improvers.items() if v is not None},
            Usage(
                totals.calls,
                totals.samples,
                totals.tokens,
                None if money is None else Decimal(str(money)),
            ),
            totals.samples,
            totals.usable,
            meta=dict(records.meta),
        )
