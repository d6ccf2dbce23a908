"""Sandboxed execution of model-written programs: fork server, workers, limits, broker."""

from selftaught.sandbox.limits import Limits
from selftaught.sandbox.results import Broker, ImproveResult, InstanceResult, SolveResult
from selftaught.sandbox.runner import Sandbox
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
]
