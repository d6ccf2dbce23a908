"""A user task no program can solve without the instance key: the answer is a number
drawn after the hint, from the same instance generator (tests of hidden run paths)."""

name = "secret_number"
description = "Return the secret number that goes with the hint."
instance_timeout = 2.0
n_validation = 5
n_heldout = 20

utility_text = '''def utility(algorithm_str: str) -> float:
    """Fraction of hints for which algorithm(hint) returns the secret number."""
'''

seed_solution = """def algorithm(hint):
    return 0
"""


def make_instance(rng):
    hint = int(rng.integers(1_000_000_000))
    return (hint,), int(rng.integers(1_000_000_000))


def score(output, answer):
    return 1.0 if output == answer else 0.0
