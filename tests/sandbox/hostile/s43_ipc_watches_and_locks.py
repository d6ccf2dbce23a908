# kind: solution
# expect: ok
# returns: '[]'
import ctypes
import fcntl
import os
import sys


def algorithm(train_samples, train_parity, test_samples):
    # Channels between workers through the kernel rather than files: System V IPC objects
    # (shared by every process of the host, outliving the worker, their memory freed by no
    # run's cgroup), watches on the files every worker reads, and locks on those files.
    # The audit hooks are a tripwire, switched off first: the kernel's filter must hold.
    guards = sys.modules.get('selftaught.sandbox.guards')
    if guards is not None:
        guards.armed[0] = False
    libc = ctypes.CDLL(None, use_errno=True)
    got = []
    private, create = 0, 0o1600
    if libc.shmget(private, 4096, create) != -1:
        got.append('shmget')
    if libc.msgget(private, create) != -1:
        got.append('msgget')
    if libc.semget(private, 1, create) != -1:
        got.append('semget')
    if libc.inotify_init1(0) != -1:
        got.append('inotify')
    shared = os.open(os.__file__, os.O_RDONLY)
    for name, action in [
        ('flock', lambda: fcntl.flock(shared, fcntl.LOCK_SH | fcntl.LOCK_NB)),
        ('lockf', lambda: fcntl.lockf(shared, fcntl.LOCK_SH | fcntl.LOCK_NB)),
        ('lock probe', lambda: fcntl.fcntl(shared, fcntl.F_GETLK, bytes(32))),
        ('signal owner', lambda: fcntl.fcntl(shared, fcntl.F_SETOWN, os.getppid())),
    ]:
        try:
            action()
            got.append(name)
        except OSError:
            pass
    try:  # what the worker needs of fcntl still works
        fcntl.fcntl(shared, fcntl.F_SETFD, fcntl.fcntl(shared, fcntl.F_GETFD))
        fcntl.fcntl(shared, fcntl.F_GETFL)
    except OSError as exc:
        got.append(f'own fcntl refused: {exc}')
    return repr(got)
