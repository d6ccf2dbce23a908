"""How noisy a speed task's score is: the same program scored three times.

Each `selftaught.score` call is separate, so the seed solution (the baseline T0) is timed
again each time, as it would be in a new run. Prints each score, the CPU seconds per
instance behind it, and the spread (max - min) per program.

    nice -n 10 python bench/speed_noise.py [--repeats 3] [--split validation]
"""

from __future__ import annotations

import argparse
import statistics

import selftaught
from selftaught.tasks.lis import FAST, SEED

THRICE = SEED.replace("def algorithm(seq):", "def once(seq):") + (
    "\n\ndef algorithm(seq):\n    once(seq)\n    once(seq)\n    return once(seq)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--split", default="validation")
    args = parser.parse_args()
    programs = {"seed (quadratic)": SEED, "3x the seed's work": THRICE, "O(n log n)": FAST}
    print(f"fast-lis, {args.split}, {args.repeats} separate scorings per program")
    print(f"{'program':<20} {'scores':<30} {'spread':>8} {'cpu s/instance, 1st timing':>26}")
    for label, src in programs.items():
        scores, cpu = [], []
        for _ in range(args.repeats):
            result = selftaught.score(src, "fast-lis", split=args.split)
            scores.append(result.score)
            cpu.append((result.cpu_seconds or 0.0) / result.instances)
        spread = max(scores) - min(scores)
        shown = " ".join(f"{s:.4f}" for s in scores)
        times = " ".join(f"{c:.4f}" for c in cpu)
        print(f"{label:<20} {shown:<30} {spread:>8.4f} {times:>26}")
        print(f"{'':<20} mean {statistics.fmean(scores):.4f}, sd {statistics.pstdev(scores):.4f}")


if __name__ == "__main__":
    main()
