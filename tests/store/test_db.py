"""Run records: old run directories stay readable as columns are added."""

import json
import sqlite3

from selftaught.report.records import RunRecords
from selftaught.store.db import _SCHEMA, Store


def _old_run(path):
    """A records database as written before unusable reasons were recorded."""
    db = sqlite3.connect(path / "records.sqlite")
    db.executescript(_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute(
        "INSERT INTO model_calls (iteration, scope, samples, usable) VALUES (0, 'it0', 3, 1)"
    )
    db.execute(
        "INSERT INTO iterations (iteration, improver_hash, model_calls, samples, usable,"
        " seconds) VALUES (0, 'h', 1, 3, 1, 1.0)"
    )
    db.commit()
    db.close()


def test_an_old_run_without_reasons_reads_with_none(tmp_path):
    _old_run(tmp_path)
    records = RunRecords(tmp_path)
    (cost,) = records.costs()
    assert cost.samples == 3 and cost.unusable_reasons == {}


def test_opening_an_old_run_for_writing_adds_the_reasons_column(tmp_path):
    _old_run(tmp_path)
    store = Store(tmp_path / "records.sqlite")
    store.add_model_call(
        {
            "iteration": 0,
            "scope": "it0",
            "samples": 2,
            "usable": 0,
            "unusable_reasons": json.dumps({"syntax": 1, "cut_at_limit": 1}),
        }
    )
    assert store.unusable_reasons() == {"syntax": 1, "cut_at_limit": 1}
    assert store.iterations()[0]["unusable_reasons"] == {"syntax": 1, "cut_at_limit": 1}
    store.close()
