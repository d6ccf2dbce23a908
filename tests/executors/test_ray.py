"""The ray executor on a local Ray instance: same results as local, and survives kills.

Ray starts once for this module (2 CPUs, small object store) and is shut down after.
"""

import importlib.util
import os
import signal
import threading
import time

import pytest

from selftaught.config import Budgets, load_config
from selftaught.lm import ScriptedBackend
from selftaught.stop import RunContext, run_stop, seed_improver
from selftaught.store import RunDir
from tests.stop.test_loop import BETTER_IMPROVER, scripted

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs selftaught[ray]"),
]


@pytest.fixture(scope="module")
def ray_run():
    from selftaught.executors.ray_executor import RayExecutor, init_local_ray

    init_local_ray(num_cpus=2)
    import ray

    try:
        with RayExecutor(max_workers=2) as executor, executor.sandbox() as sandbox:
            yield executor, sandbox
    finally:
        ray.shutdown()


def run(ctx_factory, backend, improver, **overrides):
    ctx = ctx_factory(backend, **overrides)
    rows = run_stop(ctx, improver, ctx.run_dir)
    return ctx, rows


def summary(ctx, rows):
    stored = ctx.store.iterations()
    return {
        "improvers": [r.improver for r in rows],
        "adopted": [r.adopted for r in rows],
        "scores": [(r.evaluation.validation, r.evaluation.heldout) for r in rows],
        "counts": [(s["model_calls"], s["samples"], s["usable"], s["evaluations"]) for s in stored],
        "runs": [
            tuple(r)
            for r in ctx.store.query(
                "SELECT scope, outcome, validation, heldout, model_calls, utility_calls"
                " FROM improver_runs ORDER BY scope"
            )
        ],
    }


@pytest.fixture
def ray_ctx(ray_run, tmp_path):
    executor, sandbox = ray_run
    stores = []

    def make(backend, **overrides):
        cfg = load_config(overrides={"model": "scripted:unused", **overrides})
        run_dir = RunDir.create(tmp_path / "ray-runs", "test")
        store = run_dir.open_store()
        stores.append(store)
        ctx = RunContext(cfg, backend, sandbox, store, executor=executor)
        ctx.run_dir = run_dir
        return ctx

    yield make
    for store in stores:
        store.close()


def test_ray_run_gives_the_same_improvers_scores_and_records_as_local(make_ctx, ray_ctx):
    settings = {"iterations": 1, "runs": 2, "seed": 3}
    local = summary(*run(make_ctx, scripted(BETTER_IMPROVER), seed_improver(), **settings))
    remote = summary(*run(ray_ctx, scripted(BETTER_IMPROVER), seed_improver(), **settings))
    assert remote == local
    assert local["adopted"] == [True, True] and local["scores"][1] == (1.0, 1.0)


class FailingBroker:
    def utility(self, src):
        raise RuntimeError("trouble in the orchestrator")

    def language_model(self, system, messages, temperature):
        raise RuntimeError("trouble in the orchestrator")


def test_an_improver_run_the_orchestrator_gives_up_on_ends_on_its_host(ray_run):
    import ray

    _, sandbox = ray_run
    with pytest.raises(RuntimeError, match="trouble in the orchestrator"):
        sandbox.improve(
            seed_improver(),
            initial_solution="def algorithm(a, b, c):\n    return 0\n",
            utility_str="def utility(algorithm_str): ...",
            budgets=Budgets(lm_calls=1, samples_per_call=1, utility_calls=2),
            broker=FailingBroker(),
            timeout=30,
        )
    deadline = time.monotonic() + 20
    while ray.get(sandbox.hosts[0].info.remote())["active"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray.get(sandbox.hosts[0].info.remote())["active"] == 0


SLOW_SOLUTION = """import time


def algorithm(train_samples, train_parity, test_samples):
    time.sleep(0.04)
    return [int(x[0]) for x in test_samples]
"""


def slow_backend(on_call=None):
    def respond(request, index):
        if on_call is not None:
            on_call()
        return f"Here it is.\n```python\n{SLOW_SOLUTION}```"

    return ScriptedBackend(respond)


def _ray_task_pids(name):
    """Ray worker processes now running `name` (Ray puts `ray::<name>` in their title)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        if cmd.startswith("ray::") and name in cmd:
            pids.append(int(entry))
    return pids


def test_ray_workers_killed_mid_run_are_retried_and_nothing_is_counted_twice(
    make_ctx, ray_ctx, ray_run
):
    import ray

    _, sandbox = ray_run
    settings = {"iterations": 0, "runs": 1}
    expected = summary(*run(make_ctx, slow_backend(), seed_improver(), **settings))

    killed = {"host": 0, "solve": 0}
    host_pid = ray.get(sandbox.hosts[0].info.remote())["pid"]

    def kill_host_once():
        if not killed["host"]:
            killed["host"] = host_pid
            os.kill(host_pid, signal.SIGKILL)

    stop = threading.Event()

    def kill_a_solve():
        while not stop.is_set() and not killed["solve"]:
            for pid in _ray_task_pids("solve_task"):
                time.sleep(0.2)  # mid-evaluation, not at its start
                if pid not in _ray_task_pids("solve_task"):
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed["solve"] = pid
                except ProcessLookupError:
                    continue
                break
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_solve, daemon=True)
    killer.start()
    backend = slow_backend(on_call=kill_host_once)
    try:
        ctx, rows = run(ray_ctx, backend, seed_improver(), **settings)
    finally:
        stop.set()
        killer.join(timeout=10)
    assert killed["host"] and killed["solve"]
    assert summary(ctx, rows) == expected
    assert len(backend.requests) == 1  # the lost attempt's model call was replayed, not repeated
    kinds = [r["kind"] for r in ctx.store.query("SELECT kind FROM events")]
    assert "ray_retry" in kinds and "ray_replay" in kinds
