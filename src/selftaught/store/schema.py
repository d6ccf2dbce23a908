"""The schema of the run records, its version, and opening a records file.

`SCHEMA_VERSION` is written into every records file (`meta.schema_version`) and checked
whenever one is opened, for reading or writing: a file from a newer, unknown schema is a
one-line `RunDirError`, and nothing is written to it. Columns added since a table was first
created (`_ADDED_COLUMNS`) do not change the version: a file written before them is
migrated when opened for writing (the columns are added) and read as it is (the missing
columns read as None). A change older versions could not read bumps the version.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from selftaught.errors import RunDirError

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

REQUIRED_TABLES = {"meta", "programs", "model_calls", "evaluations", "iterations", "events"}
"""The tables every records file has (`improver_runs` came later)."""

_ADDED_COLUMNS = {
    "model_calls": {
        "cost": "TEXT",
        "priced": "INTEGER",
        "cached": "INTEGER",
        "attempts": "INTEGER",
        "notes": "TEXT",
        "unusable_reasons": "TEXT",
        "answers": "TEXT",
    },
    "iterations": {
        "paired_diff": "REAL",
        "paired_lower": "REAL",
        "paired_n": "INTEGER",
        "paired_level": "REAL",
    },
    "events": {
        # who says so: `orchestrator` (observed) or `worker` (a claim the worker made
        # about itself; docs/security.md, "Events"); NULL in older records
        "source": "TEXT",
    },
}
"""Columns added after a table was first created: records written before them still open."""


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def recorded_version(db: sqlite3.Connection) -> Any:
    """The schema version a records file says it holds (None where it says nothing)."""
    if "meta" not in tables(db):
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return None
    try:
        return json.loads(row[0])
    except (TypeError, json.JSONDecodeError):
        return row[0]


def check_version(version: Any, where: Path | str) -> None:
    """A `RunDirError` unless `version` is a schema this selftaught reads (1 to
    `SCHEMA_VERSION`)."""
    if isinstance(version, int) and not isinstance(version, bool):
        if 1 <= version <= SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise RunDirError(
                f"incompatible run records in {where}: schema version {version} comes from a"
                f" newer selftaught (this one reads schema 1 to {SCHEMA_VERSION}); upgrade"
                f" selftaught to read schema {version}"
            )
    raise RunDirError(
        f"incompatible run records in {where}: schema version {version!r}, this "
        f"selftaught reads versions 1 to {SCHEMA_VERSION}"
    )


def create_or_migrate(db: sqlite3.Connection, where: Path | str) -> None:
    """Check the version of a file opened for writing, then create what is missing: the
    tables of a new file, the added columns of an older one, the version of either."""
    if "meta" in tables(db):
        version = recorded_version(db)
        if version is not None:  # a file without one was made by this version's writer
            check_version(version, where)
    db.executescript(_SCHEMA)
    for table, added in _ADDED_COLUMNS.items():
        have = columns(db, table)
        for name, kind in added.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    # Every database this writes says which schema it holds, whatever kind of run made
    # it; an existing database keeps the version it was created with.
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
        (json.dumps(SCHEMA_VERSION),),
    )


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write to the database or create files next to it.

    SQLite's read-only mode still creates the `-wal` and `-shm` files of a WAL database
    when they are missing, so a database nobody has open (no `-wal` file) is opened
    `immutable`; a live or crashed run already has its `-wal`."""
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    # as a URI, so a folder named with `#` or `?` is the folder it names
    uri = f"{Path(path).absolute().as_uri()}?{flags}"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db
