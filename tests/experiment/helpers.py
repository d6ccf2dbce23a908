"""Plans and models shared by the experiment tests: `echo`, and a scripted model whose
replies are better programs (so its runs improve), on learning parity with noise."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import data
from tests.stop.test_loop import BETTER_IMPROVER

TRIVIAL = "def algorithm(a, b, c):\n    return [0] * len(c)\n"


def write_replies(folder: Path) -> Path:
    """`good.json`: the self-improvement step gets an improver that asks for exhaustive
    search, which the model then writes; anything else gets a trivial solution."""
    rules = [
        {"when": "meta_utility", "reply": f"```python\n{BETTER_IMPROVER}```"},
        {"when": "BETTER-IMPROVER", "reply": f"```python\n{data('lpn_bruteforce.py')}```"},
        {"when": "", "reply": f"```python\n{TRIVIAL}```"},
    ]
    path = folder / "good.json"
    path.write_text(json.dumps(rules))
    return path


def plan_text(
    *, extra: str = "", models: str | None = None, seeds: str = "[0, 1, 2]", at_once: int = 2
) -> str:
    models = models or ('[[models]]\nmodel = "echo"\n\n[[models]]\nmodel = "scripted:good.json"\n')
    return (
        'name = "tiny"\n'
        f"seeds = {seeds}\n"
        'tasks = ["lpn"]\n'
        "iterations = 1\n"
        'instance_key = "experiment-tests"\n'
        f"cells_at_once = {at_once}\n"
        f"{extra}\n"
        # adopt what scores better: the scripted parent's runs may tie, and the paired rule
        # adopts nothing on pairs with no spread
        '[overrides]\nruns = 2\nadoption = "improved"\n'
        "[overrides.budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n\n"
        f"{models}"
    )


def write_plan(folder: Path, **kwargs: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_replies(folder)
    path = folder / "plan.toml"
    path.write_text(plan_text(**kwargs))
    return path


def selftaught(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def iterations(run_dir: Path) -> list[tuple]:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT iteration, improver_hash, round(validation, 9), round(heldout, 9), adopted"
            " FROM iterations ORDER BY iteration"
        ).fetchall()
    finally:
        db.close()


def count(run_dir: Path, table: str) -> int:
    try:
        db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True, timeout=0.1)
        try:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def cached_samples(run_dir: Path) -> int:
    """Samples in the run's response cache; fails if any was written (paid for) twice."""
    path = run_dir / "cache.sqlite"
    if not path.is_file():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        n, paid = db.execute("SELECT COUNT(*), COALESCE(SUM(writes), 0) FROM samples").fetchone()
    finally:
        db.close()
    assert n == paid, f"a sample of {run_dir.name} was paid for twice"
    return n
