"""Sandboxed execution of model-written programs: fork server, workers, limits, broker."""

from selftaught.sandbox.limits import Limits
from selftaught.sandbox.runner import (
    Broker,
    ImproveResult,
    InstanceResult,
    Sandbox,
    SolveResult,
    check_program,
)

__all__ = [
    "Broker",
    "ImproveResult",
    "InstanceResult",
    "Limits",
    "Sandbox",
    "SolveResult",
    "check_program",
]
