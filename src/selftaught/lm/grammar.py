"""GBNF grammars that hold generation to one fenced Python block, or to edit blocks.

llama.cpp (in-process through llama-cpp-python, or its server's `grammar` request field)
and vLLM (`structured_outputs.grammar`) take these. A program block may only hold lines
that a module of definitions holds: indented lines, and at the top level `def` and
`class` lines ending in a colon, `import`, `from`, decorators, comments, assignments and
closing brackets. So no example calls, no `if __name__ == ...`, and no prose: the block
ends at the closing fence.
"""

from __future__ import annotations

import json

from selftaught.lm.base import AnswerShape

EDIT_OPEN, EDIT_MID, EDIT_CLOSE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"

_LINES = r"""
line ::= (indented | top)? "\n"
indented ::= [ \t]+ char*
top ::= block | simple | assign
block ::= ("def " | "class ") name char* ":" [ \t]*
simple ::= ("import " | "from " | "@" | "#" | [)\]}]) char*
assign ::= name [ \t]* [=:,.[] char*
name ::= [A-Za-z_] [A-Za-z0-9_]*
char ::= [^`\n]
"""


_FIRST = r"""first ::= [ \t]+ [^ \t\n"'#`] char*""" + "\n"
"""The first line of a started function's body: code, not a comment or a docstring (a
small model writing one rambles on in prose)."""


def _literal(text: str) -> str:
    return json.dumps(text)  # a GBNF string literal uses JSON's escapes


def program_grammar(header: str = "", *, opened: bool = True) -> str:
    """One Python block up to its closing fence. `opened`: the prompt already ends with
    the opening fence and `header` (the answer was started); otherwise the grammar writes
    both itself, for servers where an answer cannot be started."""
    start = "" if opened else _literal("```python\n" + header) + " "
    body = 'first "\\n" line*' if header else "line*"
    return f'root ::= {start}{body} "```"\n' + _FIRST + _LINES


def edits_grammar(*, opened: bool = False, most: int = 3) -> str:
    """One to `most` search/replace blocks and nothing else. `opened`: the prompt already
    ends with the first block's opening line."""
    rest = f"text {_literal(EDIT_MID + chr(10))} text {_literal(EDIT_CLOSE + chr(10))}"
    first = rest if opened else f"{_literal(EDIT_OPEN + chr(10))} {rest}"
    return (
        f"root ::= {first} edit{{0,{most - 1}}}\n"
        f"edit ::= {_literal(EDIT_OPEN + chr(10))} {rest}\n"
        'text ::= ([^<=>`\\n] [^`\\n]* "\\n" | "\\n")*\n'
    )


def grammar_for(shape: AnswerShape, *, opened: bool) -> str:
    """The grammar of an answer of this shape."""
    if shape.form == "edits":
        return edits_grammar(opened=opened)
    return program_grammar(shape.header, opened=opened)
