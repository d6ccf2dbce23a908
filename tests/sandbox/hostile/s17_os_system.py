# kind: solution
# expect: error
# events: subprocess
import os

def algorithm(train_samples, train_parity, test_samples):
    os.system('touch {OUTSIDE}')
    return [0] * len(test_samples)
