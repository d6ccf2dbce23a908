# kind: solution
# expect: error
# events: signal
import os
import signal

def algorithm(train_samples, train_parity, test_samples):
    os.kill({ORCH_PID}, signal.SIGKILL)
    os.kill(os.getppid(), signal.SIGKILL)
    return [0] * len(test_samples)
