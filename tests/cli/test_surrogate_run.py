"""A model whose answers and prompts hold lone surrogates and NULs cannot end a run, and
`resume` does not die on what the first attempt cached (`scripted:` replies whose JSON
holds "\\ud800": the run used to end in `internal error: UnicodeEncodeError`)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.cli.test_run import selftaught
from tests.conftest import data
from tests.stop.test_loop import BETTER_IMPROVER

ODD = "\ud800 \x00 \udfff"


def _setup(folder: Path) -> None:
    improver = BETTER_IMPROVER.replace('"""BETTER-IMPROVER', f'"""{ODD} BETTER-IMPROVER')
    rules = [
        {"when": "meta_utility", "reply": f"{ODD}\n```python\n{improver}```"},
        {
            "when": "BETTER-IMPROVER",
            "reply": f"```python\n{data('lpn_bruteforce.py')}```\n{ODD}",
        },
        {"when": "", "reply": f"```python\ndef algorithm(a, b, c):\n    x = '{ODD}'\n```"},
    ]
    (folder / "replies.json").write_text(json.dumps(rules))
    assert "\\ud800" in (folder / "replies.json").read_text()
    (folder / "run.toml").write_text(
        'name = "odd"\nmodel = "scripted:replies.json"\niterations = 2\nruns = 2\n'
        "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
    )


def _status(run_dir: Path) -> str:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return json.loads(db.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
    finally:
        db.close()


def test_a_run_whose_model_answers_hold_lone_surrogates_finishes(tmp_path):
    _setup(tmp_path)
    result = selftaught("run", "--config", "run.toml", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert _status(run_dir) == "finished"
    db = sqlite3.connect(run_dir / "records.sqlite")
    responses = [json.loads(r[0]) for r in db.execute("SELECT responses FROM model_calls")]
    reasons = [r[0] for r in db.execute("SELECT unusable_reasons FROM model_calls") if r[0]]
    db.close()
    assert any("\ufffd" in text for texts in responses for text in texts)
    assert any("syntax" in r for r in reasons)  # the odd answers are unusable, with a reason
    cache = sqlite3.connect(run_dir / "cache.sqlite")
    (cached,) = cache.execute("SELECT COUNT(*) FROM samples").fetchone()
    cache.close()
    assert cached > 0


def test_resume_of_such_a_run_reads_its_cached_answers_back_and_finishes(tmp_path):
    _setup(tmp_path)
    killed = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "kill_at_commit.py"), "run"]
        + ["--config", "run.toml"],
        cwd=tmp_path,
        env={**os.environ, "KILL_AT_ITERATION": "2"},
        capture_output=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    result = selftaught("resume", str(run_dir), cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert _status(run_dir) == "finished"
