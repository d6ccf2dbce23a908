import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    n_bits = train_samples.shape[1]
    masks = (np.arange(2 ** n_bits)[:, None] >> np.arange(n_bits)) & 1
    predicted = (masks @ train_samples.T) % 2
    errors = np.sum(predicted != train_parity, axis=1)
    best = masks[np.argmin(errors)]
    return (test_samples @ best) % 2
