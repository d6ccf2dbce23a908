"""The floor under a sandboxed evaluation: what forking one fresh process costs, before it
runs anything at all.

Each evaluation runs in a process forked from the fork server, which holds numpy and the
worker code (docs/security.md: a worker starts with nothing of another program's). This
script imports what the fork server imports (`forkserver.PRELOAD`), freezes the garbage
collector's objects as the server does, and then forks `--forks` children that exit at
once, printing per fork: the parent's CPU (the kernel copying page tables), the child's
CPU (CPython's after-fork work, its copy-on-write faults, and the kernel tearing the
address space down at exit), and the child's page faults before its first line of code.
For comparison, the same in a process that preloads nothing (this script's own imports
only). No timed assertions: the figures depend on the machine.

    python bench/fork_floor.py [--forks 500]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import resource
import statistics
import subprocess
import sys
import time


def measure(forks: int) -> dict[str, float]:
    read, write = os.pipe()
    faults = []
    start, before = time.perf_counter(), os.times()
    for _ in range(forks):
        pid = os.fork()
        if pid == 0:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            os.write(write, usage.ru_minflt.to_bytes(4, "little"))
            os._exit(0)
        os.waitpid(pid, 0)
        faults.append(int.from_bytes(os.read(read, 4), "little"))
    after, wall = os.times(), time.perf_counter() - start
    own = (after.user - before.user + after.system - before.system) / forks
    kids = after.children_user - before.children_user
    kids += after.children_system - before.children_system
    with open("/proc/self/status") as f:
        anon = next(line.split()[1] for line in f if line.startswith("RssAnon"))
    return {
        "wall_ms": wall / forks * 1000,
        "parent_ms": own * 1000,
        "child_ms": kids / forks * 1000,
        "faults": statistics.median(faults),
        "anon_mb": int(anon) / 1024,
        "modules": len(sys.modules),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forks", type=int, default=500)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.bare:
        from selftaught.sandbox.forkserver import PRELOAD

        for name in PRELOAD:
            importlib.import_module(name)
    gc.collect()
    gc.freeze()
    figures = measure(args.forks)
    if args.bare:
        print(repr(figures))
        return
    bare = eval(  # noqa: S307 - our own child's repr of a dict of numbers
        subprocess.run(
            [sys.executable, __file__, "--bare", "--forks", str(args.forks)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    print(f"one fork and exit, {args.forks} forks (ms per fork; faults: the median)")
    print(
        f"{'process':<26} {'anon MB':>8} {'modules':>8} {'wall':>7} {'parent CPU':>11}"
        f" {'child CPU':>10} {'child faults':>13}"
    )
    for name, row in (("the fork server's imports", figures), ("nothing preloaded", bare)):
        print(
            f"{name:<26} {row['anon_mb']:8.1f} {row['modules']:8d} {row['wall_ms']:7.2f}"
            f" {row['parent_ms']:11.2f} {row['child_ms']:10.2f} {row['faults']:13.0f}"
        )


if __name__ == "__main__":
    main()
