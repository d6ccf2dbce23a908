def improve_algorithm(initial_solution, utility, language_model):
    """Selection and nothing else: never asks the model, and returns whichever of a fixed
    set of guessers scores best under the utility. Each guesser answers every instance of
    learning parity with noise with the same coin flips, drawn from its own fixed seed, so
    none knows anything about any instance: on instances the utility never scored, each
    is right half the time. On the utility's own instances the best of them looks better
    than that, by the same amount in every run."""
    guessers = [GUESSER.replace("SEED", str(seed)) for seed in range(max(1, utility.budget))]
    return max(guessers, key=utility)


GUESSER = """import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    coins = np.random.default_rng(SEED).integers(0, 2, len(test_samples))
    return [int(c) for c in coins]
"""
