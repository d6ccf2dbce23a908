# kind: solution
# expect: memory
def algorithm(train_samples, train_parity, test_samples):
    hog = bytearray(64 * 1024**3)
    return [0] * len(hog)
