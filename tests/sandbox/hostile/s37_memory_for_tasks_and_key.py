# kind: solution
# expect: ok
# events: gc
# returns: []
import gc
import hashlib
import sys

TASK_WORDS = ('selftaught.tasks', 'selftaught.stop', 'selftaught.store', 'selftaught.config',
              'selftaught_user_task')


def _found():
    found = sorted(n for n in list(sys.modules) if n.startswith(TASK_WORDS))
    for obj in gc.get_objects():
        kind = type(obj)
        if kind.__name__ in ('Instance', 'InstanceKey', 'SolutionScorer', 'RunContext'):
            found.append('object ' + kind.__name__)
        elif hasattr(obj, 'make_instance') or hasattr(obj, 'safe_score'):
            found.append('task ' + getattr(obj, '__name__', kind.__name__))
        for value in gc.get_referents(obj):
            if isinstance(value, (bytes, str)) and 8 <= len(value) <= 128:
                data = value.encode() if isinstance(value, str) else value
                if hashlib.sha256(data).hexdigest() in ('{KEY_SHA}', '{KEY_HEX_SHA}'):
                    found.append('the instance key')
    return sorted(set(found))


FOUND = _found()  # once, while loading: a full heap walk takes longer than an instance may


def algorithm(train_samples, train_parity, test_samples):
    return FOUND
