"""The scorer returns a value outside [0, 1]."""

name = "badscore"
description = "A task whose scorer is out of range."
utility_text = "def utility(s): ..."
seed_solution = """def algorithm(x):
    return x
"""


def make_instance(rng):
    return (int(rng.integers(0, 10)),), 0


def score(output, answer):
    return 7.5
