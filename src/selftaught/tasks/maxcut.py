"""Max-Cut on weighted random graphs (a transfer task).

Each instance is a graph on 30 nodes; each pair is an edge with probability 0.5, with a
weight drawn uniformly from (0, 1] (3 decimals). The score of an instance is the weight
of the returned cut divided by the weight of a reference cut, capped at 1. The reference
is the best of 8 one-flip local searches from random starts, computed when the instance
is made; a good solver reaches it (about 1), and the seed solution, which puts every
node on one side, cuts nothing (0, as in the paper). The reference scorer divided by
nothing and was unbounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Task
from selftaught.tasks.guards import binary_vector

N_NODES = 30
EDGE_PROBABILITY = 0.5
RESTARTS = 8


def cut_weight(weights: np.ndarray, sides: np.ndarray) -> float:
    """Total weight of edges whose ends are on different sides (each edge counted once)."""
    crossing = sides[:, None] != sides[None, :]
    return float(np.sum(weights * crossing) / 2)


def local_search_cut(weights: np.ndarray, rng: np.random.Generator, restarts: int) -> float:
    """Best cut weight over `restarts` runs of best-improvement single-node flips."""
    best = 0.0
    n = len(weights)
    for _ in range(restarts):
        sides = rng.integers(0, 2, n)
        while True:
            signs = np.where(sides[:, None] == sides[None, :], 1.0, -1.0)
            gain = np.sum(weights * signs, axis=1)  # weight gained by flipping each node
            node = int(np.argmax(gain))
            if gain[node] <= 1e-12:
                break
            sides[node] ^= 1
        best = max(best, cut_weight(weights, sides))
    return best


class MaxCut(Task):
    name = "maxcut"
    description = "Max-Cut: split the nodes of a weighted graph to maximize the weight cut."
    arity = 1
    instance_timeout = 0.5
    n_validation = 20
    n_heldout = 50
    utility_text = '''import numpy as np

def utility(algorithm_str: str) -> float:
    """Mean normalized cut weight `algorithm` reaches on random weighted graphs.

    Each graph has 30 nodes; each pair is joined with probability 0.5 by an edge of
    weight uniform in (0, 1]. `algorithm(adjacency_matrix)` gets the symmetric 30 x 30
    weight matrix (0 where there is no edge) and must return, within 0.5 seconds, one
    side (0 or 1) per node. The score of a graph is the weight of the edges between the
    two sides divided by the weight of a strong reference cut, capped at 1.
    """
    exec(algorithm_str, globals())  # defines algorithm
    scores = []
    for _ in range(20):
        upper = np.triu(np.random.rand(30, 30) < 0.5, 1) * np.round(np.random.rand(30, 30), 3)
        adjacency_matrix = upper + upper.T
        sides = np.asarray(algorithm(adjacency_matrix))
        cut = np.sum(adjacency_matrix * (sides[:, None] != sides[None, :])) / 2
        scores.append(min(1.0, cut / reference_cut(adjacency_matrix)))
    return float(np.mean(scores))
'''
    seed_solution = """import numpy as np

def algorithm(adjacency_matrix):
    n = len(adjacency_matrix)
    return [0] * n
"""

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        n = N_NODES
        present = np.triu(rng.random((n, n)) < EDGE_PROBABILITY, 1)
        weights = np.round(1.0 - rng.random((n, n)), 3)  # (0, 1]
        upper = np.where(present, weights, 0.0)
        adjacency = upper + upper.T
        reference = local_search_cut(adjacency, rng, RESTARTS)
        return (adjacency,), (adjacency, reference)

    def score(self, output: Any, answer: Any) -> float:
        adjacency, reference = answer
        sides = binary_vector(output, len(adjacency))
        if sides is None or reference <= 0:
            return 0.0
        return min(1.0, cut_weight(adjacency, sides) / reference)
