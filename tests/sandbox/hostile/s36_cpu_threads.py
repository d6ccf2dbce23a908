# kind: solution
# expect: timeout
import threading


def spin():
    while True:
        pass


def algorithm(train_samples, train_parity, test_samples):
    for _ in range(4):
        threading.Thread(target=spin, daemon=True).start()
    spin()
