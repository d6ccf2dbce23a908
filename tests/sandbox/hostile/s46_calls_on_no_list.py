# kind: solution
# expect: ok
# returns: '[]'
import ctypes
import os
import platform
import sys


def algorithm(train_samples, train_parity, test_samples):
    # A deny list holds only what its authors thought of: calls they did not name (the
    # host's load and process count, memory locking, kernel logs, calls newer than the
    # filter) must fail too. The audit hooks are a tripwire, switched off first.
    guards = sys.modules.get('selftaught.sandbox.guards')
    if guards is not None:
        guards.armed[0] = False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    numbers = {
        'x86_64': {'sysinfo': 99, 'personality': 135, 'mlock': 149, 'syslog': 103, 'io_setup': 206, 'future': 470},
        'aarch64': {'sysinfo': 179, 'personality': 92, 'mlock': 228, 'syslog': 116, 'io_setup': 0, 'future': 470},
    }[platform.machine()]
    buf = ctypes.create_string_buffer(4096)
    got = []
    for name, nr in numbers.items():
        if libc.syscall(nr, buf, 64, 0, 0) != -1:
            got.append(name)
    # ... while what a program does on its own still works
    try:
        with open('own.txt', 'w') as out:
            out.write('x')
        os.stat('own.txt')
        os.rename('own.txt', 'moved.txt')
        os.listdir('.')
        os.remove('moved.txt')
        os.urandom(8)
        os.cpu_count()
    except OSError as exc:
        got.append(f'own work refused: {exc}')
    return repr(got)
