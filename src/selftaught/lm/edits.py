"""Edit proposals: search/replace blocks against the current program, applied here.

Long programs are where small models fail most; a small change asks less of them. When the
`edits` option is on, the prompt asks for blocks of this form:

    <<<<<<< SEARCH
    lines copied from the current program
    =======
    the lines to put in their place
    >>>>>>> REPLACE

The framework applies them in order and checks the result like any other answer. A search
text that is not in the program makes the sample unusable (`edit_no_match`); it never
raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selftaught.lm.grammar import EDIT_CLOSE, EDIT_MID, EDIT_OPEN

INSTRUCTION = f"""

Do not write the whole program again. Answer only with one to three edits to the current
program, each in this form:
{EDIT_OPEN}
lines copied exactly from the current program
{EDIT_MID}
the new lines that replace them
{EDIT_CLOSE}"""

_MARK = re.compile(
    rf"^({re.escape(EDIT_OPEN)}|{re.escape(EDIT_MID)}|{re.escape(EDIT_CLOSE)})[ \t]*$", re.M
)
"""A marker line of an edit block (the opening and middle ones must end in a newline)."""


@dataclass(frozen=True)
class Applied:
    """The program after the edits, or why they could not be applied."""

    program: str | None
    reason: str | None = None


def ask_for_edits(message: str) -> str:
    """The message, asking for edits instead of a whole program."""
    return message + INSTRUCTION


def parse_edits(text: str) -> list[tuple[str, str]]:
    """(search, replace) pairs in the order they appear: from an opening line to the first
    middle line after it, to the first closing line after that. One pass over the marker
    lines, so any text costs time in proportion to its length (a text of openings that
    never close, matched with a regular expression, took minutes)."""
    out: list[tuple[str, str]] = []
    search_at = mid_at = replace_at = -1
    for m in _MARK.finditer(text):
        marker, ends_line = m.group(1), text[m.end() : m.end() + 1] == "\n"
        if search_at < 0:
            if marker == EDIT_OPEN and ends_line:
                search_at = m.end() + 1
        elif replace_at < 0:
            if marker == EDIT_MID and ends_line:
                mid_at, replace_at = m.start(), m.end() + 1
        elif marker == EDIT_CLOSE:
            out.append((text[search_at:mid_at], text[replace_at : m.start()]))
            search_at = mid_at = replace_at = -1
    return out


def _find(program: str, search: str) -> tuple[int, int] | None:
    """Where `search` is in `program`, starting at a line's start: exactly, else line by
    line ignoring trailing whitespace (models drop it)."""
    if search.strip() == "":
        return None
    at = ("\n" + program).find("\n" + search)  # at a line's start, in one search
    if at >= 0:
        return at, at + len(search)
    # One string search over the stripped lines (a stripped line holds no line break), so
    # the cost is linear in the program; comparing line by line at every start was lines x
    # search lines (54 s for one reply against a program of 99,000 blank lines).
    want = [line.rstrip() for line in search.strip("\n").splitlines()]
    lines = program.splitlines(keepends=True)
    hay = "\n" + "\n".join(line.rstrip() for line in lines) + "\n"
    found = hay.find("\n" + "\n".join(want) + "\n")
    if found < 0:
        return None
    first = hay.count("\n", 0, found)  # the lines before the match
    start = sum(len(line) for line in lines[:first])
    return start, start + sum(len(line) for line in lines[first : first + len(want)])


def apply_edits(program: str, text: str) -> Applied:
    """Apply the edit blocks of `text` to `program`, in order."""
    edits = parse_edits(text)
    if not edits:
        return Applied(None, "no_code")
    for search, replace in edits:
        where = _find(program, search)
        if where is None:
            return Applied(None, "edit_no_match")
        start, end = where
        if not replace.endswith("\n") and program[end - 1 : end] == "\n":
            replace += "\n"
        program = program[:start] + replace + program[end:]
    return Applied(program)
