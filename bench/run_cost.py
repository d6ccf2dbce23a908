"""What a whole `selftaught run` costs, sandboxed, against the same run with its
evaluations in-process and unsandboxed: one `paper`-budget iteration on LPN with the `echo`
model (it answers at once and for free, so what is timed is the framework).

Each figure is a whole process, as a user times it: (A) `selftaught run ...` as shipped;
(B) the same command line in a process whose sandbox is `InProcessSandbox` below (solutions
and improvers run with `exec` in the orchestrator: no fork, no confinement, no time
limits), the stand-in for a reference implementation that runs everything in-process.
The project has no in-process executor of its own (nothing a user can select runs
evaluations unsandboxed): B exists only here. Both write the same records and report.

A and B alternate run by run, `--repeats` times, with the evaluation cache off (every
solution scored again each time it is met, set through the loop: no flag of the command
line turns it off) and then on (the default: with `echo`, whose answers repeat, nearly
every evaluation is then a hit, so what is left is the process's fixed costs). The
response cache is at its default (on; each run has a fresh directory). Printed: median
wall and CPU seconds (the process and its children: the fork server and workers) of A
and B, and the median of the ratios A/B, pair by pair. No timed assertions.

    python bench/run_cost.py [--repeats 5] [--task lpn]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


# -- B: the in-process stand-in -------------------------------------------------------------


class _DirectChannel:
    """The worker proxies' channel, answered by the broker in this process."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    def call(self, message: dict) -> dict:
        if message["op"] == "utility":
            return {"value": self.broker.utility(message["src"])}
        return dict(
            self.broker.language_model(
                message.get("system", ""), message["messages"], message.get("temperature")
            )
        )

    def tell(self, message: dict) -> None:
        pass


class InProcessSandbox:
    """`SandboxLike` that runs programs with `exec` in this process (benchmarks only)."""

    network_mode = "none"
    privileges = "user"
    containment = {"filesystem": "none (in-process benchmark)"}

    def __init__(self, spec: Any = None) -> None:
        self.spec = spec

    def solve(
        self,
        src: str,
        *,
        function: str,
        instances: list[tuple],
        instance_timeout: float,
        load_timeout: float = 5.0,
    ) -> Any:
        import numpy as np

        from selftaught.sandbox.results import InstanceResult, SolveResult
        from selftaught.sandbox.worker import _describe, _load, plain

        start = time.perf_counter()
        random.seed(0)
        np.random.seed(0)
        try:
            fn = _load(src, function, "<solution>")
        except BaseException as exc:  # noqa: BLE001 - the program failing is a result
            return SolveResult("error", _describe(exc, "<solution>"), [], 0.0)
        results = []
        for args in instances:
            t0 = time.perf_counter()
            try:
                out = plain(fn(*args))
                results.append(InstanceResult("ok", output=out, seconds=time.perf_counter() - t0))
            except BaseException as exc:  # noqa: BLE001
                message = _describe(exc, "<solution>")
                results.append(InstanceResult("error", seconds=0.0, message=message))
        return SolveResult("ok", "", results, time.perf_counter() - start, [], None)

    def improve(
        self,
        src: str,
        *,
        initial_solution: str,
        utility_str: str,
        budgets: Any,
        broker: Any,
        timeout: float,
        charge_utility_time: bool = True,
    ) -> Any:
        from selftaught.sandbox.results import ImproveResult
        from selftaught.sandbox.worker import (
            LanguageModelProxy,
            UtilityProxy,
            _describe,
            _helpers_module,
            _load,
        )

        start = time.perf_counter()
        sys.modules["helpers"] = _helpers_module()
        channel: Any = _DirectChannel(broker)
        utility = UtilityProxy(channel, utility_str, budgets.utility_calls)
        model = LanguageModelProxy(channel, budgets.lm_calls, budgets.samples_per_call)
        try:
            fn = _load(src, "improve_algorithm", "<improver>")
            value = fn(initial_solution, utility, model)
        except BaseException as exc:  # noqa: BLE001
            result = ImproveResult("error", _describe(exc, "<improver>"))
        else:
            result = (
                ImproveResult("ok", value=value)
                if isinstance(value, str)
                else ImproveResult("error", f"returned a {type(value).__name__}")
            )
        result.seconds = time.perf_counter() - start
        return result

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcessSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def child_main(argv: list[str]) -> None:
    """`selftaught <argv>` as the command line runs it, with `--in-process`: every sandbox
    an `InProcessSandbox`; with `--no-evaluation-cache`: every solution scored again each
    time it is met (the loop's `evaluation_cache=False`, which no command-line flag sets)."""
    import selftaught.api.running as running
    import selftaught.stop.loop as loop
    from selftaught.assembly import Shared, assemble
    from selftaught.cli import main

    if "--no-evaluation-cache" in argv:
        argv.remove("--no-evaluation-cache")
        run_stop = loop.run_stop

        def uncached(*args: Any, **kwargs: Any) -> Any:
            return run_stop(*args, **{**kwargs, "evaluation_cache": False})

        loop.run_stop = uncached  # type: ignore[assignment]
    if "--in-process" in argv:
        argv.remove("--in-process")

        class InProcessShared(Shared):
            def sandbox(self, cfg: Any, spec: Any) -> Any:
                return InProcessSandbox(spec)

        shared = InProcessShared()

        def assemble_in_process(*args: Any, **kwargs: Any) -> Any:
            return assemble(*args, shared=shared, **kwargs)

        running.assemble = assemble_in_process  # type: ignore[assignment]
    main(argv)


# -- the comparison ---------------------------------------------------------------------------


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (with every child) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"run_cost: {argv[:3]} failed: {done.stderr.strip()[-400:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--task", default="lpn")
    args = parser.parse_args()
    print(
        f"one paper-budget iteration on {args.task}, model echo; medians of {args.repeats},"
        " alternated (A sandboxed, B in-process)"
    )
    print(f"{'eval. cache':<12} {'A wall':>7} {'B wall':>7} {'A/B':>5} {'A cpu':>7} {'B cpu':>7}")
    for cache in ("--no-evaluation-cache", ""):
        figures: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
        for _ in range(args.repeats):
            for which in ("A", "B"):
                with tempfile.TemporaryDirectory() as tmp:
                    run = ["run", "--preset", "paper", "--model", "echo", "--task", args.task]
                    run += ["--iterations", "1", "--output", tmp]
                    flags = [cache] if cache else []
                    flags += ["--in-process"] if which == "B" else []
                    if flags:
                        argv = [sys.executable, str(HERE / "run_cost.py"), "--child", *flags]
                    else:  # exactly what a user runs
                        argv = [sys.executable, "-m", "selftaught"]
                    argv += run
                    figures[which].append(timed(argv))
        wa, ca = (statistics.median(x[i] for x in figures["A"]) for i in (0, 1))
        wb, cb = (statistics.median(x[i] for x in figures["B"]) for i in (0, 1))
        pairs = zip(figures["A"], figures["B"], strict=True)
        ratio = statistics.median(a[0] / b[0] for a, b in pairs)
        label = "off" if cache else "on"
        print(f"{label:<12} {wa:7.2f} {wb:7.2f} {ratio:5.2f} {ca:7.2f} {cb:7.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2:])
    else:
        main()
