"""The run's records: one SQLite database, a versioned schema, one transaction per write.

A header (`meta`) says what made the run; the body is appended as work completes, so an
interrupted run keeps everything it finished. Every text written is cleaned and bounded
here, whatever wrote it (`store.limits`): no text a program or a model made can make a
write fail.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from selftaught.store.faults import halt_when_full, release_reserve, storage_full
from selftaught.store.limits import clean_json, stored
from selftaught.store.reads import Reads
from selftaught.store.rows import (
    EvaluationRow,
    EventRow,
    ImproverRunRow,
    IterationRow,
    Meta,
    ModelCallRow,
    Row,
)
from selftaught.store.schema import (
    _SCHEMA,  # noqa: F401 - tests build old records files from it
    SCHEMA_VERSION,  # noqa: F401 - imported from here by callers
    check_version,
    connect_readonly,
    create_or_migrate,
    recorded_version,
)
from selftaught.text import clean_text

R = TypeVar("R", bound=Row)
_PARTIAL_TABLES = ("model_calls", "evaluations", "improver_runs", "events")
"""The tables whose rows an unfinished iteration leaves behind (see `discard_from`)."""


def program_hash(src: str) -> str:
    """The first 16 hex digits of the sha256 of the program's UTF-8; any text hashes (a
    lone surrogate as its own code point), and distinct texts hash apart."""
    return hashlib.sha256(src.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Store(Reads):
    """Thread-safe writer and reader of one run database (the reads: `Reads`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.full = False
        """Set once a write found the disk full: from then on only `set_meta` (the writes
        that close the run) is tried, so the room the run's reserve frees stays for them."""
        self._lock = threading.Lock()
        if self.path.is_file():  # refuse a newer schema before anything is written to it
            _check_existing(self.path)
        with halt_when_full(self.path.parent):
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                with self._lock:
                    create_or_migrate(self._db, self.path.parent)
            except BaseException:
                self._db.close()
                raise

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

    def _write(
        self, sql: str, params: tuple | dict = (), *more: tuple[str, tuple], closing: bool = False
    ) -> int:
        """One transaction of one statement or more; the rows they changed."""
        if self.full and not closing:
            raise storage_full(self.path.parent)
        changed = 0
        with halt_when_full(self.path.parent, self._on_full), self._lock:
            self._begin()
            try:
                for statement, values in ((sql, params), *more):
                    changed += self._db.execute(statement, values).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return changed

    def _insert(self, table: str, kind: type[R], row: R | Mapping[str, Any]) -> None:
        if not isinstance(row, kind):
            row = kind(**row)  # a misspelt column is a TypeError here, not a lost value
        values = {}
        cut = []
        for column in kind.columns():
            if column != "id" or row["id"]:
                values[column], was_cut = stored(column, getattr(row, column))
                if was_cut:
                    cut.append(column)
        if cut and "notes" in values:  # say so where the row keeps its remarks
            try:
                notes = json.loads(values["notes"]) if values["notes"] else []
            except ValueError:
                notes = [values["notes"]]
            notes = notes if isinstance(notes, list) else [notes]
            notes.append(f"records: {', '.join(cut)} cut to the records' limit")
            values["notes"], _ = stored("notes", json.dumps(notes))
        values["created"] = time.time()
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        self._write(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)

    # -- writes ----------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        self._write(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (clean_text(key), clean_json(json.dumps(value))),
            closing=True,
        )

    def meta(self) -> Meta:
        return self.read_meta()

    def save_program(self, src: str, kind: str) -> str:
        """Store a program's source under its hash (cleaned, and cut past the longest a
        program may be, which only a program that was never checked can be)."""
        digest = program_hash(src)
        self._write(
            "INSERT OR IGNORE INTO programs (hash, kind, source) VALUES (?, ?, ?)",
            (digest, stored("kind", kind)[0], stored("source", src)[0]),
        )
        return digest

    def add_model_call(self, row: ModelCallRow | Mapping[str, Any]) -> None:
        self._insert("model_calls", ModelCallRow, row)

    def add_evaluation(self, row: EvaluationRow | Mapping[str, Any]) -> None:
        self._insert("evaluations", EvaluationRow, row)

    def add_improver_run(self, row: ImproverRunRow | Mapping[str, Any]) -> None:
        self._insert("improver_runs", ImproverRunRow, row)

    def add_iteration(self, row: IterationRow | Mapping[str, Any]) -> None:
        self._insert("iterations", IterationRow, row)

    def add_event(self, row: EventRow | Mapping[str, Any]) -> None:
        self._insert("events", EventRow, row)

    def discard_from(self, iteration: int) -> int:
        """Remove, in one transaction, the rows of iterations >= `iteration` (an unfinished
        one, about to be run again). Returns how many rows were removed."""
        first, *rest = [f"DELETE FROM {table} WHERE iteration >= ?" for table in _PARTIAL_TABLES]
        return self._write(first, (iteration,), *[(sql, (iteration,)) for sql in rest])

    # -- reads only the writer needs ----------------------------------------------

    def run_usage(self) -> dict[str, Any]:
        """Totals of the whole run, as the records header keeps them (`meta.usage`):
        calls, samples, tokens, cached samples and money."""
        u = self.usage()
        return {
            "calls": u.calls,
            "samples": u.samples,
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "cached": u.cached,
            "cost": u.cost or Decimal(0),
            "priced": u.priced,
        }

    def unusable_reasons(self, *, iteration: int | None = None) -> dict[str, int]:
        """Unusable samples by reason, for the whole run or one iteration."""
        return self.usage(iteration=iteration).unusable_reasons


def _check_existing(path: Path) -> None:
    """A `RunDirError` for a records file of a schema this version does not know."""
    try:
        db = connect_readonly(path)
        try:
            version = recorded_version(db)
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return  # not readable as records: opening it for writing says why
    if version is not None:
        check_version(version, path.parent)
