"""Coordinate encoder: N-D integer points -> SDRs in which nearby points overlap (after NuPIC's design)."""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from htmagent._numba import kernel
from htmagent._validation import check_int
from htmagent.sdr import SDR

from .base import Encoder, check_seed, mix64, seed_hash

__all__ = ["CoordinateEncoder", "coordinate_kernel"]

_MAX_NEIGHBOURHOOD = 1_000_000
_MAX_COORD = 2**60


@kernel
def coordinate_kernel(out, neighbours, order_seed, bit_seed, size):
    """Pick the active bits of one point from the coordinates of its neighbourhood.

    Every neighbour coordinate gets two hashes: a priority and a bit. Neighbours are visited in decreasing
    priority (ties: later index first) and each contributes its bit unless that bit is already taken, until
    ``out.shape[0]`` bits are chosen or the neighbours run out.

    Args:
        out: ``(w,)`` int32 output, filled from the front.
        neighbours: ``(m, d)`` int64 coordinates of the neighbourhood.
        order_seed: uint64 seed of the priority hash.
        bit_seed: uint64 seed of the bit hash.
        size: number of bits.

    Returns:
        The number of bits written (``w`` unless the neighbourhood had too few distinct bits).
    """
    m, d = neighbours.shape
    order = np.empty(m, dtype=np.uint64)
    bits = np.empty(m, dtype=np.int64)
    for i in range(m):
        ho = order_seed
        hb = bit_seed
        for k in range(d):
            c = np.uint64(neighbours[i, k])
            ho = mix64(ho ^ c)
            hb = mix64(hb ^ c)
        order[i] = ho
        bits[i] = np.int64(hb % np.uint64(size))
    ranking = np.argsort(order, kind="mergesort")
    taken = np.zeros(size, dtype=np.bool_)
    count = 0
    for j in range(m - 1, -1, -1):
        if count == out.shape[0]:
            break
        b = bits[ranking[j]]
        if not taken[b]:
            taken[b] = True
            out[count] = b
            count += 1
    return count


class CoordinateEncoder(Encoder):
    """Place-cell-like neurons for integer coordinates: each point activates bits chosen from its neighbourhood.

    Every integer coordinate of space owns a random bit and a random priority (both hashed from the coordinate and
    the seed, so nothing is stored). A point activates the bits of the ``active_bits`` highest-priority coordinates
    within the hypercube of half-width ``radius`` around it. Two points whose neighbourhoods overlap share the
    winners that lie in the common part, so overlap falls smoothly with distance and vanishes (up to chance) beyond
    ``2 * radius``. This follows the design of NuPIC's ``CoordinateEncoder``; unlike it, a bit already taken by a
    higher-priority neighbour is skipped, so every code has exactly ``active_bits`` distinct active bits.

    Scale the input (e.g. multiply positions by 10 and round) so that ``radius`` spans the distance over which you
    want points to look alike.

    Args:
        size: number of output bits.
        active_bits: number of active bits per point (``<= (2 * radius + 1) ** ndim``).
        radius: neighbourhood half-width, in coordinate units (>= 1).
        seed: int (or Generator, consumed once; ``None`` for fresh entropy) that selects the hashes.
        ndim: number of coordinates per point; ``None`` accepts any number (each call's length decides).

    Example:
        >>> enc = CoordinateEncoder(size=1024, active_bits=21, radius=5, ndim=2, seed=0)
        >>> enc.encode([10, 10]).overlap(enc.encode([11, 10])) > 10
        True
    """

    def __init__(
        self,
        size: int,
        active_bits: int,
        radius: int,
        seed: int | np.random.Generator | None = 0,
        *,
        ndim: int | None = None,
    ):
        self._size = check_int(size, "size", 1)
        self._active_bits = check_int(active_bits, "active_bits", 1)
        if self._active_bits > self._size:
            raise ValueError(f"active_bits must be <= size ({self._size}), got {self._active_bits}")
        self._radius = check_int(radius, "radius", 1)
        self._offset_cache: dict[int, np.ndarray] = {}
        self._ndim = None if ndim is None else check_int(ndim, "ndim", 1)
        if self._ndim is not None:
            self._offsets(self._ndim)
        self._seed = check_seed(seed)
        self._order_seed = seed_hash(self._seed, salt=0x0D0E)
        self._bit_seed = seed_hash(self._seed, salt=0xB175)

    def _offsets(self, d: int) -> np.ndarray:
        if d in self._offset_cache:
            return self._offset_cache[d]
        side = 2 * self._radius + 1
        if side**d > _MAX_NEIGHBOURHOOD:
            raise ValueError(
                f"the neighbourhood (2 * radius + 1) ** ndim must be <= {_MAX_NEIGHBOURHOOD}, got {side**d}"
            )
        if side**d < self._active_bits:
            raise ValueError(
                f"active_bits must be <= (2 * radius + 1) ** ndim = {side**d}, got {self._active_bits}"
            )
        span = range(-self._radius, self._radius + 1)
        offsets = np.array(list(itertools.product(span, repeat=d)), dtype=np.int64)
        self._offset_cache[d] = offsets
        return offsets

    @property
    def radius(self) -> int:
        """Neighbourhood half-width, in coordinate units."""
        return self._radius

    @property
    def ndim(self) -> int | None:
        """Number of coordinates per point, if fixed."""
        return self._ndim

    @property
    def seed(self) -> int:
        """The hash seed (an int, also when the encoder was built from a Generator)."""
        return self._seed

    def _check_coordinate(self, value: Sequence[int] | np.ndarray) -> np.ndarray:
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
            raise TypeError(f"coordinate must be a sequence or array of ints, got {type(value).__name__}")
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"coordinate must be finite, got {arr.tolist()}")
            if np.any(arr != np.round(arr)):
                raise ValueError(f"coordinate must hold whole numbers (round or scale it first), got {arr.tolist()}")
        elif arr.dtype.kind not in "iu":
            raise TypeError(f"coordinate must hold integers, got dtype {arr.dtype}")
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"coordinate must be a non-empty 1-D sequence, got shape {arr.shape}")
        if self._ndim is not None and arr.size != self._ndim:
            raise ValueError(f"coordinate must have {self._ndim} entries (ndim), got {arr.size}")
        if np.any(np.abs(arr.astype(np.float64)) >= _MAX_COORD):
            raise ValueError(f"coordinate entries must lie within +-2**60, got {arr.tolist()}")
        return arr.astype(np.int64)

    def encode(self, value: Sequence[int] | np.ndarray) -> SDR:
        """Encode one integer point.

        Raises:
            TypeError: if ``value`` is not a sequence of numbers.
            ValueError: if it has the wrong length, holds NaN/inf or non-whole numbers.
        """
        coord = self._check_coordinate(value)
        neighbours = coord[None, :] + self._offsets(coord.size)
        out = np.empty(self._active_bits, dtype=np.int32)
        count = coordinate_kernel(out, neighbours, self._order_seed, self._bit_seed, self._size)
        return SDR._trusted(self._size, np.sort(out[:count]))

    def __repr__(self) -> str:
        return (
            f"CoordinateEncoder(size={self._size}, active_bits={self._active_bits}, radius={self._radius}, "
            f"ndim={self._ndim}, seed={self._seed})"
        )
