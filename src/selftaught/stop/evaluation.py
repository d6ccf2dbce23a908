"""What one meta-utility evaluation holds: a score per (task, run) improver run, the
solution each run returned, and the means with their standard errors; and what an adoption
decision compares, a confirmation pair per (task, run). Plain data, shared by the
meta-utility that makes them, the adoption rule that weighs them, and resume, which reads
an evaluation back from the records."""

from __future__ import annotations

from dataclasses import dataclass, field

from selftaught.sandbox.results import Outcome
from selftaught.stats import mean_se


@dataclass
class RunScore:
    task: str
    run: int
    outcome: Outcome
    validation: float
    heldout: float | None
    returned: str | None = field(default=None, repr=False)
    """The solution the run returned (None: it returned none, or one that failed)."""
    lost: bool = False
    """It returned a solution that its records do not hold (a run recorded before returned
    solutions were kept): it cannot be scored again, so it takes part in no comparison."""


@dataclass
class MetaEvaluation:
    """One meta-utility evaluation: every improver run and the means."""

    runs: list[RunScore] = field(default_factory=list)

    @property
    def validation(self) -> float:
        return mean_se([r.validation for r in self.runs])[0]

    @property
    def validation_se(self) -> float:
        return mean_se([r.validation for r in self.runs])[1]

    @property
    def heldout(self) -> float | None:
        values = [r.heldout for r in self.runs if r.heldout is not None]
        return mean_se(values)[0] if values else None

    @property
    def heldout_se(self) -> float | None:
        values = [r.heldout for r in self.runs if r.heldout is not None]
        return mean_se(values)[1] if values else None


@dataclass(frozen=True)
class ConfirmationPair:
    """Run r of task k of a candidate and of its parent, scored on the same confirmation
    instances (`tasks.base.confirmation_split`): the solutions each returned."""

    task: str
    run: int
    parent: float
    candidate: float

    @property
    def diff(self) -> float:
        return self.candidate - self.parent
