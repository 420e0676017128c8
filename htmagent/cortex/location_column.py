"""The grid-cell cortical column of Lewis, Purdy, Ahmad & Hawkins 2019: L6a location layer + L4 sensory layer.

:class:`LocationColumn` is the paper's two-layer column ("path integration union narrowing");
:class:`~htmagent.cortex.location_network.LocationNetwork` learns a set of objects with it and recognizes them from
movements and features alone.

Model: Lewis, Purdy, Ahmad & Hawkins 2019, "Locations in the Neocortex: A Theory of Sensorimotor Object Recognition
Using Cortical Grid Cells", Front. Neural Circuits 13:22 (parameters in ``references/papers.md`` section 2.1).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from htmagent._rng import make_rng
from htmagent._validation import check_int, check_real
from htmagent.gridcells import AnchorParams, LocationLayer
from htmagent.gridcells.anchoring import supported_cells
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state
from htmagent.temporal_memory import DEFAULT_MEMORY_BUDGET, TemporalMemory
from htmagent._state import StateError, atomic_load, get, get_array, naming_file

__all__ = [
    "LocationColumnParams",
    "PAPER_PARAMS",
    "lewis2019_l4_params",
    "LocationColumn",
]

Point = tuple[int, int]
_COLUMN_FORMAT = "htmagent.LocationColumn/1"
_EMPTY = np.empty(0, dtype=np.int32)


def lewis2019_l4_params(num_modules: int = 10, basal_threshold: int | None = None) -> dict:
    """L4 (pair-mode :class:`TemporalMemory`) keyword arguments of Lewis et al. 2019 for ``num_modules`` modules.

    A learned feature-at-location cell has one basal segment with one synapse per module, onto the location's
    learning cells (initial permanence 1.0: one exposure suffices); it is predicted when ``basal_threshold``
    (default ``ceil(0.8 * num_modules)``) of them are active, so a few modules may disagree.
    """
    n = check_int(num_modules, "num_modules", 1)
    threshold = math.ceil(0.8 * n) if basal_threshold is None else check_int(basal_threshold, "basal_threshold", 1)
    return {
        "activation_threshold": threshold, "reduced_basal_threshold": threshold, "min_threshold": n,
        "max_new_synapse_count": n, "initial_permanence": 1.0, "connected_permanence": 0.5,
        "permanence_increment": 0.1, "permanence_decrement": 0.1, "predicted_segment_decrement": 0.0,
    }


@dataclass(frozen=True)
class LocationColumnParams:
    """Parameters of the grid-cell column (defaults: the paper's "gaussian" runs).

    Location layer (L6a):
        num_modules: grid-cell modules (10). More modules = a more specific location code = more capacity.
        cells_per_axis: cells per module axis (10 -> 100 cells per module). Capacity grows about linearly with the
            cells per module.
        scale: grid spacing in world units, equal for every module (40.0; modules differ by orientation only).
        bump_sigma, active_firing_rate: bump width and activity threshold (None = the paper's rule, see
            :class:`~htmagent.gridcells.GridCellModule`).
        anchor_threshold: connected synapses onto active L4 cells that let a grid cell recall a location (8).
        anchor_sample_size: synapses a grid cell grows onto the L4 winners when learning (10).
        anchor_memory_budget: bytes the anchoring segments may take (``None``: unbounded); past it the least
            recently learned are retired (see :class:`~htmagent.gridcells.AnchorParams`).

    Sensory layer (L4):
        l4_column_count: minicolumns (150); a feature is ``feature_active_bits`` of them (10).
        l4_cells_per_column: cells per minicolumn (16).
        basal_threshold: active location synapses that predict an L4 cell; None = ``ceil(0.8 * num_modules)``.
            Setting it to ``num_modules`` (every module must agree) raises capacity (Fig 8A, second curve).

    World:
        feature_scale: world units between neighbouring points of an object grid (20.0: features are 20 x 20).
    """

    num_modules: int = 10
    cells_per_axis: int = 10
    scale: float = 40.0
    bump_sigma: float | None = None
    active_firing_rate: float | None = None
    anchor_threshold: int = 8
    anchor_sample_size: int = 10
    anchor_memory_budget: int | None = DEFAULT_MEMORY_BUDGET
    l4_column_count: int = 150
    l4_cells_per_column: int = 16
    feature_active_bits: int = 10
    basal_threshold: int | None = None
    feature_scale: float = 20.0

    def __post_init__(self) -> None:
        for name in ("num_modules", "cells_per_axis", "anchor_threshold", "anchor_sample_size", "l4_column_count",
                     "l4_cells_per_column", "feature_active_bits"):
            check_int(getattr(self, name), name, 1)
        if self.anchor_memory_budget is not None:
            check_int(self.anchor_memory_budget, "anchor_memory_budget", 1)
        if self.basal_threshold is not None:
            check_int(self.basal_threshold, "basal_threshold", 1)
            if self.basal_threshold > self.num_modules:
                raise ValueError(f"basal_threshold must be <= num_modules ({self.num_modules}), "
                                 f"got {self.basal_threshold}")
        if self.anchor_threshold > self.anchor_sample_size:
            raise ValueError(f"anchor_threshold must be <= anchor_sample_size ({self.anchor_sample_size}), "
                             f"got {self.anchor_threshold}")
        if self.feature_active_bits > self.l4_column_count:
            raise ValueError(f"feature_active_bits must be <= l4_column_count ({self.l4_column_count}), "
                             f"got {self.feature_active_bits}")
        check_real(self.scale, "scale", 0.0, low_open=True)
        check_real(self.feature_scale, "feature_scale", 0.0, low_open=True)

    @property
    def l4_cells(self) -> int:
        """Number of L4 cells (the anchoring input size)."""
        return self.l4_column_count * self.l4_cells_per_column


#: The column of Lewis et al. 2019: 10 modules of 10 x 10 cells, L4 of 150 x 16 cells, 10-bit features.
PAPER_PARAMS = LocationColumnParams()


class LocationColumn:
    """A cortical column whose location comes from grid cells: L6a (location) and L4 (feature at location).

    Neural rule. L6a is a stack of grid-cell modules (:class:`~htmagent.gridcells.LocationLayer`) that
    path-integrate the sensor's movements. L4 pyramidal cells take the sensed feature on their proximal dendrites (the
    active minicolumns) and L6a's active cells on their basal dendrites: a cell whose basal segment recognizes the
    current location fires alone in its minicolumn ("this feature at this location"); a minicolumn with no such cell
    bursts. L4's activity goes back to L6a: grid cells whose anchoring segments recognize it become the new activity
    bumps, i.e. the union of every learned location where this sensation was seen. Movement shifts the whole union, the
    next sensation keeps only the locations that predicted it — the union narrows to one location, and a location
    belongs to one object, so it identifies the object.

    Learning (one object): :meth:`reset`, :meth:`activate_random_location` (a fresh location space), then for each
    point :meth:`movement_compute` and :meth:`sensory_compute` with ``learn=True``: L4's winner cells grow a basal
    segment onto L6a's learning cells (the cell nearest each bump) and those learning cells grow anchoring segments
    onto the L4 winners.

    What it does not decide: where the sensor goes, or which learned object a location belongs to
    (:class:`~htmagent.cortex.location_network.LocationNetwork` keeps that map).

    Args:
        params: :class:`LocationColumnParams` (default :data:`PAPER_PARAMS`).
        seed: seed or Generator (random locations, synapse sampling, tie breaks).
    """

    def __init__(self, params: LocationColumnParams = PAPER_PARAMS, seed: int | np.random.Generator | None = None):
        if not isinstance(params, LocationColumnParams):
            raise TypeError(f"params must be a LocationColumnParams, got {type(params).__name__}")
        self.params = params
        rng = make_rng(seed)
        anchor = AnchorParams(activation_threshold=params.anchor_threshold, learning_threshold=params.anchor_threshold,
                              sample_size=params.anchor_sample_size, memory_budget=params.anchor_memory_budget)
        self.location_layer = LocationLayer(
            num_modules=params.num_modules, cells_per_axis=params.cells_per_axis, scale=params.scale,
            bump_sigma=params.bump_sigma, active_firing_rate=params.active_firing_rate,
            anchor_input_size=params.l4_cells, anchor=anchor, seed=int(rng.integers(2**63 - 1)))
        self.l4 = TemporalMemory(
            params.l4_column_count, params.l4_cells_per_column, mode="pair",
            basal_input_size=self.location_layer.size, seed=int(rng.integers(2**63 - 1)),
            **lewis2019_l4_params(params.num_modules, params.basal_threshold))
        self._associated = _EMPTY

    # ------------------------------------------------------------------ readout
    @property
    def location_size(self) -> int:
        """Number of location cells (``num_modules * cells_per_axis ** 2``)."""
        return self.location_layer.size

    @property
    def location_cells(self) -> SDR:
        """Active location cells (L4's basal input)."""
        return self.location_layer.active_cells

    @property
    def sensory_associated_cells(self) -> SDR:
        """Location cells tied to the last sensation.

        After learning: the learning cells (the location code stored for this feature at this point). After inference:
        the cells the sensation activated through anchoring (empty if it recalled no learned location).
        """
        return SDR._trusted(self.location_size, self._associated)

    @property
    def num_hypotheses(self) -> int:
        """Location hypotheses left (the most bumps any module holds)."""
        return self.location_layer.num_hypotheses

    @property
    def location_density(self) -> float:
        """Fraction of location cells active (about 0.07 once converged, as in the paper's Fig 7A)."""
        return self.location_layer.active_cells.num_active / self.location_size

    # ------------------------------------------------------------------ dynamics
    def reset(self) -> None:
        """Forget the location and L4 activity (learned synapses stay)."""
        self.location_layer.reset()
        self.l4.reset()
        self._associated = _EMPTY

    def activate_random_location(self) -> None:
        """Start a fresh location space: one bump at a random phase in every module (done once per learned object)."""
        self.location_layer.activate_random_location()

    def movement_compute(self, displacement: Sequence[float] | np.ndarray) -> None:
        """Path integration of the sensor's movement (world units) in every module.

        Raises:
            ValueError / TypeError: if ``displacement`` is not a finite 2-vector (nothing changes).
        """
        self.location_layer.movement_compute(displacement)

    def sensory_compute(self, feature_sdr: SDR | np.ndarray | Sequence[int], learn: bool) -> SDR:
        """Sense a feature at the current location: L4 then L6a anchoring (and learning in both if ``learn``).

        Args:
            feature_sdr: the feature's active minicolumns (``l4_column_count`` bits).
            learn: learn the feature at this location (True) or infer (False).

        Returns:
            L4's active cells.

        Raises:
            ValueError / TypeError: a wrong-size or malformed feature, or a non-bool ``learn`` (nothing changes).
        """
        feature = as_sdr(feature_sdr, self.params.l4_column_count, "feature_sdr")
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {type(learn).__name__}")
        layer = self.location_layer
        learning_cells = layer.learning_cells
        self.l4.compute(feature, basal_input=layer.active_cells, basal_growth_candidates=learning_cells,
                        learn=bool(learn))
        active = self.l4.active_cells
        if learn:
            layer.sensory_compute(active, self.l4.winner_cells, True)
            self._associated = learning_cells.sparse
        else:
            owners = supported_cells(layer.connections, active, layer.anchor)
            self._associated = np.unique(owners).astype(np.int32) if owners.size else _EMPTY
            layer.sensory_compute(active, self.l4.winner_cells, False)
        return active

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """Parameters, L6a and L4 states (RNGs included) and the last associated cells."""
        return {"format": _COLUMN_FORMAT, "params": asdict(self.params),
                "location_layer": self.location_layer.state_dict(), "l4": self.l4.state_dict(),
                "associated": self._associated.copy()}

    @atomic_load
    def load_state_dict(self, state: Mapping) -> None:
        """Restore :meth:`state_dict`'s output into a column built with the same parameters."""
        if state.get("format") != _COLUMN_FORMAT:
            raise ValueError(f"state must have format {_COLUMN_FORMAT!r}, got {state.get('format')!r}")
        if LocationColumnParams(**state["params"]) != self.params:
            raise ValueError(f"state params must equal this column's params {self.params}, got {state['params']}")
        associated = get_array(state, "associated", np.int32, (None,), 0, self.location_size, high_open=True)
        self.location_layer.load_state_dict(get(state, "location_layer"))
        self.l4.load_state_dict(get(state, "l4"))
        self._associated = associated

    def save(self, path: str | os.PathLike) -> None:
        """Write the column to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LocationColumn":
        """Read a column written by :meth:`save`."""
        with naming_file(path):
            state = load_state(path)
            try:
                column = cls(LocationColumnParams(**dict(get(state, "params"))), seed=0)
            except (TypeError, ValueError) as error:
                raise StateError(f"params are not valid LocationColumn parameters: {error}", field="params") from error
            column.load_state_dict(state)
        return column

    def __repr__(self) -> str:
        p = self.params
        return (f"LocationColumn({p.num_modules} modules x {p.cells_per_axis}x{p.cells_per_axis} cells, "
                f"L4 {p.l4_column_count}x{p.l4_cells_per_column}, hypotheses={self.num_hypotheses})")
