"""Whatever bytes a worker sends, decoding and checking them ends in a message that can be
stored and printed, or in a ProtocolError: never another exception (docs/security.md,
"The boundary protocol")."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from selftaught.sandbox import protocol

TEXT = st.text(
    alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF),
    max_size=50,
)
"""Any code point, lone surrogates and NULs included."""
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)
OPS = st.sampled_from(["ready", "done", "instance", "error", "utility", "lm", "event",
                       "result", "unknown", ""])  # fmt: skip


def _decode_and_check(data: bytes, kind: str) -> None:
    try:
        msg = protocol.check(protocol.decode(data), kind)
    except protocol.ProtocolError:
        return
    # what got through is a message of the schema whose text encodes and stores
    assert isinstance(msg, dict) and isinstance(msg["op"], str)
    json.dumps(msg, ensure_ascii=False).encode("utf-8")
    for event in msg.get("events", []):
        assert len(event["detail"]) <= protocol.MAX_DETAIL


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300), kind=st.sampled_from(["solve", "improve"]))
def test_random_bytes_decode_to_a_message_or_a_protocol_error(data, kind):
    _decode_and_check(data, kind)


@settings(max_examples=300, deadline=None)
@given(
    op=OPS,
    fields=st.dictionaries(
        st.sampled_from(
            [
                "i",
                "output",
                "seconds",
                "outcome",
                "message",
                "src",
                "messages",
                "system",
                "temperature",
                "kind",
                "detail",
                "value",
                "events",
            ]
        ),
        JSON,
        max_size=4,
    ),  # fmt: skip
    kind=st.sampled_from(["solve", "improve"]),
)
def test_messages_of_any_shape_decode_to_a_message_or_a_protocol_error(op, fields, kind):
    data = json.dumps({"op": op, **fields}).encode()  # surrogates travel as \\u escapes
    _decode_and_check(data, kind)


@settings(max_examples=50, deadline=None)
@given(depth=st.integers(min_value=1, max_value=200_000))
@example(depth=900).via("just under what the parser takes")
@example(depth=960)
@example(depth=990)
def test_deep_nesting_is_a_protocol_error_or_a_message(depth):
    nested = b"[" * depth + b'"\\ud800"' + b"]" * depth
    _decode_and_check(b'{"op": "instance", "i": 0, "output": ' + nested + b"}", "solve")


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(
        st.dictionaries(st.sampled_from(["kind", "detail"]), JSON, max_size=2), max_size=4
    ),
    kind=st.sampled_from(["solve", "improve"]),
)
def test_events_of_any_shape_decode_to_a_message_or_a_protocol_error(events, kind):
    op = "ready" if kind == "solve" else "result"
    data = json.dumps({"op": op, "value": "x", "events": events}).encode()
    if kind == "solve":
        data = json.dumps({"op": op, "events": events}).encode()
    _decode_and_check(data, kind)
