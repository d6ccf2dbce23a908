"""What the run cgroup costs per call: a trivial one-instance program through the sandbox
with and without the group (`Sandbox(run_cgroup=...)`), with spares and with workers
forked on demand. Each worker writes itself into the group right after the fork; this
shows what that write costs. Rounds alternate (without, with, without, with) so that load
from other processes falls on both sides. No timed assertions: the figures depend on the
machine. Without cgroup controllers for this user both columns run unbounded.

    python bench/run_cgroup.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

from selftaught.sandbox import Sandbox

TRIVIAL = "def f(a):\n    return [a]\n"


def median_ms(spares: int, cgroup: bool, repeats: int) -> tuple[float, str]:
    with Sandbox(spares=spares, run_cgroup=cgroup) as sb:
        sb.solve(TRIVIAL, function="f", instances=[(1,)], instance_timeout=5)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            sb.solve(TRIVIAL, function="f", instances=[(1,)], instance_timeout=5)
            times.append(time.perf_counter() - start)
            if spares:
                time.sleep(0.05)  # let the spare be replaced, as between real calls
        return statistics.median(times) * 1000, sb.containment["run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"{'workers':<12} {'no group ms':>12} {'group ms':>10} {'ratio':>7}  group")
    for spares, label in ((2, "spares"), (0, "on demand")):
        without, with_ = [], []
        mode = ""
        for _ in range(2):
            without.append(median_ms(spares, False, args.repeats)[0])
            ms, mode = median_ms(spares, True, args.repeats)
            with_.append(ms)
        a, b = statistics.mean(without), statistics.mean(with_)
        print(f"{label:<12} {a:>12.1f} {b:>10.1f} {b / a:>7.2f}  {mode}")


if __name__ == "__main__":
    main()
