"""When to replace a spare worker: as it is taken (eager), or once its evaluation ends
(deferred, what `ForkServer` does), measured on the same sandbox, the policy drawn at
random for each evaluation so that both meet the same machine.

A sandbox keeps spare workers forked and confined ahead of need. Replacing a spare the
moment it is taken forks and confines the replacement (about 3 ms of CPU) while the
evaluation runs, on the same cores. Deferred, the replacement is made after it. Each
evaluation here follows a pause (as between a run's model calls), on either the trivial
one-instance program or the LPN seed solution on its 20 validation instances. Printed:
median wall milliseconds per evaluation and quartiles, per policy, program and pause. The
eager side is the rule `ForkServer._deficits` had before (below, for the benchmark only).
No timed assertions: the figures depend on the machine.

    python bench/spare_refill.py [--evals 400] [--pauses 0.005,0.03,0.1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from selftaught.sandbox import Sandbox
from selftaught.sandbox.server import ForkServer
from selftaught.tasks.lpn import LearningParityWithNoise

TRIVIAL = "def algorithm():\n    return 0\n"
DEFERRED = ForkServer._deficits
POLICY = ["deferred"]


def _eager(server: ForkServer) -> dict[str, int]:
    """The old rule: every key up to its target at once, busy workers or not."""
    return {
        key: n
        for key, target in server._targets.items()
        if (n := target + server._waiting[key] - len(server._spares[key]) - server._inflight[key])
        > 0
    }


def _policy(server: ForkServer) -> dict[str, int]:
    return DEFERRED(server) if POLICY[0] == "deferred" else _eager(server)


def measure(pause: float, evals: int) -> dict[tuple[str, str], list[float]]:
    task = LearningParityWithNoise()
    inputs = [inst.inputs for inst in task.instances("validation")]
    programs = {
        "trivial": (TRIVIAL, [()]),
        "LPN": (task.seed_solution, inputs),
    }
    walls: dict[tuple[str, str], list[float]] = {
        (policy, name): [] for policy in ("deferred", "eager") for name in programs
    }
    with Sandbox() as sandbox:
        for _ in range(10):
            sandbox.solve(TRIVIAL, function="algorithm", instances=[()], instance_timeout=1.0)
        for _ in range(evals):
            POLICY[0] = random.choice(["deferred", "eager"])
            name = random.choice(list(programs))
            src, instances = programs[name]
            time.sleep(pause)
            start = time.perf_counter()
            sandbox.solve(src, function="algorithm", instances=instances, instance_timeout=2.0)
            walls[(POLICY[0], name)].append(time.perf_counter() - start)
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=400)
    parser.add_argument("--pauses", default="0.005,0.03,0.1")
    args = parser.parse_args()
    ForkServer._deficits = _policy  # type: ignore[method-assign]  # the benchmark's switch
    print("wall ms per evaluation after a pause: median [quartiles], policy drawn per evaluation")
    print(f"{'pause':>7} {'program':<8} {'deferred (now)':>24} {'eager (before)':>24} {'ratio':>6}")
    for pause in (float(p) for p in args.pauses.split(",")):
        walls = measure(pause, args.evals)
        for name in ("trivial", "LPN"):
            cells, medians = [], []
            for policy in ("deferred", "eager"):
                ws = sorted(walls[(policy, name)])
                medians.append(statistics.median(ws))
                quartiles = f"[{ws[len(ws) // 4] * 1000:.2f}-{ws[3 * len(ws) // 4] * 1000:.2f}]"
                cells.append(f"{medians[-1] * 1000:6.2f} {quartiles:>15} n={len(ws):<3}")
            ratio = medians[0] / medians[1]
            print(f"{pause:7.3f} {name:<8} {cells[0]:>24} {cells[1]:>24} {ratio:6.2f}")


if __name__ == "__main__":
    main()
