"""A model server that goes away for longer than the retry budget, mid-iteration: the run
stops cleanly (exit 75, status `stopped`, resume hint), and resuming once the server is
back gives the records of an uninterrupted run without asking for any sample twice."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from selftaught.errors import EXIT_RESUMABLE
from tests.conftest import data
from tests.servers.fake_api import FakeAPI
from tests.stop.test_loop import BETTER_IMPROVER

TRIVIAL = "def algorithm(a, b, c):\n    return [0] * len(c)\n"


def respond(body: dict[str, Any]) -> str:
    asked = json.dumps(body["messages"])
    if "meta_utility" in asked:
        return f"```python\n{BETTER_IMPROVER}```"
    if "BETTER-IMPROVER" in asked:
        return f"```python\n{data('lpn_bruteforce.py')}```"
    return f"```python\n{TRIVIAL}```"


def _config(folder: Path, url: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.toml").write_text(
        # Both runs must draw the same instances to compare their records: pin the key.
        'name = "outage"\nmodel = "openai:fake-model"\niterations = 2\nruns = 2\n'
        'instance_key = "outage-test"\n'
        "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
        f'[lm]\nbase_url = "{url}"\nretries = 2\nbackoff = 0.01\ntimeout = 5\n'
    )


def _selftaught(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OPENAI_API_KEY": "not-a-real-key"},
    )


def _read(run_dir: Path) -> dict[str, Any]:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    cache = sqlite3.connect(f"file:{run_dir / 'cache.sqlite'}?mode=ro", uri=True)
    try:
        return {
            "iterations": db.execute(
                "SELECT iteration, improver_hash, round(validation, 9), round(heldout, 9),"
                " adopted, model_calls, samples, evaluations FROM iterations ORDER BY iteration"
            ).fetchall(),
            "counts": [
                db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("model_calls", "evaluations", "improver_runs")
            ],
            "status": json.loads(
                db.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()[0]
            ),
            "samples": cache.execute("SELECT COUNT(*), MAX(writes) FROM samples").fetchone(),
        }
    finally:
        db.close()
        cache.close()


def test_an_outage_stops_the_run_and_resume_gives_the_uninterrupted_records(tmp_path):
    with FakeAPI(respond=respond) as api:
        _config(tmp_path / "reference", api.url)
        ref = _selftaught("run", "--config", "run.toml", cwd=tmp_path / "reference")
        assert ref.returncode == 0, ref.stderr
        answered = api.answered
        (ref_dir,) = (tmp_path / "reference" / "runs").iterdir()
    reference = _read(ref_dir)
    assert reference["status"] == "finished" and answered >= 6

    with FakeAPI(respond=respond) as api:
        api.answer_limit = answered // 2  # the server goes away in the middle of the run
        folder = tmp_path / "outage"
        _config(folder, api.url)
        stopped = _selftaught("run", "--config", "run.toml", cwd=folder)
        (run_dir,) = (folder / "runs").iterdir()
        assert stopped.returncode == EXIT_RESUMABLE, stopped.stderr[-3000:]
        assert "Traceback" not in stopped.stderr
        assert "the model server is unavailable" in stopped.stderr
        assert f"continue with: selftaught resume runs/{run_dir.name}" in stopped.stderr
        halfway = _read(run_dir)
        assert halfway["status"] == "stopped"
        assert len(halfway["iterations"]) < len(reference["iterations"])
        assert api.outcomes.count("drop") >= 3  # the retries of the call that ended it

        api.answer_limit = None  # the server is back
        resumed = _selftaught("resume", str(run_dir), cwd=folder)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        total_answered = api.answered
    final = _read(run_dir)
    assert final["status"] == "finished"
    assert final["iterations"] == reference["iterations"]
    assert final["counts"] == reference["counts"]  # nothing recorded twice
    # every sample was paid for once: the server answered as often as for one run
    assert total_answered == answered
    assert final["samples"][0] == reference["samples"][0] and final["samples"][1] == 1
