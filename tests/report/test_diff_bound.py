"""The diff between an improver and its parent (report lineage, `selftaught view`'s
iteration page, `show`'s provenance) costs bounded time whatever the two programs are.

Both programs are model-written and hostile by assumption: an adopted improver chooses the
text of the improver it proposes next, so it chooses both sides of the next diff.
`difflib` is quadratic in the lines of the two sides when every match it finds is one
line long and splits the rest unevenly: a program of unique lines and its copy with
neighbouring lines swapped. Measured on the development machine: 16,000 lines (32,000
characters) 13.7 s, 32,000 lines 49 s, and a usable program at the 100,000-character
limit (about 49,000 one-character lines in a string) about 2 minutes for one diff, which
`selftaught run` computes in the report it writes after the loop (`report_after_run`),
and `view` on every request for the iteration. What bounds it: `selftaught.program.diff`.
"""

from __future__ import annotations

import difflib

from selftaught.program.check import check_program
from selftaught.program.diff import MAX_DIFF_PAIRS
from selftaught.program.extract import MAX_PROGRAM_CHARS
from selftaught.report.content import unified_diff

TAIL = "def improve_algorithm(initial_solution, utility, language_model):\n    return initial_solution\n"


def _improver(lines: list[str]) -> str:
    return 'PAD = """\n' + "\n".join(lines) + '\n"""\n' + TAIL


def _swapped_pair(n: int) -> tuple[str, str]:
    names = [chr(0x4E00 + i) for i in range(n)]  # one character each, all different
    swapped: list[str] = []
    for i in range(0, n, 2):
        swapped += [names[i + 1], names[i]]
    return _improver(names), _improver(swapped)


def test_the_diff_of_two_usable_improvers_takes_bounded_time(monkeypatch):
    parent, child = _swapped_pair(16_000)
    for src in (parent, child):
        assert len(src) < MAX_PROGRAM_CHARS
        assert check_program(src, "improve_algorithm", 3) is None
    weighed: list[int] = []  # the line pairs each matcher is given (its work, at worst)

    class Counted(difflib.SequenceMatcher):
        def set_seqs(self, a, b):
            weighed.append(len(a) * len(b))
            super().set_seqs(a, b)

    monkeypatch.setattr(difflib, "SequenceMatcher", Counted)
    diff = unified_diff(parent, child, parent_name="parent", child_name="child")
    assert all(pairs <= MAX_DIFF_PAIRS for pairs in weighed), max(weighed)
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and line[1:2] != "-"]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and line[1:2] != "+"]
    assert len(removed) == len(added) == 16_000  # the changed part, shown whole
