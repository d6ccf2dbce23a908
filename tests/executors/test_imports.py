"""The executors import each other one way only: `ray_executor` builds on `base`."""

import ast
from pathlib import Path

import selftaught.executors

FOLDER = Path(selftaught.executors.__file__).parent


def _imports(module: str) -> set[str]:
    tree = ast.parse((FOLDER / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "selftaught.executors."
        ):
            found.add(node.module.rsplit(".", 1)[1])
    return found


def test_no_module_of_executors_imports_one_that_imports_it_back():
    modules = [p.stem for p in FOLDER.glob("*.py") if p.stem != "__init__"]
    graph = {m: _imports(m) for m in modules}
    for module, targets in graph.items():
        for target in targets:
            assert module not in graph.get(target, set()), f"{module} <-> {target}"
