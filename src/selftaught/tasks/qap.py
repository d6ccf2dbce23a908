"""Modified Quadratic Assignment (a transfer task).

Place n = 10 facilities on n locations. F is the flow between facilities, D the distance
between locations, P[i, k] the cost of putting facility i at location k. An assignment
`a` (a permutation: facility i goes to location a[i]) costs

    cost(a) = sum_{i,j} F[i, j] * D[a[i], a[j]] + sum_i P[i, a[i]]

and lower is better, in the shown utility text, in this scorer and in the seed (which
keeps the cheapest of 20 random permutations). The score of an instance is

    clip((mean_random - cost(a)) / (mean_random - reference), 0, 1)

where `mean_random` is the exact expected cost of a uniformly random permutation and
`reference` the cost of the best of 4 pairwise-swap local searches, computed when the
instance is made: 0 means no better than a random permutation, 1 means at least as good
as the reference. The reference scorer rewarded the opposite direction to its seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Task
from selftaught.tasks.guards import int_vector

N = 10
RESTARTS = 4


def assignment_cost(F: np.ndarray, D: np.ndarray, P: np.ndarray, a: np.ndarray) -> float:
    """cost(a) = sum F[i, j] D[a[i], a[j]] + sum P[i, a[i]]."""
    return float(np.sum(F * D[np.ix_(a, a)]) + np.sum(P[np.arange(len(a)), a]))


def mean_random_cost(F: np.ndarray, D: np.ndarray, P: np.ndarray) -> float:
    """Exact expected cost of a uniformly random permutation."""
    n = len(F)
    off = ~np.eye(n, dtype=bool)
    pairs = np.sum(F[off]) * np.sum(D[off]) / (n * (n - 1))
    diagonal = np.trace(F) * np.trace(D) / n
    return float(pairs + diagonal + np.sum(P) / n)


def swap_search(
    F: np.ndarray,
    D: np.ndarray,
    P: np.ndarray,
    rng: np.random.Generator,
    restarts: int,
) -> float:
    """Lowest cost over `restarts` first-improvement pairwise-swap local searches."""
    n = len(F)
    best = np.inf
    for _ in range(restarts):
        a = rng.permutation(n)
        cost = assignment_cost(F, D, P, a)
        improved = True
        while improved:
            improved = False
            for i in range(n - 1):
                for j in range(i + 1, n):
                    a[i], a[j] = a[j], a[i]
                    new = assignment_cost(F, D, P, a)
                    if new < cost - 1e-9:
                        cost, improved = new, True
                    else:
                        a[i], a[j] = a[j], a[i]
        best = min(best, cost)
    return float(best)


class ModifiedQuadraticAssignment(Task):
    name = "qap"
    description = (
        "Modified quadratic assignment: place facilities to minimize flow and placement cost."
    )
    arity = 3
    instance_timeout = 0.5
    n_validation = 20
    n_heldout = 50
    utility_text = '''import numpy as np

def utility(algorithm_str: str) -> float:
    """Mean normalized saving of `algorithm` on modified quadratic assignment problems.

    F (flows between 10 facilities), D (distances between 10 locations) and P
    (P[i, k] = cost of facility i at location k) are 10 x 10 arrays of random integers.
    `algorithm(F, D, P)` must return, within 0.5 seconds, a permutation a of range(10):
    facility i goes to location a[i]. LOWER cost is better:
        cost(a) = sum_ij F[i, j] * D[a[i], a[j]] + sum_i P[i, a[i]]
    A problem scores (mean_cost - cost(a)) / (mean_cost - good_cost), clipped to [0, 1]:
    mean_cost is the average cost of a random permutation, good_cost the cost found by a
    strong local search. Anything that is not a permutation of range(10) scores 0.
    """
    exec(algorithm_str, globals())  # defines algorithm
    scores = []
    for _ in range(20):
        F = np.random.randint(0, 10, (10, 10))
        D = np.random.randint(1, 10, (10, 10))
        D = (D + D.T) // 2
        np.fill_diagonal(D, 0)
        P = np.random.randint(0, 50, (10, 10))
        a = np.asarray(algorithm(F, D, P))
        cost = np.sum(F * D[np.ix_(a, a)]) + np.sum(P[np.arange(10), a])
        saving = (mean_cost(F, D, P) - cost) / (mean_cost(F, D, P) - good_cost(F, D, P))
        scores.append(min(1.0, max(0.0, saving)))
    return float(np.mean(scores))
'''
    seed_solution = """import numpy as np

def algorithm(F, D, P):
    n = len(F)

    def cost(a):
        return np.sum(F * D[np.ix_(a, a)]) + np.sum(P[np.arange(n), a])

    candidates = [np.random.permutation(n) for _ in range(20)]
    return list(min(candidates, key=cost))
"""

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        F = rng.integers(0, 10, (N, N))
        D = rng.integers(1, 10, (N, N))
        D = (D + D.T) // 2
        np.fill_diagonal(D, 0)
        P = rng.integers(0, 50, (N, N))
        mean = mean_random_cost(F, D, P)
        reference = swap_search(F, D, P, rng, RESTARTS)
        return (F, D, P), (F, D, P, mean, reference)

    def score(self, output: Any, answer: Any) -> float:
        F, D, P, mean, reference = answer
        a = int_vector(output, len(F))
        if a is None or sorted(a) != list(range(len(F))):
            return 0.0
        if mean - reference <= 0:
            return 0.0
        saving = (mean - assignment_cost(F, D, P, np.asarray(a))) / (mean - reference)
        return float(min(1.0, max(0.0, saving)))
