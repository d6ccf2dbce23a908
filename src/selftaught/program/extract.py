"""Program text: parsing it, and taking it out of model responses.

Improvers written for the paper do `from helpers import extract_code` and call it on the
list `batch_prompt` returns. This version also copes with bare fences, unterminated
fences (answers cut at the token limit), several blocks, and no fence at all.
"""

from __future__ import annotations

import ast
import itertools
import re
import threading

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)[ \t]*$", re.MULTILINE)
_CODE_TAGS = {"", "python", "py", "python3", "py3"}
# CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth
# mismatch", gh-106905) and responses are parsed from many broker threads at once.
PARSE_LOCK = threading.Lock()

MAX_PROGRAM_CHARS = 100_000
"""The longest text that is taken as a program (run, scored, stored): many times what a
model writes in one answer (a sample of 1,024 tokens is about 4,000 characters)."""

MAX_DEPTH = 1000
"""How deeply a program may nest, counting syntax tree levels (statements, expressions
and their parts: each `+` of a sum and each `elif` is one). Measured: `ast.parse` and
`compile` take about 2,000 levels; `ast.unparse` breaks near 400 and `ast.dump` sooner,
so nothing here walks a program's tree recursively except the static analysis, which
reports a deeper program as one it cannot analyse. Deeper trees (`x = 1+1+...+1` with
thousands of terms) are refused as syntax errors."""

MAX_FENCES = 64
"""Fences looked at in one text; an answer has a few, and later ones are ignored."""

FENCE_LOOKAHEAD = 16
"""How many later fences a code block that does not parse is tried against."""

MAX_TRIMS = 100
"""How many shorter versions of a cut-off block are tried before it is given up."""

TRIM_CHARS = 1_000_000
"""How many characters the shorter versions of one block tried add up to, at most: what
bounds the work one answer can cost (parsing runs at a few megabytes a second)."""


def parse(code: str) -> ast.Module:
    """`ast.parse`, one thread at a time; any program it cannot take (too long, too deep,
    a lone surrogate, a NUL) is a `SyntaxError`, never another exception."""
    if len(code) > MAX_PROGRAM_CHARS:
        raise SyntaxError(
            f"the program is {len(code):,} characters long; at most {MAX_PROGRAM_CHARS:,}"
        )
    with PARSE_LOCK:
        try:
            tree = ast.parse(code)
        except (RecursionError, MemoryError):  # the parser's own stack, not real memory
            raise SyntaxError(f"the program nests deeper than {MAX_DEPTH} levels") from None
        except UnicodeError:
            raise SyntaxError(
                "the program holds a lone surrogate, which no file can hold"
            ) from None
        except ValueError as exc:  # NUL bytes, on Pythons that raise ValueError for them
            raise SyntaxError(str(exc)) from None
    if depth_over(tree, MAX_DEPTH):
        raise SyntaxError(f"the program nests deeper than {MAX_DEPTH} levels")
    return tree


def depth_over(tree: ast.AST, limit: int) -> bool:
    """Whether `tree` nests more than `limit` levels (walked without recursion)."""
    todo: list[tuple[ast.AST, int]] = [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        if depth > limit:
            return True
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def fenced_blocks(text: str) -> list[tuple[str, bool]]:
    """Fenced blocks as (code, terminated), in order. A block closes at the next fence,
    unless it only parses when closed at a later one."""
    blocks: list[tuple[str, bool]] = []
    fences = list(itertools.islice(_FENCE.finditer(text), MAX_FENCES))
    i = 0
    while i < len(fences):
        opening = fences[i]
        tag = opening.group(1).lower()
        start = opening.end() + 1
        if i + 1 < len(fences):
            close = i + 1
            if tag in _CODE_TAGS:
                code = text[start : fences[close].start()]
                if not parses(code):
                    # A program that holds fences itself (an improver's prompt template)
                    # ends at the first later fence after which it parses.
                    for j in range(i + 2, min(len(fences), i + 2 + FENCE_LOOKAHEAD)):
                        longer = text[start : fences[j].start()]
                        if parses(longer):
                            code, close = longer, j
                            break
                blocks.append((code, True))
            i = close + 1
        else:
            if tag in _CODE_TAGS:
                blocks.append((text[start:], False))
            i += 1
    return blocks


def parses(code: str) -> bool:
    try:
        parse(code)
    except SyntaxError:
        return False
    return True


def trim_to_parse(code: str) -> str:
    """Drop trailing lines of a cut-off block until what remains parses ("" if nothing
    does within `MAX_TRIMS` tries and `TRIM_CHARS` characters)."""
    lines = code.rstrip().splitlines()
    spent = 0
    for _ in range(MAX_TRIMS + 1):
        text = "\n".join(lines)
        if not lines or spent and spent + len(text) > TRIM_CHARS:
            return ""
        spent += len(text)
        if parses(text):
            return text
        lines.pop()
    return ""


def defines(code: str, function: str) -> bool:
    """Whether `code` parses and defines `function` at module level."""
    try:
        tree = parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
        for node in tree.body
    )


def _has_def(code: str) -> bool:
    return "def " in code and parses(code)


def extract_one(text: str, *, function: str | None = None) -> str:
    """The code of one response, or "" when it holds no usable code."""
    if not isinstance(text, str):
        return ""
    candidates: list[str] = []
    for code, terminated in fenced_blocks(text):
        if not terminated and not parses(code):
            code = trim_to_parse(code)
        code = code.strip("\n")
        if code.strip():
            candidates.append(code)
    if not candidates and "```" not in text and _has_def(text):
        candidates.append(text.strip("\n"))
    if function is not None:
        for code in candidates:
            if defines(code, function):
                return code
    for code in candidates:
        if _has_def(code):
            return code
    for code in candidates:
        if parses(code):
            return code
    return candidates[0] if candidates else ""


def extract_code(responses: str | list[str], *, function: str | None = None) -> str | list[str]:
    """Code from each response: a list in gives a list of the same length out, one text
    in gives one string out. A response without usable code gives ""."""
    if isinstance(responses, str):
        return extract_one(responses, function=function)
    return [extract_one(r, function=function) for r in responses]
