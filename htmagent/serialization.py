"""Portable save/load for stateful objects: one ``.npz`` file holding arrays plus a JSON document.

Every stateful class in htmagent exposes ``state_dict()`` (a nested dict whose leaves are NumPy arrays or
JSON-serialisable values) and ``load_state_dict(state)``. :func:`save_state` and :func:`load_state` turn such a dict
into a file and back without pickling any code object, so a file can be read by any later version that understands its
``format`` entry, and by plain ``numpy.load`` for inspection.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

__all__ = ["save_state", "load_state", "flatten_state", "unflatten_state"]

_JSON_KEY = "__json__"
_SEP = "/"


def flatten_state(state: dict, prefix: str = "") -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Split a nested state dict into flat ``{path: array}`` and ``{path: json_value}`` dicts."""
    arrays: dict[str, np.ndarray] = {}
    values: dict[str, Any] = {}
    for key, value in state.items():
        if not isinstance(key, str) or _SEP in key:
            raise ValueError(f"state keys must be strings without '{_SEP}', got {key!r}")
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not _is_rng_state(value):
            sub_arrays, sub_values = flatten_state(value, path + _SEP)
            arrays.update(sub_arrays)
            values.update(sub_values)
            if not value:
                values[path] = {}
        elif isinstance(value, np.ndarray):
            arrays[path] = value
        else:
            values[path] = _to_json(value)
    return arrays, values


def unflatten_state(arrays: dict[str, np.ndarray], values: dict[str, Any]) -> dict:
    """Inverse of :func:`flatten_state`."""
    state: dict = {}
    for path, value in list(values.items()) + list(arrays.items()):
        parts = path.split(_SEP)
        node = state
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return state


def save_state(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` (see module docstring) to ``path`` as an uncompressed ``.npz`` file.

    Args:
        path: destination file. NumPy appends ``.npz`` if the name has no such suffix; we write exactly ``path``.
        state: nested dict of arrays and JSON-serialisable values.
    """
    arrays, values = flatten_state(state)
    if _JSON_KEY in arrays:
        raise ValueError(f"state may not contain the reserved key {_JSON_KEY!r}")
    payload = dict(arrays)
    payload[_JSON_KEY] = np.frombuffer(json.dumps(values).encode("utf-8"), dtype=np.uint8)
    with open(os.fspath(path), "wb") as handle:
        np.savez(handle, **payload)


def load_state(path: str | os.PathLike) -> dict:
    """Read a file written by :func:`save_state` and return the nested state dict."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != _JSON_KEY}
        if _JSON_KEY not in data.files:
            raise ValueError(f"{os.fspath(path)!r} is not an htmagent state file (no {_JSON_KEY!r} entry)")
        values = json.loads(bytes(data[_JSON_KEY]).decode("utf-8"))
    return unflatten_state(arrays, values)


def _is_rng_state(value: dict) -> bool:
    return "bit_generator" in value and "state" in value


def _to_json(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    json.dumps(value)
    return value
