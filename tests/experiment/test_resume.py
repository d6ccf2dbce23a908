"""An experiment killed (SIGKILL) in the middle, then `selftaught experiment resume`:
every cell finishes as in an uninterrupted experiment, and no model sample is paid twice.
The spending cap stops an experiment cleanly, and raising it on resume finishes it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import selftaught as selftaught_lib
from tests.experiment.helpers import cached_samples, count, iterations, selftaught, write_plan

PLAN = 'parts = ["stop"]'


def _outcomes(exp: Path) -> dict[str, tuple]:
    """Per cell: its iterations, the samples in its cache (each paid once), its calls."""
    cells = json.loads((exp / "experiment.json").read_text())["cells"]
    out = {}
    for cell_id, cell in cells.items():
        run_dir = exp / cell["run_dir"]
        out[cell_id] = (iterations(run_dir), cached_samples(run_dir), count(run_dir, "model_calls"))
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, tuple]:
    folder = tmp_path_factory.mktemp("reference")
    plan = write_plan(folder, extra=PLAN, at_once=1)
    result = selftaught("experiment", "run", str(plan), "-o", "exp", cwd=folder)
    assert result.returncode == 0, result.stderr
    return _outcomes(folder / "exp")


def _calls_so_far(exp: Path) -> int:
    runs = exp / "runs"
    if not runs.is_dir():
        return 0
    return sum(count(d, "model_calls") for d in runs.iterdir() if d.is_dir())


def test_resume_after_sigkill_finishes_every_cell_and_pays_nothing_twice(tmp_path, reference):
    plan = write_plan(tmp_path, extra=PLAN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "experiment", "run", str(plan), "-o", "exp"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    exp = tmp_path / "exp"
    total = sum(r[2] for r in reference.values())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if _calls_so_far(exp) >= total // 2:  # half the experiment's model calls made
            break
        time.sleep(0.005)
    ended = proc.poll()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ended is None, f"the experiment ended before the kill (exit code {ended})"
    status = json.loads((exp / "experiment.json").read_text())
    states = [c["state"] for c in status["cells"].values()]
    assert "pending" in states or "running" in states  # it was killed mid-way

    shown = selftaught("experiment", "show", "exp", cwd=tmp_path)
    assert shown.returncode == 0 and "experiment tiny: stopped" in shown.stdout, shown.stderr
    assert " running " not in shown.stdout  # nothing runs it any more
    result = selftaught("experiment", "resume", "exp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = json.loads((exp / "experiment.json").read_text())
    assert status["state"] == "finished"
    assert all(c["state"] == "finished" for c in status["cells"].values())
    # the same runs as uninterrupted, each sample asked of the model once, each call
    # recorded once
    assert _outcomes(exp) == reference
    assert len(list((exp / "runs").iterdir())) == 6
    assert (exp / "report" / "report.html").is_file()


def test_the_cap_stops_cleanly_and_raising_it_finishes(tmp_path, reference):
    plan = write_plan(tmp_path, extra=PLAN + "\n[cap]\ntokens = 6000")
    result = selftaught("experiment", "run", str(plan), "-o", "exp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "raise it with" in result.stderr
    exp = tmp_path / "exp"
    status = json.loads((exp / "experiment.json").read_text())
    assert status["state"] == "capped"
    cells = status["cells"]
    # 6000 tokens: 3000 for each model, 1000 for each seed; echo costs no tokens
    assert {cells[f"stop/echo/s{s}"]["state"] for s in range(3)} == {"finished"}
    capped = [cells[f"stop/good/s{s}"] for s in range(3)]
    assert {c["state"] for c in capped} == {"capped"}
    for c in capped:
        # the call that crosses the cap completes; none after it
        assert 0 < c["tokens"] < 1000 + 2000
        assert "cap" in c["message"]
    shown = selftaught("experiment", "show", "exp", cwd=tmp_path)
    assert "capped" in shown.stdout and "6000 tokens" in shown.stdout
    good = selftaught_lib.experiment.summary(exp).models[1]
    assert good.final.n == 0 and good.gain.n == 0  # no run of it ended: no final score

    again = selftaught("experiment", "resume", "exp", "--max-tokens", "100000", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    status = json.loads((exp / "experiment.json").read_text())
    assert status["state"] == "finished" and status["cap_tokens"] == 100000
    assert _outcomes(exp) == reference


def test_ctrl_c_records_the_cells_as_stopped_and_resume_finishes(tmp_path, reference):
    plan = write_plan(tmp_path, extra=PLAN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "experiment", "run", str(plan), "-o", "exp"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    exp = tmp_path / "exp"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and _calls_so_far(exp) < 5:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "selftaught: interrupted; continue with selftaught experiment resume"
    )
    status = json.loads((exp / "experiment.json").read_text())
    assert status["state"] == "stopped"
    assert "running" not in {c["state"] for c in status["cells"].values()}
    result = selftaught("experiment", "resume", "exp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _outcomes(exp) == reference
