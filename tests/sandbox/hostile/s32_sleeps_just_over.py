# kind: solution
# expect: timeout
import time

def algorithm(train_samples, train_parity, test_samples):
    time.sleep({OVER})
    return [0] * len(test_samples)
