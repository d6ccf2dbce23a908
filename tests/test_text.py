"""Text hygiene (`selftaught.text`): storable text, printable text, bounded text."""

import json
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selftaught.text import clean_text, clip, fit, printable

ATTACKS = [
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07",  # OSC 52: write the clipboard (BEL)
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x1b\\",  # OSC 52 ended by ST
    "\x1b]0;you have been pwned\x07",  # window title
    "\x1b]2;title\x1b\\",
    "\x1b[2J\x1b[H",  # CSI: clear the screen, cursor home
    "\x1b[31;1mred\x1b[0m",
    "\x1b[?1049h",  # alternate screen
    "\x9b31m",  # C1 CSI, one byte
    "\x9d0;title\x9c",  # C1 OSC ended by C1 ST
    "\x1bP+q544e\x1b\\",  # DCS (a terminfo query)
    "\x1b]8;;http://example.invalid\x1b\\link\x1b]8;;\x1b\\",  # hyperlink
    "\x1bc",  # full reset
    "\x1b(0",  # line-drawing character set
    "\r",  # carriage return: overwrites what came before on the line
    "\x08\x08\x08",  # backspaces
    "\x07",
    "\u202e",  # right-to-left override: the text reads other than it is
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_printable_removes_escape_sequences_and_controls(attack):
    shown = printable(f"before {attack} after\n\tindented")
    assert "\x1b" not in shown and "\x9b" not in shown and "\x9d" not in shown
    assert all(c in "\n\t" or c.isprintable() for c in shown), repr(shown)
    assert shown.startswith("before ") and shown.endswith(" after\n\tindented")


def test_printable_removes_the_payload_of_a_clipboard_write():
    assert printable("a\x1b]52;c;c2VjcmV0\x07b") == "ab"
    assert printable("a\x1b]0;title\x1b\\b") == "ab"
    assert printable("a\x9b2Jb") == "ab"


def test_an_unterminated_sequence_does_not_swallow_the_lines_after_it():
    assert printable("x = '\x1b]52;c;AAAA\ny = 2\n") == "x = '\ny = 2\n"


def test_printable_keeps_ordinary_text_as_it_is():
    text = "def algorithm(xs):\n\treturn sorted(xs)  # ÷ λ 漢字 ✓\n"
    assert printable(text) == text


@given(st.text())
def test_printable_text_has_no_control_but_newline_and_tab_and_encodes(s):
    shown = printable(s)
    assert all(c in "\n\t" or not (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F) for c in shown)
    shown.encode("utf-8")  # a lone surrogate would raise here


def test_clean_text_replaces_lone_surrogates_and_nuls():
    assert clean_text("a\ud800b\x00c\udfff") == "a\ufffdb\ufffdc\ufffd"
    assert clean_text("plain ascii") == "plain ascii"
    assert (
        clean_text("\x1b[31m kept: not a storage problem") == "\x1b[31m kept: not a storage problem"
    )


@given(st.text())
def test_clean_text_is_stored_whole_by_sqlite_and_encodes(s):
    cleaned = clean_text(s)
    cleaned.encode("utf-8")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute("INSERT INTO t VALUES (?)", (cleaned,))
    assert db.execute("SELECT x FROM t").fetchone()[0] == cleaned
    assert clean_text(cleaned) == cleaned
    assert len(cleaned) == len(s)


def test_clip_says_how_much_it_left_out_and_keeps_the_bound():
    out = clip("x" * 1_000_000, 1000)
    assert len(out) <= 1000 and out.startswith("xxx") and "1,000,000 characters" in out
    assert clip("short", 1000) == "short"


@given(st.lists(st.text(max_size=300), max_size=8), st.integers(0, 2000))
def test_fit_keeps_a_list_of_texts_within_its_budget(texts, budget):
    out = fit(texts, budget)
    assert len(out) == len(texts)
    if sum(map(len, texts)) <= budget:
        assert out == texts
    else:
        assert sum(map(len, out)) <= max(budget, 100 * len(texts))
    json.dumps(out)
