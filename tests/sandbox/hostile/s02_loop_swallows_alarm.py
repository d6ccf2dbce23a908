# kind: solution
# expect: timeout
def algorithm(train_samples, train_parity, test_samples):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
