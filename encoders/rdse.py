"""Random distributed scalar encoder (RDSE): unbounded scalars -> SDRs by hashing buckets."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from htmagent._numba import kernel
from htmagent._validation import check_int, check_real
from htmagent.sdr import SDR

from .base import (
    Encoder,
    check_seed,
    mix64,
    seed_hash,
)

__all__ = ["RDSE", "rdse_kernel"]

# Buckets are kept well inside int64 so that ``bucket + slot`` and ``bucket * active_bits`` never overflow, and
# within 2**52 so that every bucket of a float value is an exactly representable integer.
_MAX_BUCKET = 2**52


@kernel
def rdse_kernel(out, buckets, size, key_seed, category):
    """Fill ``out[r, s]`` with the active bit of slot ``s`` for bucket ``buckets[r]``.

    The ``size`` bits are split into ``w = out.shape[1]`` contiguous slots. Slot ``s`` holds exactly one active
    bit, chosen by hashing a *key*. For a scalar bucket ``b`` the keys are the ``w`` consecutive integers
    ``b .. b + w - 1`` and key ``k`` always lives in slot ``k mod w``: moving one bucket up replaces one key and keeps
    the other ``w - 1`` (and their bits). For categories each bucket owns the keys ``b * w .. b * w + w - 1``, which
    no other bucket shares. Because slots are disjoint ranges in ascending order, each row comes out sorted and
    unique.

    Args:
        out: ``(n, w)`` int32 output.
        buckets: ``(n,)`` int64 bucket indices.
        size: number of bits.
        key_seed: uint64 hash of the encoder's seed.
        category: ``True`` for non-overlapping category buckets.
    """
    w = out.shape[1]
    for r in range(buckets.shape[0]):
        b = buckets[r]
        for s in range(w):
            if category:
                key = b * w + s
            else:
                key = b + (s - b) % w
            lo = (s * size) // w
            width = (s + 1) * size // w - lo
            h = mix64(np.uint64(key) ^ key_seed)
            out[r, s] = lo + np.int64(h % np.uint64(width))


class RDSE(Encoder):
    """Random distributed scalar encoder: a population of neurons with random, overlapping receptive fields.

    The number line is cut into buckets of width ``resolution``. Each bucket activates ``active_bits`` neurons, one
    per slot (a contiguous group of ``size / active_bits`` neurons), chosen by hashing a key with the seed.
    Neighbouring buckets share all but one key, so the codes of values ``d`` buckets apart share ``active_bits - d``
    bits (plus chance collisions) and codes more than ``radius = active_bits * resolution`` apart share only chance
    bits: the expected chance overlap is ``active_bits**2 / size`` (one bit per slot, uniform inside the slot).

    Nothing is stored per bucket, so there is no minimum or maximum: any finite value can be encoded, and two
    encoders with the same parameters and seed give identical codes. Exactly ``active_bits`` bits are active in
    every code (slots never collide).

    Args:
        size: number of output bits.
        sparsity: fraction of active bits (give exactly one of ``sparsity`` and ``active_bits``).
        active_bits: number of active bits.
        resolution: bucket width: values closer than this may share a code (give exactly one of ``resolution`` and
            ``radius``).
        radius: distance beyond which two values share only chance bits (``= active_bits * resolution``).
        category: encode non-negative and negative integers as unrelated categories (no overlap between
            consecutive integers); values must then be whole numbers and ``resolution``/``radius`` are not used.
        seed: int (or Generator, consumed once; ``None`` for fresh entropy) that selects the hash.

    Example:
        >>> enc = RDSE(1000, sparsity=0.02, resolution=1.0, seed=1)
        >>> enc.encode(10.0).overlap(enc.encode(11.0))
        19
    """

    def __init__(
        self,
        size: int,
        sparsity: float | None = None,
        active_bits: int | None = None,
        resolution: float | None = None,
        radius: float | None = None,
        category: bool = False,
        seed: int | np.random.Generator | None = 0,
    ):
        size = check_int(size, "size", 1)
        if (sparsity is None) == (active_bits is None):
            raise ValueError(
                f"give exactly one of sparsity and active_bits, got sparsity={sparsity!r}, active_bits={active_bits!r}"
            )
        if active_bits is None:
            s = check_real(sparsity, "sparsity")
            if not 0.0 < s <= 1.0:
                raise ValueError(f"sparsity must be in (0, 1], got {s}")
            active_bits = max(1, int(round(size * s)))
        active_bits = check_int(active_bits, "active_bits", 1)
        if active_bits > size:
            raise ValueError(f"active_bits must be <= size ({size}), got {active_bits}")
        if not isinstance(category, (bool, np.bool_)):
            raise TypeError(f"category must be a bool, got {type(category).__name__}")
        if category:
            if resolution is not None or radius is not None:
                raise ValueError(
                    f"category=True takes no resolution or radius, got resolution={resolution!r}, radius={radius!r}"
                )
            resolution = 1.0
        else:
            if (resolution is None) == (radius is None):
                raise ValueError(
                    f"give exactly one of resolution and radius, got resolution={resolution!r}, radius={radius!r}"
                )
            if resolution is None:
                r = check_real(radius, "radius")
                if r <= 0:
                    raise ValueError(f"radius must be > 0, got {r}")
                resolution = r / active_bits
            resolution = check_real(resolution, "resolution")
            if resolution <= 0:
                raise ValueError(f"resolution must be > 0, got {resolution}")
        self._size = size
        self._active_bits = active_bits
        self._resolution = float(resolution)
        self._category = bool(category)
        self._seed = check_seed(seed)
        self._key_seed = seed_hash(self._seed, salt=0x5D5E)
        self._max_bucket = min(_MAX_BUCKET, 2**62 // active_bits) if self._category else _MAX_BUCKET

    @property
    def sparsity(self) -> float:
        """Fraction of active bits."""
        return self._active_bits / self._size

    @property
    def resolution(self) -> float:
        """Bucket width."""
        return self._resolution

    @property
    def radius(self) -> float:
        """Distance at which codes stop sharing more than chance bits."""
        return self._resolution * self._active_bits

    @property
    def category(self) -> bool:
        """Whether integers are encoded as unrelated categories."""
        return self._category

    @property
    def seed(self) -> int:
        """The hash seed (an int, also when the encoder was built from a Generator)."""
        return self._seed

    @property
    def chance_overlap(self) -> float:
        """Expected overlap of two unrelated codes: ``active_bits**2 / size`` for equal slots."""
        w, n = self._active_bits, self._size
        # Slot s has width c_s; two independent uniform picks in it collide with probability 1 / c_s.
        widths = np.diff((np.arange(w + 1) * n) // w)
        return float(np.sum(1.0 / widths))

    def bucket(self, value: float) -> int:
        """Bucket index of ``value`` (validated like :meth:`encode`)."""
        return int(self._buckets(np.asarray([check_real(value, "value")], dtype=np.float64))[0])

    def _buckets(self, values: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(values)):
            bad = values[~np.isfinite(values)][0]
            raise ValueError(f"value must be finite, got {bad}")
        if self._category:
            if np.any(values != np.round(values)):
                bad = values[values != np.round(values)][0]
                raise ValueError(f"value must be a whole number when category=True, got {bad}")
            scaled = values
        else:
            with np.errstate(over="ignore"):  # a quotient past float range is infinite, and refused below
                scaled = np.floor(values / self._resolution)
        if np.any(np.abs(scaled) >= self._max_bucket):
            bad = values[np.abs(scaled) >= self._max_bucket][0]
            raise ValueError(
                f"value must lie within +-{self._max_bucket} buckets ({self._max_bucket * self._resolution:g}), "
                f"got {bad}"
            )
        return scaled.astype(np.int64)

    def encode(self, value: float) -> SDR:
        """Encode one finite number.

        Raises:
            TypeError: if ``value`` is not a real number.
            ValueError: if ``value`` is NaN, infinite, too large, or (category mode) not a whole number.
        """
        x = check_real(value, "value")
        if self._category:
            buckets = self._buckets(np.array([x]))
        else:
            # Scalar fast path (this is called once per time step): same rule as _buckets, without array overhead.
            q = x / self._resolution
            if not abs(q) < self._max_bucket:  # also a quotient that overflowed to infinity
                raise ValueError(
                    f"value must lie within +-{self._max_bucket} buckets ({self._max_bucket * self._resolution:g}), "
                    f"got {x}"
                )
            b = math.floor(q)
            if abs(b) >= self._max_bucket:
                raise ValueError(
                    f"value must lie within +-{self._max_bucket} buckets ({self._max_bucket * self._resolution:g}), "
                    f"got {x}"
                )
            # A stream revisits the same buckets over and over: each bucket's (immutable) code is hashed once.
            cache = self.__dict__.setdefault("_codes", {})
            code = cache.get(b)
            if code is None:
                if len(cache) >= 65536:
                    cache.clear()
                out = np.empty((1, self._active_bits), dtype=np.int32)
                rdse_kernel(out, np.array([b], dtype=np.int64), self._size, self._key_seed, self._category)
                code = cache[b] = SDR._trusted(self._size, out[0])
            return code
        out = np.empty((1, self._active_bits), dtype=np.int32)
        rdse_kernel(out, buckets, self._size, self._key_seed, self._category)
        return SDR._trusted(self._size, out[0])

    def encode_indices(self, values: Iterable[float] | np.ndarray) -> np.ndarray:
        """Encode many values at once: the fast path.

        Args:
            values: 1-D array-like of finite numbers.

        Returns:
            ``(len(values), active_bits)`` int32 array; row ``i`` is the sorted active indices of value ``i``.
        """
        arr = np.asarray(values)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"values must be an array of real numbers, got dtype {arr.dtype}")
        if arr.ndim != 1:
            raise ValueError(f"values must be 1-D, got shape {arr.shape}")
        buckets = self._buckets(arr.astype(np.float64, copy=False))
        out = np.empty((buckets.shape[0], self._active_bits), dtype=np.int32)
        rdse_kernel(out, buckets, self._size, self._key_seed, self._category)
        return out

    def encode_many(self, values: Iterable[float] | np.ndarray) -> list[SDR]:
        """Encode many values at once, returning one SDR per value (see :meth:`encode_indices`)."""
        rows = self.encode_indices(values)
        return [SDR._trusted(self._size, row) for row in rows]

    def __repr__(self) -> str:
        if self._category:
            detail = "category=True"
        else:
            detail = f"resolution={self._resolution:g}"
        return f"RDSE(size={self._size}, active_bits={self._active_bits}, {detail}, seed={self._seed})"

