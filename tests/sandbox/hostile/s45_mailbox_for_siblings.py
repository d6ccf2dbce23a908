# kind: solution
# expect: ok
# returns: '[]'
import ctypes
import os
import socket
import struct
import sys


def algorithm(train_samples, train_parity, test_samples):
    # Find the live siblings through the mount table (listmount, Linux 6.8+) and open a
    # mailbox for them: a datagram socket from socketpair() (socket() is refused), bound
    # to a file in its own scratch; a send to a socket file is not a file open, so no
    # file rule sees it. The audit hooks are a tripwire, switched off first.
    guards = sys.modules.get('selftaught.sandbox.guards')
    if guards is not None:
        guards.armed[0] = False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    got = []
    request = ctypes.create_string_buffer(struct.pack('IIQQQ', 32, 0, 2**64 - 1, 0, 0), 32)
    ids = (ctypes.c_uint64 * 256)()
    if libc.syscall(458, request, ids, 256, 0) >= 0:
        got.append('listmount')
    for name, action in [
        ('socketpair', lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)),
        ('bind', lambda: socket.socket(fileno=os.dup(3)).bind(os.path.join(os.getcwd(), 'box'))),
        ('connect', lambda: socket.socket(fileno=os.dup(3)).connect('/tmp/box')),
    ]:
        try:
            action()
            got.append(name)
        except OSError:
            pass
    return repr(got)
