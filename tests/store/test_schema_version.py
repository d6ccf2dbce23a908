"""The records say which schema they hold, and every open checks it: a file from a newer
selftaught is one clear error and is left as it was; an older one is migrated (for
writing) or read as it is (read-only)."""

import json
import sqlite3

import pytest

from selftaught.errors import RunDirError
from selftaught.store import SCHEMA_VERSION, Records, Store
from selftaught.store.schema import _ADDED_COLUMNS
from tests.cli.test_run import selftaught

OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE programs (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE model_calls (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, backend TEXT, system TEXT,
    messages TEXT, temperature REAL, max_tokens INTEGER, seed INTEGER, responses TEXT,
    samples INTEGER, usable INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
    seconds REAL, error TEXT, truncated INTEGER, created REAL);
CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, kind TEXT, program_hash TEXT,
    task TEXT, split TEXT, seeds TEXT, score REAL, instances INTEGER, solved INTEGER,
    failed INTEGER, timed_out INTEGER, outcome TEXT, message TEXT, seconds REAL,
    cache_hit INTEGER, created REAL);
CREATE TABLE iterations (
    iteration INTEGER PRIMARY KEY, improver_hash TEXT, parent_hash TEXT, proposer_hash TEXT,
    validation REAL, validation_se REAL, heldout REAL, heldout_se REAL, adopted INTEGER,
    outcome TEXT, message TEXT, model_calls INTEGER, samples INTEGER, usable INTEGER,
    prompt_tokens INTEGER, completion_tokens INTEGER, evaluations INTEGER, seconds REAL,
    created REAL);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, iteration INTEGER, scope TEXT, program_hash TEXT, kind TEXT,
    detail TEXT, created REAL);
"""
"""The tables as the first records were written: before costs, cached samples, unusable
reasons, paired differences and improver runs were recorded."""


def _records(folder, version):
    folder.mkdir(exist_ok=True)
    db = sqlite3.connect(folder / "records.sqlite")
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (json.dumps(version),))
    db.execute("INSERT INTO meta VALUES ('status', '\"finished\"')")
    db.execute(
        "INSERT INTO model_calls (iteration, scope, samples, usable, prompt_tokens,"
        " completion_tokens) VALUES (0, 'it0/eval', 4, 3, 10, 5)"
    )
    db.execute(
        "INSERT INTO iterations (iteration, improver_hash, validation, heldout, adopted)"
        " VALUES (0, 'h0', 0.5, 0.25, 1)"
    )
    db.commit()
    db.close()
    return folder


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_records_from_a_newer_schema_are_refused_and_left_as_they_were(tmp_path):
    folder = _records(tmp_path / "future", SCHEMA_VERSION + 1)
    before = _files(folder)
    with pytest.raises(RunDirError, match=f"schema version {SCHEMA_VERSION + 1}") as raised:
        Store(folder / "records.sqlite")  # as a resume opens them for writing
    assert "newer selftaught" in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(RunDirError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Records(folder)
    assert _files(folder) == before  # no row, no -wal or -shm file


def test_the_command_line_refuses_a_newer_schema_in_one_line(tmp_path):
    folder = _records(tmp_path / "future", SCHEMA_VERSION + 1)
    for command in (["show", str(folder)], ["report", str(folder)]):
        result = selftaught(*command, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "incompatible run records" in line and f"schema {SCHEMA_VERSION + 1}" in line


def test_old_records_read_as_they_are_and_are_migrated_when_opened_for_writing(tmp_path):
    folder = _records(tmp_path / "old", 1)
    before = _files(folder)
    with Records(folder) as records:
        (row,) = records.iterations()
        assert row.heldout == 0.25 and row.paired_diff is None and row["paired_n"] is None
        assert records.usage().samples == 4 and records.usage().cost is None
        assert records.meta.status == "finished"
    assert _files(folder) == before  # reading changed nothing

    store = Store(folder / "records.sqlite")
    try:
        for table, added in _ADDED_COLUMNS.items():
            assert set(added) <= store.columns(table), table
        assert "improver_runs" in {r[0] for r in store.query("SELECT name FROM sqlite_master")}
        assert store.meta()["schema_version"] == 1  # the version it was created with
        assert store.iterations()[0].adopted == 1
    finally:
        store.close()


def test_records_without_a_version_get_this_one_when_written(tmp_path):
    folder = _records(tmp_path / "unversioned", 1)
    db = sqlite3.connect(folder / "records.sqlite")
    db.execute("DELETE FROM meta WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(RunDirError, match="schema version None"):
        Records(folder)
    Store(folder / "records.sqlite").close()
    with Records(folder) as records:
        assert records.meta.schema_version == SCHEMA_VERSION


def test_replay_refuses_records_from_a_newer_schema(tmp_path):
    from selftaught.store.reads import answered_calls

    folder = _records(tmp_path / "future", SCHEMA_VERSION + 1)
    before = _files(folder)
    with pytest.raises(RunDirError, match=f"schema version {SCHEMA_VERSION + 1}"):
        answered_calls(folder / "records.sqlite")
    assert _files(folder) == before


def test_records_in_a_folder_named_with_uri_characters_are_read_and_checked(tmp_path):
    # read-only opens go through an SQLite URI, where `#` and `?` end the path
    folder = _records(tmp_path / "run #1?", 1)
    with Records(folder) as records:
        assert records.iterations()[0].heldout == 0.25
    future = _records(tmp_path / "run #2", SCHEMA_VERSION + 1)
    before = _files(future)
    with pytest.raises(RunDirError, match="newer selftaught"):
        Store(future / "records.sqlite")
    assert _files(future) == before  # refused before the writer opened it
