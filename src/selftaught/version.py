"""The package's version, on the ground floor so that any floor may record it
(pyproject.toml reads it from here)."""

__version__ = "0.1.0"
