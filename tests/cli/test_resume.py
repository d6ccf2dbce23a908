"""`selftaught resume` after SIGKILL at several points equals an uninterrupted run."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_run import selftaught
from tests.conftest import data
from tests.stop.test_loop import BETTER_IMPROVER

CONFIG = (
    'name = "resumable"\nmodel = "scripted:replies.json"\niterations = 2\nruns = 2\n'
    'instance_key = "resume-test"\n'
    "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
)


def _setup(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rules = [
        {"when": "meta_utility", "reply": f"```python\n{BETTER_IMPROVER}```"},
        {"when": "BETTER-IMPROVER", "reply": f"```python\n{data('lpn_bruteforce.py')}```"},
        {"when": "", "reply": "```python\ndef algorithm(a, b, c):\n    return [0] * len(c)\n```"},
    ]
    (folder / "replies.json").write_text(json.dumps(rules))
    (folder / "run.toml").write_text(CONFIG)


def _outcome(run_dir: Path) -> list[tuple]:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT iteration, improver_hash, round(validation, 9), round(heldout, 9), adopted,"
        " round(paired_diff, 9), round(paired_lower, 9), paired_n FROM iterations"
        " ORDER BY iteration"
    ).fetchall()
    db.close()
    return rows


def _count(run_dir: Path, table: str) -> int:
    try:
        db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True, timeout=0.1)
        try:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[list[tuple], int, int]:
    folder = tmp_path_factory.mktemp("reference")
    _setup(folder)
    result = selftaught("run", "--config", "run.toml", cwd=folder)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (folder / "runs").iterdir()
    return _outcome(run_dir), _cached_samples(run_dir), _count(run_dir, "model_calls")


def _cached_samples(run_dir: Path) -> int:
    db = sqlite3.connect(f"file:{run_dir / 'cache.sqlite'}?mode=ro", uri=True)
    n, paid = db.execute("SELECT COUNT(*), SUM(writes) FROM samples").fetchone()
    assert n == paid, "a sample was paid for twice"
    db.close()
    return n


@pytest.mark.parametrize(
    "kill_after", [("model_calls", 1), ("evaluations", 20), ("iterations", 1), ("improver_runs", 5)]
)
def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path, reference, kill_after):
    _setup(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "run", "--config", "run.toml"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    table, threshold = kill_after
    deadline = time.monotonic() + 120
    run_dir = None
    while time.monotonic() < deadline and proc.poll() is None:
        dirs = list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").exists() else []
        if dirs and _count(dirs[0], table) >= threshold:
            run_dir = dirs[0]
            break
        time.sleep(0.002)
    ended = proc.poll()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_dir is not None, f"the run never reached {threshold} rows of {table}: " + (
        "it hung" if ended is None else f"it ended first with exit code {ended}"
    )
    _resume_equals_reference(tmp_path, run_dir, reference)


@pytest.mark.parametrize("iteration", [0, 1, 2])
def test_resume_after_sigkill_in_the_commit_of_an_iteration_row(tmp_path, reference, iteration):
    _setup(tmp_path)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "kill_at_commit.py"), "run"]
        + ["--config", "run.toml"],
        cwd=tmp_path,
        env={**os.environ, "KILL_AT_ITERATION": str(iteration)},
        capture_output=True,
        timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    # the row being committed is not in the records; the ones before it are
    assert [r[0] for r in _outcome(run_dir)] == list(range(iteration))
    _resume_equals_reference(tmp_path, run_dir, reference)


def _resume_equals_reference(tmp_path: Path, run_dir: Path, reference) -> None:
    result = selftaught("resume", str(run_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _outcome(run_dir) == reference[0]
    # every sample ever asked of the model is asked once: the cache holds exactly the
    # samples of an uninterrupted run, and the records count each call once
    assert _cached_samples(run_dir) == reference[1]
    assert _count(run_dir, "model_calls") == reference[2]


def test_resume_refuses_a_directory_that_is_not_a_run(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = selftaught("resume", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "not a run directory" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_resume_refuses_an_incompatible_version_without_touching_it(tmp_path, reference):
    folder = tmp_path / "old"
    _setup(folder)
    assert selftaught("run", "--config", "run.toml", cwd=folder).returncode == 0
    (run_dir,) = (folder / "runs").iterdir()
    db = sqlite3.connect(run_dir / "records.sqlite")
    db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    stamp = (run_dir / "records.sqlite").stat().st_mtime_ns
    result = selftaught("resume", str(run_dir), cwd=folder)
    assert result.returncode == 2 and "schema 999" in result.stderr
    assert (run_dir / "records.sqlite").stat().st_mtime_ns == stamp


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    _setup(tmp_path)
    assert selftaught("run", "--config", "run.toml", cwd=tmp_path).returncode == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    before = _outcome(run_dir)
    result = selftaught("resume", str(run_dir), cwd=tmp_path)
    assert result.returncode == 0 and "already finished" in result.stderr
    assert _outcome(run_dir) == before


def test_refusing_a_run_creates_no_files_beside_its_records(tmp_path):
    _setup(tmp_path)
    assert selftaught("run", "--config", "run.toml", cwd=tmp_path).returncode == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    db = sqlite3.connect(run_dir / "records.sqlite")
    db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    before = sorted(p.name for p in run_dir.iterdir())
    assert selftaught("resume", str(run_dir), cwd=tmp_path).returncode == 2
    assert sorted(p.name for p in run_dir.iterdir()) == before
