# kind: solution
# expect: error|timeout
def algorithm(train_samples, train_parity, test_samples):
    return list(range(5_000_000))
