"""What a downstream task is: a shown utility text, a seed solution, instances, a scorer.

The parts a task defines:
  - `name`, `description` (one line), `function` (the name solutions define, with `arity`
    arguments), `utility_text` (the utility as the model is shown it), `seed_solution`;
  - `make_instance(rng)`: one instance as (inputs, answer), from a seeded generator;
  - `score(output, answer)`: a float in [0, 1] (1 is best); guarded: any output of the
    wrong type, shape or length, or not finite, scores 0;
  - `n_validation`, `n_heldout`, `instance_timeout` (seconds per instance).

Instances are made in the orchestrator; a solution's worker receives only the inputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

SPLITS = ("validation", "heldout")


@dataclass(frozen=True)
class Instance:
    """Inputs go to the solution's worker; the answer never leaves the orchestrator."""

    seed: int
    inputs: tuple
    answer: Any


class Task:
    """Base class for downstream tasks. Subclasses set the class attributes and two methods."""

    name: ClassVar[str]
    description: ClassVar[str]
    function: ClassVar[str] = "algorithm"
    arity: ClassVar[int]
    utility_text: ClassVar[str]
    seed_solution: ClassVar[str]
    n_validation: ClassVar[int] = 20
    n_heldout: ClassVar[int] = 50
    instance_timeout: ClassVar[float] = 1.0

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        raise NotImplementedError

    def score(self, output: Any, answer: Any) -> float:
        raise NotImplementedError

    def seeds(self, split: str) -> list[int]:
        """Instance seeds of a split; the two splits are disjoint by construction."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}")
        count = self.n_validation if split == "validation" else self.n_heldout
        base = 0 if split == "validation" else 1_000_000
        return [base + i for i in range(count)]

    def instances(self, split: str) -> list[Instance]:
        cache = self.__dict__.setdefault("_instances", {})
        if split not in cache:
            key = int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:4], "big")
            made = []
            for seed in self.seeds(split):
                inputs, answer = self.make_instance(np.random.default_rng([key, seed]))
                made.append(Instance(seed, inputs, answer))
            cache[split] = made
        return cache[split]

    def safe_score(self, output: Any, answer: Any) -> float:
        """`score`, with anything it raises or any value outside [0, 1] scoring 0."""
        try:
            value = float(self.score(output, answer))
        except Exception:  # noqa: BLE001 - a malformed output is the solution's fault
            return 0.0
        if not (0.0 <= value <= 1.0):
            return 0.0
        return value
