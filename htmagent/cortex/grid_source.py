"""A grid-cell location source for :class:`htmagent.Network`: the column's location comes from its own movements.

:class:`GridLocationSource` implements :class:`htmagent.cortex.column.LocationSource` on top of a
:class:`~htmagent.gridcells.LocationLayer` (L6a), so the 2017 network (L4 + L2/3 columns that vote) runs with the
2019 paper's location layer instead of given location codes: the source sees only the movement between consecutive
points, path-integrates it, and lets L4 anchor it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from htmagent._rng import make_rng
from htmagent._validation import is_int, is_real
from htmagent.gridcells import AnchorParams, LocationLayer
from htmagent.sdr import SDR, as_sdr
from htmagent._state import atomic_load

__all__ = ["GridLocationSource", "grid_sources"]

Point = tuple[int, int]
_FORMAT = "htmagent.GridLocationSource/1"


class GridLocationSource:
    """Location signal from grid cells (L6a) that integrate the sensor's movements.

    Per sensation (the :class:`~htmagent.cortex.column.LocationSource` protocol):

    - :meth:`locate`: the first point after :meth:`reset` starts the location — a fresh random location per object
      when learning, no location at all when inferring (L4 then bursts and the first sensation recalls every place
      the feature was learned); later points move every bump by ``feature_scale`` world units per grid step.
      Learning returns the layer's *learning cells* (one per module, the cell nearest each bump), so L4's basal
      segments store the exact code that anchoring restores; inference returns the active cells.
    - :meth:`anchor`: L4's activity anchors the location (union narrowing); when learning, the learning cells grow
      segments onto L4's winner cells.

    L4 should use the paper's basal parameters (:func:`htmagent.cortex.location_column.lewis2019_l4_params`).

    Args:
        num_modules, cells_per_axis, scale: the location layer (paper: 10 modules of 10 x 10 cells, scale 40).
        l4_cells: number of L4 cells, the anchoring input (150 x 16 = 2400).
        feature_scale: world units per grid step of the object (20 in the paper).
        anchor: anchoring parameters (default: the paper's, threshold 8 of 10 synapses).
        seed: seed or Generator.
    """

    def __init__(self, num_modules: int = 10, cells_per_axis: int = 10, scale: float = 40.0, l4_cells: int = 2400,
                 feature_scale: float = 20.0, anchor: AnchorParams | None = None,
                 seed: int | np.random.Generator | None = None):
        if not is_real(feature_scale) or not feature_scale > 0:
            raise ValueError(f"feature_scale must be a number > 0, got {feature_scale!r}")
        rng = make_rng(seed)
        self.layer = LocationLayer(num_modules=num_modules, cells_per_axis=cells_per_axis, scale=scale,
                                   anchor_input_size=l4_cells, anchor=anchor if anchor is not None else AnchorParams(),
                                   seed=int(rng.integers(2**63 - 1)))
        self.feature_scale = float(feature_scale)
        self._point: Point | None = None

    @property
    def size(self) -> int:
        """Location SDR width (``num_modules * cells_per_axis ** 2``)."""
        return self.layer.size

    @property
    def num_hypotheses(self) -> int:
        """Location hypotheses left in the layer."""
        return self.layer.num_hypotheses

    def reset(self) -> None:
        """Start a new object: no location, no previous point."""
        self.layer.reset()
        self._point = None

    def locate(self, point: Sequence[int], learn: bool = False) -> SDR:
        """Move to ``point`` (path integration from the previous point) and return the location SDR.

        Raises:
            ValueError / TypeError: a point that is not a pair of integers, or a non-bool ``learn`` (nothing changes).
        """
        if (not isinstance(point, (tuple, list, np.ndarray)) or len(point) != 2
                or not all(is_int(c) for c in point)):
            raise ValueError(f"point must be a pair of integers (x, y), got {point!r}")
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {type(learn).__name__}")
        key = (int(point[0]), int(point[1]))
        if self._point is None:
            if learn:
                self.layer.activate_random_location()
        elif key != self._point:
            self.layer.movement_compute([self.feature_scale * (key[0] - self._point[0]),
                                         self.feature_scale * (key[1] - self._point[1])])
        self._point = key
        return self.layer.learning_cells if learn else self.layer.active_cells

    def anchor(self, l4_active_cells: SDR, learn: bool = False, l4_winner_cells: SDR | None = None) -> None:
        """Anchor the location to L4 (inference), or learn the anchoring segments onto L4's winners (learning).

        Args:
            l4_active_cells: L4's active cells.
            learn: learning or inference.
            l4_winner_cells: L4's winner cells, learned onto (``Network`` passes them). Without them the active
                cells stand in, which equals the winners whenever L4 was predicted (from the second repetition of a
                point on) and only adds redundant segments when it bursts.

        Raises:
            ValueError / TypeError: wrong sizes (nothing changes).
        """
        active = as_sdr(l4_active_cells, self.layer.anchor_input_size, "l4_active_cells")
        winners = active if l4_winner_cells is None else as_sdr(l4_winner_cells, self.layer.anchor_input_size,
                                                                "l4_winner_cells")
        self.layer.sensory_compute(active, winners, bool(learn))

    def state_dict(self) -> dict:
        """The layer's state (RNG and anchoring segments included) and the current point."""
        return {"format": _FORMAT, "feature_scale": self.feature_scale, "layer": self.layer.state_dict(),
                "point": [] if self._point is None else list(self._point)}

    @atomic_load
    def load_state_dict(self, state: Mapping) -> None:
        """Restore :meth:`state_dict`'s output into a source built with the same layer configuration."""
        if state.get("format") != _FORMAT:
            raise ValueError(f"state must have format {_FORMAT!r}, got {state.get('format')!r}")
        self.layer.load_state_dict(state["layer"])
        self.feature_scale = float(state["feature_scale"])
        point = list(state["point"])
        self._point = None if not point else (int(point[0]), int(point[1]))


def grid_sources(num_columns: int, num_modules: int = 10, cells_per_axis: int = 10, l4_cells: int = 2400,
                 seed: int | np.random.Generator | None = None, **kwargs) -> list[GridLocationSource]:
    """One :class:`GridLocationSource` per column, each with its own seed drawn from ``seed`` (for
    ``Network(location_sources=...)``; pass ``l4_params=lewis2019_l4_params(num_modules)`` to the network too).

    Raises:
        ValueError: ``num_columns`` < 1.
    """
    if not is_int(num_columns) or num_columns < 1:
        raise ValueError(f"num_columns must be an int >= 1, got {num_columns!r}")
    rng = make_rng(seed)
    return [GridLocationSource(num_modules, cells_per_axis, l4_cells=l4_cells, seed=int(rng.integers(2**63 - 1)),
                               **kwargs) for _ in range(int(num_columns))]
