"""Checked loading of saved states: validate every field first, change the target last.

A saved state (a dict from ``state_dict()`` or a file from ``save()``) is untrusted input: a file may be truncated,
corrupted or another class's, and the numba kernels index the arrays it holds without bounds checks. The helpers
here read a field only after checking its type, dtype, shape and range, and raise :class:`StateError` (a
``ValueError``) naming the field and what was expected. :func:`atomic_load` wraps a ``load_state_dict`` so that any
failure leaves the target exactly as it was, and turns whatever a malformed state made the loader raise into one
:class:`StateError`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from htmagent.serialization import StateError

__all__ = ["StateError", "as_int", "as_real", "atomic_load", "check_format", "naming_file", "get", "get_array",
           "get_bool", "get_int", "get_real", "get_str"]

_MISSING = object()


def get(state: Mapping, key: str, where: str = "") -> Any:
    """``state[key]``; a missing key (or a state that is not a mapping) is a :class:`StateError`."""
    if not isinstance(state, Mapping):
        raise StateError(f"{where or 'state'} must be a mapping of fields, got {type(state).__name__}")
    value = state.get(key, _MISSING)
    if value is _MISSING:
        raise StateError(f"{where}{key} is missing", field=f"{where}{key}")
    return value


def check_format(state: Mapping, expected: str) -> None:
    """``state["format"]`` must be ``expected`` (the class's format tag)."""
    if get(state, "format") != expected:
        raise StateError(f"format must be {expected!r}, got {state.get('format')!r}", field="format")


def get_array(state: Mapping, key: str, dtype: Any, shape: Sequence[int | None] | None = None,
              low: float | None = None, high: float | None = None, where: str = "", ndim: int | None = None,
              high_open: bool = False, sorted_unique: bool = False) -> np.ndarray:
    """A copy of the array ``state[key]``, after checking it.

    Args:
        state: the state (or a part of it).
        key: the field.
        dtype: the exact dtype it must have (no silent casting: a file with another dtype was not written by us).
        shape: the exact shape; ``None`` entries match any length.
        low, high: every element must lie in ``[low, high]`` (``[low, high)`` with ``high_open``); floats must
            also be finite unless both bounds are ``None``.
        where: the path of ``state`` in the whole state, for messages (``"sp/"``).
        ndim: the number of dimensions, when ``shape`` is not given.
        sorted_unique: the values along the last axis must be strictly increasing (a set of cells, or rows of
            them).
    """
    name = f"{where}{key}"
    value = get(state, key, where)
    if not isinstance(value, np.ndarray):
        raise StateError(f"{name} must be an array, got {type(value).__name__}", field=name)
    if value.dtype != np.dtype(dtype):
        raise StateError(f"{name} must have dtype {np.dtype(dtype)}, got {value.dtype}", field=name)
    if shape is not None:
        shape = tuple(shape)
        if value.ndim != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
            shown = tuple("*" if s is None else s for s in shape)
            raise StateError(f"{name} must have shape {shown}, got {value.shape}", field=name)
    elif ndim is not None and value.ndim != ndim:
        raise StateError(f"{name} must have {ndim} dimension(s), got shape {value.shape}", field=name)
    if value.size:
        if value.dtype.kind == "f" and (low is not None or high is not None) and not np.isfinite(value).all():
            raise StateError(f"{name} must be finite, got a NaN or infinity", field=name)
        if low is not None and value.min() < low:
            raise StateError(f"{name} must be >= {low}, got {value.min()}", field=name)
        if high is not None and (value.max() >= high if high_open else value.max() > high):
            bound = f"< {high}" if high_open else f"<= {high}"
            raise StateError(f"{name} must be {bound}, got {value.max()}", field=name)
    if sorted_unique and value.shape[-1:] and value.shape[-1] > 1 and not np.all(np.diff(value, axis=-1) > 0):
        what = "sorted without repeats" if value.ndim == 1 else "rows of sorted, distinct values"
        raise StateError(f"{name} must be {what}", field=name)
    return value.copy()


def as_int(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """A saved value as an int (a Python or NumPy integer, not a bool), checked against ``[low, high]``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise StateError(f"{name} must be an integer, got {value!r}", field=name)
    if (low is not None and value < low) or (high is not None and value > high):
        raise StateError(f"{name} must be in [{low}, {high}], got {value}", field=name)
    return int(value)


def as_real(value: Any, name: str, low: float | None = None, high: float | None = None,
            allow_nan: bool = False) -> float:
    """A saved value as a finite float (``allow_nan``: NaN too), checked against ``[low, high]``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise StateError(f"{name} must be a number, got {value!r}", field=name)
    value = float(value)
    if math.isnan(value):
        if allow_nan:
            return value
        raise StateError(f"{name} must be a number, got nan", field=name)
    if math.isinf(value) or (low is not None and value < low) or (high is not None and value > high):
        raise StateError(f"{name} must be a finite number in [{low}, {high}], got {value}", field=name)
    return value


def get_int(state: Mapping, key: str, low: int | None = None, high: int | None = None, where: str = "") -> int:
    """``state[key]`` checked by :func:`as_int`."""
    return as_int(get(state, key, where), f"{where}{key}", low, high)


def get_real(state: Mapping, key: str, low: float | None = None, high: float | None = None, where: str = "",
             allow_nan: bool = False) -> float:
    """``state[key]`` checked by :func:`as_real`."""
    return as_real(get(state, key, where), f"{where}{key}", low, high, allow_nan)


def get_bool(state: Mapping, key: str, where: str = "") -> bool:
    """``state[key]`` as a bool (``True``/``False`` only)."""
    value = get(state, key, where)
    if not isinstance(value, (bool, np.bool_)):
        raise StateError(f"{where}{key} must be true or false, got {value!r}", field=f"{where}{key}")
    return bool(value)


def get_str(state: Mapping, key: str, choices: Sequence[str] | None = None, where: str = "") -> str:
    """``state[key]`` as a string, one of ``choices`` if given."""
    value = get(state, key, where)
    if not isinstance(value, str) or (choices is not None and value not in choices):
        expected = f"one of {list(choices)}" if choices is not None else "a string"
        raise StateError(f"{where}{key} must be {expected}, got {value!r}", field=f"{where}{key}")
    return value


# -------------------------------------------------------------------------------------------------- atomic loading
def _snapshot(obj: Any, depth: int = 0) -> dict:
    """What :func:`_restore` needs to put ``obj`` back: its attributes, copies of its arrays, and the states of the
    stateful objects it holds (which a loader may have changed in place)."""
    attrs = dict(vars(obj))
    arrays = {k: v.copy() for k, v in attrs.items() if isinstance(v, np.ndarray)}
    children = {}
    if depth < 4:
        for k, v in attrs.items():
            if hasattr(v, "load_state_dict") and hasattr(v, "__dict__") and not isinstance(v, type):
                children[k] = _snapshot(v, depth + 1)
    return {"attrs": attrs, "arrays": arrays, "children": children, "obj": obj}


def _restore(snap: dict) -> None:
    obj = snap["obj"]
    vars(obj).clear()
    vars(obj).update(snap["attrs"])
    for key, copy in snap["arrays"].items():
        current = snap["attrs"][key]
        if current.shape == copy.shape and current.dtype == copy.dtype and current.flags.writeable:
            if not np.array_equal(current, copy, equal_nan=True):
                current[...] = copy
        else:
            vars(obj)[key] = copy
    for child in snap["children"].values():
        _restore(child)


def atomic_load(load: Callable) -> Callable:
    """Decorate a ``load_state_dict(self, state, ...)``: on any error the object is restored to what it was, and an
    error that is not already a :class:`StateError` becomes one (naming the class and the cause)."""

    @functools.wraps(load)
    def wrapper(self: Any, state: Any, *args: Any, **kwargs: Any) -> Any:
        snap = _snapshot(self) if hasattr(self, "__dict__") and vars(self) else None
        try:
            return load(self, state, *args, **kwargs)
        except BaseException as error:
            if snap is not None:
                _restore(snap)
            else:
                vars(self).clear()
            if isinstance(error, StateError) or not isinstance(error, Exception):
                raise
            if isinstance(error, KeyError):
                raise StateError(f"{type(self).__name__} state: field {error.args[0]!r} is missing",
                                 field=str(error.args[0])) from error
            raise StateError(f"{type(self).__name__} state is malformed: {type(error).__name__}: {error}") from error

    return wrapper


@contextlib.contextmanager
def naming_file(path: str | os.PathLike):
    """Inside the block, a :class:`StateError` (or the ``ValueError``/``KeyError``/``TypeError``/``IndexError`` of
    a builder given a malformed state) leaves as a :class:`StateError` naming ``path``."""
    try:
        yield
    except StateError as error:
        raise error.with_path(path) from error.__cause__
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise StateError(f"not a valid state ({type(error).__name__}: {error})", os.fspath(path)) from error
