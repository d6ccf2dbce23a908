"""Tables, plots and reports of runs; static analysis of the improvers a model wrote.

Light to import: matplotlib and pygments load only when a report is written.
"""

from typing import Any

from selftaught.report.table import iteration_table

__all__ = ["analyze_source", "iteration_table", "write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from selftaught.report.build import write_report

        return write_report
    if name == "analyze_source":
        from selftaught.program.analysis import analyze_source

        return analyze_source
    raise AttributeError(name)
