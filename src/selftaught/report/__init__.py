"""Tables, plots and reports of runs."""

from selftaught.report.table import iteration_table

__all__ = ["iteration_table"]
