# kind: solution
# expect: error
import multiprocessing
import time


def _forever():
    time.sleep(3600)


def algorithm(train_samples, train_parity, test_samples):
    multiprocessing.Process(target=_forever).start()
    return [0] * len(test_samples)
