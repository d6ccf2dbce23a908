"""The real embedded model, end to end through the command line, on a tiny budget."""

import sqlite3

import pytest

from tests.cli.test_run import selftaught

pytestmark = pytest.mark.slow


def test_embedded_model_runs_stop_end_to_end(tmp_path):
    result = selftaught(
        "run",
        "--iterations",
        "1",
        "--runs",
        "1",
        "--lm-calls",
        "1",
        "--samples-per-call",
        "2",
        "--utility-calls",
        "3",
        "--max-tokens",
        "96",
        "--name",
        "tiny",
        cwd=tmp_path,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    db = sqlite3.connect(run_dir / "records.sqlite")
    iterations = db.execute("SELECT iteration, validation, heldout FROM iterations").fetchall()
    assert [i[0] for i in iterations] == [0, 1]
    assert all(0.0 <= i[1] <= 1.0 and 0.0 <= i[2] <= 1.0 for i in iterations)
    calls = db.execute("SELECT backend, samples, completion_tokens FROM model_calls").fetchall()
    assert calls and all(c[0] == "local:smollm2" and c[1] == 2 and c[2] > 0 for c in calls)
    assert "usable code" in result.stderr
    assert (run_dir / "improvers" / "iter_001.py").exists()
