"""How much sandboxing costs: the LPN scorer on its seed solution, three ways, in one run.

(a) in-process, no sandbox; (b) through the sandbox (warm fork server, a fresh worker per
call, handed out from the spares it keeps forked and confined ahead of need); (b0) the
same with no spares (each worker forked on demand, as before spares existed); (c) through
a fresh `python -c` subprocess per call. Prints medians, the ratios b/a and c/a, and the
sandbox's fixed overhead per call (a trivial one-instance program). Calls are made back to
back, so spares are replaced while the next call runs: on a busy machine that is the
worst case for them. No timed assertions: the figures depend on the machine.

    python bench/sandbox_overhead.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from selftaught.sandbox import Sandbox
from selftaught.tasks.lpn import LearningParityWithNoise

CHILD = """
import json, sys
import numpy as np
job = json.load(sys.stdin)
namespace = {}
exec(job["src"], namespace)
fn = namespace["algorithm"]
out = [np.asarray(fn(*[np.asarray(a) for a in args])).tolist() for args in job["instances"]]
json.dump(out, sys.stdout)
"""
TRIVIAL = "def algorithm():\n    return 0\n"


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    repeats = parser.parse_args().repeats
    task = LearningParityWithNoise()
    instances = task.instances("validation")
    src = task.seed_solution

    def in_process() -> float:
        namespace: dict = {}
        exec(src, namespace)
        fn = namespace["algorithm"]
        np.random.seed(0)
        scores = [task.safe_score(fn(*inst.inputs), inst.answer) for inst in instances]
        return sum(scores) / len(scores)

    def measure(sandbox: Sandbox) -> tuple[list[float], list[float]]:
        def sandboxed() -> float:
            result = sandbox.solve(
                src,
                function="algorithm",
                instances=[inst.inputs for inst in instances],
                instance_timeout=task.instance_timeout,
            )
            scores = [
                task.safe_score(r.output, inst.answer) if r.outcome == "ok" else 0.0
                for r, inst in zip(result.instances, instances, strict=True)
            ]
            return sum(scores) / len(scores)

        def trivial() -> None:
            sandbox.solve(TRIVIAL, function="algorithm", instances=[()], instance_timeout=1.0)

        sandboxed(), trivial()  # warm up
        return timed(sandboxed, repeats), timed(trivial, repeats)

    payload = json.dumps(
        {"src": src, "instances": [[a.tolist() for a in inst.inputs] for inst in instances]}
    )

    def subprocess_per_call() -> float:
        out = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=payload,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        outputs = json.loads(out)
        scores = [
            task.safe_score(o, inst.answer) for o, inst in zip(outputs, instances, strict=True)
        ]
        return sum(scores) / len(scores)

    for fn in (in_process, subprocess_per_call):
        fn()  # warm up
    a = timed(in_process, repeats)
    with Sandbox(spares=0) as sandbox:
        b0, fixed0 = measure(sandbox)
    with Sandbox() as sandbox:
        b, fixed = measure(sandbox)
        print(f"containment: {sandbox.containment_summary}")
        print(f"spares kept per kind of worker: {sandbox.server.spares}")
    c = timed(subprocess_per_call, max(5, repeats // 3))

    ma, mb, mb0, mc = (statistics.median(x) * 1000 for x in (a, b, b0, c))
    mf, mf0 = (statistics.median(x) * 1000 for x in (fixed, fixed0))
    print(f"LPN scorer on its seed solution, {len(instances)} instances, medians:")
    print(f"  (a)  in-process, no sandbox          {ma:8.2f} ms")
    print(f"  (b)  sandbox, spares                 {mb:8.2f} ms")
    print(f"  (b0) sandbox, no spares (on demand)  {mb0:8.2f} ms")
    print(f"  (c)  fresh python -c per call        {mc:8.2f} ms")
    print(f"  b/a = {mb / ma:.2f}   b0/a = {mb0 / ma:.2f}   c/a = {mc / ma:.2f}")
    print(
        f"  sandbox fixed overhead per call (trivial 1-instance program): {mf:.2f} ms"
        f" (no spares: {mf0:.2f} ms)"
    )
    print(f"  sandbox overhead over in-process for this job (b - a): {mb - ma:.2f} ms")
    print(
        f"  Reading b/a: (a) is only {ma:.2f} ms of work, less than it costs any process\n"
        f"  boundary to take a job in and send {len(instances)} results back, so b/a cannot\n"
        f"  come near 1.5 for this job; the ratio mostly restates the fixed overhead.\n"
        f"  b/a <= 1.5 holds once a call does at least 2 x (b - a) = {2 * (mb - ma):.1f} ms\n"
        f"  of work of its own (about {2 * (mb - ma) / ma:.0f}x this instance set)."
    )


if __name__ == "__main__":
    main()
