# kind: solution
# expect: ok
# returns: '[]'
import ctypes
import fcntl
import os
import struct
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
    if libc.memfd_create(b'm', 0) != -1:
        got.append('memfd')
    if libc.syscall(27 if os.uname().machine == 'x86_64' else 232, 0, 4096, ctypes.create_string_buffer(1)) != -1 or ctypes.get_errno() not in (1, 38):
        got.append('mincore')
    shared = os.open(os.__file__, os.O_RDONLY)
    lock = struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0) + bytes(4)
    for name, action in [
        ('flock', lambda: fcntl.flock(shared, fcntl.LOCK_SH | fcntl.LOCK_NB)),
        ('lock probe', lambda: fcntl.fcntl(shared, fcntl.F_GETLK, lock)),
        ('open lock probe', lambda: fcntl.fcntl(shared, 36, lock)),
        ('signal owner', lambda: fcntl.fcntl(shared, fcntl.F_SETOWN, os.getppid())),
        # both set what is there already: were they allowed, nothing would change
        ('write hint', lambda: fcntl.fcntl(shared, 1036, struct.pack('Q', 0))),
        ('file flags', lambda: fcntl.ioctl(shared, 0x40086602, fcntl.ioctl(shared, 0x80086601, bytes(8)))),
        ('pipe size', lambda: fcntl.fcntl(os.pipe()[0], 1031, 1 << 20)),
    ]:
        try:
            action()
            got.append(name)
        except OSError:
            pass
    try:  # what the worker needs of fcntl still works, sqlite on a scratch file too
        fcntl.fcntl(shared, fcntl.F_SETFD, fcntl.fcntl(shared, fcntl.F_GETFD))
        fcntl.fcntl(shared, fcntl.F_GETFL)
        import sqlite3
        db = sqlite3.connect('own.sqlite')
        db.execute('CREATE TABLE IF NOT EXISTS t (x)')
        db.execute('INSERT INTO t VALUES (1)')
        db.commit()
        db.close()
    except Exception as exc:
        got.append(f'own work refused: {exc}')
    return repr(got)
