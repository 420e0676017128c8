"""Scalar encoder: a bounded number -> a contiguous run of active bits."""

from __future__ import annotations

import math

import numpy as np

from htmagent._validation import check_int, check_real
from htmagent.sdr import SDR

from .base import Encoder

__all__ = ["ScalarEncoder"]


class ScalarEncoder(Encoder):
    """A line of neurons with overlapping, evenly spaced receptive fields over ``[minimum, maximum]``.

    A value activates a contiguous run of ``active_bits`` neurons; moving the value by one ``resolution`` moves the
    run by one neuron, so codes of values ``d`` resolutions apart share ``active_bits - d`` bits and codes more than
    ``radius = active_bits * resolution`` apart share none. With ``periodic=True`` the line closes into a ring
    (angles, hours of the day): the run wraps around the end, ``maximum`` is the same point as ``minimum``, and any
    finite value is reduced modulo the period.

    Sizing: give exactly one of ``size``, ``resolution`` and ``radius``, and exactly one of ``active_bits`` and
    ``sparsity`` (``sparsity`` only together with ``size``). For a non-periodic encoder there are
    ``size - active_bits + 1`` buckets and ``resolution = (maximum - minimum) / (buckets - 1)``; for a periodic one
    there are ``size`` buckets and ``resolution = (maximum - minimum) / size``.

    Args:
        minimum: lowest value.
        maximum: highest value (> ``minimum``).
        size: number of output bits.
        active_bits: number of active bits in every code.
        sparsity: fraction of active bits (alternative to ``active_bits``).
        resolution: value step that moves the code by one bit (alternative to ``size``).
        radius: value distance beyond which codes do not overlap (alternative to ``size``).
        clip_input: clip out-of-range values to the range instead of raising (non-periodic only).
        periodic: wrap the range into a ring.

    Example:
        >>> enc = ScalarEncoder(0.0, 100.0, size=111, active_bits=11)  # resolution 1.0
        >>> enc.encode(50.0).overlap(enc.encode(51.0))
        10
    """

    def __init__(
        self,
        minimum: float,
        maximum: float,
        size: int | None = None,
        active_bits: int | None = None,
        *,
        sparsity: float | None = None,
        resolution: float | None = None,
        radius: float | None = None,
        clip_input: bool = False,
        periodic: bool = False,
    ):
        lo = check_real(minimum, "minimum")
        hi = check_real(maximum, "maximum")
        if hi <= lo:
            raise ValueError(f"maximum must be > minimum ({lo}), got {hi}")
        for name, flag in (("clip_input", clip_input), ("periodic", periodic)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        if periodic and clip_input:
            raise ValueError("clip_input must be False when periodic=True (a ring has no ends), got clip_input=True")
        sizing = {"size": size, "resolution": resolution, "radius": radius}
        given = [k for k, v in sizing.items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of size, resolution and radius, got {given or 'none'}")
        if (active_bits is None) == (sparsity is None):
            raise ValueError(
                f"give exactly one of active_bits and sparsity, got active_bits={active_bits!r}, sparsity={sparsity!r}"
            )
        if sparsity is not None:
            if size is None:
                raise ValueError(f"sparsity needs size (not {given[0]}); give active_bits instead")
            size = check_int(size, "size", 1)
            s = check_real(sparsity, "sparsity")
            if not 0.0 < s < 1.0:
                raise ValueError(f"sparsity must be in (0, 1), got {s}")
            active_bits = max(1, int(round(size * s)))
        w = check_int(active_bits, "active_bits", 1)
        span = hi - lo
        if not math.isfinite(span):
            raise ValueError(f"maximum - minimum must be a finite range, got {hi} - {lo}")
        if size is None:
            if radius is not None:
                r = check_real(radius, "radius")
                if r <= 0:
                    raise ValueError(f"radius must be > 0, got {r}")
                resolution = r / w
            res = check_real(resolution, "resolution")
            if res <= 0:
                raise ValueError(f"resolution must be > 0, got {res}")
            ratio = span / res
            if not ratio < 2**31:
                raise ValueError(f"resolution must give at most 2**31 buckets over the range ({span:g}), got {res}")
            buckets = max(1, int(math.ceil(ratio - 1e-9)))
            size = buckets if periodic else buckets + w
        size = check_int(size, "size", 1, 2**31 - 1)
        if periodic:
            if w >= size:
                raise ValueError(f"active_bits must be < size ({size}) for a periodic encoder, got {w}")
        elif w > size:
            raise ValueError(f"active_bits must be <= size ({size}), got {w}")
        self._min, self._max = lo, hi
        self._size = size
        self._active_bits = w
        self._periodic = bool(periodic)
        self._clip = bool(clip_input)
        self._num_buckets = size if periodic else size - w + 1

    @property
    def minimum(self) -> float:
        """Lowest value of the range."""
        return self._min

    @property
    def maximum(self) -> float:
        """Highest value of the range."""
        return self._max

    @property
    def periodic(self) -> bool:
        """Whether the range wraps into a ring."""
        return self._periodic

    @property
    def clip_input(self) -> bool:
        """Whether out-of-range values are clipped instead of rejected."""
        return self._clip

    @property
    def num_buckets(self) -> int:
        """Number of distinct codes."""
        return self._num_buckets

    @property
    def resolution(self) -> float:
        """Value step that moves the code by one bit."""
        span = self._max - self._min
        if self._periodic:
            return span / self._num_buckets
        return span / max(self._num_buckets - 1, 1)

    @property
    def radius(self) -> float:
        """Value distance beyond which codes do not overlap."""
        return self.resolution * self._active_bits

    def bucket(self, value: float) -> int:
        """Index of the first active bit for ``value`` (validated like :meth:`encode`)."""
        x = check_real(value, "value")
        span = self._max - self._min
        if self._periodic:
            phase = ((x - self._min) / span) % 1.0
            return int(math.floor(phase * self._num_buckets)) % self._num_buckets
        if x < self._min or x > self._max:
            if not self._clip:
                raise ValueError(
                    f"value must be in [{self._min}, {self._max}] (or pass clip_input=True), got {x}"
                )
            x = min(max(x, self._min), self._max)
        return int(round((x - self._min) / span * (self._num_buckets - 1)))

    def encode(self, value: float) -> SDR:
        """Encode one number.

        Raises:
            TypeError: if ``value`` is not a real number.
            ValueError: if ``value`` is NaN, infinite, or out of range without ``clip_input``.
        """
        start = self.bucket(value)
        bits = np.arange(start, start + self._active_bits, dtype=np.int32)
        if self._periodic:
            bits %= self._size
            bits.sort()
        return SDR._trusted(self._size, bits)

    def __repr__(self) -> str:
        extra = ", periodic=True" if self._periodic else (", clip_input=True" if self._clip else "")
        return (
            f"ScalarEncoder(minimum={self._min:g}, maximum={self._max:g}, size={self._size}, "
            f"active_bits={self._active_bits}{extra})"
        )
