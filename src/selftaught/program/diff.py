"""A unified diff of two program texts in bounded time, whatever the texts are.

Both sides are often model-written, so hostile by assumption: an adopted improver chooses
the text of the improver it proposes next, and so both sides of the next iteration's
diff. `difflib` weighs every pair of lines in the part of the two texts that differs, and
is quadratic in it when each match it finds is one line long (a program of unique lines
and its copy with neighbouring lines swapped: 16,000 lines took 14 s, a program at the
length limit about two minutes, in every report and on every page of the view that shows
it). Here the common head and tail are set aside first, and a changed part of more than
`MAX_DIFF_PAIRS` line pairs is shown whole, removed and added, in one hunk: still a diff
that turns one text into the other, found in linear time.
"""

from __future__ import annotations

import difflib

MAX_DIFF_PAIRS = 1_000_000
"""Line pairs of the changed part `difflib` may weigh for one diff (about 0.05 s at worst):
1,000 lines against 1,000."""


def _range(start: int, stop: int) -> str:
    """A hunk's range as unified diffs write it (lines are counted from 1; an empty range
    names the line before it)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _shifted(line: str, offset: int) -> str:
    """A hunk header of a diff of a slice, renumbered for the whole texts."""
    if not line.startswith("@@ -") or not offset:
        return line
    old, new, rest = line[4:].split(" ", 2)
    old_start, _, old_len = old.partition(",")
    new_start, _, new_len = new[1:].partition(",")
    old = str(int(old_start) + offset) + ("," + old_len if old_len else "")
    new = str(int(new_start) + offset) + ("," + new_len if new_len else "")
    return f"@@ -{old} +{new} {rest}"


def unified_lines(
    old: list[str], new: list[str], *, fromfile: str, tofile: str, context: int = 3
) -> list[str]:
    """The unified diff of two lists of lines (each with its line ending), as
    `difflib.unified_diff` gives it where the changed part is small enough to align line
    by line, else that part removed and added whole (docstring of this module)."""
    if old == new:
        return []
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old), len(new)) - head
        and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]
    ):
        tail += 1
    start = max(0, head - context)
    old_stop = min(len(old), len(old) - tail + context)
    new_stop = min(len(new), len(new) - tail + context)
    old_part, new_part = old[start:old_stop], new[start:new_stop]
    changed_old, changed_new = len(old) - tail - head, len(new) - tail - head
    if changed_old * changed_new <= MAX_DIFF_PAIRS:
        diff = difflib.unified_diff(old_part, new_part, fromfile, tofile, n=context)
        return [_shifted(line, start) for line in diff]
    return [
        f"--- {fromfile}\n",
        f"+++ {tofile} (the changed part is too large to align line by line)\n",
        f"@@ -{_range(start, old_stop)} +{_range(start, new_stop)} @@\n",
        *(" " + line for line in old[start:head]),
        *("-" + line for line in old[head : len(old) - tail]),
        *("+" + line for line in new[head : len(new) - tail]),
        *(" " + line for line in old[len(old) - tail : old_stop]),
    ]
