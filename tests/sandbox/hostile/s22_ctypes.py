# kind: solution
# expect: error
# events: ctypes
import ctypes

def algorithm(train_samples, train_parity, test_samples):
    ctypes.CDLL('libc.so.6').system(b'touch {OUTSIDE}')
    return [0] * len(test_samples)
