"""Messages between the orchestrator, the fork server and workers.

Length-prefixed JSON over a stream socket. What a worker sends is untrusted, so the
orchestrator only ever parses JSON, with a size cap. The one message that goes the other
way with data in it, the job, is pickled (`send_job` / `recv_job`): the worker trusts its
parent, and numpy inputs cross without a round trip through lists.
"""

from __future__ import annotations

import json
import math
import pickle
import socket
import struct
import time
from typing import Any

_HEADER = struct.Struct("!I")
MAX_MESSAGE = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The other side closed, sent garbage, or sent too much."""


class TooLarge(ProtocolError):
    """A message over the size limit (its body is left unread; the connection is done)."""


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    raise TypeError(f"cannot send a {type(obj).__name__}")


def encode(obj: Any) -> bytes:
    return json.dumps(obj, default=_default, separators=(",", ":")).encode()


def decode(data: bytes) -> Any:
    """Parse a JSON message (never anything that could run code)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {exc}") from None


def send(sock: socket.socket, obj: Any) -> None:
    data = encode(obj)
    sock.sendall(_HEADER.pack(len(data)) + data)


def send_job(sock: socket.socket, job: dict) -> None:
    """Orchestrator -> worker only: the job, numpy arrays and all."""
    data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv_job(sock: socket.socket) -> dict:
    """Worker side only: the job its trusted parent sent. Never use in the orchestrator."""
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    return pickle.loads(_recv_exact(sock, size))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ProtocolError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, *, limit: int = MAX_MESSAGE) -> Any:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > limit:
        raise TooLarge(f"message of {size} bytes exceeds the {limit}-byte limit")
    return decode(_recv_exact(sock, size))


class Inbox:
    """Messages from one worker, read in chunks (orchestrator side).

    Several small messages that arrived together (a solution's per-instance results) cost
    one `recv` and one wake-up instead of two `recv`s each.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self, n: int, deadline: float) -> None:
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            self._sock.settimeout(left)
            chunk = self._sock.recv(min(max(n - len(self._buf), 1 << 16), 1 << 20))
            if not chunk:
                raise ProtocolError("connection closed")
            self._buf += chunk

    def recv(self, *, timeout: float, limit: int = MAX_MESSAGE) -> Any:
        """The next message, within `timeout` seconds (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        self._fill(_HEADER.size, deadline)
        (size,) = _HEADER.unpack_from(self._buf)
        if size > limit:
            raise TooLarge(f"message of {size} bytes exceeds the {limit}-byte limit")
        end = _HEADER.size + size
        self._fill(end, deadline)
        data = bytes(self._buf[_HEADER.size : end])
        del self._buf[:end]
        return decode(data)


def finite_or_none(x: Any) -> float | None:
    """A float that is a real number, else None."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    x = float(x)
    return x if math.isfinite(x) else None
