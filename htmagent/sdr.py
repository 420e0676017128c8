"""Sparse distributed representations (SDRs) and their statistics.

An SDR is a fixed-size binary vector with few active bits. htmagent stores it as the sorted, unique ``int32`` indices
of its active bits (``.sparse``) and builds the dense 0/1 view (``.dense``) on demand, as htm.core does. An SDR is
immutable: every operation returns a new one, so layers can hand their outputs around without copying.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

import numpy as np

from htmagent._rng import make_rng
from htmagent._validation import is_int

__all__ = ["SDR", "SDRMetrics", "as_sdr"]

_MAX_SIZE = 2**31 - 1


def _normalise_shape(size: int | Sequence[int], name: str = "size") -> tuple[int, ...]:
    if is_int(size):
        shape = (int(size),)
    elif isinstance(size, (tuple, list)) and size and all(
        is_int(d) for d in size
    ):
        shape = tuple(int(d) for d in size)
    else:
        raise TypeError(f"{name} must be a positive int or a tuple of positive ints, got {size!r}")
    if any(d <= 0 for d in shape):
        raise ValueError(f"{name} must have positive dimensions, got {shape}")
    if math.prod(shape) > _MAX_SIZE:
        raise ValueError(f"{name} must have at most {_MAX_SIZE} bits in total (int32 indices), got {shape}")
    return shape


class SDR:
    """An immutable sparse distributed representation.

    Args:
        size: number of bits, or a shape tuple (the SDR is then a flattened array of that shape, row-major).
        sparse: indices of the active bits (flat indices). They must be unique and within ``[0, size)``; any order
            is accepted, they are stored sorted. Defaults to no active bit.
        dense: instead of ``sparse``, the bits as a 0/1 (or boolean) array of ``size`` elements (as
            :meth:`from_dense`).

    Raises:
        TypeError: if ``size`` is not an int or a tuple of ints, or ``sparse`` holds non-integers.
        ValueError: if an index is out of range or repeated, or both ``sparse`` and ``dense`` are given.

    Example:
        >>> a = SDR(10, [1, 3, 5])
        >>> b = SDR.from_dense([0, 1, 0, 1, 0, 0, 0, 0, 0, 1])
        >>> a.overlap(b)
        2
    """

    __slots__ = ("_shape", "_size", "_sparse", "_dense")

    def __init__(self, size: int | Sequence[int], sparse: Iterable[int] | np.ndarray | None = None, *,
                 dense: Sequence | np.ndarray | None = None):
        shape = _normalise_shape(size)
        n = int(np.prod(shape))
        if dense is not None:
            if sparse is not None:
                raise ValueError("give the active bits once: sparse (indices) or dense (a 0/1 array), got both")
            sparse = SDR.from_dense(dense, shape).sparse
        if sparse is None:
            indices = np.empty(0, dtype=np.int32)
        else:
            raw = np.asarray(sparse)
            if raw.size == 0:
                indices = np.empty(0, dtype=np.int32)
            else:
                if raw.ndim != 1:
                    raise ValueError(f"sparse must be a 1-D sequence of indices, got an array of shape {raw.shape}")
                if not np.issubdtype(raw.dtype, np.integer):
                    raise TypeError(f"sparse must hold integer indices, got dtype {raw.dtype}")
                lo, hi = int(raw.min()), int(raw.max())
                if lo < 0 or hi >= n:
                    bad = lo if lo < 0 else hi
                    raise ValueError(f"sparse index out of range: expected indices in [0, {n}), got {bad}")
                indices = np.sort(raw.astype(np.int32, copy=True))
                if indices.size > 1 and np.any(indices[1:] == indices[:-1]):
                    dup = int(indices[1:][indices[1:] == indices[:-1]][0])
                    raise ValueError(f"sparse indices must be unique, got index {dup} more than once")
        indices.flags.writeable = False
        self._shape = shape
        self._size = n
        self._sparse = indices
        self._dense = None

    @classmethod
    def _trusted(cls, size: int, sorted_unique: np.ndarray) -> "SDR":
        """Wrap already sorted, unique, in-range int32 indices without checks (internal hot paths)."""
        sdr = object.__new__(cls)
        sdr._shape = (size,)
        sdr._size = size
        if sorted_unique.dtype != np.int32:
            sorted_unique = sorted_unique.astype(np.int32)
        sorted_unique.flags.writeable = False
        sdr._sparse = sorted_unique
        sdr._dense = None
        return sdr

    @classmethod
    def from_sparse(cls, size: int | Sequence[int], sparse: Iterable[int] | np.ndarray) -> "SDR":
        """Build an SDR from active indices (same as the constructor)."""
        return cls(size, sparse)

    @classmethod
    def from_dense(cls, dense: Sequence | np.ndarray, shape: int | Sequence[int] | None = None) -> "SDR":
        """Build an SDR from a dense 0/1 (or boolean) array.

        Args:
            dense: array whose non-zero entries are the active bits; its shape becomes the SDR's shape unless
                ``shape`` is given.
            shape: optional shape; ``dense`` must then have exactly that many elements.

        Raises:
            ValueError: if ``dense`` is empty, holds NaN, or does not match ``shape``.
        """
        arr = np.asarray(dense)
        if arr.ndim == 0:
            raise ValueError(f"dense must be an array with at least one dimension, got the scalar {arr!r}")
        if arr.size == 0:
            raise ValueError("dense must have at least one element, got an empty array")
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise ValueError("dense must not contain NaN")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"dense must be a numeric or boolean array, got dtype {arr.dtype}")
        target = arr.shape if shape is None else _normalise_shape(shape, "shape")
        if int(np.prod(target)) != arr.size:
            raise ValueError(f"dense has {arr.size} elements, expected {int(np.prod(target))} for shape {target}")
        indices = np.flatnonzero(arr.reshape(-1)).astype(np.int32)
        sdr = cls._trusted(arr.size, indices)
        sdr._shape = tuple(int(d) for d in target)
        return sdr

    @classmethod
    def random(
        cls,
        size: int | Sequence[int],
        sparsity: float,
        seed: int | np.random.Generator | None = None,
    ) -> "SDR":
        """Draw an SDR with ``round(size * sparsity)`` active bits chosen uniformly without replacement.

        Args:
            size: number of bits or shape.
            sparsity: fraction of active bits, in ``[0, 1]``.
            seed: seed or generator (see :func:`htmagent._rng.make_rng`).
        """
        shape = _normalise_shape(size)
        if not isinstance(sparsity, numbers.Real) or not 0.0 <= float(sparsity) <= 1.0:
            raise ValueError(f"sparsity must be a number in [0, 1], got {sparsity!r}")
        n = int(np.prod(shape))
        rng = make_rng(seed)
        k = int(round(n * float(sparsity)))
        indices = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int32)
        sdr = cls._trusted(n, indices)
        sdr._shape = shape
        return sdr

    @property
    def size(self) -> int:
        """Total number of bits."""
        return self._size

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense view."""
        return self._shape

    @property
    def sparse(self) -> np.ndarray:
        """Sorted unique ``int32`` indices of the active bits (read-only)."""
        return self._sparse

    @property
    def dense(self) -> np.ndarray:
        """Dense ``uint8`` 0/1 view, shaped like ``shape`` (read-only, built once on first use)."""
        if self._dense is None:
            dense = np.zeros(self._size, dtype=np.uint8)
            dense[self._sparse] = 1
            dense = dense.reshape(self._shape)
            dense.flags.writeable = False
            self._dense = dense
        return self._dense

    @property
    def coordinates(self) -> tuple[np.ndarray, ...]:
        """Active bits as a tuple of index arrays, one per dimension (like ``np.nonzero`` on the dense view)."""
        return np.unravel_index(self._sparse, self._shape)

    @property
    def num_active(self) -> int:
        """Number of active bits."""
        return int(self._sparse.size)

    @property
    def sparsity(self) -> float:
        """Fraction of active bits."""
        return self._sparse.size / self._size

    def _check_same_size(self, other: "SDR", name: str = "other") -> None:
        if not isinstance(other, SDR):
            raise TypeError(f"{name} must be an SDR, got {type(other).__name__}")
        if other._size != self._size:
            raise ValueError(f"{name} must have size {self._size}, got {other._size}")

    def overlap(self, other: "SDR") -> int:
        """Number of bits active in both SDRs."""
        self._check_same_size(other)
        return int(np.intersect1d(self._sparse, other._sparse, assume_unique=True).size)

    def union(self, *others: "SDR") -> "SDR":
        """Bits active in this SDR or any of ``others``."""
        for other in others:
            self._check_same_size(other)
        merged = np.unique(np.concatenate([self._sparse] + [o._sparse for o in others])).astype(np.int32)
        result = SDR._trusted(self._size, merged)
        result._shape = self._shape
        return result

    def intersection(self, *others: "SDR") -> "SDR":
        """Bits active in this SDR and in every one of ``others``."""
        current = self._sparse
        for other in others:
            self._check_same_size(other)
            current = np.intersect1d(current, other._sparse, assume_unique=True)
        result = SDR._trusted(self._size, current.astype(np.int32))
        result._shape = self._shape
        return result

    def reshape(self, shape: int | Sequence[int]) -> "SDR":
        """Same active bits with another shape of the same total size."""
        new_shape = _normalise_shape(shape, "shape")
        if int(np.prod(new_shape)) != self._size:
            raise ValueError(f"shape must have {self._size} elements in total, got {new_shape}")
        result = SDR._trusted(self._size, self._sparse)
        result._shape = new_shape
        return result

    @staticmethod
    def concatenate(sdrs: Sequence["SDR"]) -> "SDR":
        """Join SDRs end to end: the result's size is the sum of the sizes (a flat SDR)."""
        if not sdrs:
            raise ValueError("sdrs must contain at least one SDR, got an empty sequence")
        parts, offset = [], 0
        for i, sdr in enumerate(sdrs):
            if not isinstance(sdr, SDR):
                raise TypeError(f"sdrs[{i}] must be an SDR, got {type(sdr).__name__}")
            parts.append(sdr._sparse.astype(np.int64) + offset)
            offset += sdr._size
        return SDR._trusted(offset, np.concatenate(parts).astype(np.int32))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SDR):
            return NotImplemented
        # Equality compares size and active bits, not shape: a reshaped SDR holds the same code.
        return self._size == other._size and np.array_equal(self._sparse, other._sparse)

    def __hash__(self) -> int:
        return hash((self._size, self._sparse.tobytes()))

    def __len__(self) -> int:
        return self._size

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, numbers.Integral):
            return False
        pos = np.searchsorted(self._sparse, index)
        return bool(pos < self._sparse.size and self._sparse[pos] == index)

    def __repr__(self) -> str:
        shape = self._shape[0] if len(self._shape) == 1 else self._shape
        shown = self._sparse[:12].tolist()
        more = ", ..." if self._sparse.size > 12 else ""
        body = ", ".join(str(i) for i in shown)
        return f"SDR({shape}, active={self.num_active}, sparse=[{body}{more}])"


def as_sdr(value: SDR | np.ndarray | Sequence[int], size: int, name: str) -> SDR:
    """Validate ``value`` as an SDR of ``size`` bits, accepting an SDR or a sequence of active indices.

    Plain index arrays must already be sorted and unique (as htm.core requires); this is the check every layer's
    public ``compute`` runs on its inputs.

    Raises:
        ValueError: if the size differs, an index is out of range, or the indices are unsorted or repeated.
        TypeError: for other input types.
    """
    if isinstance(value, SDR):
        if value.size != size:
            raise ValueError(f"{name} must be an SDR of size {size}, got size {value.size}")
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D active indices, got shape {arr.shape}")
        if arr.size > 1 and np.any(np.diff(arr.astype(np.int64)) <= 0):
            raise ValueError(f"{name} indices must be sorted and unique, got {arr[:10].tolist()}...")
        if arr.size and (arr[0] < 0 or arr[-1] >= size):
            raise ValueError(f"{name} indices must lie in [0, {size}), got min {arr.min()} and max {arr.max()}")
        return SDR._trusted(size, arr.astype(np.int32))
    raise TypeError(f"{name} must be an SDR or a sequence of active indices, got {type(value).__name__}")


class SDRMetrics:
    """Running statistics of a stream of SDRs from any stage (encoder, spatial pooler, temporal memory, ...).

    Tracks, with exponential moving averages over ``period`` steps (as htm.core's ``Metrics``):

    - **sparsity**: fraction of active bits per step (min, mean, max),
    - **activation frequency**: how often each bit is active (min, mean, max over bits),
    - **entropy**: binary entropy of the activation frequencies, normalised to ``[0, 1]`` by the entropy of a code
      that uses every bit equally often at the same sparsity (1.0 = perfectly even usage),
    - **overlap**: fraction of the previous step's active bits still active (min, mean, max).

    Args:
        size: number of bits of the SDRs that will be added.
        period: averaging window, in steps (>= 1).

    Example:
        >>> m = SDRMetrics(100)
        >>> for t in range(10):
        ...     m.add(SDR(100, [t, t + 1, t + 2]))
        >>> print(m)  # doctest: +SKIP
    """

    def __init__(self, size: int, period: int = 1000):
        if not isinstance(size, numbers.Integral) or size <= 0:
            raise ValueError(f"size must be a positive int, got {size!r}")
        if not isinstance(period, numbers.Integral) or period < 1:
            raise ValueError(f"period must be an int >= 1, got {period!r}")
        self.size = int(size)
        self.period = int(period)
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.steps = 0
        self._frequency = np.zeros(self.size, dtype=np.float64)
        self._sparsity = [math.inf, 0.0, -math.inf]
        self._overlap = [math.inf, 0.0, -math.inf]
        self._previous: np.ndarray | None = None
        self._overlap_steps = 0

    def add(self, sdr: SDR | np.ndarray | Sequence[int]) -> None:
        """Add one step's SDR (an SDR of the right size, or its sorted active indices)."""
        sdr = as_sdr(sdr, self.size, "sdr")
        self.steps += 1
        alpha = 1.0 / min(self.steps, self.period)
        self._frequency *= 1.0 - alpha
        self._frequency[sdr.sparse] += alpha
        s = sdr.sparsity
        lo, mean, hi = self._sparsity
        self._sparsity = [min(lo, s), mean + alpha * (s - mean), max(hi, s)]
        if self._previous is not None:
            self._overlap_steps += 1
            beta = 1.0 / min(self._overlap_steps, self.period)
            denom = max(self._previous.size, 1)
            o = np.intersect1d(self._previous, sdr.sparse, assume_unique=True).size / denom
            lo, mean, hi = self._overlap
            self._overlap = [min(lo, o), mean + beta * (o - mean), max(hi, o)]
        self._previous = sdr.sparse

    @property
    def sparsity(self) -> tuple[float, float, float]:
        """(min, mean, max) fraction of active bits."""
        return tuple(self._sparsity) if self.steps else (0.0, 0.0, 0.0)

    @property
    def activation_frequency(self) -> np.ndarray:
        """Per-bit moving-average activation frequency."""
        return self._frequency.copy()

    @property
    def overlap(self) -> tuple[float, float, float]:
        """(min, mean, max) fraction of the previous step's active bits that stay active."""
        return tuple(self._overlap) if self._overlap_steps else (0.0, 0.0, 0.0)

    @property
    def entropy(self) -> float:
        """Normalised binary entropy of the activation frequencies (1.0 = every bit used equally)."""
        if not self.steps:
            return 0.0
        f = np.clip(self._frequency, 1e-12, 1 - 1e-12)
        h = -(f * np.log2(f) + (1 - f) * np.log2(1 - f))
        mean_f = float(np.clip(self._frequency.mean(), 1e-12, 1 - 1e-12))
        h_max = -(mean_f * math.log2(mean_f) + (1 - mean_f) * math.log2(1 - mean_f))
        return float(h.mean() / h_max) if h_max > 0 else 0.0

    def summary(self) -> dict[str, float]:
        """The statistics as a flat dict (for tables and logging)."""
        freq = self._frequency
        return {
            "steps": float(self.steps),
            "sparsity_min": self.sparsity[0],
            "sparsity_mean": self.sparsity[1],
            "sparsity_max": self.sparsity[2],
            "frequency_min": float(freq.min()),
            "frequency_mean": float(freq.mean()),
            "frequency_max": float(freq.max()),
            "entropy": self.entropy,
            "overlap_min": self.overlap[0],
            "overlap_mean": self.overlap[1],
            "overlap_max": self.overlap[2],
        }

    def __str__(self) -> str:
        s = self.summary()
        return (
            f"SDR metrics over {int(s['steps'])} steps ({self.size} bits)\n"
            f"  sparsity        min {s['sparsity_min']:.4f}  mean {s['sparsity_mean']:.4f}  max {s['sparsity_max']:.4f}\n"
            f"  activation freq min {s['frequency_min']:.4f}  mean {s['frequency_mean']:.4f}  max {s['frequency_max']:.4f}\n"
            f"  entropy         {s['entropy']:.4f}\n"
            f"  overlap         min {s['overlap_min']:.4f}  mean {s['overlap_mean']:.4f}  max {s['overlap_max']:.4f}"
        )
