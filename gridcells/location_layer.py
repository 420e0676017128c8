"""The location layer (L6a): several grid-cell modules whose concatenated cells code the sensor's location."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Sequence

import numpy as np

from htmagent._validation import check_int, check_real
from htmagent.gridcells._population import GridCellPopulation
from htmagent.gridcells.anchoring import PAPER_ANCHOR, AnchorParams

__all__ = ["LocationLayer"]


class LocationLayer(GridCellPopulation):
    """Location layer (L6a) of a cortical column: ``num_modules`` grid-cell modules moving together.

    Neurally: each module is a sheet of grid cells with its own orientation (and possibly scale) that path-integrates
    the sensor's movement; one module alone is ambiguous (its code repeats every grid period), but the combination
    of modules names a location uniquely over a large space. The layer's active cells (all modules concatenated,
    module ``m`` at bits ``[m * n * n, (m + 1) * n * n)``) are the basal context of the sensory layer L4, so that L4
    learns features *at locations*; L4's activity in turn anchors the modules (sensory anchoring, see
    :meth:`~GridCellPopulation.sensory_compute`): a sensed feature recalls the union of every location where it was
    learned, the next movement shifts the whole union, and the next sensation prunes it ("union narrowing").

    Wiring into L4 (pair memory): basal input = :attr:`active_cells`; basal growth candidates = :attr:`learning_cells`
    (the cell nearest each bump, so a learned location is a sparse, exact code). Then call
    ``sensory_compute(l4.active_cells, l4.winner_cells, learn)``.

    Per step: ``movement_compute(displacement)`` -> L4 uses ``active_cells`` -> ``sensory_compute(...)``. When
    learning a new object: ``reset()``, ``activate_random_location()``, then move and sense with ``learn=True``.

    Args:
        num_modules: number of modules (10 in the paper).
        cells_per_axis: cells per module axis (10 -> 100 cells per module).
        scale: grid spacing of the first module, world units (40.0 for every module in the paper's code).
        scale_ratio: module ``i`` has spacing ``scale * scale_ratio ** i``; 1.0 (default) = equal scales, as in the
            paper; e.g. 1.4 for biology-like geometric spacing.
        scales: explicit spacing per module (overrides ``scale`` and ``scale_ratio``).
        orientations: explicit orientation per module, radians; default ``(i + 0.5) * 60 deg / num_modules``
            (``90 deg`` for square tiling), spread over the tiling's symmetry angle.
        tiling, bump_sigma, active_firing_rate, path_integration_noise: as for
            :class:`~htmagent.gridcells.GridCellModule` (shared by every module).
        anchor_input_size: number of L4 cells (150 minicolumns x 16 cells = 2400 in the paper).
        anchor: anchoring segment parameters (default: the paper's).
        seed: seed or Generator for random locations, noise and synapse sampling.

    Example:
        >>> layer = LocationLayer(num_modules=4, seed=0)
        >>> layer.activate_random_location()
        >>> layer.movement_compute([5.0, 0.0])
        >>> layer.active_cells.size, layer.num_hypotheses
        (400, 1)
    """

    def __init__(
        self,
        num_modules: int = 10,
        cells_per_axis: int = 10,
        scale: float = 40.0,
        scale_ratio: float = 1.0,
        scales: Sequence[float] | None = None,
        orientations: Sequence[float] | None = None,
        tiling: str = "hexagonal",
        bump_sigma: float | None = None,
        active_firing_rate: float | None = None,
        path_integration_noise: float = 0.0,
        anchor_input_size: int = 2400,
        anchor: AnchorParams = PAPER_ANCHOR,
        seed: int | np.random.Generator | None = None,
    ):
        num_modules = check_int(num_modules, "num_modules", 1)
        if scales is None:
            scale = check_real(scale, "scale", 0.0, low_open=True)
            ratio = check_real(scale_ratio, "scale_ratio", 0.0, low_open=True)
            scales = [scale * ratio ** i for i in range(num_modules)]
        elif len(scales) != num_modules:
            raise ValueError(f"scales must hold num_modules={num_modules} values, got {len(scales)}")
        if orientations is None:
            symmetry = math.pi / 3 if tiling == "hexagonal" else math.pi / 2
            orientations = [(i + 0.5) * symmetry / num_modules for i in range(num_modules)]
        elif len(orientations) != num_modules:
            raise ValueError(f"orientations must hold num_modules={num_modules} values, got {len(orientations)}")
        self._setup(cells_per_axis, scales, orientations, tiling, bump_sigma, active_firing_rate,
                    path_integration_noise, anchor_input_size, anchor, seed)

    def module_cells(self, module: int) -> slice:
        """The bit range of module ``m`` in :attr:`active_cells` (``slice(m * n * n, (m + 1) * n * n)``)."""
        m = check_int(module, "module", 0)
        if m >= self.num_modules:
            raise ValueError(f"module must be < {self.num_modules}, got {m}")
        return slice(m * self.module_size, (m + 1) * self.module_size)

    def _config(self) -> dict:
        return {
            "num_modules": self.num_modules,
            "cells_per_axis": self.cells_per_axis,
            "scales": self.scales.tolist(),
            "orientations": self.orientations.tolist(),
            "tiling": self.tiling,
            "bump_sigma": self.bump_sigma,
            "active_firing_rate": self.active_firing_rate,
            "path_integration_noise": self.path_integration_noise,
            "anchor_input_size": self.anchor_input_size,
            "anchor": asdict(self.anchor),
        }

    def __repr__(self) -> str:
        return (f"LocationLayer(num_modules={self.num_modules}, cells_per_axis={self.cells_per_axis}, "
                f"scales={np.round(self.scales, 3).tolist()}, tiling={self.tiling!r}, "
                f"hypotheses={self.num_hypotheses})")
