"""Program text, on the ground floor: parsing it, taking it out of model responses,
checking it before it runs, analysing it statically (`selftaught.program.analysis`) and
diffing two programs in bounded time (`selftaught.program.diff`).
Nothing here runs a program; sandbox workers import it too (`extract_code` is their
`helpers.extract_code`)."""

from selftaught.program.check import Problem, check_program, find_problem, required_arity
from selftaught.program.extract import defines, extract_code, extract_one, parse

__all__ = [
    "Problem",
    "check_program",
    "defines",
    "extract_code",
    "extract_one",
    "find_problem",
    "parse",
    "required_arity",
]
