import numpy as np


def algorithm(F, D, P):
    """Pairwise-swap local search from several random starts (lower cost is better)."""
    n = len(F)
    rng = np.random.default_rng(2)

    def cost(a):
        return np.sum(F * D[np.ix_(a, a)]) + np.sum(P[np.arange(n), a])

    best, best_cost = None, np.inf
    for _ in range(8):
        a = rng.permutation(n)
        c = cost(a)
        improved = True
        while improved:
            improved = False
            for i in range(n - 1):
                for j in range(i + 1, n):
                    a[i], a[j] = a[j], a[i]
                    new = cost(a)
                    if new < c - 1e-9:
                        c, improved = new, True
                    else:
                        a[i], a[j] = a[j], a[i]
        if c < best_cost:
            best, best_cost = a.copy(), c
    return best.tolist()
