"""Program text: parsing it, and taking it out of model responses.

Improvers written for the paper do `from helpers import extract_code` and call it on the
list `batch_prompt` returns. This version also copes with bare fences, unterminated
fences (answers cut at the token limit), several blocks, and no fence at all.
"""

from __future__ import annotations

import ast
import re
import threading

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+.-]*)[ \t]*$", re.MULTILINE)
_CODE_TAGS = {"", "python", "py", "python3", "py3"}
# CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth
# mismatch", gh-106905) and responses are parsed from many broker threads at once.
PARSE_LOCK = threading.Lock()


def parse(code: str) -> ast.Module:
    """`ast.parse`, one thread at a time."""
    with PARSE_LOCK:
        return ast.parse(code)


def fenced_blocks(text: str) -> list[tuple[str, bool]]:
    """Fenced blocks as (code, terminated), in order. A block closes at the next fence,
    unless it only parses when closed at a later one."""
    blocks: list[tuple[str, bool]] = []
    fences = list(_FENCE.finditer(text))
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
                    for j in range(i + 2, len(fences)):
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
    except (SyntaxError, ValueError):
        return False
    return True


def trim_to_parse(code: str) -> str:
    """Drop trailing lines of a cut-off block until what remains parses."""
    lines = code.rstrip().splitlines()
    while lines and not parses("\n".join(lines)):
        lines.pop()
    return "\n".join(lines)


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
