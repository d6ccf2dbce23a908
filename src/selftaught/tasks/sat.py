"""3-SAT on planted satisfiable formulas (a transfer task).

Each instance has 30 variables and 128 clauses of 3 distinct variables (ratio about
4.27, near the hardest region for random 3-SAT); every clause is satisfied by a hidden
planted assignment, so every formula is satisfiable. Score: the fraction of instances
*solved*, i.e. an instance scores 1 when the returned assignment satisfies every
clause, else 0 (so the random seed solution scores about 0, as in the paper). An
exception, a timeout or a malformed assignment scores that instance 0, never the task.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Task
from selftaught.tasks.guards import as_list, is_number

N_VARS = 30
N_CLAUSES = 128


def planted_formula(
    rng: np.random.Generator, n_vars: int, n_clauses: int
) -> tuple[list[list[int]], list[bool]]:
    """Random 3-clauses kept only if the planted assignment satisfies them."""
    planted = [bool(b) for b in rng.integers(0, 2, n_vars)]
    formula: list[list[int]] = []
    while len(formula) < n_clauses:
        variables = rng.choice(n_vars, 3, replace=False) + 1
        signs = rng.integers(0, 2, 3)
        clause = [int(v) if s else -int(v) for v, s in zip(variables, signs, strict=True)]
        if any(planted[abs(lit) - 1] == (lit > 0) for lit in clause):
            formula.append(clause)
    return formula, planted


def satisfies(assignment: Any, formula: list[list[int]]) -> bool:
    """Whether `assignment` (indexed by variable, index 0 unused) satisfies every clause.

    It must be a list with exactly one entry per variable that occurs in the formula plus
    the unused index 0; entries 1.. must be finite numbers or bools (truthy means true).
    """
    items = as_list(assignment)
    n = max(abs(lit) for clause in formula for lit in clause)
    if items is None or len(items) != n + 1:
        return False
    if not all(is_number(x) for x in items[1:]):
        return False
    values = [None] + [bool(x) for x in items[1:]]
    return all(any(values[abs(lit)] == (lit > 0) for lit in clause) for clause in formula)


class ThreeSat(Task):
    name = "3sat"
    description = "3-SAT: find a satisfying assignment of a planted satisfiable 3-CNF formula."
    arity = 1
    instance_timeout = 1.0
    n_validation = 20
    n_heldout = 50
    utility_text = '''import random

def utility(algorithm_str: str) -> float:
    """Fraction of random satisfiable 3-SAT formulas that `algorithm` solves.

    Each formula has 30 variables and 128 clauses. A clause is a list of 3 non-zero
    ints (DIMACS literals: k means variable k is true, -k means it is false). A hidden
    assignment satisfies every clause. `algorithm(formula)` must return, within 1
    second, a list indexed by variable number (index 0 unused, so 31 entries) whose
    entries are truthy for true; a formula counts as solved only if every clause holds.
    """
    exec(algorithm_str, globals())  # defines algorithm
    solved = 0
    for _ in range(20):
        n = 30
        hidden = [None] + [random.random() < 0.5 for _ in range(n)]
        formula = []
        while len(formula) < 128:
            variables = random.sample(range(1, n + 1), 3)
            clause = [v if random.random() < 0.5 else -v for v in variables]
            if any(hidden[abs(lit)] == (lit > 0) for lit in clause):
                formula.append(clause)
        assignment = algorithm(formula)
        if len(assignment) == n + 1 and all(
            any(bool(assignment[abs(lit)]) == (lit > 0) for lit in clause) for clause in formula
        ):
            solved += 1
    return solved / 20
'''
    seed_solution = """import random

def algorithm(formula):
    n = max(abs(literal) for clause in formula for literal in clause)
    return [None] + [random.random() < 0.5 for _ in range(n)]
"""

    def make_instance(self, rng: np.random.Generator) -> tuple[tuple, Any]:
        formula, _planted = planted_formula(rng, N_VARS, N_CLAUSES)
        return (formula,), formula

    def score(self, output: Any, answer: Any) -> float:
        return 1.0 if satisfies(output, answer) else 0.0
