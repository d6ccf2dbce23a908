"""A run whose disk fills stops cleanly, keeps intact records and resumes once there is room.

The run directory lives on a small tmpfs mounted by the test (mounting needs root, which
CI is).
"""

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from selftaught.errors import EXIT_RESUMABLE
from selftaught.store import RunDir
from selftaught.store.faults import RESERVE, StorageFull
from tests.cli.test_run import selftaught

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _grow(mount: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True)


def _fill(mount: Path, leave_kb: int) -> None:
    """Take all but about `leave_kb` KB of the disk."""
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    (mount / "filler").write_bytes(b"\0" * max(0, free - leave_kb * 1024))


def _event(i: int) -> dict:
    return {"iteration": 0, "scope": "s", "program_hash": "h", "kind": "k", "detail": f"{i}" * 900}


def test_a_store_on_a_full_disk_stops_keeps_its_writes_and_records_its_status(small_disk):
    run_dir = RunDir.create(small_disk, "full")
    store = run_dir.open_store()
    assert (run_dir.path / RESERVE).is_file()
    written = 0
    with pytest.raises(StorageFull, match="no space left on the device holding"):
        for i in range(100_000):
            store.add_event(_event(i))
            written += 1
    assert written > 10 and store.full
    assert not (run_dir.path / RESERVE).exists()  # given up for the closing writes
    with pytest.raises(StorageFull):  # no more body writes: the freed room is for closing
        store.add_event(_event(0))
    store.set_meta("status", "stopped")
    store.close()
    db = sqlite3.connect(run_dir.path / "records.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == written
    assert db.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()[0] == '"stopped"'
    db.close()


def test_an_improver_file_on_a_full_disk_stops_the_run(small_disk):
    run_dir = RunDir.create(small_disk, "full")
    _fill(small_disk, 0)
    with pytest.raises(StorageFull):
        run_dir.save_improver("x = 1\n" * 100_000, 1)
    assert not list((run_dir.path / "improvers").iterdir())  # no half-written file


def _outcome(run_dir: Path) -> tuple:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT iteration, improver_hash, round(validation, 9), round(heldout, 9), adopted,"
            " model_calls, samples, evaluations FROM iterations ORDER BY iteration"
        ).fetchall()
        counts = [
            db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("model_calls", "evaluations", "improver_runs")
        ]
        status = json.loads(db.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
        return rows, counts, status
    finally:
        db.close()


# The reference and the interrupted run must draw the same instances: pin the key.
RUN = ["run", "--model", "echo", "--iterations", "6", "--runs", "2", "--name", "full"]
RUN += ["--instance-key", "disk-full-test"]


def test_a_run_whose_disk_fills_stops_with_one_line_and_resumes_to_the_same_records(
    tmp_path, small_disk
):
    ref = selftaught(*RUN, cwd=tmp_path, timeout=600)
    assert ref.returncode == 0, ref.stderr
    (ref_dir,) = (tmp_path / "runs").iterdir()
    reference = _outcome(ref_dir)

    _fill(small_disk, 1000)  # room for the run to start and get some way, not to finish
    full = selftaught(*RUN, "--output", str(small_disk / "runs"), cwd=tmp_path, timeout=600)
    assert full.returncode == EXIT_RESUMABLE, full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    stopped = [line for line in full.stderr.splitlines() if line.startswith("run stopped")]
    assert len(stopped) == 1 and "no space left on the device holding" in stopped[0]
    (run_dir,) = (small_disk / "runs").iterdir()
    assert "continue with: selftaught resume" in full.stderr
    rows, _, status = _outcome(run_dir)
    assert status == "stopped" and len(rows) < len(reference[0])
    db = sqlite3.connect(run_dir / "records.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    (small_disk / "filler").unlink()
    _grow(small_disk, "64m")
    resumed = selftaught("resume", str(run_dir), cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _outcome(run_dir) == (reference[0], reference[1], "finished")
