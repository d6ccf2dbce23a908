"""Edit proposals: search/replace blocks applied by the framework."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from selftaught.lm.base import Completion, Reply, Request
from selftaught.lm.edits import INSTRUCTION, apply_edits, parse_edits
from selftaught.lm.grammar import EDIT_CLOSE, EDIT_MID, EDIT_OPEN
from selftaught.lm.options import ModelOptions
from selftaught.lm.session import LanguageModel

PROGRAM = (
    "def algorithm(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n"
)


def edit(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_an_edit_replaces_its_search_text():
    out = apply_edits(PROGRAM, edit("    total = 0\n", "    total = 1\n"))
    assert out.program == PROGRAM.replace("total = 0", "total = 1")


def test_several_edits_apply_in_order():
    text = edit("    total = 0\n", "    total = 1\n") + edit(
        "    return total\n", "    return -total\n"
    )
    out = apply_edits(PROGRAM, text)
    assert "total = 1" in out.program and "return -total" in out.program


def test_trailing_whitespace_does_not_stop_a_match():
    out = apply_edits(PROGRAM, edit("    total = 0   \n", "    total = 2\n"))
    assert out.program is not None and "total = 2" in out.program


def test_a_search_text_that_does_not_match_is_unusable_with_a_reason():
    out = apply_edits(PROGRAM, edit("    total = 42\n", "    total = 1\n"))
    assert out.program is None and out.reason == "edit_no_match"


def test_a_search_text_matches_whole_lines_not_the_tail_of_a_deeper_one():
    program = "def algorithm(xs):\n    if xs:\n        y = 1\n    y = 1\n    return y\n"
    out = apply_edits(program, edit("    y = 1\n", "    y = 2\n"))
    assert out.program == "def algorithm(xs):\n    if xs:\n        y = 1\n    y = 2\n    return y\n"


def test_no_edit_blocks_is_no_code():
    assert apply_edits(PROGRAM, "I would change the loop.").reason == "no_code"
    assert parse_edits("nothing") == []


class _Edits:
    """A backend answering every request with fixed text (the model's side of an edit)."""

    name = "edits"

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.requests: list[Request] = []

    def complete(self, request: Request) -> Reply:
        self.requests.append(request)
        return Reply([Completion(t) for t in self.texts[: request.n]])


def test_with_edits_on_the_session_asks_for_edits_and_returns_the_edited_program():
    backend = _Edits(
        [edit("    total = 0\n", "    total = 1\n"), edit("    total = 42\n", "    total = 1\n")]
    )
    calls = []
    lm = LanguageModel(
        backend,
        budget=1,
        max_responses_per_call=2,
        max_tokens=64,
        seed=0,
        scope="t",
        required_function="algorithm",
        record=calls.append,
        program=PROGRAM,
        options=ModelOptions(edits=True),
    )
    out = lm.prompt("sys", f"Improve:\n```python\n{PROGRAM}```", 2)
    assert backend.requests[0].user.endswith(INSTRUCTION)
    assert backend.requests[0].shape.form == "edits"
    assert "total = 1" in out[0] and out[0].startswith("```python\n")
    assert out[1].startswith("<<<<<<< SEARCH")  # unusable: handed back as the model wrote it
    assert calls[0].usable == 1 and calls[0].reasons == {"edit_no_match": 1}


_BLOCK_GRAMMAR = re.compile(
    rf"^{re.escape(EDIT_OPEN)}[ \t]*\n(.*?)^{re.escape(EDIT_MID)}[ \t]*\n(.*?)"
    rf"^{re.escape(EDIT_CLOSE)}[ \t]*$",
    re.S | re.M,
)
"""What an edit block is, as a regular expression: the reference parse_edits agrees with
(matching it on a long text of unclosed blocks took minutes: 46 s for 272 KB)."""

_PIECES = [EDIT_OPEN, EDIT_MID, EDIT_CLOSE, EDIT_OPEN + " ", EDIT_MID + "\t", "  " + EDIT_OPEN]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=8)), max_size=14),
    st.sampled_from(["", "\n"]),
)
def test_parse_edits_finds_the_blocks_the_block_grammar_does(lines, end):
    text = "\n".join(lines) + end
    assert parse_edits(text) == [(m.group(1), m.group(2)) for m in _BLOCK_GRAMMAR.finditer(text)]


def test_a_long_answer_of_blocks_that_never_close_has_no_edits():
    text = f"{EDIT_OPEN}\nx = 1\n{EDIT_MID}\ny\n" * 100_000
    assert parse_edits(text) == []
    assert apply_edits("x = 1\n", text).reason == "no_code"


def test_finding_an_edit_looks_at_each_line_of_the_program_once():
    # a search block of 49,500 blank lines against a program of 99,000 took 54 s: every
    # start line was compared line by line again
    from selftaught.lm.edits import _find

    stripped = [0]

    class Line(str):
        def rstrip(self, *args):  # noqa: ANN002 - str.rstrip's own signature
            stripped[0] += 1
            return str.rstrip(self, *args)

    class Program(str):
        def splitlines(self, keepends=False):  # noqa: ANN001
            return [Line(line) for line in str.splitlines(self, keepends)]

    text = "def algorithm(x):\n" + " \n" * 3000 + "    return x\n"
    assert _find(Program(text), " \n" * 1500 + "zz\n") is None
    assert stripped[0] <= 2 * text.count("\n"), stripped[0]
    lines = text.splitlines(keepends=True)
    # what it finds: a block at a line's start, trailing whitespace ignored
    assert _find(text, "    return x   \n") == (len(text) - len(lines[-1]), len(text))
    assert _find(text, "def algorithm(x):  \n \n") == (0, len(lines[0]) + len(lines[1]))
    assert _find(text, "return x\n") is None  # the tail of a longer line
