# kind: solution
# expect: error
def algorithm(train_samples, train_parity, test_samples):
    def down(n):
        return down(n + 1) + 1

    return down(0)
