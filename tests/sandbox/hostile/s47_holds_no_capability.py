# kind: solution
# expect: ok
# returns: '[]'
import ctypes
import sys


def algorithm(train_samples, train_parity, test_samples):
    # The fork server empties the capability bounding set once, and every worker inherits
    # it: a worker holds no capability in its bounding or ambient set, in every mode where
    # the fork server may empty it (docs/security.md, "Layers"). The audit hooks are
    # switched off first.
    guards = sys.modules.get('selftaught.sandbox.guards')
    if guards is not None:
        guards.armed[0] = False
    libc = ctypes.CDLL(None, use_errno=True)
    held = []
    for cap in range(64):
        bounding = libc.prctl(23, cap, 0, 0, 0)  # PR_CAPBSET_READ
        if bounding < 0:
            break  # past the last capability this kernel knows
        if bounding == 1:
            held.append(f'bounding {cap}')
        if libc.prctl(47, 1, cap, 0, 0) == 1:  # PR_CAP_AMBIENT_IS_SET
            held.append(f'ambient {cap}')
    return repr(held)
