# kind: solution
# expect: error
# events: write_outside_scratch
import os

def algorithm(train_samples, train_parity, test_samples):
    os.remove('{VICTIM}')
    return [0] * len(test_samples)
