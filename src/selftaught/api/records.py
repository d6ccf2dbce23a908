"""`open_run`: a recorded run read back, without modifying anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.api.results import RunResult, Usage


@dataclass(repr=False)
class RecordedRun(RunResult):
    """A run directory read back: `rows`, `improvers`, `usage` and `meta` as recorded;
    `calls()`, `evaluations()` and `events()` read those records on demand."""

    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.meta.get("config")
        return cfg if isinstance(cfg, dict) else {}

    def _query(self, sql: str) -> list[dict[str, Any]]:
        from selftaught.report.records import RunRecords

        with RunRecords(self.run_dir) as records:
            return records.query(sql)

    def calls(self) -> list[dict[str, Any]]:
        """Every model call: scope, prompt messages, responses, tokens, seconds, cost."""
        return self._query("SELECT * FROM model_calls ORDER BY id")

    def evaluations(self) -> list[dict[str, Any]]:
        """Every evaluation: program hash, task, split, score, instances and outcome."""
        return self._query("SELECT * FROM evaluations ORDER BY id")

    def events(self) -> list[dict[str, Any]]:
        """Sandbox audit events (blocked actions, over-budget calls, oversized outputs)."""
        return self._query("SELECT * FROM events ORDER BY id")

    def program(self, digest: str) -> str | None:
        """A recorded program's source by its hash (as in `evaluations()`)."""
        from selftaught.report.records import RunRecords

        with RunRecords(self.run_dir) as records:
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
        rows = records.iterations()
        for row in rows:
            money = records.query(
                "SELECT cost, priced FROM model_calls WHERE iteration = ?", (row["iteration"],)
            )
            row["cost"] = sum((Decimal(r["cost"]) for r in money if r["cost"]), Decimal(0))
            row["priced"] = all(r["priced"] is None or r["priced"] for r in money)
        improvers = {r["iteration"]: records.improver_source(r["iteration"]) for r in rows}
        totals = records.query(
            "SELECT COUNT(*) calls, COALESCE(SUM(samples), 0) samples,"
            " COALESCE(SUM(usable), 0) usable,"
            " COALESCE(SUM(prompt_tokens + completion_tokens), 0) tokens FROM model_calls"
        )[0]
        money = records.total_money()
        return RecordedRun(
            Path(run_dir),
            records.status,
            rows,
            {k: v for k, v in improvers.items() if v is not None},
            Usage(
                totals["calls"],
                totals["samples"],
                totals["tokens"],
                None if money is None else Decimal(str(money)),
            ),
            totals["samples"],
            totals["usable"],
            meta=dict(records.meta),
        )
