"""A transfer evaluation through the executor: its independent runs are in flight at once,
its results equal the sequential ones, and `--executor ray` behaves as it does for `run`."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading

import pytest

from selftaught.lm.base import Reply, Request
from selftaught.stop.improvers import resolve_improver
from selftaught.stop.transfer import TransferResult, cells_at_once, run_transfer
from selftaught.tasks import get_task
from tests.tasks.helpers import GOOD, MARKERS, good, knowing_backend


class InFlight:
    """Wraps a backend: no request is answered before `width` were in flight together (or
    after 30 s); records the most at once."""

    def __init__(self, inner, width: int) -> None:
        self.name = inner.name
        self.inner = inner
        self.width = width
        self.now = 0
        self.peak = 0
        self.all_in = threading.Condition()

    def complete(self, request: Request) -> Reply:
        with self.all_in:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.all_in.notify_all()
            self.all_in.wait_for(lambda: self.peak >= self.width, timeout=30)
        try:
            return self.inner.complete(request)
        finally:
            with self.all_in:
                self.now -= 1


def comparable(result: TransferResult) -> dict:
    """The table as data, without what depends on the clock."""
    data = result.to_json()
    data.pop("created")
    for row in data["rows"]:
        for cell in row["improvers"].values():
            cell.pop("seconds")
    return data


def gated_transfer(make_ctx, parallel: int, width: int) -> tuple[dict, int]:
    backend = InFlight(knowing_backend(), width)
    ctx = make_ctx(backend, runs=2, parallel=parallel)
    tasks = [get_task("grid"), get_task("maxcut")]
    result = run_transfer(ctx, {"greedy": resolve_improver("greedy")}, tasks)
    return comparable(result), backend.peak


def test_transfer_runs_cells_and_runs_at_once_with_the_sequential_results(make_ctx):
    # 2 tasks x 2 improvers x 2 runs = 8 improver runs of one model call each; at 4 wide,
    # no call is answered before three are in flight together.
    sequential, seq_peak = gated_transfer(make_ctx, parallel=1, width=1)
    parallel, par_peak = gated_transfer(make_ctx, parallel=4, width=3)
    assert seq_peak == 1
    assert par_peak > 2  # more than one cell's runs at once
    assert par_peak <= 4  # and never more than --parallel
    assert parallel == sequential


@pytest.mark.parametrize(
    "max_workers, runs, cells",
    [(1, 5, 1), (2, 5, 1), (4, 2, 2), (8, 2, 4), (5, 2, 2), (8, 1, 8), (2, 1, 2)],
)
def test_cells_at_once_keeps_about_max_workers_runs_in_flight(max_workers, runs, cells):
    assert cells_at_once(max_workers, runs) == cells


def cli(tmp_path, *args: str, ray_missing: bool = False, timeout: float = 120):
    code = (
        ("import sys; sys.modules['ray'] = None\n" if ray_missing else "")
        + "from selftaught.cli import main\n"
        + f"main({list(args)!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=timeout
    )


def replies(tmp_path) -> None:
    """A scripted model that answers each task's prompt with its known-good solver."""
    rules = [{"when": MARKERS[t], "reply": f"Here you go.\n```python\n{good(t)}```"} for t in GOOD]
    (tmp_path / "replies.json").write_text(json.dumps(rules))


@pytest.mark.parametrize(
    "command",
    [
        ["transfer", "--improver", "greedy", "--tasks", "grid", "--runs", "1"],
        ["improve", "seed.py", "--task", "grid"],
    ],
)
def test_missing_ray_is_one_line_and_exit_code_2(tmp_path, command):
    (tmp_path / "seed.py").write_text(get_task("grid").seed_solution)
    replies(tmp_path)
    args = [*command, "--model", "scripted:replies.json", "--executor", "ray"]
    result = cli(tmp_path, *args, ray_missing=True)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'selftaught[ray]'" in lines[0], result.stderr
    assert not (tmp_path / "runs").exists()


def test_ray_address_without_the_ray_executor_is_refused(tmp_path):
    replies(tmp_path)
    args = ["transfer", "--improver", "greedy", "--tasks", "grid", "--runs", "1"]
    result = cli(tmp_path, *args, "--model", "scripted:replies.json", "--ray-address", "auto")
    assert result.returncode == 2 and "only used with --executor ray" in result.stderr
    assert not (tmp_path / "runs").exists()


def transfer_json(tmp_path, name: str, *extra: str) -> tuple[dict, str]:
    out = tmp_path / name
    args = ["transfer", "--improver", "greedy", "--tasks", "grid", "--runs", "2"]
    result = cli(
        tmp_path,
        *args,
        "--model",
        "scripted:replies.json",
        "--output",
        str(out),
        "--parallel",
        "2",
        *extra,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = out.iterdir()
    data = json.loads((run_dir / "transfer.json").read_text())
    data.pop("created")
    for row in data["rows"]:
        for cell in row["improvers"].values():
            cell.pop("seconds")
    return data, result.stderr


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs selftaught[ray]")
def test_transfer_on_a_local_ray_instance_gives_the_local_table(tmp_path):
    replies(tmp_path)
    local, _ = transfer_json(tmp_path, "local")
    on_ray, stderr = transfer_json(tmp_path, "ray", "--executor", "ray")
    assert "starting the ray executor" in stderr
    assert on_ray == local
    assert local["rows"][0]["improvers"]["greedy"]["mean"] > 0.95
