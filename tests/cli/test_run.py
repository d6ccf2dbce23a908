"""`selftaught run` as a user runs it: the installed command, real processes."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.conftest import data
from tests.sandbox.test_run_bounds import cgroups_expected
from tests.stop.test_loop import BETTER_IMPROVER


def selftaught(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--model", "nope:x"], "unknown model backend 'nope'"),
        (["run", "--model", "locl:smollm2"], "did you mean 'local'"),
        (["run", "--model", "local:/does/not/exist.gguf"], "model file not found"),
        (["run", "--task", "lpm"], "unknown task 'lpm'"),
        (["run", "--iterations", "-1"], "invalid config: iterations"),
        (["run", "--config", "missing.toml"], "config file not found"),
        (["run", "--bogus"], "No such option"),
        (["run", "--improver", "broken.py"], "syntax error"),
        (["run", "--config", "bad.toml"], "not valid TOML"),
        (["run", "--config", "typo.toml"], "iteratons"),
        (["run", "--preset", "fast"], "unknown preset"),
        (["run", "--model", "echo", "--output", "afile"], "cannot create a run directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    (tmp_path / "broken.py").write_text("def improve_algorithm(:\n")
    (tmp_path / "bad.toml").write_text("x = [")
    (tmp_path / "typo.toml").write_text("iteratons = 3\n")
    (tmp_path / "afile").write_text("a file where a folder should be")
    result = selftaught(*args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # nothing started


def test_scripted_run_writes_run_directory_and_table(tmp_path):
    rules = [
        {"when": "meta_utility", "reply": f"```python\n{BETTER_IMPROVER}```"},
        {"when": "BETTER-IMPROVER", "reply": f"```python\n{data('lpn_bruteforce.py')}```"},
        {"when": "", "reply": "no code today"},
    ]
    (tmp_path / "replies.json").write_text(json.dumps(rules))
    (tmp_path / "run.toml").write_text(
        'name = "scripted"\nmodel = "scripted:replies.json"\niterations = 1\nruns = 2\n'
        "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
        "[sandbox]\nrun_memory_mb = 3000\nrun_pids = 300\n"
    )
    result = selftaught("run", "--config", "run.toml", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.endswith("-scripted")
    config = tomllib.loads((run_dir / "config.toml").read_text())
    assert config["model"] == "scripted:replies.json" and config["budgets"]["utility_calls"] == 3
    assert (run_dir / "improvers" / "iter_000.py").exists()
    assert (run_dir / "improvers" / "iter_001.py").read_text().strip() == BETTER_IMPROVER.strip()
    db = sqlite3.connect(run_dir / "records.sqlite")
    rows = db.execute("SELECT iteration, validation, heldout, adopted FROM iterations").fetchall()
    status = db.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0]
    meta = db.execute("SELECT value FROM meta WHERE key='sandbox_containment'").fetchone()[0]
    db.close()
    run_bound = json.loads(meta)["run"]
    bounded = ["cgroup-v1:memory=3000M,pids=300"]  # the [sandbox] bounds reached the cgroup
    assert run_bound in (bounded if cgroups_expected() else ["none", "cgroup-v2" + bounded[0][9:]])
    assert [r[0] for r in rows] == [0, 1] and rows[1][3] == 1 and rows[1][2] > rows[0][2]
    assert json.loads(status) == "finished"
    for column in ["validation", "held-out", "calls", "samples", "tokens", "adopted", "paired"]:
        assert column in result.stdout
    # the decision, as it is made, with the paired difference and its interval
    db = sqlite3.connect(run_dir / "records.sqlite")
    diff, lower, n = db.execute(
        "SELECT paired_diff, paired_lower, paired_n FROM iterations WHERE iteration = 1"
    ).fetchone()
    db.close()
    assert n == 2 and lower > 0
    line = (
        f"[1/1] adopted (rule paired): paired Δ {diff:+.3f} [{lower:+.3f}, ∞), one-sided 90%"
        " interval, 2 paired runs"
    )
    assert line in result.stderr
    assert f"{diff:+.3f} [{lower:+.3f}, ∞)" in result.stdout.replace("\n", "")
    # the usable share comes with the reasons the other samples were unusable
    assert "responses with usable code:" in result.stderr
    assert "unusable: no code" in result.stderr


def _status(run_dir: Path) -> str:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return json.loads(db.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
    finally:
        db.close()


def test_a_failed_run_exits_non_zero(tmp_path):
    (tmp_path / "replies.json").write_text(json.dumps(["```python\nx = 1\n```"] * 20))
    first = selftaught(
        "run",
        "--model",
        "scripted:replies.json",
        "--iterations",
        "0",
        "--runs",
        "1",
        "--name",
        "recorded",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    (recorded,) = (tmp_path / "runs").iterdir()
    # another seed asks for samples the recording never had: the replay fails the run
    result = selftaught(
        "run",
        "--model",
        f"replay:{recorded}",
        "--iterations",
        "0",
        "--runs",
        "1",
        "--seed",
        "7",
        "--name",
        "replayed",
        "--output",
        "replays",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    (replayed,) = (tmp_path / "replays").iterdir()
    assert _status(replayed) == "failed"
    assert "Traceback" not in result.stderr


def test_ctrl_c_stops_the_run_keeps_its_records_and_exits_130(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "run", "--model", "echo", "--iterations", "500"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    run_dir = None
    while time.monotonic() < deadline and proc.poll() is None:
        dirs = list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").exists() else []
        if dirs and (dirs[0] / "improvers" / "iter_002.py").exists():
            run_dir = dirs[0]
            break
        time.sleep(0.05)
    assert run_dir is not None, "the run did not get going"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-1000:]
    assert _status(run_dir) == "stopped"
    assert f"selftaught resume runs/{run_dir.name}" in err and "interrupted" in err
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    assert db.execute("SELECT COUNT(*) FROM iterations").fetchone()[0] >= 2
    db.close()
