"""One grid-cell module: a toroidal sheet of cells that path-integrates movement and anchors to sensation."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

from htmagent._validation import check_real
from htmagent.gridcells._population import GridCellPopulation
from htmagent.gridcells.anchoring import PAPER_ANCHOR, AnchorParams

__all__ = ["GridCellModule"]


class GridCellModule(GridCellPopulation):
    """A grid-cell module (Lewis, Purdy, Ahmad & Hawkins 2019): ``n x n`` cells on a torus.

    Neurally: the cells of one entorhinal-like module share a grid spacing (``scale``) and orientation. Activity
    sits in one or more Gaussian *bumps*; movement shifts every bump by the rotated, scaled displacement (path
    integration), wrapping around the sheet, so each cell fires on a periodic lattice of world locations. A cell is
    active when its firing rate from the nearest bump, ``exp(-d^2 / 2 bump_sigma^2)``, reaches
    ``active_firing_rate`` (about 4 to 7 cells per bump with the defaults); the cell nearest a bump's centre is that
    bump's *learning cell*. Several bumps at once are a union of location hypotheses.

    Sensation anchors the location: the cells have dendrite segments from the sensory layer (L4); learning ties the
    learning cells to the L4 winners, and at inference the cells whose segments recognise the L4 activity become the
    new bumps (every location where this sensation was learned). See
    :meth:`~GridCellPopulation.sensory_compute` for what happens when no cell recognises it.

    The module does not decide when a step ends or where locations come from: the caller moves it
    (:meth:`movement_compute`), senses (:meth:`sensory_compute`) and resets it.

    Args:
        cells_per_axis: ``n``; the module has ``n * n`` cells.
        scale: grid spacing in world units (a move of ``scale`` along a tile edge returns the bumps to their phase).
        orientation: rotation of the grid, radians.
        tiling: ``"hexagonal"`` (60-degree rhombus, as grid cells) or ``"square"``.
        bump_sigma: bump width in rhombus-edge units; default ``0.18172 * 6 / n`` (the rat bump).
        active_firing_rate: activity threshold in ``(0, 1]``; default the rate at half a cell's firing-field diameter
            (about 0.5708).
        path_integration_noise: standard deviation (world units, per axis) of the error added to each move.
        anchor_input_size: number of L4 cells the anchoring segments listen to.
        anchor: anchoring segment parameters (default: the paper's).
        seed: seed or Generator for random locations, noise and synapse sampling.

    Example:
        >>> m = GridCellModule(scale=40.0, anchor_input_size=100, seed=1)
        >>> m.activate_random_location()
        >>> m.movement_compute([10.0, -5.0])
        >>> 4 <= m.active_cells.num_active <= 7
        True
    """

    def __init__(
        self,
        cells_per_axis: int = 10,
        scale: float = 40.0,
        orientation: float = 0.0,
        tiling: str = "hexagonal",
        bump_sigma: float | None = None,
        active_firing_rate: float | None = None,
        path_integration_noise: float = 0.0,
        anchor_input_size: int = 2400,
        anchor: AnchorParams = PAPER_ANCHOR,
        seed: int | np.random.Generator | None = None,
    ):
        self._setup(cells_per_axis, [check_real(scale, "scale", 0.0, low_open=True)],
                    [check_real(orientation, "orientation")], tiling, bump_sigma, active_firing_rate,
                    path_integration_noise, anchor_input_size, anchor, seed)

    @property
    def scale(self) -> float:
        """Grid spacing in world units."""
        return float(self.scales[0])

    @property
    def orientation(self) -> float:
        """Grid orientation in radians."""
        return float(self.orientations[0])

    @property
    def phase_per_world(self) -> np.ndarray:
        """The 2x2 matrix ``A`` mapping a world displacement to a phase displacement."""
        return self._phase_per_world[0].copy()

    def _config(self) -> dict:
        return {
            "cells_per_axis": self.cells_per_axis,
            "scale": self.scale,
            "orientation": self.orientation,
            "tiling": self.tiling,
            "bump_sigma": self.bump_sigma,
            "active_firing_rate": self.active_firing_rate,
            "path_integration_noise": self.path_integration_noise,
            "anchor_input_size": self.anchor_input_size,
            "anchor": asdict(self.anchor),
        }

    def __repr__(self) -> str:
        return (f"GridCellModule(cells_per_axis={self.cells_per_axis}, scale={self.scale:g}, "
                f"orientation={math.degrees(self.orientation):.1f} deg, tiling={self.tiling!r}, "
                f"bumps={self.num_hypotheses})")
