"""The errors live in one module, selftaught/errors.py, in one documented hierarchy."""

import ast
from pathlib import Path

import selftaught
import selftaught.errors as errors

SRC = Path(selftaught.__file__).parent
ELSEWHERE = {
    "ProtocolError": "sandbox/protocol.py",  # the sandbox's wire, never leaves it
    "TooLarge": "sandbox/protocol.py",
    "StorageFull": "store/faults.py",  # beside the disk checks that raise it
    "PlanError": "experiment/plan.py",  # a UserError carrying every problem of a plan
    "ViewError": "view/data.py",  # a page's message and HTTP status, never leaves the view
}
"""Besides these, only private (`_Name`) exceptions that carry control flow inside one
module are defined outside errors.py."""


def _exception_classes() -> dict[str, str]:
    """Every class in src/ that derives, by name, from an exception."""
    found: dict[str, tuple[str, list[str]]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                found[node.name] = (str(path.relative_to(SRC)), bases)
    known = {"Exception", "BaseException"}
    grew = True
    while grew:
        grew = False
        for name, (_, bases) in found.items():
            if name not in known and known.intersection(bases):
                known.add(name)
                grew = True
    return {name: found[name][0] for name in known if name in found}


def test_every_exception_is_defined_in_errors_py_or_listed_with_its_reason():
    outside = {
        name: where
        for name, where in _exception_classes().items()
        if where != "errors.py" and not name.startswith("_")
    }
    assert outside == ELSEWHERE


def test_the_docstring_names_every_error_of_the_module():
    names = [
        n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, BaseException)
    ]
    for name in names:
        assert name in (errors.__doc__ or ""), name
    assert "StorageFull" in (errors.__doc__ or "")


def test_no_near_twins_remain():
    text = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    assert "class BudgetExceeded" not in text
    assert text.count("class LanguageModelError") == text.count("class BudgetExhausted") == 1
