# kind: solution
# expect: ok
# score_below: 0.01
import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    return np.ones((len(test_samples), 1000))
