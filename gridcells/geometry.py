"""Geometry of a grid-cell module: its tile, the world-to-phase map, and the bump's width and threshold.

A module is a sheet of ``n x n`` cells wrapped on a torus. Moving through the world moves the activity over the
sheet; after one *scale* (the grid spacing, in world units) along a tile edge, the activity is back where it started.
With ``hexagonal`` tiling the tile is a 60-degree rhombus, so each cell fires on a triangular (hexagonal) lattice of
world locations, as entorhinal grid cells do; ``square`` tiling uses a square tile.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "TILINGS",
    "RAT_BUMP_SIGMA",
    "tile_basis",
    "phase_per_world",
    "default_bump_sigma",
    "default_active_firing_rate",
    "activation_radius2",
    "search_window",
    "smallest_singular_value",
]

TILINGS = ("hexagonal", "square")

#: Sigma of a rat entorhinal activity bump, in rhombus-edge units, for a 6-cells-per-axis readout (Lewis et al. 2019).
RAT_BUMP_SIGMA = 0.18172


def tile_basis(orientation: float, tiling: str) -> np.ndarray:
    """2x2 matrix whose columns are the tile's edge vectors (unit length) for a module rotated by ``orientation``.

    Args:
        orientation: rotation in radians.
        tiling: ``"hexagonal"`` (edges at ``orientation`` and ``orientation + 60 deg``) or ``"square"`` (``+ 90``).
    """
    if tiling not in TILINGS:
        raise ValueError(f"tiling must be one of {TILINGS}, got {tiling!r}")
    second = orientation + (math.pi / 3 if tiling == "hexagonal" else math.pi / 2)
    return np.array([[math.cos(orientation), math.cos(second)], [math.sin(orientation), math.sin(second)]])


def phase_per_world(scale: float, basis: np.ndarray) -> np.ndarray:
    """The matrix ``A = inverse(scale * basis)`` that turns a world displacement into a phase displacement."""
    return np.linalg.inv(scale * basis)


def smallest_singular_value(basis: np.ndarray) -> float:
    """Smallest factor by which ``basis`` can shrink a phase vector (sqrt(1/2) hexagonal, 1 square)."""
    return float(np.linalg.svd(basis, compute_uv=False).min())


def default_bump_sigma(cells_per_axis: int) -> float:
    """Bump sigma in rhombus-edge units: the rat bump rescaled from 6 to ``cells_per_axis`` cells per axis."""
    return RAT_BUMP_SIGMA * 6.0 / cells_per_axis


def default_active_firing_rate(cells_per_axis: int, bump_sigma: float) -> float:
    """Gaussian rate at half a cell's firing-field diameter ``d = 2 * (1 / n) * (2 / sqrt(3))``.

    With the default sigma this is about 0.5708 for every ``n``: each location then activates about 4 to 7 cells.
    """
    half_diameter = (1.0 / cells_per_axis) * (2.0 / math.sqrt(3.0))
    return math.exp(-(half_diameter ** 2) / (2.0 * bump_sigma ** 2))


def activation_radius2(bump_sigma: float, active_firing_rate: float) -> float:
    """Squared distance (rhombus-edge units) within which a bump's Gaussian rate reaches ``active_firing_rate``."""
    return -2.0 * bump_sigma ** 2 * math.log(active_firing_rate)


def search_window(radius: float, basis: np.ndarray, cells_per_axis: int) -> float:
    """Half-width, in cells along each phase axis, of a block sure to hold every cell within ``radius`` of a point.

    A world distance ``r`` spans at most ``r / smallest_singular_value(basis)`` of phase per axis; the small margin
    keeps rounding from ever excluding a cell on the boundary.
    """
    return radius / smallest_singular_value(basis) * cells_per_axis * (1.0 + 1e-9) + 1e-9
