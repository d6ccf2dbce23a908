# kind: solution
# expect: error
# events: network
import socket

def algorithm(train_samples, train_parity, test_samples):
    s = socket.create_connection(('127.0.0.1', {PORT}), timeout=0.2)
    s.sendall(b'stolen')
    return [0] * len(test_samples)
