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
    # socketpair() is allowed (anonymous, connected to itself), but it may reach no name
    pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    for name, action in [
        ('bind in scratch', lambda: pair[0].bind(os.path.join(os.getcwd(), 'box'))),
        ('send to a path', lambda: pair[1].sendto(b'x', os.path.join(os.getcwd(), 'box'))),
        ('send to a sibling', lambda: pair[1].sendto(b'x', '/tmp/box')),
        ('connect', lambda: pair[1].connect('/tmp/box')),
    ]:
        try:
            action()
            got.append(name)
        except PermissionError:
            pass
        except OSError as exc:  # it got past the filter (to the path lookup)
            got.append(f'{name}: {exc.strerror}')
    return repr(got)
