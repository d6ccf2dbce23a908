"""Experiments: the paper's results section for the models you have, in one command.

    import selftaught
    exp = selftaught.experiment("examples/experiment.toml")      # run a plan
    exp = selftaught.experiment.resume(exp.path)                 # continue one
    summary = selftaught.experiment.summary(exp.path)            # its numbers

A plan (docs/experiment.md) names models, seeds, settings and parts; the experiment runs
one ordinary STOP run directory per model and seed, transfer and the sandbox experiment
per model, and writes one report comparing the models with intervals.

This package is callable: `selftaught.experiment(plan, ...)` is `run(plan, ...)`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from selftaught.experiment.layout import Cell, ExperimentDir, Status
from selftaught.experiment.plan import Plan, PlanError, load_plan, read_plan
from selftaught.experiment.progress import ExperimentProgress, RichExperimentProgress
from selftaught.experiment.runner import experiment, resume
from selftaught.experiment.summary import ExperimentSummary, read_summary

run = experiment
summary = read_summary

__all__ = [
    "Cell",
    "ExperimentDir",
    "ExperimentProgress",
    "ExperimentSummary",
    "Plan",
    "PlanError",
    "RichExperimentProgress",
    "Status",
    "experiment",
    "load_plan",
    "read_plan",
    "resume",
    "run",
    "summary",
]


class _CallableModule(types.ModuleType):
    """`selftaught.experiment` is both this package and the function that runs a plan:
    importing a submodule binds the package as the attribute of `selftaught`, so the
    package itself answers the call."""

    def __call__(self, *args: Any, **kwargs: Any) -> ExperimentDir:
        return experiment(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
