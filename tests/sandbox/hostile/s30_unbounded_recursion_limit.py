# kind: solution
# expect: error|killed|memory|timeout
import sys

def algorithm(train_samples, train_parity, test_samples):
    sys.setrecursionlimit(10**8)
    nested = []
    for _ in range(10**6):
        nested = [nested]
    return repr(nested)
