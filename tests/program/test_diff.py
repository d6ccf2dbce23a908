"""`unified_lines`: a diff that turns one text into the other, in bounded time."""

from __future__ import annotations

import difflib
import random
import re

import pytest

from selftaught.program.diff import MAX_DIFF_PAIRS, unified_lines

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _apply(old: list[str], diff: list[str]) -> list[str]:
    """The text a unified diff makes of `old` (its hunks checked against `old`)."""
    out, at = [], 0
    for line in diff[2:]:
        match = HUNK.match(line)
        if match:
            start = int(match[1]) - (0 if match[2] == "0" else 1)
            out += old[at:start]
            at = start
            continue
        tag, text = line[0], line[1:]
        if tag in " -":
            assert old[at] == text, (at, old[at], text)
            at += 1
        if tag in " +":
            out.append(text)
    return out + old[at:]


def _lines(words: list[str]) -> list[str]:
    return [w + "\n" for w in words]


@pytest.mark.parametrize("seed", range(30))
def test_a_diff_turns_the_old_text_into_the_new_one(seed):
    rng = random.Random(seed)
    old = _lines([rng.choice("abcdefgh") for _ in range(rng.randrange(0, 60))])
    new = list(old)
    for _ in range(rng.randrange(1, 8)):
        at = rng.randrange(0, len(new) + 1)
        if new and rng.random() < 0.5:
            del new[min(at, len(new) - 1)]
        else:
            new.insert(at, rng.choice("abcdefghij") + "\n")
    diff = unified_lines(old, new, fromfile="a", tofile="b")
    assert _apply(old, diff) == new
    if old == new:
        assert diff == []


def test_a_small_change_in_a_long_text_is_the_diff_difflib_gives():
    old = _lines([f"line {i}" for i in range(5000)])
    new = list(old)
    new[2500] = "changed\n"
    diff = unified_lines(old, new, fromfile="a", tofile="b")
    assert diff == list(difflib.unified_diff(old, new, "a", "b"))


def test_a_changed_part_past_the_bound_is_removed_and_added_whole():
    side = int(MAX_DIFF_PAIRS**0.5) + 10
    old = _lines(["head"] * 5 + [f"o{i}" for i in range(side)] + ["tail"] * 5)
    new = _lines(["head"] * 5 + [f"n{i}" for i in range(side)] + ["tail"] * 5)
    diff = unified_lines(old, new, fromfile="a", tofile="b")
    assert "too large to align" in diff[1]
    assert _apply(old, diff) == new
    assert sum(line.startswith("-") for line in diff[2:]) == side
