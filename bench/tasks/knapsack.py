"""A user task for bench/small_model.py, on a problem none of the built-in tasks covers:
0/1 knapsack. The score is the chosen value over the optimum (0 if over capacity)."""

name = "knapsack"
description = "Choose items of the greatest total value whose total weight fits the capacity."
instance_timeout = 0.5
n_validation = 20
n_heldout = 50

utility_text = '''import random

def utility(algorithm_str: str) -> float:
    """Mean value of the items algorithm(weights, values, capacity) picks, over the best
    possible value. It returns a list of item indices; over capacity scores 0."""
    exec(algorithm_str, globals())  # defines algorithm
    scores = []
    for _ in range(20):
        weights = [random.randint(1, 30) for _ in range(25)]
        values = [random.randint(1, 50) for _ in range(25)]
        capacity = sum(weights) // 3
        chosen = set(algorithm(weights, values, capacity))
        if sum(weights[i] for i in chosen) > capacity:
            scores.append(0.0)
        else:
            scores.append(sum(values[i] for i in chosen) / best_value(weights, values, capacity))
    return sum(scores) / len(scores)
'''

seed_solution = """def algorithm(weights, values, capacity):
    chosen, total = [], 0
    for i in range(len(weights)):
        if total + weights[i] <= capacity:
            chosen.append(i)
            total += weights[i]
    return chosen
"""


def best_value(weights, values, capacity):
    table = [0] * (capacity + 1)
    for w, v in zip(weights, values, strict=True):
        for c in range(capacity, w - 1, -1):
            table[c] = max(table[c], table[c - w] + v)
    return table[capacity]


def make_instance(rng):
    weights = [int(x) for x in rng.integers(1, 31, 25)]
    values = [int(x) for x in rng.integers(1, 51, 25)]
    capacity = sum(weights) // 3
    best = best_value(weights, values, capacity)
    return (weights, values, capacity), (weights, values, capacity, best)


def score(output, answer):
    weights, values, capacity, best = answer
    try:
        chosen = {int(i) for i in output}
    except (TypeError, ValueError):
        return 0.0
    if not chosen <= set(range(len(weights))) or sum(weights[i] for i in chosen) > capacity:
        return 0.0
    return sum(values[i] for i in chosen) / best
