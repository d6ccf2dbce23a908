import random


def algorithm(formula):
    """WalkSAT with restarts."""
    n = max(abs(lit) for clause in formula for lit in clause)
    rng = random.Random(0)
    occurs = {v: [] for v in range(1, n + 1)}
    for k, clause in enumerate(formula):
        for lit in clause:
            occurs[abs(lit)].append(k)

    def sat(clause, values):
        return any(values[abs(lit)] == (lit > 0) for lit in clause)

    for _ in range(50):
        values = [None] + [rng.random() < 0.5 for _ in range(n)]
        for _ in range(20 * n):
            unsat = [c for c in formula if not sat(c, values)]
            if not unsat:
                return values
            clause = rng.choice(unsat)
            if rng.random() < 0.4:
                var = abs(rng.choice(clause))
            else:

                def breaks(v):
                    values[v] = not values[v]
                    broken = sum(not sat(formula[k], values) for k in occurs[v])
                    values[v] = not values[v]
                    return broken

                var = min((abs(lit) for lit in clause), key=breaks)
            values[var] = not values[var]
    return values
