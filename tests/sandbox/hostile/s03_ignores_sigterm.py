# kind: solution
# expect: timeout
import signal

def algorithm(train_samples, train_parity, test_samples):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
