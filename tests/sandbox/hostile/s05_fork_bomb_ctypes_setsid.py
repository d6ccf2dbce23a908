# kind: solution
# expect: error
# events: ctypes
import ctypes

def algorithm(train_samples, train_parity, test_samples):
    libc = ctypes.CDLL(None)
    while True:
        if libc.fork() == 0:
            libc.setsid()
