"""selftaught: STOP, the Self-Taught Optimizer, sandboxed and recorded."""

__version__ = "0.1.0"

__all__ = ["__version__"]
