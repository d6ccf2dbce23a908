# kind: solution
# expect: mixed
import json
import os
import stat
import struct


def algorithm(train_samples, train_parity, test_samples):
    # An answer whose `seconds` is an int of 400 digits, written straight to the worker's
    # socket: valid JSON of the schema's type, then an OverflowError wherever the
    # orchestrator makes a float of it. Then the worker ends (the next instance goes on in
    # a new worker, which does the same).
    body = b'{"op":"instance","i":0,"output":[0],"seconds":' + b'9' * 400 + b'}'
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, struct.pack('!I', len(body)) + body)
                break
        except OSError:
            pass
    os._exit(0)
