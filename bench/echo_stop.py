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
from pathlib import Path
from typing import Any

from selftaught.config import load_config
from selftaught.lm.registry import make_backend
from selftaught.sandbox import Sandbox
from selftaught.stop import RunContext, run_stop, seed_improver
from selftaught.store import RunDir


def one_iteration(sandbox: Sandbox, *, evaluation_cache: bool) -> dict[str, Any]:
    cfg = load_config(preset="paper", overrides={"model": "echo", "iterations": 1})
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = RunDir.create(Path(tmp), "echo-bench")
        store = run_dir.open_store()
        backend = make_backend(cfg.model, cfg.lm, cache_path=run_dir.path / "cache.sqlite")
        ctx = RunContext(cfg, backend, sandbox, store)
        start = time.perf_counter()
        run_stop(
            ctx,
            seed_improver(keep_input=cfg.keep_input),
            run_dir,
            evaluation_cache=evaluation_cache,
        )
        seconds = time.perf_counter() - start
        usage = store.run_usage()
        evals = store.query(
            "SELECT COUNT(*) n, COALESCE(SUM(cache_hit), 0) h FROM evaluations"
            " WHERE kind = 'solution'"
        )[0]
        improver_runs = store.query("SELECT COUNT(*) n FROM improver_runs")[0]["n"]
        store.close()
        close = getattr(backend, "close", None)
        if callable(close):
            close()
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
    with Sandbox() as sandbox:
        cached = one_iteration(sandbox, evaluation_cache=True)
        uncached = one_iteration(sandbox, evaluation_cache=False)
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
