"""The same experiment on the local executor and on a local Ray instance: for a
deterministic model the two record the same runs (instances pinned by the plan)."""

import importlib.util
import sqlite3
from pathlib import Path

import pytest

import selftaught
from tests.experiment.helpers import write_plan

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs selftaught[ray]"),
]

MODELS = '[[models]]\nmodel = "scripted:good.json"\n'


def _records(run_dir: Path) -> dict:
    db = sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return {
            "iterations": db.execute(
                "SELECT iteration, improver_hash, round(validation, 9), round(heldout, 9),"
                " adopted, model_calls, samples, usable, evaluations"
                " FROM iterations ORDER BY iteration"
            ).fetchall(),
            "evaluations": sorted(
                db.execute(
                    "SELECT scope, program_hash, task, split, round(score, 9), outcome"
                    " FROM evaluations"
                ).fetchall()
            ),
            "calls": sorted(
                db.execute("SELECT scope, seed, responses FROM model_calls").fetchall()
            ),
        }
    finally:
        db.close()


def _cells(exp: selftaught.experiment.ExperimentDir) -> dict[str, dict]:
    return {k: _records(exp.abs(c.run_dir)) for k, c in exp.status.cells.items()}


def test_an_experiment_on_ray_records_what_it_records_locally(tmp_path):
    local = write_plan(tmp_path / "local", models=MODELS, seeds="[0, 1]")
    on_ray = write_plan(tmp_path / "ray", models=MODELS, seeds="[0, 1]", extra='executor = "ray"')
    a = selftaught.experiment(local, output=tmp_path / "local" / "exp", exact=True)
    b = selftaught.experiment(on_ray, output=tmp_path / "ray" / "exp", exact=True)
    assert a.status.state == b.status.state == "finished"
    for exp in (a, b):
        for cell in exp.status.cells.values():
            config = selftaught.open_run(exp.abs(cell.run_dir)).config
            assert config["executor"] == ("ray" if exp is b else "local")
    records = _cells(a)
    assert records == _cells(b)
    assert all(r["iterations"][1][4] == 1 for r in records.values())  # improved and adopted
