"""Parity without noise: the LPN instance with clean training labels (a transfer task).

The score of an instance is its test accuracy, exactly as for LPN: one 0/1 prediction per
test sample, any other shape, length or type scores 0 (the reference scorer could be
pushed past 1000% by returning predictions of another shape).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Task
from selftaught.tasks.guards import binary_vector
from selftaught.tasks.lpn import LearningParityWithNoise, parity_instance


class ParityWithoutNoise(Task):
    name = "parity"
    description = "Parity without noise: predict a hidden parity from clean labelled samples."
    arity = 3
    instance_timeout = 0.5
    n_validation = 20
    n_heldout = 50
    utility_text = '''import numpy as np

def utility(algorithm_str: str) -> float:
    """Mean test accuracy of `algorithm` on noiseless parity instances.

    Each instance: a hidden subset of 10 bits (each bit included with probability 0.3);
    100 random training rows labelled with their exact parity; 20 test rows.
    `algorithm(train_samples, train_parity, test_samples)` must return one 0/1
    prediction per test row within 0.5 seconds; any other shape or value scores 0.
    """
    exec(algorithm_str, globals())  # defines algorithm
    scores = []
    for _ in range(20):
        hidden = np.random.binomial(1, 0.3, 10)
        samples = np.random.binomial(1, 0.5, (120, 10))
        parity = samples @ hidden % 2
        train_samples, test_samples = samples[:100], samples[100:]
        train_parity = parity[:100]
        predictions = algorithm(train_samples, train_parity, test_samples)
        predictions = np.asarray(predictions).reshape(-1)
        if predictions.shape != (20,):
            scores.append(0.0)
            continue
        scores.append(float(np.mean(predictions == parity[100:])))
    return float(np.mean(scores))
'''
    seed_solution = LearningParityWithNoise.seed_solution

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        return parity_instance(rng, 0.0)

    def score(self, output: Any, answer: Any) -> float:
        expected = np.asarray(answer)
        predictions = binary_vector(output, len(expected), column_ok=True)
        if predictions is None:
            return 0.0
        return float(np.mean(predictions == expected))
