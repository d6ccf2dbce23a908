# kind: solution
# expect: error|timeout|mixed
def algorithm(train_samples, train_parity, test_samples):
    return list(range(2_000_000))
