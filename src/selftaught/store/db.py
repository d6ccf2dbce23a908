"""The run's records: one SQLite database, a versioned schema, one transaction per write.

A header (`meta`) says what made the run; the body is appended as work completes, so an
interrupted run keeps everything it finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from selftaught.store.faults import halt_when_full, release_reserve, storage_full

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS programs (
    hash TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_calls (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, backend TEXT, system TEXT,
    messages TEXT, temperature REAL, max_tokens INTEGER, seed INTEGER, responses TEXT,
    samples INTEGER, usable INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
    seconds REAL, error TEXT, truncated INTEGER, created REAL,
    cost TEXT, priced INTEGER, cached INTEGER, attempts INTEGER, notes TEXT);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, kind TEXT, program_hash TEXT,
    task TEXT, split TEXT, seeds TEXT, score REAL, instances INTEGER, solved INTEGER,
    failed INTEGER, timed_out INTEGER, outcome TEXT, message TEXT, seconds REAL,
    cache_hit INTEGER, created REAL);
CREATE TABLE IF NOT EXISTS improver_runs (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, purpose TEXT, improver_hash TEXT,
    task TEXT, initial_hash TEXT, returned_hash TEXT, outcome TEXT, message TEXT,
    validation REAL, heldout REAL, model_calls INTEGER, utility_calls INTEGER,
    seconds REAL, created REAL);
CREATE TABLE IF NOT EXISTS iterations (
    iteration INTEGER PRIMARY KEY, improver_hash TEXT, parent_hash TEXT, proposer_hash TEXT,
    validation REAL, validation_se REAL, heldout REAL, heldout_se REAL, adopted INTEGER,
    outcome TEXT, message TEXT, model_calls INTEGER, samples INTEGER, usable INTEGER,
    prompt_tokens INTEGER, completion_tokens INTEGER, evaluations INTEGER, seconds REAL,
    created REAL);
CREATE VIEW IF NOT EXISTS improver_run_usage AS
    SELECT iteration, scope, COUNT(*) AS model_calls, SUM(samples) AS samples,
    SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
    SUM(CAST(cost AS REAL)) AS cost, MIN(priced) AS priced, SUM(cached) AS cached
    FROM model_calls GROUP BY iteration, scope;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, program_hash TEXT, kind TEXT,
    detail TEXT, created REAL);
"""


def program_hash(src: str) -> str:
    return hashlib.sha256(src.encode()).hexdigest()[:16]


class Store:
    """Thread-safe writer and reader of one run database."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.full = False
        """Set once a write found the disk full: from then on only `set_meta` (the writes
        that close the run) is tried, so the room the run's reserve frees stays for them."""
        self._lock = threading.Lock()
        with halt_when_full(self.path.parent):
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._lock:
                self._db.executescript(_SCHEMA)
                _add_missing_columns(self._db)
                # Every database this writes says which schema it holds, whatever kind of run
                # made it; an existing database keeps the version it was created with.
                self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (json.dumps(SCHEMA_VERSION),),
                )

    def _on_full(self) -> None:
        self.full = True
        release_reserve(self.path.parent)

    def _begin(self) -> None:
        if self._db.in_transaction:  # a write interrupted (Ctrl-C) between BEGIN and its end
            self._db.execute("ROLLBACK")
        self._db.execute("BEGIN IMMEDIATE")

    def _rollback(self) -> None:
        if self._db.in_transaction:  # a failed COMMIT may have rolled back already
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Several writes that land together or not at all."""
        if self.full:
            raise storage_full(self.path.parent)
        with halt_when_full(self.path.parent, self._on_full), self._lock:
            self._begin()
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _write(self, sql: str, params: tuple | dict = (), *, closing: bool = False) -> None:
        if self.full and not closing:
            raise storage_full(self.path.parent)
        with halt_when_full(self.path.parent, self._on_full), self._lock:
            self._begin()
            try:
                self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        row = {**row, "created": time.time()}
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        self._write(f"INSERT INTO {table} ({cols}) VALUES ({marks})", row)

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params))

    # -- writes ----------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        self._write(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (key, json.dumps(value)),
            closing=True,
        )

    def meta(self) -> dict[str, Any]:
        return {r["key"]: json.loads(r["value"]) for r in self.query("SELECT key, value FROM meta")}

    def save_program(self, src: str, kind: str) -> str:
        digest = program_hash(src)
        self._write(
            "INSERT OR IGNORE INTO programs (hash, kind, source) VALUES (?, ?, ?)",
            (digest, kind, src),
        )
        return digest

    def program(self, digest: str) -> str | None:
        rows = self.query("SELECT source FROM programs WHERE hash = ?", (digest,))
        return rows[0]["source"] if rows else None

    def add_model_call(self, row: dict[str, Any]) -> None:
        self._insert("model_calls", row)

    def add_evaluation(self, row: dict[str, Any]) -> None:
        self._insert("evaluations", row)

    def add_improver_run(self, row: dict[str, Any]) -> None:
        self._insert("improver_runs", row)

    def add_iteration(self, row: dict[str, Any]) -> None:
        self._insert("iterations", row)

    def add_event(self, row: dict[str, Any]) -> None:
        self._insert("events", row)

    # -- reads -----------------------------------------------------------------------

    def iterations(self) -> list[dict[str, Any]]:
        rows = [dict(r) for r in self.query("SELECT * FROM iterations ORDER BY iteration")]
        for row in rows:
            usage = self.cost(iteration=row["iteration"])
            row["cost"], row["priced"] = usage["cost"], usage["priced"]
            row["unusable_reasons"] = self.unusable_reasons(iteration=row["iteration"])
        return rows

    def cost(self, *, iteration: int | None = None, scope: str | None = None) -> dict[str, Any]:
        """Money spent on model calls (a `Decimal` in dollars), for the whole run, one
        iteration, or one improver run's scope; `priced` is False where a price was unknown."""
        where, params = [], []
        if iteration is not None:
            where.append("iteration = ?")
            params.append(iteration)
        if scope is not None:
            where.append("scope = ?")
            params.append(scope)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.query(f"SELECT cost, priced FROM model_calls{clause}", tuple(params))
        return {
            "cost": sum((Decimal(r["cost"]) for r in rows if r["cost"]), Decimal(0)),
            "priced": all(r["priced"] is None or r["priced"] for r in rows),
        }

    def unusable_reasons(self, *, iteration: int | None = None) -> dict[str, int]:
        """Unusable samples by reason, for the whole run or one iteration."""
        sql = "SELECT unusable_reasons FROM model_calls"
        if iteration is not None:
            sql, params = sql + " WHERE iteration = ?", (iteration,)
        else:
            params = ()
        total: dict[str, int] = {}
        for r in self.query(sql, params):
            for name, n in json.loads(r["unusable_reasons"] or "{}").items():
                total[name] = total.get(name, 0) + int(n)
        return total

    def run_usage(self) -> dict[str, Any]:
        """Totals of the whole run: calls, samples, tokens, cached samples and money."""
        row = self.query(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(samples), 0) AS samples,"
            " COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
            " COALESCE(SUM(completion_tokens), 0) AS completion_tokens,"
            " COALESCE(SUM(cached), 0) AS cached FROM model_calls"
        )[0]
        return {**dict(row), **self.cost()}

    def usage_for_iteration(self, iteration: int) -> dict[str, int]:
        row = self.query(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(samples), 0) AS samples,"
            " COALESCE(SUM(usable), 0) AS usable,"
            " COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
            " COALESCE(SUM(completion_tokens), 0) AS completion_tokens"
            " FROM model_calls WHERE iteration = ?",
            (iteration,),
        )[0]
        evals = self.query(
            "SELECT COUNT(*) AS n FROM evaluations WHERE iteration = ? AND kind = 'solution'",
            (iteration,),
        )[0]["n"]
        return {**dict(row), "evaluations": evals}


_ADDED_COLUMNS = {
    "model_calls": {
        "cost": "TEXT",
        "priced": "INTEGER",
        "cached": "INTEGER",
        "attempts": "INTEGER",
        "notes": "TEXT",
        "unusable_reasons": "TEXT",
    },
    "iterations": {
        "paired_diff": "REAL",
        "paired_lower": "REAL",
        "paired_n": "INTEGER",
        "paired_level": "REAL",
    },
}
"""Columns added after a table was first created: records written before them still open."""


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
