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
from selftaught.sandbox.spec import SandboxLike, SandboxSpec

__all__ = [
    "Broker",
    "ImproveResult",
    "InstanceResult",
    "Limits",
    "Sandbox",
    "SandboxLike",
    "SandboxSpec",
    "SolveResult",
    "check_program",
]
