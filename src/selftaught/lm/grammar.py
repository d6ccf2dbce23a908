"""GBNF grammars that hold generation to one fenced Python block, or to edit blocks.

llama.cpp (in-process through llama-cpp-python, or its server's `grammar` request field)
and vLLM (`structured_outputs.grammar`) take these. A program block is held to Python's
statement structure, line by line:

- blocks are indented four spaces a level, at most six levels deep, and a line ending in
  a colon (`def`, `class`, `if`, `for`, `while`, `with`, `try` and their clauses) opens a
  block that must hold at least one statement;
- a statement is one line that starts like code: not a docstring or other string, not a
  number, and not `def`/`class` without a block; it holds no `#` (so no comments) and
  no two spaces in a row, and does not end with a bracket or comma left open, or with
  trailing whitespace;
- the top level holds only `def`/`class` blocks, decorators, imports and assignments: no
  example calls, no `if __name__ == ...`, and no prose; the block ends at its fence;
- where the answer is started with the required function's header, the function's body
  mirrors the program being improved: its last statement is a `return` of a value at
  its own level (so a body that ends in `if`/`else` branches that each return cannot be
  written: it needs a final `return`), no statement in it starts with `def` (a name
  such as `default` included) and none is a `class` block, unless the program's
  function defines functions or classes inside it, and top-level definitions follow it
  only if the program has some beside it (else the block ends with it).

The small model's answers without it ran on in docstrings, chains of `def x:` lines
without bodies, and lines indented by one space or a tab after a four-space header
(docs/models.md has the measured difference).
"""

from __future__ import annotations

from selftaught.lm.base import AnswerShape

GRAMMAR_VERSION = 4
"""Goes into the response cache's key: answers drawn under another grammar differ."""

EDIT_OPEN, EDIT_MID, EDIT_CLOSE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _literal(text: str) -> str:
    """A GBNF string literal: UTF-8 as it is, and the escapes llama.cpp reads (`\\xNN`
    for other control characters; JSON's `\\b` or surrogate pairs it would not)."""
    return '"' + "".join(_ESCAPES.get(c, _control(c)) for c in text) + '"'


def _control(c: str) -> str:
    return f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c


def edits_grammar(program: str = "", *, opened: bool = False, most: int = 3) -> str:
    """One to `most` search/replace blocks and nothing else. `program`: the program the
    edits apply to; each search text is then held to a run of its lines, so it always
    matches, and each replacement to at most 3 lines more than the program has (an edit
    is a small change: the embedded model's replacements otherwise ran on to the token
    limit). Without it, any lines. `opened`: the prompt already ends with the first
    block's opening line."""
    search, replace, runs = "text", "text", ""
    lines = program.splitlines()
    if any(line.strip() for line in lines):
        search, replace = "search", "replace"
        starts = [f"s{i}" for i, line in enumerate(lines) if line.strip()]
        runs = (
            f"search ::= {' | '.join(starts)}\n"
            + "".join(
                f"s{i} ::= {_literal(line + chr(10))}"
                + (f" s{i + 1}?" if i + 1 < len(lines) else "")
                + "\n"
                for i, line in enumerate(lines)
            )
            + f"replace ::= line{{0,{len(lines) + 3}}}\n"
        )
    mid, close = _literal(EDIT_MID + chr(10)), _literal(EDIT_CLOSE + chr(10))
    rest = f"{search} {mid} {replace} {close}"
    first = rest if opened else f"{_literal(EDIT_OPEN + chr(10))} {rest}"
    return (
        f"root ::= {first} edit{{0,{most - 1}}}\n"
        f"edit ::= {_literal(EDIT_OPEN + chr(10))} {rest}\n"
        "text ::= line*\n"
        'line ::= [^<=>`\\n] [^`\\n]* "\\n" | "\\n"\n' + runs
    )


INDENT = "    "
DEPTH = 6
"""Deepest block the structured grammar allows, counting the function body as 1."""

_STATEMENTS = r"""
blank ::= "\n"
ch ::= [^`\n# \t]
char ::= ch | " " ch
end ::= [^:\n`([{,\\ \t#]
tail ::= char* (end | " " end)
after ::= end | ch tail
start ::= fstart | "def" ch
fstart ::= [A-Zabe-z_([{*] | dstart | cstart
dstart ::= "d" (" " ch | [^e`\n# \t]) | "de" (" " ch | [^f`\n# \t])
cstart ::= "c" (" " ch | [^l`\n# \t]) | "cl" (" " ch | [^a`\n# \t]) | cstart2
cstart2 ::= "cla" (" " ch | [^s`\n# \t]) | "clas" (" " ch | [^s`\n# \t]) | "class" ch
simple ::= start tail? "\n"
fsimple ::= fstart tail? "\n"
head ::= (keyword | def) ":" "\n"
fhead ::= keyword ":" "\n"
keyword ::= spaced ch char* | "else" | "try" | "except" | "finally"
spaced ::= "if " | "elif " | "for " | "while " | "with " | "except "
def ::= "def " name "(" char* ")" char* | "class " name char*
name ::= [A-Za-z_] [A-Za-z0-9_]*
top ::= blank? blank? (tdef | tsimple)
tdef ::= "@" ch char* "\n" tdef | def ":" "\n" b1
tsimple ::= ("import " | "from ") ch char* "\n" | name " "? [=:,.[] char* "\n"
"""


def _levels(prefix: str, simple: str, head: str, depth: int = DEPTH) -> str:
    """`{prefix}1` ... `{prefix}N`: one or more statements at each depth; a line ending in
    a colon opens a block that must hold at least one statement one level deeper."""
    rules = []
    for k in range(1, depth + 1):
        lead = _literal(INDENT * k)
        inner = f" | {head} {prefix}{k + 1}" if k < depth else ""
        rules.append(f"{prefix}{k} ::= (blank? {lead} ({simple}{inner}))+")
    return "\n".join(rules) + "\n"


def _body(nested: bool = False, depth: int = DEPTH) -> str:
    """`f1`: the required function's body. It ends with a `return` at its own level, so
    it gives back a value, and unless `nested` (the program being improved defines
    functions or classes inside it) no statement in it starts with `def` or opens a
    `class` block.
    Under a grammar without these rules the embedded model's bodies opened with a copy of
    the utility function and nested `def` in `def` down to the deepest level, and most
    that parsed returned nothing (docs/models.md has the measured difference)."""
    lead = _literal(INDENT)
    simple, head = ("simple", "head") if nested else ("fsimple", "fhead")
    return (
        _levels("f", simple, head, depth).replace("f1 ::= ", "fstmts ::= ", 1)
        + f'f1 ::= fstmts? blank? {lead} "return " after "\\n"\n'
    )


def program_grammar(
    header: str = "", *, opened: bool = True, nested: bool = False, helpers: bool = False
) -> str:
    """One Python block up to its closing fence. `opened`: the prompt already ends with
    the opening fence and `header` (the answer was started); otherwise the grammar writes
    both itself, for servers where an answer cannot be started. `nested`: the function
    started by `header` may define functions inside it; `helpers`: definitions may follow
    it at the top level. Without them the block ends with the function."""
    start = "" if opened else _literal("```python\n" + header) + " "
    body = ("f1 top*" if helpers else "f1") if header else "top+"
    rules = _levels("b", "simple", "head") + (_body(nested) if header else "")
    return f'root ::= {start}{body} blank? "```"\n' + rules + _STATEMENTS


def grammar_for(shape: AnswerShape, *, opened: bool) -> str:
    """The grammar of an answer of this shape."""
    if shape.form == "edits":
        return edits_grammar(shape.program, opened=opened)
    return program_grammar(shape.header, opened=opened, nested=shape.nested, helpers=shape.helpers)
