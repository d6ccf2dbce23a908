# kind: solution
# expect: ok
import sys

def algorithm(train_samples, train_parity, test_samples):
    for _ in range(200):
        sys.stdout.write('x' * 100_000)
        print('y' * 100_000, file=sys.stderr)
    return [0] * len(test_samples)
