"""Portable save/load for stateful objects: one ``.npz`` file holding arrays plus a JSON document.

Every stateful class in htmagent exposes ``state_dict()`` (a nested dict whose leaves are NumPy arrays or
JSON-serialisable values) and ``load_state_dict(state)``. :func:`save_state` and :func:`load_state` turn such a dict
into a file and back without pickling any code object, so a file can be read by any later version that understands its
``format`` entry, and by plain ``numpy.load`` for inspection.

Every file carries the version of this container format (:data:`FILE_VERSION`) and a CRC-32 of its arrays and
fields, so that a file changed after it was written (a flipped bit, a partial copy) is refused before anything
reads it; a file from a newer htmagent is refused with a message that says so. Anything that is not a readable
state file (truncated, empty, random bytes, object arrays, a broken JSON document) raises :class:`StateError`, a
``ValueError`` that names the file; the classes' ``load_state_dict`` raise the same error, naming the field and what
was expected, and leave their object unchanged.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any

import numpy as np

__all__ = ["FILE_VERSION", "StateError", "save_state", "load_state", "flatten_state", "unflatten_state"]

_JSON_KEY = "__json__"
_VERSION_KEY = "__htmagent_file__"
_CRC_KEY = "__crc32__"
_SEP = "/"
#: Version of the file container written by :func:`save_state` (files of htmagent 0.1 have none: version 0).
FILE_VERSION = 1


class StateError(ValueError):
    """A saved state that cannot be loaded: the message names the file (when there is one), the field and what was
    expected. The object being loaded into is left unchanged."""

    def __init__(self, message: str, path: str | None = None, field: str | None = None) -> None:
        self.path = path
        self.field = field
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)

    def with_path(self, path: str | os.PathLike) -> "StateError":
        """The same error naming ``path`` (unchanged if it names a file already)."""
        if self.path is not None:
            return self
        error = StateError(self.detail, os.fspath(path), self.field)
        error.__cause__ = self.__cause__
        return error


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
    values = {**values, _VERSION_KEY: FILE_VERSION}
    values[_CRC_KEY] = _checksum(arrays, values)
    payload[_JSON_KEY] = np.frombuffer(json.dumps(values).encode("utf-8"), dtype=np.uint8)
    with open(os.fspath(path), "wb") as handle:
        np.savez(handle, **payload)


def load_state(path: str | os.PathLike) -> dict:
    """Read a file written by :func:`save_state` and return the nested state dict.

    Raises:
        FileNotFoundError / PermissionError / IsADirectoryError: the file cannot be opened.
        StateError: the file is not a readable htmagent state file, or was written by a newer version.
    """
    name = os.fspath(path)
    with open(name, "rb"):
        pass  # a missing or unreadable file keeps its own error
    try:
        with np.load(name, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise StateError("not an htmagent state file (a bare array, not an .npz archive)")
            if _JSON_KEY not in data.files:
                raise StateError(f"not an htmagent state file (no {_JSON_KEY!r} entry)")
            arrays = {key: data[key] for key in data.files if key != _JSON_KEY}
            raw = data[_JSON_KEY]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise StateError(f"{_JSON_KEY} must be a uint8 vector, got {raw.dtype} of shape {raw.shape}")
            values = json.loads(bytes(raw).decode("utf-8"))
    except StateError as error:
        raise error.with_path(name) from error.__cause__
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, UnicodeDecodeError, RuntimeError) as error:
        raise StateError(f"not a readable htmagent state file ({type(error).__name__}: {error})", name) from error
    if not isinstance(values, dict) or any(not isinstance(k, str) for k in values):
        raise StateError(f"{_JSON_KEY} must be a JSON object of fields", name)
    crc = values.pop(_CRC_KEY, None)
    if crc is not None and crc != _checksum(arrays, values):
        raise StateError("the file was changed after it was written (its CRC-32 does not match): refusing it", name)
    version = values.pop(_VERSION_KEY, 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise StateError(f"{_VERSION_KEY} must be a non-negative integer, got {version!r}", name)
    if version > FILE_VERSION:
        raise StateError(f"written by a newer htmagent (file format {version}; this version reads up to "
                         f"{FILE_VERSION}): upgrade htmagent to load it", name)
    try:
        return unflatten_state(arrays, values)
    except (AttributeError, TypeError) as error:  # a path that is both a value and a folder
        raise StateError(f"the fields are inconsistent ({error})", name) from error


def _checksum(arrays: dict[str, np.ndarray], values: dict[str, Any]) -> int:
    """CRC-32 of the fields (as sorted JSON) and of every array's name, dtype, shape and bytes."""
    crc = zlib.crc32(json.dumps(values, sort_keys=True).encode("utf-8"))
    for key in sorted(arrays):
        array = np.asarray(arrays[key])
        crc = zlib.crc32(f"{key}|{array.dtype.str}|{array.shape}".encode("utf-8"), crc)
        if array.dtype.hasobject:
            continue  # refused by the loader anyway; never hashed
        crc = zlib.crc32(np.ascontiguousarray(array).view(np.uint8).reshape(-1).data if array.size else b"", crc)
    return crc


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
