"""The ray executor on a local Ray instance: same results as local, and survives kills.

Ray starts once for this module (2 CPUs, small object store) and is shut down after.
"""

import contextlib
import importlib.util
import os
import signal
import threading
import time

import pytest

from selftaught.assembly import Shared, assemble, sandbox_spec
from selftaught.config import Budgets
from selftaught.lm import ScriptedBackend
from selftaught.stop import run_stop, seed_improver
from selftaught.tasks import keys
from tests.conftest import run_config
from tests.stop.test_loop import BETTER_IMPROVER, scripted

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs selftaught[ray]"),
]


@pytest.fixture(scope="module")
def ray_shared():
    """Ray's executor and sandboxes for this module, as `assemble` makes them."""
    from selftaught.executors.ray_executor import init_local_ray

    init_local_ray(num_cpus=2)
    import ray

    try:
        with Shared() as shared:
            yield shared
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def ray_run(ray_shared, runs_folder):
    """The executor and sandbox a test run on Ray gets (the ones `ray_ctx` runs use)."""
    cfg = run_config(runs_folder, executor="ray")
    return ray_shared.executor(cfg), ray_shared.sandbox(cfg, sandbox_spec(cfg))


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
def ray_ctx(ray_shared, runs_folder):
    with contextlib.ExitStack() as stack:

        def make(backend, **overrides):
            cfg = run_config(runs_folder, executor="ray", **overrides)
            asm = stack.enter_context(
                assemble(cfg, record="test", backend=backend, shared=ray_shared)
            )
            ctx = asm.context
            ctx.run_dir = asm.run_dir
            return ctx

        yield make


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
    busy_until = time.process_time() + 0.02
    while time.process_time() < busy_until:
        pass
    return [int(x[0]) for x in test_samples]
"""
"""Spends 0.02 s of CPU on each instance: a worker that has spent more is mid-evaluation."""


def slow_backend(on_call=None):
    def respond(request, index):
        if on_call is not None:
            on_call()
        return f"Here it is.\n```python\n{SLOW_SOLUTION}```"

    return ScriptedBackend(respond)


def _processes() -> dict[int, tuple[int, int, str]]:
    """Every process now: pid -> (parent pid, CPU ticks spent, command line)."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        found[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]), cmd)
    return found


def _mid_evaluation(name: str, ticks: int) -> int | None:
    """A Ray worker running `name` (Ray puts `ray::<name>` in its title) whose sandbox
    worker, a grandchild (its fork server is the child), has spent at least `ticks` of CPU
    on the solution: it is in the middle of an evaluation, not at its start."""
    procs = _processes()
    for pid, (_, _, cmd) in procs.items():
        if not cmd.startswith(f"ray::{name}"):
            continue
        servers = {p for p, (parent, _, _) in procs.items() if parent == pid}
        if any(parent in servers and spent >= ticks for parent, spent, _ in procs.values()):
            return pid
    return None


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
        # watched until an evaluation is seen mid-way (10 of its 40 ticks of CPU spent)
        while not stop.is_set() and not killed["solve"]:
            pid = _mid_evaluation("solve_task", ticks=10)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed["solve"] = pid
            stop.wait(0.01)

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


def test_a_runs_hidden_paths_reach_the_sandboxes_on_ray_nodes(ray_ctx, ray_run):
    """The spec carries them: a Ray worker's sandbox refuses the runs folder's keys and
    records and the per-user key as answers (`answer_access`), not merely as paths outside
    what it may read. Before, the nodes hid nothing of the run's."""
    earlier = ray_ctx(ScriptedBackend([])).run_dir.path
    ctx = ray_ctx(ScriptedBackend([]))
    paths = [
        str(earlier / keys.KEY_FILE),
        str(earlier / "records.sqlite"),
        str(ctx.run_dir.path / keys.KEY_FILE),
        str(keys.user_key_path()),
    ]
    probe = (
        f"PATHS = {paths!r}\n"
        "def algorithm(x):\n"
        "    out = []\n"
        "    for path in PATHS:\n"
        "        try:\n"
        "            open(path, 'rb').read(1)\n"
        "            out.append('read')\n"
        "        except OSError:\n"
        "            out.append('refused')\n"
        "    return out\n"
    )
    _, sandbox = ray_run
    assert ctx.sandbox is sandbox
    assert any(paths[2].startswith(h) for h in sandbox._spec.hidden)
    result = ctx.sandbox.solve(probe, function="algorithm", instances=[(0,)], instance_timeout=5)
    assert result.instances[0].output == ["refused"] * 4, result
    assert [e["kind"] for e in result.events].count("answer_access") == 4, result.events
