"""Argument checks shared by every class of htmagent: one message format for every bad value.

Each check names the argument, what was expected and what arrived, raises ``TypeError`` for a value of the wrong
kind and ``ValueError`` for a value of the right kind out of range, and returns the value converted to a plain
Python type, so a constructor reads ``self.size = check_int(size, "size", low=1)``. Booleans are never accepted as
numbers (``True`` is an ``int`` to Python, never a size to a user).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["NotLearnedError", "is_int", "is_real", "check_int", "check_real", "check_bool", "describe"]


class NotLearnedError(RuntimeError, ValueError):
    """A model was asked to recognize, play or predict before it learned anything (one error for every class).

    A ``RuntimeError``: the call is well formed, the object is not ready for it. It is also a ``ValueError``, which
    some classes raised for this before, so code written against either keeps catching it.
    """


def describe(value: Any) -> str:
    """``"<type> <repr>"`` of a received value, shortened for long values (for the ``got ...`` part of a message)."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for booleans and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """True for Python and NumPy real numbers (integers included), False for booleans and everything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    return f"{'<' if high_open else '<='} {high}"


def check_int(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]`` (either bound may be ``None``).

    Raises:
        TypeError: ``value`` is not an integer (booleans included).
        ValueError: ``value`` is out of range.
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {_range_text(low, high, False, False)}, got {value}")
    return value


def check_real(value: Any, name: str, low: float | None = None, high: float | None = None, *,
               low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """Return ``value`` as a ``float`` if it is a real number within the given bounds.

    Args:
        value: the value to check (a Python or NumPy number, or a 0-d numeric array).
        name: the argument's name, as the user wrote it.
        low, high: bounds (``None`` = unbounded on that side).
        low_open, high_open: exclude the bound itself.
        finite: reject NaN and infinities (NaN is always rejected where a bound is given).

    Raises:
        TypeError: ``value`` is not a real number (booleans included).
        ValueError: ``value`` is NaN, infinite (with ``finite``) or out of range.
    """
    if not is_real(value):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {describe(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got an integer too large for a float") from None
    if finite and not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if math.isnan(x) and (low is not None or high is not None):
        raise ValueError(f"{name} must be {_range_text(low, high, low_open, high_open)}, got nan")
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {_range_text(low, high, low_open, high_open)}, got {x}")
    return x


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a ``bool`` if it is a Python or NumPy boolean.

    Raises:
        TypeError: ``value`` is anything else (``0`` and ``1`` included).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {describe(value)}")
    return bool(value)
