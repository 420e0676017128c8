"""Online SDR classifier: predicts a category (a value bucket) some steps ahead from an SDR of active cells.

A single layer of "readout neurons", one per category and per prediction horizon, each connected to every input
cell. The readout of a pattern is a softmax over the summed weights of its active cells; learning is the delta rule
(online softmax regression): when the true category of step ``t`` arrives, the weights from the cells that were
active ``n`` steps earlier move by ``alpha * (target - predicted)``. This is htm.core's ``Predictor`` (NuPIC's
SDRClassifier). :class:`ScalarPredictor` adds the bucketing of a scalar and the decoding of a predicted value.
"""

from __future__ import annotations

import math
import os
from collections import deque
from typing import Iterable, Sequence

import numpy as np

from htmagent._state import (StateError, as_int, as_real, atomic_load, check_format, get, get_array, get_int,
                             get_real, naming_file)
from htmagent._validation import is_int, is_real
from htmagent.kernels.predictor import predictor_infer, predictor_learn
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state

__all__ = ["Predictor", "ScalarPredictor"]


def _check_steps(steps: Iterable[int]) -> tuple[int, ...]:
    try:
        values = tuple(steps)
    except TypeError:
        raise TypeError(f"steps must be a sequence of ints, got {steps!r}") from None
    if not values or any(not is_int(s) or s < 0 for s in values):
        raise ValueError(f"steps must be a non-empty sequence of ints >= 0, got {steps!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"steps must not repeat, got {values}")
    return tuple(sorted(int(s) for s in values))


class Predictor:
    """Online softmax regression from an SDR to a category, for several horizons (see the module docstring).

    Args:
        steps: prediction horizons; 0 classifies the current pattern, 1 predicts the next step's category, ...
        alpha: learning rate (htm.core hotgym uses 0.1; smaller is slower but steadier).
        input_size: size of the input SDRs. None: taken from the first pattern (which must then be an SDR).

    Example:
        >>> p = Predictor(steps=[1], alpha=0.3, input_size=20)
        >>> for t in range(40):
        ...     p.learn(t, SDR(20, [t % 4 * 5, t % 4 * 5 + 1]), t % 4)  # category t % 4 after pattern t % 4
        >>> int(np.argmax(p.infer(SDR(20, [0, 1]))[1]))
        1
    """

    _FORMAT = "htmagent.Predictor/1"

    def __init__(self, steps: Sequence[int] = (1,), alpha: float = 0.001, input_size: int | None = None):
        self.steps = _check_steps(steps)
        if not is_real(alpha) or not 0.0 < float(alpha) <= 1.0:
            raise ValueError(f"alpha must be a number in (0, 1], got {alpha!r}")
        self.alpha = float(alpha)
        if input_size is not None and (
            not is_int(input_size) or input_size < 1
        ):
            raise ValueError(f"input_size must be a positive int or None, got {input_size!r}")
        self.input_size = None if input_size is None else int(input_size)
        self.num_categories = 0
        self._weights: dict[int, np.ndarray] = {}
        if self.input_size is not None:
            self._allocate(self.input_size, 4)
        self.reset()

    def _allocate(self, input_size: int, capacity: int) -> None:
        self.input_size = input_size
        self._weights = {n: np.zeros((input_size, capacity), dtype=np.float32) for n in self.steps}

    def reset(self) -> None:
        """Forget the pattern history (a break in the sequence); the learned weights stay."""
        self._history: deque[tuple[int, np.ndarray]] = deque(maxlen=max(self.steps) + 1)

    def _pattern(self, pattern: SDR | np.ndarray | Sequence[int]) -> np.ndarray:
        if self.input_size is None:
            if not isinstance(pattern, SDR):
                raise ValueError(
                    f"pattern must be an SDR while input_size is unknown (first call), got {type(pattern).__name__}"
                )
            return pattern.sparse
        return as_sdr(pattern, self.input_size, "pattern").sparse

    def infer(self, pattern: SDR | np.ndarray | Sequence[int]) -> dict[int, np.ndarray]:
        """Probabilities of every known category, for each horizon in ``steps``.

        Returns:
            ``{step: float64 array of num_categories probabilities}`` (empty arrays before any learning).
        """
        active = self._pattern(pattern)
        if self.input_size is None:
            return {n: np.zeros(0) for n in self.steps}
        return {n: predictor_infer(self._weights[n], active, self.num_categories) for n in self.steps}

    def learn(self, record_num: int, pattern: SDR | np.ndarray | Sequence[int], bucket: int | Sequence[int]) -> None:
        """Learn that the category of record ``record_num`` is ``bucket`` and remember ``pattern`` for later steps.

        For each horizon ``n``, the pattern seen at record ``record_num - n`` (if remembered) is trained towards
        ``bucket``. Several buckets share the target probability equally.

        Args:
            record_num: increasing record index (gaps are allowed: they just skip the missing pairs).
            pattern: this record's SDR (e.g. the temporal memory's active cells).
            bucket: a category index >= 0, or a non-empty sequence of them.

        Raises:
            ValueError: for a record number that does not increase, a wrong pattern, or a negative bucket.
        """
        if not is_int(record_num):
            raise TypeError(f"record_num must be an int, got {record_num!r}")
        if self._history and record_num <= self._history[-1][0]:
            raise ValueError(f"record_num must be > the previous one ({self._history[-1][0]}), got {record_num}")
        if isinstance(pattern, SDR) and self.input_size is not None and pattern.size != self.input_size:
            raise ValueError(f"pattern must be an SDR of size {self.input_size}, got size {pattern.size}")
        active = self._pattern(pattern)
        buckets = np.atleast_1d(np.asarray(bucket))
        if buckets.size == 0 or not np.issubdtype(buckets.dtype, np.integer) or buckets.ndim != 1:
            raise ValueError(f"bucket must be an int >= 0 or a non-empty sequence of them, got {bucket!r}")
        if buckets.min() < 0:
            raise ValueError(f"bucket must be >= 0, got {bucket!r}")
        if self.input_size is None:
            self._allocate(pattern.size, 4)
        needed = int(buckets.max()) + 1
        if needed > self.num_categories:
            self._grow(needed)
        self._history.append((int(record_num), active.copy()))
        target = np.zeros(self.num_categories)
        np.add.at(target, buckets, 1.0 / buckets.size)
        for past_record, past_active in self._history:
            n = int(record_num) - past_record
            if n in self._weights:
                w = self._weights[n]
                probs = predictor_infer(w, past_active, self.num_categories)
                predictor_learn(w, past_active, target - probs, self.alpha)

    def _grow(self, needed: int) -> None:
        capacity = next(iter(self._weights.values())).shape[1]
        if needed > capacity:
            new_capacity = max(needed, 2 * capacity)
            for n, w in self._weights.items():
                grown = np.zeros((w.shape[0], new_capacity), dtype=np.float32)
                grown[:, : w.shape[1]] = w
                self._weights[n] = grown
        self.num_categories = needed

    def weights(self, step: int) -> np.ndarray:
        """The ``(input_size, num_categories)`` weights of horizon ``step`` (a copy)."""
        if step not in self._weights:
            raise ValueError(f"step must be one of {self.steps}, got {step!r}")
        return self._weights[step][:, : self.num_categories].copy()

    def state_dict(self) -> dict:
        """Everything needed to resume exactly (weights and pattern history)."""
        return {
            "format": self._FORMAT,
            "steps": list(self.steps),
            "alpha": self.alpha,
            "input_size": self.input_size,
            "num_categories": self.num_categories,
            "weights": {str(n): w[:, : self.num_categories].copy() for n, w in self._weights.items()},
            "history_records": [r for r, _ in self._history],
            "history_patterns": {str(i): p.copy() for i, (_, p) in enumerate(self._history)},
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (checked first: a malformed state raises
        :class:`~htmagent.serialization.StateError` and leaves the predictor as it was)."""
        check_format(state, self._FORMAT)
        try:
            fresh = Predictor(get(state, "steps"), get(state, "alpha"), get(state, "input_size"))
        except (TypeError, ValueError) as error:
            raise StateError(f"steps, alpha and input_size are not a valid Predictor's: {error}",
                             field="steps") from error
        num = get_int(state, "num_categories", 0, 2**31 - 1)
        weights = get(state, "weights")
        if fresh.input_size is not None:
            fresh._allocate(fresh.input_size, max(num, 4))
            for n in fresh.steps:
                w = get_array(weights, str(n), np.float32, (fresh.input_size, num), -1e30, 1e30, "weights/")
                fresh._weights[n][:, :num] = w
        elif num:
            raise StateError(f"num_categories must be 0 before the input size is known, got {num}",
                             field="num_categories")
        fresh.num_categories = num
        patterns = state.get("history_patterns", {})
        records = get(state, "history_records")
        if not isinstance(records, list) or len(records) > max(fresh.steps) + 1:
            raise StateError(f"history_records must be a list of at most {max(fresh.steps) + 1} records",
                             field="history_records")
        for i, record in enumerate(records):
            as_int(record, f"history_records[{i}]", 0)
            high = fresh.input_size if fresh.input_size is not None else 2**31 - 1
            pattern = get_array(patterns, str(i), np.int32, (None,), 0, high, "history_patterns/", high_open=True)
            fresh._history.append((int(record), pattern))
        self.__dict__.update(fresh.__dict__)

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Predictor":
        """Read a predictor written by :meth:`save`."""
        obj = cls.__new__(cls)
        with naming_file(path):
            obj.load_state_dict(load_state(path))
        return obj


class ScalarPredictor:
    """Predict a scalar value some steps ahead: buckets of width ``resolution`` as categories, decoded back.

    A value's bucket is ``floor(value / resolution)`` (any sign); each bucket seen gets a category of the underlying
    :class:`Predictor` and remembers the mean of the values that fell in it. :meth:`predict` decodes each horizon's
    distribution either as the most likely bucket's mean value (``"mode"``) or as the probability-weighted mean of
    the bucket means (``"mean"``).

    Args:
        steps, alpha, input_size: see :class:`Predictor`.
        resolution: bucket width (> 0); it bounds the decoding precision.

    Example:
        >>> sp = ScalarPredictor(steps=[1], alpha=0.3, resolution=1.0, input_size=10)
        >>> for t in range(60):
        ...     sp.learn(t, SDR(10, [t % 2]), 5.0 if t % 2 else 2.0)
        >>> round(sp.predict(SDR(10, [0]))[1])
        5
    """

    _FORMAT = "htmagent.ScalarPredictor/1"

    def __init__(self, steps: Sequence[int] = (1,), alpha: float = 0.001, resolution: float = 1.0,
                 input_size: int | None = None):
        if not is_real(resolution) or not (
            math.isfinite(resolution) and resolution > 0
        ):
            raise ValueError(f"resolution must be a finite number > 0, got {resolution!r}")
        self.resolution = float(resolution)
        self.predictor = Predictor(steps, alpha, input_size)
        self._keys: list[int] = []
        self._category: dict[int, int] = {}
        self._sums: list[float] = []
        self._counts: list[int] = []

    @property
    def steps(self) -> tuple[int, ...]:
        """Prediction horizons."""
        return self.predictor.steps

    def bucket_values(self) -> np.ndarray:
        """Mean value seen in each category's bucket, in category order."""
        return np.array(self._sums) / np.maximum(np.array(self._counts), 1)

    def learn(self, record_num: int, pattern: SDR | np.ndarray | Sequence[int], value: float) -> None:
        """Learn that record ``record_num`` has ``value`` (finite), with ``pattern`` as its SDR."""
        if not is_real(value) or not math.isfinite(value):
            raise ValueError(f"value must be a finite number, got {value!r}")
        key = math.floor(float(value) / self.resolution)
        category = self._category.get(key, len(self._keys))
        self.predictor.learn(record_num, pattern, category)
        if category == len(self._keys):
            self._category[key] = category
            self._keys.append(key)
            self._sums.append(0.0)
            self._counts.append(0)
        self._sums[category] += float(value)
        self._counts[category] += 1

    def infer(self, pattern: SDR | np.ndarray | Sequence[int]) -> dict[int, np.ndarray]:
        """Probabilities over the known buckets (in category order, see :meth:`bucket_values`)."""
        return self.predictor.infer(pattern)

    def predict(self, pattern: SDR | np.ndarray | Sequence[int], decode: str = "mode") -> dict[int, float]:
        """Decoded value for each horizon (NaN before any learning).

        Args:
            pattern: the current SDR.
            decode: ``"mode"`` (most likely bucket's mean value) or ``"mean"`` (expected value).
        """
        if decode not in ("mode", "mean"):
            raise ValueError(f"decode must be 'mode' or 'mean', got {decode!r}")
        values = self.bucket_values()
        out = {}
        for n, probs in self.infer(pattern).items():
            if probs.size == 0:
                out[n] = math.nan
            elif decode == "mode":
                out[n] = float(values[int(np.argmax(probs))])
            else:
                out[n] = float(np.dot(probs, values))
        return out

    def reset(self) -> None:
        """Forget the pattern history (a break in the sequence)."""
        self.predictor.reset()

    def state_dict(self) -> dict:
        """Everything needed to resume exactly."""
        return {
            "format": self._FORMAT,
            "resolution": self.resolution,
            "keys": list(self._keys),
            "sums": list(self._sums),
            "counts": list(self._counts),
            "predictor": self.predictor.state_dict(),
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (checked first; see :meth:`Predictor.load_state_dict`)."""
        check_format(state, self._FORMAT)
        predictor = Predictor.__new__(Predictor)
        predictor.load_state_dict(get(state, "predictor"))
        resolution = get_real(state, "resolution", 0.0)
        if resolution <= 0:
            raise StateError(f"resolution must be > 0, got {resolution}", field="resolution")
        keys, sums, counts = get(state, "keys"), get(state, "sums"), get(state, "counts")
        n = predictor.num_categories
        if not all(isinstance(v, list) and len(v) == n for v in (keys, sums, counts)):
            raise StateError(f"keys, sums and counts must be lists of num_categories ({n}) entries", field="keys")
        keys = [as_int(k, f"keys[{i}]") for i, k in enumerate(keys)]
        if len(set(keys)) != n:
            raise StateError("keys must not repeat", field="keys")
        sums = [as_real(v, f"sums[{i}]") for i, v in enumerate(sums)]
        counts = [as_int(v, f"counts[{i}]", 0) for i, v in enumerate(counts)]
        self.resolution = resolution
        self.predictor = predictor
        self._keys = keys
        self._category = {k: i for i, k in enumerate(self._keys)}
        self._sums = sums
        self._counts = counts

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ScalarPredictor":
        """Read a predictor written by :meth:`save`."""
        obj = cls.__new__(cls)
        with naming_file(path):
            obj.load_state_dict(load_state(path))
        return obj
