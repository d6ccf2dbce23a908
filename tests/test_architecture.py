"""The import rules of docs/design.md ("What may import what"), checked on the source.

A package may import only the packages listed for it in `ALLOWED`, and no files import
each other in a circle (imports under `if TYPE_CHECKING:` are never run and do not count).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "selftaught"

GROUND = {"errors", "program", "stats", "text", "version"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "program": set(),
    "text": set(),
    "stats": set(),
    "version": set(),
    "store": GROUND | {"sandbox"},
    "lm": GROUND | {"store"},
    "sandbox": GROUND,
    "tasks": GROUND | {"sandbox"},
    "config": GROUND | {"lm", "sandbox"},
    "executors": GROUND | {"sandbox", "config"},
    "report": GROUND | {"lm", "store", "tasks", "config", "sandbox"},
    "view": GROUND | {"store", "report"},
    "stop": GROUND | {"lm", "store", "sandbox", "tasks", "config", "executors"},
    "progress": GROUND | {"lm", "report", "stop", "store", "config"},
    "assembly": GROUND | {"lm", "store", "sandbox", "tasks", "config", "executors", "stop"},
    "api": GROUND
    | {"lm", "store", "sandbox", "tasks", "config", "executors", "stop", "report"}
    | {"assembly", "progress"},
    "experiment": GROUND | {"lm", "store", "tasks", "config", "executors", "stop", "report", "api"},
    "cli": GROUND
    | {"lm", "store", "sandbox", "tasks", "config", "executors", "stop", "report"}
    | {"assembly", "progress", "api", "view", "experiment"},
    "__main__": {"cli"},
}
ALLOWED["__init__"] = set(ALLOWED) - {"__init__", "__main__"}  # the public face re-exports
"""For each top-level module or package of selftaught, what it may import (besides
itself). Lower floors never import higher ones."""


def _owner(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported(tree: ast.AST) -> set[str]:
    """Top-level selftaught modules named by the imports of one file, anywhere in it."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "selftaught":
                out |= {a.name for a in node.names}
                continue
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "selftaught" and len(parts) > 1:
                out.add(parts[1])
    return out


def edges() -> set[tuple[str, str]]:
    found = set()
    for path in SRC.rglob("*.py"):
        owner = _owner(path)
        for target in _imported(ast.parse(path.read_text(), str(path))):
            if target != owner:
                found.add((owner, target))
    return found


def test_every_module_of_the_package_has_import_rules():
    owners = {_owner(p) for p in SRC.rglob("*.py")}
    assert owners <= set(ALLOWED), f"add rules for {sorted(owners - set(ALLOWED))}"


def test_no_forbidden_import_appears():
    forbidden = sorted((a, b) for a, b in edges() if b not in ALLOWED.get(a, set()))
    assert not forbidden, f"imports that run against docs/design.md's rules: {forbidden}"


def test_the_rules_themselves_have_no_circle():
    seen: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"circle in ALLOWED: {' -> '.join((*path, name))}"
        if seen.get(name):
            return
        for target in ALLOWED[name]:
            visit(target, (*path, name))
        seen[name] = 1

    for name in ALLOWED:
        visit(name, ())


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """The nodes of a file, less the `if TYPE_CHECKING:` blocks (never run)."""
    skipped = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    return [n for n in ast.walk(tree) if id(n) not in skipped]


def _file_graph() -> dict[str, set[str]]:
    files = {str(p.relative_to(SRC)): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import submodule` depends on the submodule, not on what
                # pkg/__init__.py re-exports.
                base = node.module.replace(".", "/").removeprefix("selftaught/")
                mods = [
                    f"{node.module}.{a.name}"
                    if f"{base}/{a.name}.py" in files or f"{base}/{a.name}/__init__.py" in files
                    else node.module
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            else:
                continue
            for mod in mods:
                parts = mod.split(".")
                if parts[0] != "selftaught":
                    continue
                rel = "/".join(parts[1:])
                for cand in (f"{rel}.py", f"{rel}/__init__.py"):
                    if cand in files and cand != name:
                        graph[name].add(cand)
    return graph


def _circles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one file (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: set[frozenset[str]] = set()

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.add(frozenset(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return out


def test_no_file_level_import_circle():
    found = _circles(_file_graph())
    assert not found, f"import circles: {sorted(sorted(c) for c in found)}"


_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA)\s")
_EXECUTE = {"execute", "executemany", "executescript"}


def _speaks_sql(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "sqlite3" for a in node.names
        ):
            found.append(f"line {node.lineno}: imports sqlite3")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlite3":
            found.append(f"line {node.lineno}: imports from sqlite3")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _EXECUTE
        ):
            found.append(f"line {node.lineno}: calls .{node.func.attr}(")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _SQL.match(node.value):
                found.append(f"line {node.lineno}: SQL text {node.value[:40]!r}")
    return found


def test_only_store_speaks_sql():
    """store/ owns the records' schema and every query (docs/design.md, "The records"):
    no other module imports sqlite3, calls `.execute(`, or holds SQL text."""
    found = {
        str(path.relative_to(SRC)): hits
        for path in SRC.rglob("*.py")
        if _owner(path) != "store" and (hits := _speaks_sql(ast.parse(path.read_text(), str(path))))
    }
    assert not found, f"SQL outside store/; add a query to store/ instead: {found}"


def test_the_sql_check_sees_each_kind_of_sql():
    src = (
        "import sqlite3\nfrom sqlite3 import Row\ndb.execute('x')\n"
        "store.query('SELECT * FROM events')\n"
    )
    assert len(_speaks_sql(ast.parse(src))) == 4
