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
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS programs (
    hash TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_calls (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, backend TEXT, system TEXT,
    messages TEXT, temperature REAL, max_tokens INTEGER, seed INTEGER, responses TEXT,
    samples INTEGER, usable INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
    seconds REAL, error TEXT, truncated INTEGER, created REAL);
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
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Several writes that land together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _write(self, sql: str, params: tuple | dict = ()) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
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
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
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
        return [dict(r) for r in self.query("SELECT * FROM iterations ORDER BY iteration")]

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
