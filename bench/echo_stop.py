"""(c) One STOP iteration with the `paper` preset's budgets on `echo`: what the framework
itself costs (the model answers instantly and for free).

    python bench/echo_stop.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from selftaught.config import load_config
from selftaught.lm.registry import make_backend
from selftaught.sandbox import Sandbox
from selftaught.stop import RunContext, run_stop, seed_improver
from selftaught.store import RunDir


def main() -> None:
    cfg = load_config(preset="paper", overrides={"model": "echo", "iterations": 1})
    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        run_dir = RunDir.create(Path(tmp), "echo-bench")
        store = run_dir.open_store()
        backend = make_backend(cfg.model, cfg.lm, cache_path=run_dir.path / "cache.sqlite")
        ctx = RunContext(cfg, backend, sandbox, store)
        start = time.perf_counter()
        run_stop(ctx, seed_improver(keep_input=cfg.keep_input), run_dir)
        seconds = time.perf_counter() - start
        usage = store.run_usage()
        evals = store.query("SELECT COUNT(*) n, COALESCE(SUM(cache_hit), 0) h FROM evaluations")[0]
        improver_runs = store.query("SELECT COUNT(*) n FROM improver_runs")[0]["n"]
        store.close()
    b = cfg.budgets
    print(
        f"paper budgets: {cfg.runs} runs per meta-utility, {b.lm_calls} calls x"
        f" {b.samples_per_call} samples, {b.utility_calls} utility calls; 1 iteration on echo"
    )
    print(f"wall time:       {seconds:.1f} s")
    print(f"model calls:     {usage['calls']} ({usage['samples']} samples)")
    print(f"improver runs:   {improver_runs}")
    print(f"evaluations:     {evals['n']} ({evals['h']} answered from the evaluation cache)")


if __name__ == "__main__":
    main()
