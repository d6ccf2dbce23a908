# kind: solution
# expect: error
def algorithm(train_samples, train_parity, test_samples):
    with open('big.bin', 'wb') as f:
        for _ in range(64):
            f.write(b'0' * 1024**2)
    return [0] * len(test_samples)
