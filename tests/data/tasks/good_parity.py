import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    """Gaussian elimination over GF(2); exact when the labels carry no noise."""
    a = np.concatenate([train_samples, train_parity.reshape(-1, 1)], axis=1).astype(np.int64) % 2
    rows, cols = a.shape
    n = cols - 1
    pivots = []
    r = 0
    for c in range(n):
        hit = np.nonzero(a[r:, c])[0]
        if len(hit) == 0:
            continue
        p = r + hit[0]
        a[[r, p]] = a[[p, r]]
        for i in range(rows):
            if i != r and a[i, c]:
                a[i] ^= a[r]
        pivots.append(c)
        r += 1
        if r == rows:
            break
    x = np.zeros(n, dtype=np.int64)
    for i, c in enumerate(pivots):
        x[c] = a[i, n]
    return (test_samples @ x) % 2
