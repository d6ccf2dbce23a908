"""Where a short run's wall time goes outside its loop: before its first model call and
after its last, as a user sees it (whole processes).

Runs `selftaught run --preset paper --model echo --task lpn --iterations 1` `--repeats`
times, each in a fresh output folder, reads its progress lines as they come, and prints
the medians of: the start until the first line of the loop ("[0/1] scoring the starting
improver": imports, checks, the run's records, the sandbox and the model set up), the
loop itself, and the loop's end ("records: ...") until the process has exited (the
report, closing the sandbox). For comparison, `python -c pass` and `selftaught --help`.
No timed assertions.

    python bench/run_phases.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def phases() -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "selftaught", "run", "--preset", "paper", "--model"]
        cmd += ["echo", "--task", "lpn", "--iterations", "1", "--output", out]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = end = None
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter()
            if first is None and "[0/1]" in line:
                first = now
            if line.startswith("records:"):
                end = now
        proc.wait()
        done = time.perf_counter()
    if proc.returncode != 0 or first is None or end is None:
        raise SystemExit(f"the run failed (exit {proc.returncode})")
    return first - start, end - first, done - end


def whole(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    figures = [phases() for _ in range(args.repeats)]
    python = statistics.median(whole([sys.executable, "-c", "pass"]) for _ in range(5))
    helps = [whole([sys.executable, "-m", "selftaught", "--help"]) for _ in range(5)]
    before, loop, after = (statistics.median(f[i] for f in figures) for i in range(3))
    print(f"one paper iteration on echo (LPN, cache on), medians of {args.repeats} runs:")
    print(f"  before the first model call  {before:6.2f} s")
    print(f"  the loop                     {loop:6.2f} s")
    print(f"  after the last (report, exit){after:6.2f} s")
    print(f"  python -c pass               {python:6.2f} s")
    print(f"  selftaught --help            {statistics.median(helps):6.2f} s")


if __name__ == "__main__":
    main()
