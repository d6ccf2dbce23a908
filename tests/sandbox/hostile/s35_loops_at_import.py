# kind: solution
# expect: timeout
while True:
    pass


def algorithm(train_samples, train_parity, test_samples):
    return [0] * len(test_samples)
