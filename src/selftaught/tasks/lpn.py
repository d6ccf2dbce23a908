"""Learning parity with noise, the paper's training task.

Each instance hides a parity over 10 bits (each bit in the set with probability 0.3),
gives 100 training samples whose labels are flipped with probability 0.05, and asks for
predictions on 20 clean test samples. The score of an instance is its test accuracy;
a prediction of the wrong type, value, shape or length scores 0 (no shape tricks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Task
from selftaught.tasks.guards import as_list, binary_vector

N_BITS = 10
P_IN_SET = 0.3
N_TRAIN = 100
N_TEST = 20
NOISE = 0.05


def parity_instance(rng: np.random.Generator, noise: float) -> tuple[tuple, Any]:
    hidden = rng.binomial(1, P_IN_SET, N_BITS)
    samples = rng.binomial(1, 0.5, (N_TRAIN + N_TEST, N_BITS))
    parity = (samples @ hidden) % 2
    train, test = samples[:N_TRAIN], samples[N_TRAIN:]
    train_parity = (parity[:N_TRAIN] + rng.binomial(1, noise, N_TRAIN)) % 2
    return (train, train_parity, test), parity[N_TRAIN:]


def parity_accuracy(output: Any, answer: Any) -> float:
    """Accuracy of 0/1 predictions, one per test sample, as a list, a column or a row;
    anything else (strings like '1', other values, other shapes) scores 0."""
    expected = np.asarray(answer).reshape(-1)
    items = as_list(output)
    if items is not None and len(items) == 1 and len(expected) != 1:
        items = as_list(items[0])  # a row, [[p0, p1, ...]]
    predictions = binary_vector(items, len(expected), column_ok=True)
    if predictions is None:
        return 0.0
    return float(np.mean(predictions == expected))


class LearningParityWithNoise(Task):
    name = "lpn"
    description = (
        "Learning parity with noise: predict a hidden noisy parity (the paper's training task)."
    )
    arity = 3
    instance_timeout = 0.5
    n_validation = 20
    n_heldout = 50
    noise = NOISE
    utility_text = '''import numpy as np

def utility(algorithm_str: str) -> float:
    """Mean test accuracy of `algorithm` on learning-parity-with-noise instances.

    Each instance: a hidden subset of 10 bits (each bit included with probability 0.3);
    100 random training rows whose parity labels are flipped with probability 0.05;
    20 clean test rows. `algorithm(train_samples, train_parity, test_samples)` must
    return one 0/1 prediction per test row within 0.5 seconds; anything else scores 0.
    """
    exec(algorithm_str, globals())  # defines algorithm
    scores = []
    for _ in range(20):
        hidden = np.random.binomial(1, 0.3, 10)
        samples = np.random.binomial(1, 0.5, (120, 10))
        parity = samples @ hidden % 2
        train_samples, test_samples = samples[:100], samples[100:]
        train_parity = (parity[:100] + np.random.binomial(1, 0.05, 100)) % 2
        predictions = np.asarray(algorithm(train_samples, train_parity, test_samples))
        scores.append(np.mean(predictions.reshape(-1) == parity[100:]))
    return float(np.mean(scores))
'''
    seed_solution = """import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    predictions = np.random.binomial(1, 0.5, len(test_samples))
    return predictions
"""

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        return parity_instance(rng, self.noise)

    def score(self, output: Any, answer: Any) -> float:
        return parity_accuracy(output, answer)
