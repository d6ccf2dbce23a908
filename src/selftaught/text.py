"""Text hygiene: what every string from a program, a worker or a model goes through before
it is stored or shown.

Text that crosses the sandbox boundary or comes from a model is hostile input. Python
holds any code point in a `str`, but SQLite and UTF-8 reject lone surrogates, C strings
end at a NUL, and a terminal obeys escape sequences (an OSC 52 clipboard write, a window
title, cursor moves). So:

- `clean_text` makes a string storable: lone surrogates and NULs become U+FFFD, so it
  encodes to UTF-8 and SQLite keeps it whole. Every write to the records goes through it.
- `printable` makes a string safe on a terminal and in Markdown: escape sequences and
  control characters are removed (newline and tab are kept), as are the Unicode controls
  that reorder how text reads; the result is also `clean_text`.
- `clip` shortens a string to a bound and says how much it left out.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_C0_C1 = "\x00-\x08\x0a-\x1f\x7f-\x9f"  # controls other than tab (newline is handled apart)
_SEQUENCES = re.compile(
    # CSI, 7-bit and 8-bit: parameters, intermediates, one final byte
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    # OSC, DCS, SOS, PM, APC: a string ended by BEL or ST; unterminated, it ends at the
    # first control character (so it cannot swallow the lines after it)
    r"|(?:\x1b[\]P X^_]|[\x9d\x90\x98\x9e\x9f])[^" + _C0_C1 + r"]*(?:\x07|\x1b\\|\x9c)?"
    # any other escape: intermediates and one final byte (ESC ( B, ESC 7, ESC c, ...)
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 and C1 controls, DEL; tab and newline stay
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # marks and overrides of text direction
)


def clean_text(s: str) -> str:
    """`s` with lone surrogates and NULs replaced by U+FFFD: encodable as UTF-8, stored
    whole by SQLite. Everything else is kept as it is."""
    if s.isascii() and "\x00" not in s:
        return s
    return _UNSTORABLE.sub(REPLACEMENT, s)


def printable(s: str) -> str:
    """`s` safe to print on a terminal or put in Markdown: escape sequences (CSI, OSC such
    as clipboard writes and window titles, DCS, 8-bit C1 forms) and control characters
    removed, newline and tab kept, bidirectional overrides removed, and `clean_text`."""
    if s.isascii() and s.isprintable():
        return s
    return clean_text(_CONTROLS.sub("", _SEQUENCES.sub("", s)))


def clip(s: str, limit: int) -> str:
    """`s` if it is at most `limit` characters, else its first characters followed by a
    note of how many were left out; the result is at most `limit` characters long (for a
    `limit` of at least 64)."""
    if len(s) <= limit:
        return s
    note = f" [... {len(s):,} characters, cut to {limit:,}]"
    keep = max(limit - len(note), 0)
    return s[:keep] + note[: max(limit - keep, 0)]


def fit(texts: list[str], budget: int, *, floor: int = 100) -> list[str]:
    """`texts` cut so that together they hold at most `budget` characters where that can
    be done keeping `floor` characters of each: the longest are cut first, each to one
    common length, each cut one saying so (`clip`)."""
    if sum(len(t) for t in texts) <= budget:
        return list(texts)
    lengths = sorted(len(t) for t in texts)
    cap, left = floor, budget
    for i, n in enumerate(lengths):  # the largest cap under which the total fits
        share = left // (len(lengths) - i)
        if n > share:
            cap = max(share, floor)
            break
        left -= n
    return [clip(t, cap) for t in texts]
