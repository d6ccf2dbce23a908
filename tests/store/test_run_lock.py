"""One process per run directory: a live run holds its lock; the kernel drops it on death."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from selftaught.report.provenance import list_runs
from selftaught.store.faults import RunLock, holder
from tests.cli.test_run import selftaught


def _meta(run_dir: Path, key: str):
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None
    finally:
        db.close()


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen (exit {proc.poll()})")


def _status_shown(folder: Path) -> str:
    (summary,) = list_runs(folder)
    return summary.status


def test_a_second_resume_of_a_live_run_is_refused_and_allowed_once_it_died(tmp_path):
    first = _start(["run", "--model", "echo", "--iterations", "500"], tmp_path)
    runs = tmp_path / "runs"
    try:
        _wait_for(
            lambda: runs.exists() and any(runs.glob("*/improvers/iter_001.py")), first, "a start"
        )
        (run_dir,) = runs.iterdir()
        assert holder(run_dir) == first.pid
        assert _status_shown(runs) == "running"
        before = _meta(run_dir, "status"), _count_iterations(run_dir)

        refused = selftaught("resume", str(run_dir), cwd=tmp_path, timeout=60)
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and f"in use by selftaught process {first.pid}" in lines[0]
        assert first.poll() is None and _meta(run_dir, "pid") == first.pid
        assert _meta(run_dir, "status") == before[0] == "running"
        assert _count_iterations(run_dir) >= before[1]  # nothing discarded under its feet
    finally:
        first.kill()
        first.communicate()
    # killed: nobody holds the lock, the records still say running
    assert holder(run_dir) is None and _meta(run_dir, "status") == "running"
    assert _status_shown(runs) == "stopped"

    second = _start(["resume", str(run_dir)], tmp_path)
    try:
        _wait_for(lambda: _meta(run_dir, "pid") == second.pid, second, "the resume")
        assert holder(run_dir) == second.pid and _status_shown(runs) == "running"
        second.send_signal(signal.SIGINT)
        _, err = second.communicate(timeout=120)
    finally:
        if second.poll() is None:
            second.kill()
            second.communicate()
    assert second.returncode == 130, err[-2000:]
    assert _status_shown(runs) == "stopped" and holder(run_dir) is None


def _count_iterations(run_dir: Path) -> int:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT COUNT(*) FROM iterations").fetchone()[0]
    finally:
        db.close()


def test_a_run_held_for_something_else_shows_locked_and_cannot_be_resumed(tmp_path):
    done = selftaught("run", "--model", "echo", "--iterations", "1", "--runs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    db = sqlite3.connect(run_dir / "records.sqlite")
    db.execute("UPDATE meta SET value = '\"stopped\"' WHERE key = 'status'")
    db.commit()
    db.close()
    assert _status_shown(tmp_path / "runs") == "stopped"
    lock = RunLock(run_dir)  # as a resume holds it while it discards the unfinished iteration
    try:
        assert holder(run_dir) == os.getpid()
        assert _status_shown(tmp_path / "runs") == "locked"
        refused = selftaught("resume", str(run_dir), cwd=tmp_path, timeout=60)
        assert refused.returncode == 2 and "in use by selftaught process" in refused.stderr
        shown = selftaught("runs", str(tmp_path / "runs"), cwd=tmp_path, timeout=60)
        assert shown.returncode == 0 and "locked" in shown.stdout
    finally:
        lock.release()
    assert holder(run_dir) is None and _status_shown(tmp_path / "runs") == "stopped"
