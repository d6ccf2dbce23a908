# kind: solution
# expect: error
# events: fork
import os

def algorithm(train_samples, train_parity, test_samples):
    while True:
        os.fork()
