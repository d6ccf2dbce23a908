"""Longest increasing subsequence, made fast (the built-in speed task).

Each instance is a list of 1500 to 2500 integers; the answer is the length of its longest
strictly increasing subsequence, computed here by patience sorting. The seed solution is
deliberately slow but correct: the quadratic dynamic programme. A correct O(n log n)
solution is tens of times faster. Score: see `selftaught.tasks.speed` (the seed scores
about 0.5; wrong answers score 0).
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from selftaught.tasks.speed import SPEED_TEXT, SpeedTask


def lis_length(seq: list[int]) -> int:
    """Patience sorting: the length of the longest strictly increasing subsequence."""
    tails: list[int] = []
    for x in seq:
        i = bisect.bisect_left(tails, x)
        if i == len(tails):
            tails.append(x)
        else:
            tails[i] = x
    return len(tails)


FAST = """import bisect

def algorithm(seq):
    tails = []
    for x in seq:
        i = bisect.bisect_left(tails, x)
        if i == len(tails):
            tails.append(x)
        else:
            tails[i] = x
    return len(tails)
"""
"""A correct O(n log n) solution as a program: what a model that finds patience sorting
writes (the tests and bench/speed_noise.py score it against the seed)."""

SEED = '''def algorithm(seq):
    """Length of the longest strictly increasing subsequence of the list `seq`."""
    best = [1] * len(seq)
    for i in range(len(seq)):
        for j in range(i):
            if seq[j] < seq[i] and best[j] + 1 > best[i]:
                best[i] = best[j] + 1
    return max(best, default=0)
'''


class FastLongestIncreasingSubsequence(SpeedTask):
    name = "fast-lis"
    description = "Speed: longest increasing subsequence, correct and faster than the seed"
    arity = 1
    n_validation = 10
    n_heldout = 20
    instance_timeout = 10.0
    seed_solution = SEED
    utility_text = (
        "algorithm(seq) gets a list of 1500 to 2500 integers in [0, 10000) and must return "
        "the length (an int) of its longest strictly increasing subsequence. " + SPEED_TEXT
    )

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        n = int(rng.integers(1500, 2501))
        seq = [int(x) for x in rng.integers(0, 10_000, size=n)]
        return (seq,), lis_length(seq)
