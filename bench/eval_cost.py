"""What one sandboxed evaluation costs: wall time and CPU in every process, per layer.

For each containment setting (everything on; `confine=False`: no Landlock, seccomp or
scratch tmpfs; `audit_hooks=False`; both off), runs the LPN scorer's seed solution on the
validation instances and a trivial one-instance program, and prints:

- wall, back to back: median milliseconds per evaluation, LPN and trivial (the fixed
  overhead), evaluations one after the other (the machine's cores are then shared with
  the spares being forked and confined for the next ones);
- wall, one on a ready sandbox: the same, each evaluation after a pause of `PAUSE`, as
  between a run's model calls (the spares are ready and nothing else runs);
- CPU per LPN evaluation, in milliseconds, split into the orchestrator (this process, all
  threads) and the fork server with every worker it forked and reaped (its own and its
  children's CPU from /proc: workers are children of the fork server, so spares forked
  during the measurement are included: they are part of what each evaluation costs).

Settings are measured in turn, `--rounds` times over (alternating, so a change in the
machine's load touches all alike), and the medians over rounds are printed. No timed
assertions: the figures depend on the machine.

With `--scaling`: throughput instead (LPN evaluations a second through one sandbox from
1 and from 2 threads at once, as a run with `parallel` = 2 calls it), alternated over
`--rounds`, and the ratio; on a machine of N free cores the ideal is min(N, threads).

    python bench/eval_cost.py [--evals 200] [--rounds 3] [--only all] [--scaling]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

from selftaught.sandbox import Sandbox
from selftaught.tasks.lpn import LearningParityWithNoise

TRIVIAL = "def algorithm():\n    return 0\n"
SETTINGS = {
    "all": {},
    "confine=False": {"confine": False},
    "audit_hooks=False": {"audit_hooks": False},
    "both off": {"confine": False, "audit_hooks": False},
}
TICK = os.sysconf("SC_CLK_TCK")
PAUSE = 0.03
"""Seconds between evaluations on a ready sandbox (the `ready` columns)."""


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid` and of its children it has reaped (utime, stime, cutime,
    cstime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def measure(options: dict, evals: int) -> dict[str, float]:
    task = LearningParityWithNoise()
    instances = task.instances("validation")
    inputs = [inst.inputs for inst in instances]
    src = task.seed_solution
    with Sandbox(**options) as sandbox:

        def lpn() -> None:
            result = sandbox.solve(
                src, function="algorithm", instances=inputs, instance_timeout=task.instance_timeout
            )
            assert result.outcome == "ok", result.message
            for r, inst in zip(result.instances, instances, strict=True):
                task.safe_score(r.output, inst.answer) if r.outcome == "ok" else 0.0

        def trivial() -> None:
            sandbox.solve(TRIVIAL, function="algorithm", instances=[()], instance_timeout=1.0)

        for _ in range(5):
            lpn(), trivial()  # warm up, and let the spares fill
        time.sleep(0.3)
        server = sandbox.server.pid
        walls = []
        cpu0, own0 = tree_cpu(server), time.process_time()
        for _ in range(evals):
            t0 = time.perf_counter()
            lpn()
            walls.append(time.perf_counter() - t0)
        time.sleep(0.3)  # let the fork server reap the last workers
        server_cpu = tree_cpu(server) - cpu0
        own_cpu = time.process_time() - own0 - 0.0
        trivials = []
        for _ in range(evals):
            t0 = time.perf_counter()
            trivial()
            trivials.append(time.perf_counter() - t0)
        ready: dict[str, list[float]] = {"lpn": [], "trivial": []}
        for _ in range(evals // 4):
            for name, evaluate in (("lpn", lpn), ("trivial", trivial)):
                time.sleep(PAUSE)  # the spares settle, as between a run's model calls
                t0 = time.perf_counter()
                evaluate()
                ready[name].append(time.perf_counter() - t0)
    return {
        "ready_lpn_ms": statistics.median(ready["lpn"]) * 1000,
        "ready_trivial_ms": statistics.median(ready["trivial"]) * 1000,
        "lpn_ms": statistics.median(walls) * 1000,
        "trivial_ms": statistics.median(trivials) * 1000,
        "orch_cpu_ms": own_cpu / evals * 1000,
        "server_cpu_ms": server_cpu / evals * 1000,
        "cpu_ms": (own_cpu + server_cpu) / evals * 1000,
    }


def throughput(sandbox: Sandbox, threads: int, evals: int) -> float:
    """LPN evaluations a second, `evals` in all, from `threads` threads at once."""
    task = LearningParityWithNoise()
    inputs = [inst.inputs for inst in task.instances("validation")]
    src = task.seed_solution
    per_thread = evals // threads

    def loop() -> None:
        for _ in range(per_thread):
            result = sandbox.solve(
                src, function="algorithm", instances=inputs, instance_timeout=task.instance_timeout
            )
            assert result.outcome == "ok", result.message

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per_thread * threads / (time.perf_counter() - start)


def scaling(evals: int, rounds: int, spares: int = 2) -> None:
    rates: dict[int, list[float]] = {1: [], 2: []}
    with Sandbox(spares=spares) as sandbox:
        throughput(sandbox, 2, 20)  # warm up
        for _ in range(rounds):
            for threads in (1, 2):
                rates[threads].append(throughput(sandbox, threads, evals))
    one, two = (statistics.median(rates[t]) for t in (1, 2))
    ratio = statistics.median(b / a for a, b in zip(rates[1], rates[2], strict=True))
    print(
        f"sandboxed LPN evaluations a second, {os.cpu_count()} cores, {spares} spares,"
        f" medians of {rounds}:"
    )
    print(f"  1 thread  {one:7.1f}/s")
    print(f"  2 threads {two:7.1f}/s   ratio {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=list(SETTINGS), action="append")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--spares", type=int, default=2, help="with --scaling")
    args = parser.parse_args()
    if args.scaling:
        scaling(args.evals, args.rounds, args.spares)
        return
    names = args.only or list(SETTINGS)
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for _ in range(args.rounds):
        for name in names:
            figures[name].append(measure(SETTINGS[name], args.evals))
    instances = len(LearningParityWithNoise().instances("validation"))
    print(
        f"LPN seed solution, {instances} validation instances; medians of {args.rounds} rounds"
        f" of {args.evals} evaluations (ms per evaluation)"
    )
    print(f"{'':<18} {'back to back':>16} {'one, ready':>16} {'CPU per LPN evaluation':>28}")
    print(
        f"{'containment':<18} {'LPN':>8} {'fixed':>7} {'LPN':>8} {'fixed':>7}"
        f" {'all':>8} {'orchestr.':>9} {'server+wk':>9}"
    )
    for name in names:
        med = {k: statistics.median(r[k] for r in figures[name]) for k in figures[name][0]}
        print(
            f"{name:<18} {med['lpn_ms']:8.2f} {med['trivial_ms']:7.2f}"
            f" {med['ready_lpn_ms']:8.2f} {med['ready_trivial_ms']:7.2f} {med['cpu_ms']:8.2f}"
            f" {med['orch_cpu_ms']:9.2f} {med['server_cpu_ms']:9.2f}"
        )


if __name__ == "__main__":
    main()
