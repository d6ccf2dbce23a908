"""(c) One STOP iteration with the `paper` preset's budgets on `echo`: what the framework
itself costs (the model answers instantly and for free).

Run twice on the same work: with the evaluation cache (a program met again on the same
task and split is scored once per run, as `selftaught run` does) and without it (every
evaluation runs in the sandbox, as in code that caches nothing, e.g. the reference code).

    python bench/echo_stop.py
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from selftaught.assembly import Shared, assemble
from selftaught.config import load_config
from selftaught.stop import run_stop, seed_improver


def one_iteration(shared: Shared, *, evaluation_cache: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(
            preset="paper", overrides={"model": "echo", "iterations": 1, "output": tmp}
        )
        with assemble(cfg, record="echo-bench", shared=shared) as asm:
            store = asm.store
            start = time.perf_counter()
            run_stop(
                asm.context,
                seed_improver(keep_input=cfg.keep_input),
                asm.run_dir,
                evaluation_cache=evaluation_cache,
            )
            seconds = time.perf_counter() - start
            usage = store.run_usage()
            evals = store.query(
                "SELECT COUNT(*) n, COALESCE(SUM(cache_hit), 0) h FROM evaluations"
                " WHERE kind = 'solution'"
            )[0]
            improver_runs = store.query("SELECT COUNT(*) n FROM improver_runs")[0]["n"]
    return {
        "cfg": cfg,
        "seconds": seconds,
        "calls": usage["calls"],
        "samples": usage["samples"],
        "improver_runs": improver_runs,
        "evaluations": evals["n"],
        "cache_hits": evals["h"],
    }


def main() -> None:
    with Shared() as shared:  # one sandbox for both: the same spec
        cached = one_iteration(shared, evaluation_cache=True)
        uncached = one_iteration(shared, evaluation_cache=False)
    cfg = cached["cfg"]
    b = cfg.budgets
    print(
        f"paper budgets: {cfg.runs} runs per meta-utility, {b.lm_calls} calls x"
        f" {b.samples_per_call} samples, {b.utility_calls} utility calls; 1 iteration on echo"
    )
    print(f"{'':24}{'cache on':>12}{'cache off':>12}")
    rows = [
        ("wall time (s)", "seconds", "{:.3f}"),
        ("model calls", "calls", "{}"),
        ("samples", "samples", "{}"),
        ("improver runs", "improver_runs", "{}"),
        ("solution evaluations", "evaluations", "{}"),
        ("  from the cache", "cache_hits", "{}"),
    ]
    for label, key, fmt in rows:
        print(f"{label:24}{fmt.format(cached[key]):>12}{fmt.format(uncached[key]):>12}")
    ran_on = cached["evaluations"] - cached["cache_hits"]
    ran_off = uncached["evaluations"] - uncached["cache_hits"]
    print(
        f"evaluations run in the sandbox: {ran_on} vs {ran_off};"
        f" cache off / cache on wall time: {uncached['seconds'] / cached['seconds']:.2f}x"
    )
    if ran_off:
        print(f"cache off, per evaluation run: {1000 * uncached['seconds'] / ran_off:.1f} ms")


if __name__ == "__main__":
    main()
