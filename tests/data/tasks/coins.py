"""A user task whose answers cannot be worked out from its inputs: the next 32 coin flips.

The flips are independent, so any program that reads only its inputs scores about 0.5,
and one that regenerates the instances scores 1. The hostile corpus's answer thieves
(tests/sandbox/hostile/answers) run on it as a user task file.
"""

name = "coins"
description = "Predict the next 32 fair coin flips from the 32 before them."
instance_timeout = 0.5

utility_text = '''import random

def utility(algorithm_str: str) -> float:
    """Fraction of the next 32 flips of a fair coin that algorithm(history) predicts."""
    exec(algorithm_str, globals())
    flips = [random.randint(0, 1) for _ in range(64)]
    output = algorithm(flips[:32])
    return sum(a == b for a, b in zip(output, flips[32:])) / 32
'''

seed_solution = """def algorithm(history):
    return [0] * len(history)
"""


def make_instance(rng):
    flips = rng.integers(0, 2, 64).tolist()
    return (flips[:32],), flips[32:]


def score(output, answer):
    if not isinstance(output, list) or len(output) != len(answer):
        return 0.0
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in output):
        return 0.0
    return sum(a == b for a, b in zip(output, answer)) / len(answer)
