"""A broken user task: make_instance draws from the global random module, not its rng."""

import random

name = "sorting"
description = "Sort a list of numbers in ascending order."
instance_timeout = 0.5
n_validation = 10
n_heldout = 20

utility_text = '''def utility(algorithm_str: str) -> float:
    """Fraction of positions where algorithm(numbers) matches sorted(numbers)."""
    exec(algorithm_str, globals())
    numbers = [random.random() for _ in range(50)]
    output = algorithm(numbers)
    return sum(a == b for a, b in zip(output, sorted(numbers))) / 50
'''

seed_solution = """def algorithm(numbers):
    return list(numbers)
"""


def make_instance(rng):
    numbers = [round(random.random(), 6) for _ in range(50)]
    return (numbers,), sorted(numbers)


def score(output, answer):
    if not isinstance(output, list) or len(output) != len(answer):
        return 0.0
    return sum(a == b for a, b in zip(output, answer)) / len(answer)
