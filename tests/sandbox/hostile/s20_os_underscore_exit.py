# kind: solution
# expect: killed
import os

def algorithm(train_samples, train_parity, test_samples):
    os._exit(0)
