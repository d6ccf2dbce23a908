"""Messages between the orchestrator, the fork server and workers.

Length-prefixed JSON over a stream socket. What a worker sends is hostile input, so the
orchestrator only ever parses JSON, with a size cap, cleans every string of what Python
can hold but SQLite, files and terminals cannot (lone surrogates, NULs), and checks every
message against the schema of its job kind (`check`): known ops, known fields of the
right types, events of known kinds only. The one message that goes the other way with
data in it, the job, is pickled (`send_job` / `recv_job`): the worker trusts its parent,
and numpy inputs cross without a round trip through lists. docs/security.md, "The
boundary protocol", lists what crosses and what is done with it.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import socket
import struct
import time
from typing import Any

from selftaught.text import clean_text

_HEADER = struct.Struct("!I")
MAX_MESSAGE = 16 * 1024 * 1024
"""Largest message from a solution worker (its outputs for one instance)."""
MAX_IMPROVER_MESSAGE = 4 * 1024 * 1024
"""Largest message from an improver worker (a program to score, a batch of prompts)."""
MAX_PROMPTS = 1000
"""Most messages in one `language_model` call (far above any budget of samples per call;
the broker answers only as many as the budget allows)."""

EVENT_KINDS = frozenset(
    {
        "fork",
        "subprocess",
        "ctypes",
        "signal",
        "network",
        "write_outside_scratch",
        "answer_access",
        "read_outside_roots",
        "proc_read",
        "path_escape",
        "frames",
        "gc",
        "trace",
        "audit_hook",
        "tamper",
        "bypass_broker",
        "exec",
        "utility_extra_args",
    }
)
"""Kinds of event a worker may report about itself (its audit hooks and proxies). Stored
as the worker's claims (`source` = `worker`); anything else it sends breaks the protocol."""
MAX_DETAIL = 300
"""Characters kept of a worker-reported event's detail (cut on receipt)."""


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


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    return value


def decode(data: bytes) -> Any:
    """Parse a JSON message (never anything that could run code), its strings cleaned.

    JSON can carry a lone surrogate or a NUL only as a `\\u` escape (raw control bytes
    and invalid UTF-8 are refused by the parser), so only such messages are walked.
    """
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {str(exc)[:200]}") from None
    if b"\\u" not in data:
        return value
    try:
        return _clean(value)
    except RecursionError:
        raise ProtocolError("malformed message: nested too deeply") from None


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


def send_inputs(sock: socket.socket, pickled: bytes) -> None:
    """Orchestrator -> worker only: a solution's instance inputs (pickled once per split),
    sent after the program has loaded, so that no program holds them while it loads."""
    sock.sendall(_HEADER.pack(len(pickled)) + pickled)


def recv_inputs(sock: socket.socket) -> list[tuple]:
    """Worker side only: the instance inputs `send_inputs` sent."""
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


MAX_ITEMS = 1_000_000
"""Most values in one message from a worker (a solution's output for one instance is held
to the same number inside the worker)."""


class Inbox:
    """Messages from one worker, read in chunks (orchestrator side).

    Several small messages that arrived together (a solution's per-instance results) cost
    one `recv` and one wake-up instead of two `recv`s each.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()
        self.last_size = 0
        self.last_values = 0

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
        """The next message, within `timeout` seconds (TimeoutError otherwise). Refused
        (TooLarge) past `limit` bytes, or with more than `MAX_ITEMS` values in it, before
        it is parsed: what a message costs the orchestrator's memory is bounded. The size
        of the last message read is `last_size`."""
        deadline = time.monotonic() + timeout
        self._fill(_HEADER.size, deadline)
        (size,) = _HEADER.unpack_from(self._buf)
        if size > limit:
            raise TooLarge(f"message of {size} bytes exceeds the {limit}-byte limit")
        end = _HEADER.size + size
        self._fill(end, deadline)
        data = bytes(self._buf[_HEADER.size : end])
        del self._buf[:end]
        self.last_size = size
        # every value after the first in an array or object follows a comma: an upper bound
        # on the values JSON would make of it (commas inside strings count too), counted at
        # C speed before any is made
        self.last_values = data.count(b",") + 1
        if self.last_values > MAX_ITEMS:
            raise TooLarge(f"a message of more than {MAX_ITEMS} values (commas)")
        return decode(data)


_NUMBER = (int, float)
_ANY = object()
_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "solve": {
        "ready": {},
        "done": {},
        "instance": {
            "i": int,
            "output": _ANY,
            "seconds": _NUMBER,
            "outcome": ("timeout", "error"),
            "message": str,
        },
        "error": {"outcome": str, "message": str},
    },
    "improve": {
        "utility": {"src": str},
        "lm": {"system": str, "messages": list, "temperature": (*_NUMBER, type(None))},
        "event": {"kind": str, "detail": str},
        "result": {"value": str},
        "error": {"outcome": str, "message": str},
    },
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "instance": ("i",),
    "utility": ("src",),
    "lm": ("messages",),
    "result": ("value",),
}
MAX_LIMITS = {"solve": MAX_MESSAGE, "improve": MAX_IMPROVER_MESSAGE}
"""The size cap of one message, per job kind."""


def check(msg: Any, kind: str) -> dict[str, Any]:
    """`msg` if it is a well-formed message of a `kind` job's worker, else ProtocolError
    saying what is wrong. Its `events` are checked too (known kinds, string details, cut
    to `MAX_DETAIL`); the caller caps how many it keeps per job."""
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message that is not an object ({type(msg).__name__})")
    op = msg.get("op")
    fields = _SCHEMAS[kind].get(op) if isinstance(op, str) else None
    if fields is None:
        raise ProtocolError(f"an unknown op ({_theirs(op)}) from a {kind} worker")
    for name, value in msg.items():
        if name in ("op", "events"):
            continue
        want = fields.get(name)
        if want is None:
            raise ProtocolError(f"an unknown field ({_theirs(name)}) in {op!r}")
        if want is _ANY:
            continue
        if isinstance(want, tuple) and want and isinstance(want[0], str):
            if value not in want:
                raise ProtocolError(f"{op}.{name} is not one of {', '.join(want)}")
        elif isinstance(value, bool) or not isinstance(value, want):
            raise ProtocolError(f"{op}.{name} has the wrong type ({type(value).__name__})")
        elif isinstance(want, tuple) and float in want and value is not None:
            # a number of the worker's is a finite float here or None, never an int of
            # 4,000 digits that overflows wherever it is used next
            msg[name] = finite_or_none(value)
    missing = [name for name in _REQUIRED.get(str(op), ()) if name not in msg]
    if missing:
        raise ProtocolError(f"{op!r} without {missing[0]!r}")
    if op == "instance" and "output" in msg and not _plain(msg["output"]):
        raise ProtocolError("an output that is not lists, numbers, strings and null")
    if op == "lm":
        messages = msg["messages"]
        if len(messages) > MAX_PROMPTS or not all(isinstance(m, str) for m in messages):
            raise ProtocolError(f"lm.messages must be at most {MAX_PROMPTS} strings")
    events = msg.pop("events", None)
    if events is not None:
        msg["events"] = check_events(events)
    if op == "event":
        (event,) = check_events([{"kind": msg.get("kind"), "detail": msg.get("detail", "")}])
        msg.update(event)
    return msg


_SCALARS = frozenset((str, int, float, bool, type(None)))
"""The leaves of a decoded output (exact types: the decoder makes no subclasses)."""


def _plain(value: Any) -> bool:
    """Whether `value` is what a worker makes of a program's output (`worker.plain`):
    lists of numbers, strings, booleans and null, nothing else. Walked without recursion,
    a list's scalars in one pass (an evaluation's outputs are mostly lists of numbers)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is list:
            stack.extend(x for x in item if type(x) not in _SCALARS)
        elif kind not in _SCALARS:
            return False
    return True


def _theirs(value: Any) -> str:
    """A worker's text named without quoting it: a protocol error is recorded as the
    orchestrator's observation, and a worker must not choose what that row says."""
    text = value if isinstance(value, str) else repr(type(value).__name__)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{len(text)} characters, sha256 {digest}"


def check_events(events: Any) -> list[dict[str, str]]:
    """Worker-reported events, checked: a list of `{kind, detail}` with a known kind."""
    if not isinstance(events, list):
        raise ProtocolError("events that are not a list")
    checked = []
    for event in events:
        if not isinstance(event, dict) or set(event) - {"kind", "detail"}:
            raise ProtocolError("an event that is not {kind, detail}")
        kind, detail = event.get("kind"), event.get("detail", "")
        if not isinstance(kind, str) or kind not in EVENT_KINDS or not isinstance(detail, str):
            raise ProtocolError(f"an event of unknown kind ({_theirs(kind)})")
        checked.append({"kind": kind, "detail": detail[:MAX_DETAIL]})
    return checked


def finite_or_none(x: Any) -> float | None:
    """A float that is a real number, else None."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    try:
        x = float(x)
    except OverflowError:  # an int too large for a float
        return None
    return x if math.isfinite(x) else None
