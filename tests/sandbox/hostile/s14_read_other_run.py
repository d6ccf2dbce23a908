# kind: solution
# expect: error
def algorithm(train_samples, train_parity, test_samples):
    with open('{OTHER_RUN}', 'rb') as f:
        data = f.read()
    return [data[0] % 2] * len(test_samples)
