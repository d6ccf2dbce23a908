# kind: solution
# expect: ok
def algorithm(train_samples, train_parity, test_samples):
    # Fill the scratch filesystem with empty files (inodes) and then bytes: where scratch
    # was shared, the fork server could not make the next worker's directory.
    made = 0
    try:
        while made < 100000:
            open(f'f{made}', 'w').close()
            made += 1
    except OSError:
        pass
    try:
        with open('big', 'wb') as f:
            for _ in range(1000):
                f.write(bytes(1 << 20))
    except OSError:
        pass
    return [0] * len(test_samples)
