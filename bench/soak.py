"""Soak: a long `paper`-preset run must not grow from iteration to iteration.

Runs 50 iterations of the `paper` preset on `echo` and on a `scripted:` model (the
orchestrator in this process, the fork server beside it, as `selftaught run` does) and
prints, after every iteration, the orchestrator's resident memory, open file descriptors
and threads, and the fork server's resident memory and descriptors; then the slope of
each over the iterations (least squares), over all of them and over the second half
(after warm-up).

    nice -n 10 python bench/soak.py [--iterations 50] [--model echo|scripted]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from pathlib import Path

from selftaught.assembly import assemble
from selftaught.config import load_config
from selftaught.stop import run_stop, seed_improver
from selftaught.stop.context import Progress

BETTER = '''from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    """SOAK-IMPROVER: asks for variations, keeps the best and marks it, so that every
    iteration proposes a new improver, which is scored and adopted."""
    message = "SOAK-IMPROVER vary this:\\n" + initial_solution
    responses = language_model.batch_prompt("expert", [message] * 3)
    candidates = [c for c in extract_code(responses) if c] + [initial_solution]
    best = max(candidates, key=utility)
    return best + f"\\n# soak {len(best)}\\n"
'''

SOLUTION = """def algorithm(train_samples, train_parity, test_samples):
    import numpy as np
    counts = np.asarray(train_samples).sum(axis=0)
    return [int(np.asarray(x)[np.argmax(counts)]) for x in test_samples]
"""

RULES = [
    {"when": "meta_utility", "reply": f"```python\n{BETTER}```"},
    {"when": "", "reply": f"```python\n{SOLUTION}```"},
]


def proc_stats(pid: int) -> tuple[float, int, int]:
    """Resident memory (MB), open file descriptors and threads of a process."""
    rss_kb, threads = 0, 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd")), threads


def slope(ys: list[float]) -> float:
    """Least-squares slope of ys against 0, 1, 2, ..."""
    n = len(ys)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(ys) / n
    return sum((x - mx) * (y - my) for x, y in enumerate(ys)) / sum((x - mx) ** 2 for x in range(n))


class Sampler(Progress):
    """Samples both processes each time an iteration's improver gets its meta-utility."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.rows: list[tuple[int, float, float, int, int, float, int]] = []
        self.start = time.perf_counter()

    def scored(self, iteration: int, validation: float) -> None:
        pass

    def sample(self, iteration: int) -> None:
        gc.collect()
        rss, fds, threads = proc_stats(os.getpid())
        srss, sfds, _ = proc_stats(self.server_pid)
        row = (iteration, time.perf_counter() - self.start, rss, fds, threads, srss, sfds)
        self.rows.append(row)
        print(
            f"{iteration:>5} {row[1]:>8.1f} {rss:>9.1f} {fds:>5} {threads:>8}"
            f" {srss:>10.1f} {sfds:>10}",
            flush=True,
        )


def soak(model: str, iterations: int) -> Sampler:
    with tempfile.TemporaryDirectory() as tmp:
        if model == "scripted":
            replies = Path(tmp) / "replies.json"
            replies.write_text(json.dumps(RULES))
            model = f"scripted:{replies}"
        cfg = load_config(
            preset="paper", overrides={"model": model, "iterations": iterations, "output": tmp}
        )
        sampler = Sampler(0)
        with assemble(cfg, record="soak", progress=sampler) as asm:
            sampler.server_pid = asm.context.sandbox.server._proc.pid  # type: ignore[attr-defined]
            store = asm.store
            print(f"\n{model} (paper preset), {iterations} iterations")
            print("iter  seconds  rss (MB)   fds  threads  fs rss (MB)    fs fds")

            # Sample when an iteration is recorded: the loop's own boundary.
            add_iteration = store.add_iteration

            def recorded(row: dict) -> None:
                add_iteration(row)
                sampler.sample(row["iteration"])

            store.add_iteration = recorded  # type: ignore[method-assign]
            run_stop(asm.context, seed_improver(keep_input=cfg.keep_input), asm.run_dir)
    return sampler


def report(name: str, sampler: Sampler) -> None:
    rows = sampler.rows
    half = rows[len(rows) // 2 :]
    print(f"\nslopes per iteration, {name} (all {len(rows)} / second half {len(half)}):")
    for label, col in [
        ("orchestrator RSS (MB)", 2),
        ("orchestrator fds", 3),
        ("orchestrator threads", 4),
        ("fork server RSS (MB)", 5),
        ("fork server fds", 6),
    ]:
        print(
            f"  {label:<24} {slope([r[col] for r in rows]):+9.4f}"
            f"  {slope([r[col] for r in half]):+9.4f}"
            f"   (first {rows[0][col]:.1f}, last {rows[-1][col]:.1f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--model", choices=["echo", "scripted"], action="append")
    args = parser.parse_args()
    results = {m: soak(m, args.iterations) for m in args.model or ["echo", "scripted"]}
    for name, sampler in results.items():
        report(name, sampler)


if __name__ == "__main__":
    main()
