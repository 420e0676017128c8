"""The grid-cell location encoder: a coordinate (2-D or N-D) -> the SDR of a set of grid-cell modules."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from htmagent._validation import check_int, check_real
from htmagent.encoders.base import Encoder, check_seed
from htmagent.gridcells import _kernels as K
from htmagent.gridcells.geometry import (
    TILINGS,
    phase_per_world,
    smallest_singular_value,
    tile_basis,
)
from htmagent.sdr import SDR

__all__ = ["GridCellEncoder"]

# Half-width (cells) of the block searched first for the nearest cells; it holds the k nearest for k up to about 6
# anywhere in the tile (larger k falls back to an exhaustive search, with the same result).
_SEARCH_WINDOW = 2.0


class GridCellEncoder(Encoder):
    """Stateless grid-cell code of a location: near points overlap, far points do not, over a very large area.

    Neurally: a set of grid-cell modules, each a toroidal sheet of ``n x n`` cells with its own spacing (scales in
    geometric progression) and orientation, all looking at the same position. In each module the
    ``active_per_module`` cells whose firing fields are nearest the position fire, so every module contributes
    exactly that many bits. A single module repeats every grid period, but the modules' periods and orientations
    differ, so their combination stays unique far beyond the largest period, while a small move changes only the
    finest modules' cells (overlap falls smoothly with distance).

    N-D points: each module sees the point projected onto its own random 2-D plane (a random orthonormal pair of
    directions), as htm.core's grid-cell encoder does for more than two dimensions; with ``input_dimensions == 2`` no
    projection is used. Orientations and the modules' phases at the origin are random (drawn once from ``seed``),
    so the origin is not special and different seeds give independent codes.

    Args:
        num_modules: number of modules.
        cells_per_axis: ``n``; each module has ``n * n`` cells.
        scale: grid spacing of the finest module, world units. Points closer than about ``scale / cells_per_axis``
            share most bits; the code resolves positions to about that.
        scale_ratio: spacing ratio between successive modules (``scale * scale_ratio ** i``).
        scales: explicit spacing per module (overrides ``scale``, ``scale_ratio``).
        active_per_module: active cells per module (``1 <= k <= n * n``); sparsity is ``k / n**2``, exactly.
        input_dimensions: number of coordinates of the encoded points (>= 1).
        tiling: ``"hexagonal"`` or ``"square"``.
        seed: seed for orientations, phase offsets and projections. As for every encoder, a Generator or None is
            turned into a fixed int once (kept in :attr:`seed`), so the encoder can be rebuilt from its arguments.

    Example:
        >>> enc = GridCellEncoder(num_modules=6, scale=10.0, seed=0)
        >>> a, b = enc.encode([3.0, 4.0]), enc.encode([3.5, 4.0])
        >>> a.num_active, a == enc.encode([3.0, 4.0]), a.overlap(b) > a.overlap(enc.encode([300.0, -90.0]))
        (30, True, True)
    """

    def __init__(
        self,
        num_modules: int = 10,
        cells_per_axis: int = 10,
        scale: float = 10.0,
        scale_ratio: float = math.sqrt(2.0),
        scales: Sequence[float] | None = None,
        active_per_module: int = 5,
        input_dimensions: int = 2,
        tiling: str = "hexagonal",
        seed: int | np.random.Generator | None = None,
    ):
        m = check_int(num_modules, "num_modules", 1)
        n = check_int(cells_per_axis, "cells_per_axis", 1)
        k = check_int(active_per_module, "active_per_module", 1)
        if k > n * n:
            raise ValueError(f"active_per_module must be <= cells_per_axis ** 2 = {n * n}, got {k}")
        dims = check_int(input_dimensions, "input_dimensions", 1)
        if tiling not in TILINGS:
            raise ValueError(f"tiling must be one of {TILINGS}, got {tiling!r}")
        if scales is None:
            first = check_real(scale, "scale", 0.0, low_open=True)
            ratio = check_real(scale_ratio, "scale_ratio", 0.0, low_open=True)
            scales = [first * ratio ** i for i in range(m)]
        elif len(scales) != m:
            raise ValueError(f"scales must hold num_modules={m} values, got {len(scales)}")
        scales = [check_real(s, f"scales[{i}]", 0.0, low_open=True) for i, s in enumerate(scales)]
        self.seed = check_seed(seed)
        rng = np.random.default_rng(self.seed)
        symmetry = math.pi / 3 if tiling == "hexagonal" else math.pi / 2
        self.num_modules = m
        self.cells_per_axis = n
        self.active_per_module = k
        self.input_dimensions = dims
        self.tiling = tiling
        self.scales = np.array(scales, dtype=np.float64)
        self.orientations = rng.uniform(0.0, symmetry, m)
        self.phase_offsets = rng.random((m, 2))
        self.projections = np.stack([self._plane(rng, dims) for _ in range(m)])
        self._basis = np.stack([tile_basis(o, tiling) for o in self.orientations])
        self._phase_per_world = np.stack([phase_per_world(s, b) for s, b in zip(self.scales, self._basis)])
        self._guaranteed2 = np.array([(smallest_singular_value(b) * _SEARCH_WINDOW / n) ** 2 for b in self._basis])

    @staticmethod
    def _plane(rng: np.random.Generator, dims: int) -> np.ndarray:
        """``(2, dims)`` orthonormal rows spanning the module's plane (identity in 2-D, the first axis in 1-D)."""
        if dims == 1:
            return np.array([[1.0], [0.0]])
        if dims == 2:
            return np.eye(2)
        q, _ = np.linalg.qr(rng.standard_normal((dims, 2)))
        return np.ascontiguousarray(q.T)

    @property
    def size(self) -> int:
        """Number of output bits: ``num_modules * cells_per_axis ** 2``."""
        return self.num_modules * self.cells_per_axis ** 2

    @property
    def num_active(self) -> int:
        """Active bits in every code: ``num_modules * active_per_module``."""
        return self.num_modules * self.active_per_module

    @property
    def resolution(self) -> float:
        """Cell spacing of the finest module, world units: positions closer than this may share a code."""
        return float(self.scales.min()) / self.cells_per_axis

    def _check_points(self, points: object, name: str, batch: bool) -> np.ndarray:
        try:
            arr = np.asarray(points, dtype=np.float64)
        except OverflowError:
            raise ValueError(f"{name} must be finite numbers, got a number beyond float range") from None
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be numbers, got {points!r}") from error
        if batch and (arr.ndim != 2 or arr.shape[1] != self.input_dimensions):
            raise ValueError(f"{name} must have shape (num_points, {self.input_dimensions}), got {arr.shape}")
        if not batch and arr.shape != (self.input_dimensions,):
            raise ValueError(f"{name} must have shape ({self.input_dimensions},), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            shown = arr.tolist() if arr.size <= 8 else "non-finite values"
            raise ValueError(f"{name} must be finite, got {shown}")
        return np.ascontiguousarray(arr)

    def encode_batch(self, points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """Codes of many points at once: ``(num_points, num_active)`` int32, each row sorted active indices."""
        arr = self._check_points(points, "points", batch=True)
        return K.encode_points(arr, self.projections, self._phase_per_world, self.phase_offsets, self._basis,
                               self.cells_per_axis, self.active_per_module, self._guaranteed2, _SEARCH_WINDOW)

    def encode(self, point: Sequence[float] | np.ndarray) -> SDR:
        """The SDR of one point (``input_dimensions`` finite coordinates, world units)."""
        arr = self._check_points(point, "point", batch=False)
        row = K.encode_points(arr[None, :], self.projections, self._phase_per_world, self.phase_offsets,
                              self._basis, self.cells_per_axis, self.active_per_module, self._guaranteed2,
                              _SEARCH_WINDOW)
        return SDR._trusted(self.size, row[0])

    def __repr__(self) -> str:
        return (f"GridCellEncoder(num_modules={self.num_modules}, cells_per_axis={self.cells_per_axis}, "
                f"scales={np.round(self.scales, 3).tolist()}, active_per_module={self.active_per_module}, "
                f"input_dimensions={self.input_dimensions}, seed={self.seed})")
