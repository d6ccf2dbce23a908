"""The real embedded model, end to end through the command line, on a tiny budget; then
the recorded run replayed through `replay:` gives the same improvers and scores."""

import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_run import selftaught

pytestmark = pytest.mark.slow

TINY = [
    "--iterations", "1", "--runs", "1", "--lm-calls", "1", "--samples-per-call", "2",
    "--utility-calls", "3", "--max-tokens", "96",
]  # fmt: skip


def _iterations(run_dir: Path) -> list[tuple]:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT iteration, improver_hash, validation, heldout, adopted FROM iterations"
    ).fetchall()
    db.close()
    return rows


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("embedded")
    result = selftaught("run", *TINY, "--name", "tiny", cwd=folder, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (folder / "runs").iterdir()
    return result, run_dir


def test_embedded_model_runs_stop_end_to_end(embedded_run):
    result, run_dir = embedded_run
    iterations = _iterations(run_dir)
    assert [i[0] for i in iterations] == [0, 1]
    assert all(0.0 <= i[2] <= 1.0 and 0.0 <= i[3] <= 1.0 for i in iterations)
    db = sqlite3.connect(run_dir / "records.sqlite")
    calls = db.execute("SELECT backend, samples, completion_tokens FROM model_calls").fetchall()
    db.close()
    # 2 samples asked; up to 2 rounds of drawing again for unusable or unchanged ones
    assert calls and all(c[0] == "local:smollm2" and 2 <= c[1] <= 6 and c[2] > 0 for c in calls)
    assert "usable code" in result.stderr
    assert (run_dir / "improvers" / "iter_001.py").exists()
    assert (run_dir / "report.html").exists()


def test_replaying_the_embedded_run_gives_the_same_improvers_and_scores(embedded_run, tmp_path):
    _, recorded = embedded_run
    result = selftaught(
        "run", *TINY, "--name", "replayed", "--model", f"replay:{recorded}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (replayed,) = (tmp_path / "runs").iterdir()
    assert _iterations(replayed) == _iterations(recorded)
