# kind: solution
# expect: memory
import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    hog = []
    while True:
        hog.append(np.empty(32 * 1024**2))
