# kind: solution
# expect: error
import sys

def algorithm(train_samples, train_parity, test_samples):
    sys.exit(0)
