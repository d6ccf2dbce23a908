"""Input at the edges: every setting at its bound, past it, an improver that returns 100 MB,
a run directory from a newer records schema. Each is a recorded outcome or one line and
exit code 2, never a traceback or a hang."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_run import selftaught

AT_BOUNDS = """model = "echo"
iterations = 1
runs = 1
parallel = 1
[budgets]
lm_calls = 1
samples_per_call = 1
utility_calls = 1
max_tokens = 16
temperature = 0.0
[sandbox]
memory_mb = 64
solution_cpu_seconds = 1
improver_cpu_seconds = 1
improver_timeout = 0.001
[lm]
concurrency = 1
retries = 0
backoff = 0
timeout = 0.001
max_run_tokens = 1
"""

HUGE = """def improve_algorithm(initial_solution, utility, language_model):
    return "x" * (100 * 1024 * 1024)
"""


def _rows(run_dir: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_a_config_with_every_setting_at_its_bound_runs_and_records_outcomes(tmp_path):
    (tmp_path / "bounds.toml").write_text(AT_BOUNDS)
    result = selftaught("run", "--config", "bounds.toml", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    # an improver given 1 ms of its own time is stopped and recorded as such
    assert _rows(run_dir, "SELECT outcome FROM improver_runs") == [("timeout",)]
    assert [r[0] for r in _rows(run_dir, "SELECT iteration FROM iterations")] == [0, 1]


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--utility-calls", "0", "budgets.utility_calls"),  # nothing could ever be scored
        ("--max-tokens", "1", "budgets.max_tokens"),  # below 16 no program fits
        ("--runs", "0", "runs"),
        ("--lm-calls", "0", "budgets.lm_calls"),
        ("--parallel", "0", "parallel"),
    ],
)
def test_a_setting_past_its_bound_is_one_line_and_exit_code_2(tmp_path, flag, value, field):
    result = selftaught("run", "--model", "echo", flag, value, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"invalid config: {field}" in lines[0]
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def huge_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("huge")
    (folder / "huge.py").write_text(HUGE)
    result = selftaught(
        "run", "--model", "echo", "--improver", "huge.py", "--iterations", "1", "--runs", "1",
        cwd=folder, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run_dir,) = (folder / "runs").iterdir()
    return run_dir


def test_an_improver_that_returns_100_mb_is_a_recorded_error(huge_run):
    outcomes = _rows(huge_run, "SELECT outcome, message FROM improver_runs")
    assert outcomes and all(o == "error" and "output too large" in m for o, m in outcomes)
    (step,) = _rows(huge_run, "SELECT outcome, message FROM iterations WHERE iteration = 1")
    assert step[0] == "error" and "output too large" in step[1]


@pytest.mark.parametrize(
    "command",
    [["resume"], ["show"], ["report"], ["export", "{run}", "0", "-o", "out.py"], ["analyze"]],
)
def test_a_run_from_a_newer_schema_is_refused_in_one_line(huge_run, tmp_path, command):
    run_dir = tmp_path / huge_run.name
    shutil.copytree(huge_run, run_dir)
    db = sqlite3.connect(run_dir / "records.sqlite")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (json.dumps(999),))
    db.commit()
    db.close()
    before = sorted(p.name for p in run_dir.iterdir())
    args = [a.format(run=run_dir) for a in command] if len(command) > 1 else [*command, run_dir]
    result = selftaught(*map(str, args), cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "999" in lines[0] and "Traceback" not in result.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == before
    listed = selftaught("runs", str(tmp_path), cwd=tmp_path, timeout=120)
    assert listed.returncode == 0 and "unreadable" in listed.stdout
