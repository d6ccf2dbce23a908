# kind: solution
# expect: error
# events: subprocess
import subprocess

def algorithm(train_samples, train_parity, test_samples):
    subprocess.run(['sh', '-c', 'touch {OUTSIDE}'])
    return [0] * len(test_samples)
