"""How a meta-utility evaluation scales with parallel improver runs, locally and on Ray.

Two measurements, printed (no timed asserts; the machine may be shared):

1. Model-bound: one meta-utility evaluation of the seed improver (one task, `--runs`
   improver runs) against a simulated model that answers each call after a fixed
   latency, at 1, 2, 4 and 8 improver runs at once. Waiting for the model does not use
   a core, so this should scale well past the core count.
2. CPU-bound: `--programs` distinct solutions that each burn CPU, scored through the
   executor at 1, 2 and 4 at once. This should scale to the number of cores.

    python bench/scaling.py                       # local and a local Ray (2 CPUs)
    python bench/scaling.py --executors local --latency 1

The simulated model is `SleepyBackend` below: a `selftaught.lm.base.Backend` that sleeps
`latency` seconds per request and answers with a distinct, valid LPN solution per sample
(distinct, so the solution cache does not hide evaluation work).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from selftaught.assembly import Shared, assemble
from selftaught.config import load_config
from selftaught.lm.base import Completion, Reply, Request
from selftaught.stop import RunContext, seed_improver
from selftaught.stop.context import Scope
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.solutions import SolutionScorer
from selftaught.tasks import get_task

SOLUTION = """import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    # variant {variant}
    rng = np.random.default_rng({variant})
    return rng.integers(0, 2, size=len(test_samples))
"""

CPU_SOLUTION = """def algorithm(train_samples, train_parity, test_samples):
    # program {variant}
    total = 0
    for i in range({loops}):
        total += i * i % 7
    return [total % 2 for _ in range(len(test_samples))]
"""


class SleepyBackend:
    """A model that takes `latency` seconds per request, whatever is asked."""

    def __init__(self, latency: float) -> None:
        self.name = f"sleepy:{latency:g}s"
        self.latency = latency

    def complete(self, request: Request) -> Reply:
        time.sleep(self.latency)
        texts = [
            f"```python\n{SOLUTION.format(variant=(request.seed or 0) + i)}```"
            for i in range(request.n)
        ]
        return Reply(
            completions=[Completion(t, prompt_tokens=100, completion_tokens=60) for t in texts],
            seconds=self.latency,
        )


@contextlib.contextmanager
def _context(
    shared: Shared, executor: str, root: Path, backend, **overrides
) -> Iterator[RunContext]:
    """A run's context as `selftaught run` builds it (its own limits and run bounds for
    its `parallel`), its sandbox started and warmed before anything is timed."""
    cfg = load_config(
        overrides={
            "model": "scripted:unused",
            "executor": executor,
            "output": str(root),
            **overrides,
        }
    )
    with assemble(cfg, record="bench", backend=backend, shared=shared) as asm:
        warm_up(asm.context)
        yield asm.context


def warm_up(ctx: RunContext) -> None:
    """Start the workers (and, on Ray, their fork servers) before anything is timed."""
    task = get_task("lpn")
    scorer = SolutionScorer(ctx)
    ctx.executor.map(
        lambda k: scorer.evaluate(
            CPU_SOLUTION.format(variant=f"warm-{k}", loops=1000), task, "validation", Scope(0, "w")
        ),
        range(8),
        max_workers=8,
    )


def model_bound(shared: Shared, executor: str, *, latency: float, runs: int, widths, root: Path):
    task = get_task("lpn")
    times = {}
    for width in widths:
        with _context(
            shared, executor, root, SleepyBackend(latency), runs=runs, parallel=width, seed=width
        ) as ctx:
            meta = MetaUtility(ctx, [task], SolutionScorer(ctx))
            start = time.perf_counter()
            ev = meta.evaluate(seed_improver(), Scope(0, f"bench/p{width}"), heldout=False)
            times[width] = time.perf_counter() - start
            calls = ctx.store.query(
                "SELECT COUNT(*) n FROM model_calls WHERE scope LIKE 'bench/%'"
            )[0]["n"]
            evals = ctx.store.query(
                "SELECT COUNT(*) n FROM evaluations WHERE kind='solution' AND cache_hit=0"
                " AND scope LIKE 'bench/%'"
            )[0]["n"]
        print(
            f"  {executor:5} {width} at once: {times[width]:6.2f} s  "
            f"speed-up {times[widths[0]] / times[width]:4.1f}x  "
            f"({len(ev.runs)} runs, {calls} model calls, {evals} solution evaluations)",
            flush=True,
        )
    return times


def cpu_bound(shared: Shared, executor: str, *, programs: int, loops: int, widths, root: Path):
    task = get_task("lpn")
    times = {}
    for width in widths:
        with _context(shared, executor, root, SleepyBackend(0), parallel=width) as ctx:
            scorer = SolutionScorer(ctx)
            srcs = [
                CPU_SOLUTION.format(variant=f"{width}-{k}", loops=loops) for k in range(programs)
            ]
            scope = Scope(0, f"bench/cpu{width}")
            start = time.perf_counter()
            results = ctx.executor.map(
                lambda src, s=scorer, sc=scope: s.evaluate(src, task, "validation", sc),
                srcs,
                max_workers=width,
            )
            times[width] = time.perf_counter() - start
        bad = sum(r.outcome != "ok" or r.timed_out for r in results)
        print(
            f"  {executor:5} {width} at once: {times[width]:6.2f} s  "
            f"speed-up {times[widths[0]] / times[width]:4.1f}x  "
            f"({programs} programs x {task.n_validation} instances"
            + (f"; {bad} not ok" if bad else "")
            + ")",
            flush=True,
        )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per model call")
    parser.add_argument("--runs", type=int, default=8, help="improver runs per evaluation")
    parser.add_argument("--widths", default="1,2,4,8")
    parser.add_argument("--programs", type=int, default=8, help="CPU-bound solutions")
    parser.add_argument("--loops", type=int, default=600_000, help="CPU work per instance")
    parser.add_argument("--cpu-widths", default="1,2,4")
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    cpu_widths = [int(w) for w in args.cpu_widths.split(",")]
    root = Path(tempfile.mkdtemp(prefix="selftaught-bench-"))
    for name in args.executors.split(","):
        if name == "ray":
            from selftaught.executors.ray_executor import init_local_ray

            init_local_ray(num_cpus=2)  # the executor `assemble` makes joins this one
        with Shared() as shared:
            print(
                f"{name}: model-bound: one meta-utility evaluation, {args.runs} runs of the "
                f"seed improver, model latency {args.latency:g} s (each width's sandbox warmed"
                " first)"
            )
            model_bound(
                shared, name, latency=args.latency, runs=args.runs, widths=widths, root=root
            )
            print(f" CPU-bound: {args.programs} solutions scored through executor.map")
            cpu_bound(
                shared, name, programs=args.programs, loops=args.loops, widths=cpu_widths, root=root
            )
        if name == "ray":
            import ray

            ray.shutdown()


if __name__ == "__main__":
    main()
