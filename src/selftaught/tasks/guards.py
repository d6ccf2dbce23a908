"""Strict readers for solution outputs: anything malformed becomes None, never an exception.

Outputs arrive from the sandbox as plain JSON values (lists, numbers, strings, None);
numpy arrays have already become nested lists.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def is_number(x: Any) -> bool:
    """A finite int or float (bools count: True and False are 1 and 0)."""
    if isinstance(x, bool | int):
        return True
    return isinstance(x, float) and math.isfinite(x)


def as_list(output: Any) -> list | None:
    if isinstance(output, np.ndarray):
        output = output.tolist()
    if isinstance(output, tuple):
        output = list(output)
    return output if isinstance(output, list) else None


def binary_vector(output: Any, length: int, *, column_ok: bool = False) -> np.ndarray | None:
    """`output` as a 0/1 int vector of exactly `length` entries, else None.

    Entries must be finite numbers equal to 0 or 1. With `column_ok`, a column
    ([[0], [1], ...]) is read as a vector.
    """
    items = as_list(output)
    if items is None or len(items) != length:
        return None
    if column_ok and items and all(isinstance(x, list) and len(x) == 1 for x in items):
        items = [x[0] for x in items]
    if not all(is_number(x) and x in (0, 1) for x in items):
        return None
    return np.asarray([int(x) for x in items], dtype=np.int64)


def int_vector(output: Any, length: int) -> list[int] | None:
    """`output` as a list of exactly `length` ints (integral floats allowed), else None."""
    items = as_list(output)
    if items is None or len(items) != length:
        return None
    if not all(is_number(x) and float(x).is_integer() for x in items):
        return None
    return [int(x) for x in items]
