# kind: solution
# expect: ok
# events: proc_read
# score_below: 0.9
# returns: 'refused'
import os

def algorithm(train_samples, train_parity, test_samples):
    for pid in ({ORCH_PID}, os.getppid()):
        try:
            with open(f'/proc/{pid}/mem', 'rb') as f:
                f.read(1)
            return 'read the memory of %d' % pid
        except OSError:
            pass
    return 'refused'
