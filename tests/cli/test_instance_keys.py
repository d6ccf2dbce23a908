"""Which instance key each command uses, where it is kept, and that no output shows it."""

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from selftaught.tasks import keys

PIN = "pinned-benchmark-key-7f3a"


def selftaught(*args: str, cwd: Path, data_home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "XDG_DATA_HOME": str(data_home)},
    )


def _meta(run_dir: Path, key: str):
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return json.loads(db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])
    finally:
        db.close()


def _run(tmp_path: Path, *extra: str) -> Path:
    args = ["run", "--model", "echo", "--iterations", "0", "--runs", "1", "--output", "runs"]
    result = selftaught(*args, *extra, cwd=tmp_path, data_home=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    return run_dir


def test_a_run_draws_its_own_private_key_and_records_only_its_source(tmp_path):
    run_dir = _run(tmp_path)
    path = run_dir / keys.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = keys.read_key(path)
    assert key.source == "run" and len(key.secret) == keys.KEY_BYTES
    assert _meta(run_dir, "instance_key") == {"source": "run", "id": key.id}
    assert not (tmp_path / "data").exists()  # a run does not need the per-user key
    for name in ("records.sqlite", "config.toml", "report.md", "report.html", "cache.sqlite"):
        if (run_dir / name).exists():
            assert key.secret.hex().encode() not in (run_dir / name).read_bytes()


def test_a_pinned_key_is_recorded_as_pinned_and_never_shown(tmp_path):
    run_dir = _run(tmp_path, "--instance-key", PIN)
    assert keys.read_key(run_dir / keys.KEY_FILE) == keys.pinned(PIN)
    assert _meta(run_dir, "instance_key")["source"] == "pinned"
    shown = selftaught("show", str(run_dir), cwd=tmp_path, data_home=tmp_path / "data")
    assert shown.returncode == 0, shown.stderr
    assert PIN not in shown.stdout + shown.stderr
    for name in ("records.sqlite", "config.toml", "report.md", "report.html"):
        assert PIN.encode() not in (run_dir / name).read_bytes(), name


SOLUTION = "import numpy as np\n\ndef algorithm(a, b, c):\n    return list(np.asarray(c)[:, 0])\n"


def test_score_keeps_its_score_with_this_users_private_key(tmp_path):
    (tmp_path / "mine.py").write_text(SOLUTION)
    args = ["score", "mine.py", "--task", "lpn", "--split", "heldout", "--json"]
    first = selftaught(*args, cwd=tmp_path, data_home=tmp_path / "data")
    second = selftaught(*args, cwd=tmp_path, data_home=tmp_path / "data")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout)["score"] == json.loads(second.stdout)["score"]
    path = tmp_path / "data" / "selftaught" / keys.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pinned = selftaught(*args, "--instance-key", PIN, cwd=tmp_path, data_home=tmp_path / "d2")
    assert pinned.returncode == 0, pinned.stderr
    assert not (tmp_path / "d2").exists()  # a pinned key needs no per-user key


def test_resume_without_the_runs_key_is_one_line_and_exit_2(tmp_path):
    run_dir = _run(tmp_path)
    db = sqlite3.connect(run_dir / "records.sqlite")
    db.execute("UPDATE meta SET value = '\"stopped\"' WHERE key = 'status'")
    db.commit()
    db.close()
    (run_dir / keys.KEY_FILE).unlink()
    result = selftaught("resume", str(run_dir), cwd=tmp_path, data_home=tmp_path / "data")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and keys.KEY_FILE in result.stderr


def _scores(run_dir: Path) -> list[tuple]:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT iteration, validation, heldout FROM iterations").fetchall()
    finally:
        db.close()


def test_replaying_a_run_uses_its_key_and_scores_the_same(tmp_path):
    recorded = _run(tmp_path)
    result = selftaught(
        "run", "--model", f"replay:{recorded}", "--iterations", "0", "--runs", "1",
        "--output", "replayed", cwd=tmp_path, data_home=tmp_path / "data",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (replayed,) = (tmp_path / "replayed").iterdir()
    assert _meta(replayed, "instance_key") == {
        "source": "replay",
        "id": keys.read_key(recorded / keys.KEY_FILE).id,
    }
    assert _scores(replayed) == _scores(recorded)
