"""What a downstream task is: a shown utility text, a seed solution, instances, a scorer.

The parts a task defines:
  - `name`, `description` (one line), `function` (the name solutions define, with `arity`
    arguments), `utility_text` (the utility as the model is shown it), `seed_solution`;
  - `make_instance(rng)`: one instance as (inputs, answer), from a seeded generator
    (seeded from a secret instance key, the task name, the split and the seed: see `keys`);
  - `score(output, answer)`: a float in [0, 1] (1 is best); guarded: any output of the
    wrong type, shape or length, or not finite, scores 0;
  - `n_validation`, `n_heldout`, `instance_timeout` (seconds per instance).

Instances are made in the orchestrator; a solution's worker receives only the inputs, and
without the key nothing can make them again.

Besides the two public splits, the loop draws confirmation splits
(`confirmation_split(iteration, run)`): fresh instances, under the same key, on which an
adoption decision compares a candidate improver's solutions with its parent's. No utility
call ever scores on them, so no selection made inside a step has seen them
(docs/loop.md, "What is compared").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from selftaught.tasks.keys import InstanceKey, user_key

SPLITS = ("validation", "heldout")
"""The public splits: what a utility call scores on, and what the run reports."""

CONFIRMATION = "confirmation"


def confirmation_split(iteration: int, run: int) -> str:
    """The split of fresh instances on which the adoption decision of `iteration` compares
    run `run` of the candidate with run `run` of its parent (`n_validation` of them, per
    task). Its name enters the instances' key derivation, so each iteration and run has
    instances of its own, and a resumed run draws the same ones again."""
    return f"{CONFIRMATION}/it{iteration}/r{run}"


def is_confirmation(split: str) -> bool:
    return split.startswith(CONFIRMATION + "/")


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
    objective: ClassVar[str] = "quality"
    """`quality`: the score is how good the outputs are; `speed` (`SpeedTask`): correct
    outputs score more the less CPU time they take."""
    timing_runs: ClassVar[int] = 1
    """Timings a speed task's score is the median of (`SpeedTask`)."""
    origin: str | None = None
    """Where a user's task came from (a file, an object); None for a built-in task, which
    is trusted (its seed solution is not test-run)."""

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        raise NotImplementedError

    def score(self, output: Any, answer: Any) -> float:
        raise NotImplementedError

    def seeds(self, split: str) -> list[int]:
        """Instance seeds of a split; the two public splits are disjoint by construction,
        and a confirmation split is as large as validation and apart from both by its name
        (which the key derivation takes with the seed)."""
        if is_confirmation(split):
            return list(range(self.n_validation))
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}")
        count = self.n_validation if split == "validation" else self.n_heldout
        base = 0 if split == "validation" else 1_000_000
        return [base + i for i in range(count)]

    def instances(self, split: str, key: InstanceKey | None = None) -> list[Instance]:
        """The instances of `split` under `key` (default: this user's key, `keys.user_key`)."""
        if key is None:
            key = user_key()
        cache = self.__dict__.setdefault("_instances", {})
        if (key.secret, split) not in cache:
            cache[key.secret, split] = [
                Instance(seed, *self.make_instance(key.rng(self.name, split, seed)))
                for seed in self.seeds(split)
            ]
        return cache[key.secret, split]

    def safe_score(self, output: Any, answer: Any) -> float:
        """`score`, with anything it raises or any value outside [0, 1] scoring 0."""
        try:
            value = float(self.score(output, answer))
        except Exception:  # noqa: BLE001 - a malformed output is the solution's fault
            return 0.0
        if not (0.0 <= value <= 1.0):
            return 0.0
        return value
