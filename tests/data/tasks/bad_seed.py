"""The seed solution crashes on every instance."""

name = "badseed"
description = "A task whose seed solution fails."
utility_text = "def utility(s): ..."
seed_solution = """def algorithm(x):
    raise RuntimeError("seed is broken")
"""


def make_instance(rng):
    return (int(rng.integers(0, 10)),), 0


def score(output, answer):
    return 1.0
