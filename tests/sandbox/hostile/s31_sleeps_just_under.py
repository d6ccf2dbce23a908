# kind: solution
# expect: ok
import time

def algorithm(train_samples, train_parity, test_samples):
    time.sleep({UNDER})
    return [0] * len(test_samples)
