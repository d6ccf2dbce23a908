# kind: solution
# expect: error
import threading
import time

def algorithm(train_samples, train_parity, test_samples):
    while True:
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
