"""What going through Ray Client (`--ray-address ray://...`) costs against a driver on the
cluster (`--ray-address auto` or a local Ray) and against the local executor.

Starts Ray's test cluster on this machine (`ray.cluster_utils.Cluster`: a head node and
one worker node, 1 CPU each, a Ray Client server on 127.0.0.1), then measures, each in a
fresh process:

- start: connecting and starting the run's sandbox (improver hosts on every node);
- solve: one solution evaluation (a trivial program, one instance) round trip;
- brokered call: one `utility` call of an improver running on a node, served by the
  orchestrator's broker (the round trip an improver's every model or utility call makes);
- run: a whole small STOP run (`selftaught run`, scripted model, 1 iteration, 3 runs).

    nice -n 10 python bench/ray_client.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOLUTION = "def algorithm(a, b, c):\n    return [0] * len(c)\n"
CALLER = """def improve_algorithm(initial_solution, utility, language_model):
    for _ in range({n}):
        utility(initial_solution)
    return initial_solution
"""
RULES = [{"when": "", "reply": f"```python\n{SOLUTION}```"}]
CONFIG = (
    'model = "scripted:replies.json"\niterations = 1\nruns = 3\nparallel = 3\n'
    "[budgets]\nlm_calls = 1\nsamples_per_call = 2\nutility_calls = 3\n"
)


class _Broker:
    def utility(self, src: str) -> float:
        return 0.5

    def language_model(self, system: str, messages: list[str], temperature: float) -> dict:
        return {"ok": True, "responses": ["" for _ in messages]}


def measure(executor_name: str, address: str | None, repeat: int) -> dict[str, float]:
    """Run in a child process: the per-call costs under one executor."""
    from selftaught.config import Budgets
    from selftaught.executors import make_executor
    from selftaught.tasks import get_task

    inputs = get_task("lpn").instances("validation")[0].inputs
    start = time.perf_counter()
    with (
        make_executor(executor_name, max_workers=2, address=address) as executor,
        executor.sandbox() as sandbox,
    ):
        started = time.perf_counter() - start
        solve = dict(function="algorithm", instances=[inputs], instance_timeout=5.0)
        sandbox.solve(SOLUTION, **solve)  # warm: the node's fork server starts
        t0 = time.perf_counter()
        for _ in range(repeat):
            sandbox.solve(SOLUTION, **solve)
        per_solve = (time.perf_counter() - t0) / repeat
        improve = dict(
            initial_solution=SOLUTION,
            utility_str="def utility(algorithm_str): ...",
            budgets=Budgets(utility_calls=10**6, lm_calls=1, samples_per_call=1),
            broker=_Broker(),
            timeout=600.0,
        )
        sandbox.improve(CALLER.format(n=1), **improve)
        t0 = time.perf_counter()
        sandbox.improve(CALLER.format(n=0), **improve)
        empty = time.perf_counter() - t0
        t0 = time.perf_counter()
        sandbox.improve(CALLER.format(n=repeat * 10), **improve)
        per_call = (time.perf_counter() - t0 - empty) / (repeat * 10)
    return {"start": started, "solve": per_solve, "call": per_call, "improver": empty}


def whole_run(extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "replies.json").write_text(json.dumps(RULES))
        (folder / "run.toml").write_text(CONFIG)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "selftaught", "run", "--config", "run.toml", *extra],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        return time.perf_counter() - start


def child(executor_name: str, address: str | None, repeat: int) -> dict[str, float]:
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); from ray_client import measure; "
        f"print(json.dumps(measure({executor_name!r}, {address!r}, {repeat})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    from ray.cluster_utils import Cluster

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "node_ip_address": "127.0.0.1",
            "ray_client_server_port": port,
            "include_dashboard": False,
            "object_store_memory": 100 * 1024 * 1024,
        },
    )
    try:
        cluster.add_node(
            num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=100 * 1024 * 1024
        )
        cluster.wait_for_nodes()
        client = f"ray://127.0.0.1:{port}"
        modes = {
            "local executor": ("local", None, []),
            "ray driver": ("ray", cluster.address, ["--executor", "ray", "--ray-address",
                                                    cluster.address]),
            "ray client": ("ray", client, ["--executor", "ray", "--ray-address", client]),
        }  # fmt: skip
        results = {}
        for name, (executor_name, address, flags) in modes.items():
            results[name] = child(executor_name, address, args.repeat)
            results[name]["run"] = whole_run(flags)
            print(f"measured {name}", flush=True)
    finally:
        cluster.shutdown()
    base = results["ray driver"]
    print(f"\ntwo-node Ray test cluster on one machine; {args.repeat} repeats per figure")
    print(f"{'':<16} {'start (s)':>10} {'solve (ms)':>11} {'call (ms)':>10} {'run (s)':>8}")
    for name, r in results.items():
        print(
            f"{name:<16} {r['start']:>10.2f} {r['solve'] * 1000:>11.1f}"
            f" {r['call'] * 1000:>10.2f} {r['run']:>8.1f}"
        )
    client_r = results["ray client"]
    print(
        f"client / driver: start {client_r['start'] / base['start']:.2f}x, solve"
        f" {client_r['solve'] / base['solve']:.2f}x, brokered call"
        f" {client_r['call'] / base['call']:.2f}x, whole run {client_r['run'] / base['run']:.2f}x"
    )


if __name__ == "__main__":
    main()
