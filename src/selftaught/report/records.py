"""A recorded run, read only: what the report, `show`, `export` and `runs` read.

Opening never writes to the run directory. SQLite's read-only mode still creates the
`-wal` and `-shm` files of a WAL database when they are missing, so a database nobody has
open (no `-wal` file) is opened `immutable`; a live or crashed run already has its `-wal`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.errors import UserError
from selftaught.store.db import SCHEMA_VERSION

RECORDS = "records.sqlite"
REQUIRED_TABLES = {"meta", "programs", "model_calls", "evaluations", "iterations", "events"}
COST_COLUMNS = ("cost", "cost_usd", "money")
"""Column names that hold money spent on a model call, in the order they are looked for."""

_CANDIDATE = re.compile(r"^it(\d+)/step/c(\d+)$")


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write to the database or create files next to it."""
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    db = sqlite3.connect(f"file:{path}?{flags}", uri=True, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


@dataclass
class Candidate:
    """A candidate improver scored by the meta-utility during a self-improvement step."""

    iteration: int
    index: int
    program_hash: str
    score: float
    adopted: bool


@dataclass
class IterationCost:
    """What one iteration cost."""

    iteration: int
    model_calls: int
    samples: int
    usable: int
    prompt_tokens: int
    completion_tokens: int
    model_seconds: float
    wall_seconds: float
    money: float | None
    """Money spent on model calls, where the records hold a cost column."""
    priced: bool = True
    """False where some call's price was unknown (then `money` is a lower bound)."""
    unusable_reasons: dict[str, int] = field(default_factory=dict)
    """Unusable samples by reason (empty in runs recorded before reasons were)."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RunRecords:
    """The records of one run directory, opened read-only."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        db_path = self.path / RECORDS
        if not self.path.is_dir():
            raise UserError(f"not a run directory: {self.path} does not exist or is no folder")
        if not db_path.is_file():
            raise UserError(f"not a run directory: {self.path} has no {RECORDS}")
        try:
            self._db = connect_readonly(db_path)
            tables = {
                r["name"]
                for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            raise UserError(f"not a run directory: {db_path} is not readable ({exc})") from None
        if not REQUIRED_TABLES <= tables:
            self._db.close()
            raise UserError(f"not a run directory: {db_path} lacks the tables of a selftaught run")
        self.meta = self._meta()
        version = self.meta.get("schema_version")
        if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
            self._db.close()
            raise UserError(
                f"incompatible run records in {self.path}: schema version {version!r}, this "
                f"selftaught reads versions 1 to {SCHEMA_VERSION}"
            )
        self.tables = tables

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunRecords:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.execute(sql, params)]

    def columns(self, table: str) -> set[str]:
        return {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}

    def _meta(self) -> dict[str, Any]:
        out = {}
        for r in self._db.execute("SELECT key, value FROM meta"):
            try:
                out[r["key"]] = json.loads(r["value"])
            except (TypeError, json.JSONDecodeError):
                out[r["key"]] = r["value"]
        return out

    # -- what the run is ------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.meta.get("config")
        return cfg if isinstance(cfg, dict) else {}

    @property
    def status(self) -> str:
        return str(self.meta.get("status", "unknown"))

    def iterations(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM iterations ORDER BY iteration")

    def program(self, digest: str | None) -> str | None:
        if not digest:
            return None
        rows = self.query("SELECT source FROM programs WHERE hash = ?", (digest,))
        return rows[0]["source"] if rows else None

    def improver_source(self, iteration: int) -> str | None:
        """The improver of an iteration: from the records, else from `improvers/`."""
        rows = [r for r in self.iterations() if r["iteration"] == iteration]
        if rows:
            src = self.program(rows[0]["improver_hash"])
            if src is not None:
                return src
        file = self.path / "improvers" / f"iter_{iteration:03d}.py"
        return file.read_text() if file.is_file() else None

    def candidate_source(self, candidate: Candidate) -> str | None:
        src = self.program(candidate.program_hash)
        if src is not None:
            return src
        name = f"iter_{candidate.iteration:03d}_candidate_{candidate.index:02d}.py"
        file = self.path / "improvers" / name
        return file.read_text() if file.is_file() else None

    def solutions(self) -> list[dict[str, Any]]:
        """Every solution program scored in the run, once, with the first iteration that
        scored it: `iteration`, `hash`, `source`."""
        return self.query(
            "SELECT MIN(e.iteration) AS iteration, p.hash AS hash, p.source AS source"
            " FROM programs p JOIN evaluations e ON e.program_hash = p.hash"
            " WHERE p.kind = 'solution' AND e.kind = 'solution'"
            " GROUP BY p.hash ORDER BY MIN(e.id)"
        )

    # -- derived tables -------------------------------------------------------------

    def candidates(self) -> list[Candidate]:
        """Every candidate of every step; adopted ones are the improver their iteration adopted."""
        adopted = {r["iteration"]: r["improver_hash"] for r in self.iterations() if r["adopted"]}
        out = []
        rows = self.query(
            "SELECT iteration, scope, program_hash, score FROM evaluations"
            " WHERE kind = 'improver' AND split = 'validation' ORDER BY id"
        )
        for r in rows:
            m = _CANDIDATE.match(r["scope"] or "")
            if not m:
                continue
            it = int(m.group(1))
            out.append(
                Candidate(
                    iteration=it,
                    index=int(m.group(2)),
                    program_hash=r["program_hash"],
                    score=float(r["score"] or 0.0),
                    adopted=adopted.get(it) == r["program_hash"] and it > 0,
                )
            )
        return out

    def costs(self) -> list[IterationCost]:
        cols = self.columns("model_calls")
        cost_col = next((c for c in COST_COLUMNS if c in cols), None)
        money = f"SUM(CAST({cost_col} AS REAL))" if cost_col else "NULL"
        priced = "MIN(priced)" if "priced" in cols else "1"
        per_iter = {
            r["iteration"]: r
            for r in self.query(
                "SELECT iteration, COUNT(*) AS calls, COALESCE(SUM(samples), 0) AS samples,"
                " COALESCE(SUM(usable), 0) AS usable,"
                " COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
                " COALESCE(SUM(completion_tokens), 0) AS completion_tokens,"
                f" COALESCE(SUM(seconds), 0) AS seconds, {money} AS money, {priced} AS priced"
                " FROM model_calls GROUP BY iteration"
            )
        }
        reasons: dict[int, dict[str, int]] = {}
        if "unusable_reasons" in cols:
            from selftaught.lm.usable import add_reasons

            for r in self.query("SELECT iteration, unusable_reasons FROM model_calls"):
                add_reasons(reasons.setdefault(r["iteration"], {}), r["unusable_reasons"])
        iter_cols = self.columns("iterations")
        iter_cost = next((c for c in COST_COLUMNS if c in iter_cols), None)
        out = []
        for it in self.iterations():
            r = per_iter.get(it["iteration"], {})
            money_value = r.get("money")
            if money_value is None and iter_cost:
                money_value = it.get(iter_cost)
            out.append(
                IterationCost(
                    iteration=it["iteration"],
                    model_calls=int(r.get("calls") or it.get("model_calls") or 0),
                    samples=int(r.get("samples") or it.get("samples") or 0),
                    usable=int(r.get("usable") or it.get("usable") or 0),
                    prompt_tokens=int(r.get("prompt_tokens") or it.get("prompt_tokens") or 0),
                    completion_tokens=int(
                        r.get("completion_tokens") or it.get("completion_tokens") or 0
                    ),
                    model_seconds=float(r.get("seconds") or 0.0),
                    wall_seconds=float(it.get("seconds") or 0.0),
                    money=float(money_value) if money_value is not None else None,
                    priced=r.get("priced") != 0,
                    unusable_reasons=reasons.get(it["iteration"], {}),
                )
            )
        return out

    def totals(self) -> dict[str, Any]:
        """Model usage of the whole run, iterations or not (experiments have none)."""
        cols = self.columns("model_calls")
        cost_col = next((c for c in COST_COLUMNS if c in cols), None)
        money = f"SUM(CAST({cost_col} AS REAL))" if cost_col else "NULL"
        return self.query(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(samples), 0) AS samples,"
            " COALESCE(SUM(prompt_tokens), 0) + COALESCE(SUM(completion_tokens), 0) AS tokens,"
            f" {money} AS money FROM model_calls"
        )[0]

    def sandbox_attempts(self) -> list[dict[str, Any]]:
        """Rows of a sandbox experiment (`selftaught sandbox-experiment`), if this is one."""
        return self.query(
            "SELECT task AS condition, outcome, message FROM evaluations"
            " WHERE kind = 'sandbox_attempt' ORDER BY id"
        )

    def total_money(self) -> float | None:
        values = [c.money for c in self.costs() if c.money is not None]
        return sum(values) if values else None

    def events(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM events ORDER BY id")

    def out_of_bounds_scores(self) -> list[dict[str, Any]]:
        """Evaluations whose score left [0, 1]: a scorer fault or a reward hack."""
        return self.query(
            "SELECT * FROM evaluations WHERE score IS NOT NULL AND (score < 0 OR score > 1)"
            " ORDER BY id"
        )

    def transfer(self) -> tuple[Path, Any] | None:
        """The transfer results written next to the records, if any: (file, parsed JSON)."""
        files = sorted(self.path.glob("transfer*.json")) + sorted(self.path.glob("transfer/*.json"))
        for file in files:
            try:
                return file, json.loads(file.read_text())
            except (OSError, json.JSONDecodeError):
                continue
        return None
