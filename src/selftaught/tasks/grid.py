"""String Grid Distance (a transfer task, as defined in the paper).

grid_dist(s, t) = (positions where s and t differ) + (adjacent changes in s) +
(adjacent changes in t). Given t over {A, B} (length 8 to 32) and a target distance
`dist` (always reachable: it is the distance of a random string), return s over {A, B}
of the same length with grid_dist(s, t) == dist. Score per instance, as in the paper:
1 for an exact answer; a valid string of the right length at distance d != dist scores
0.5 - |d - dist| / (6 len(t)), which lies in [0, 0.5]; anything else (wrong type, wrong
length, other letters) scores 0. The seed returns t itself and scores about 0.42.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Task

MIN_LEN, MAX_LEN = 8, 32


def grid_dist(s: str, t: str) -> int:
    """The paper's string grid distance of two equal-length strings."""
    return (
        sum(a != b for a, b in zip(s, t, strict=True))
        + sum(a != b for a, b in zip(s, s[1:], strict=False))
        + sum(a != b for a, b in zip(t, t[1:], strict=False))
    )


def grid_score(output: Any, t: str, dist: int) -> float:
    if not isinstance(output, str) or len(output) != len(t) or not set(output) <= {"A", "B"}:
        return 0.0
    d = grid_dist(output, t)
    if d == dist:
        return 1.0
    return max(0.0, 0.5 - abs(d - dist) / (6 * len(t)))


class StringGridDistance(Task):
    name = "grid"
    description = "String grid distance: build a string over {A, B} at a given grid distance."
    arity = 2
    instance_timeout = 0.5
    n_validation = 20
    n_heldout = 50
    utility_text = '''import random

def grid_dist(s: str, t: str) -> int:
    assert isinstance(s, str) and isinstance(t, str) and len(s) == len(t)
    assert set(s + t) <= {"A", "B"}
    return (
        sum(a != b for a, b in zip(s, t))
        + sum(a != b for a, b in zip(s, s[1:]))
        + sum(a != b for a, b in zip(t, t[1:]))
    )


def utility(algorithm_str: str) -> float:
    """Mean score of `algorithm(t, dist)` on random String Grid Distance problems.

    t is a random string over {"A", "B"} of length 8 to 32 and dist a distance that
    some string reaches. algorithm(t, dist) must return, within 0.5 seconds, a string s
    over {"A", "B"} with len(s) == len(t). It scores 1 if grid_dist(s, t) == dist, else
    0.5 - abs(grid_dist(s, t) - dist) / (6 * len(t)); an invalid string scores 0.
    """
    exec(algorithm_str, globals())  # defines algorithm
    scores = []
    for _ in range(20):
        n = random.randint(8, 32)
        t = "".join(random.choice("AB") for _ in range(n))
        dist = grid_dist("".join(random.choice("AB") for _ in range(n)), t)
        s = algorithm(t, dist)
        try:
            d = grid_dist(s, t)
        except AssertionError:
            scores.append(0.0)
            continue
        scores.append(1.0 if d == dist else 0.5 - abs(d - dist) / (6 * len(t)))
    return sum(scores) / len(scores)
'''
    seed_solution = """def algorithm(t: str, dist: int) -> str:
    return t
"""

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        n = int(rng.integers(MIN_LEN, MAX_LEN + 1))
        t = "".join(rng.choice(["A", "B"], n))
        s = "".join(rng.choice(["A", "B"], n))
        dist = grid_dist(s, t)
        return (t, dist), (t, dist)

    def score(self, output: Any, answer: Any) -> float:
        t, dist = answer
        return grid_score(output, t, dist)
