"""A cortical column: L4 input layer (pair-mode temporal memory) + L2/3 object layer, with a pluggable location."""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._validation import is_int
from htmagent.cortex.object_layer import ObjectLayer, ObjectLayerParams
from htmagent.sdr import SDR, as_sdr
from htmagent._state import StateError, atomic_load, get, get_array, get_int

__all__ = ["LocationSource", "RandomLocationCodes", "CorticalColumn", "hawkins2017_l4_params"]

Point = tuple[int, int]


@runtime_checkable
class LocationSource(Protocol):
    """Where a column's location signal (L4's basal input) comes from.

    Called once per sensation, in this order: :meth:`locate` (before L4; returns the location SDR for the sensor now
    at ``point``), then :meth:`anchor` (after L4, with L4's active cells). An external source (:class:`RandomLocationCodes`)
    looks the point up; a grid-cell source uses only the movement since the previous point and lets L4 anchor it.
    :meth:`reset` starts a new object.
    """

    size: int

    def reset(self) -> None:
        """Start a new object."""

    def locate(self, point: Point, learn: bool) -> SDR:
        """Location SDR (``size`` bits) of the sensor at ``point``."""

    def anchor(self, l4_active_cells: SDR, learn: bool, l4_winner_cells: SDR | None = None) -> None:
        """Sensory feedback from L4 after the sensation (its active cells, and its winner cells to learn onto)."""


class RandomLocationCodes:
    """External location signal: a fixed random k-of-n SDR per (x, y) point (the 2017 paper's location input).

    Codes are drawn from this source's RNG the first time a point is registered (:meth:`add_points`), so one source
    per column gives each column its own codes.

    Args:
        size: bits per code (2,400 in the paper).
        active_bits: active bits per code (20 in the paper's code, 10 in its text).
        seed: seed or Generator.
    """

    def __init__(self, size: int = 2400, active_bits: int = 20, seed: int | np.random.Generator | None = None):
        for name, value in (("size", size), ("active_bits", active_bits)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if active_bits > size:
            raise ValueError(f"active_bits must be <= size ({size}), got {active_bits}")
        self.size = int(size)
        self.active_bits = int(active_bits)
        self._rng = make_rng(seed)
        self._codes: dict[Point, SDR] = {}

    def add_points(self, points: Sequence[Point]) -> None:
        """Draw codes for the points that have none yet (in the given order)."""
        for point in points:
            key = (int(point[0]), int(point[1]))
            if key not in self._codes:
                bits = np.sort(self._rng.choice(self.size, self.active_bits, replace=False)).astype(np.int32)
                self._codes[key] = SDR._trusted(self.size, bits)

    @property
    def points(self) -> list[Point]:
        """Points that have a code, in registration order."""
        return list(self._codes)

    def reset(self) -> None:
        """Nothing to forget: the code depends on the point only."""

    def locate(self, point: Point, learn: bool = False) -> SDR:
        """The code of ``point``.

        Raises:
            ValueError: if the point has no code (it was never part of a learned object set).
        """
        key = (int(point[0]), int(point[1]))
        code = self._codes.get(key)
        if code is None:
            raise ValueError(f"point must be a location with a code (one of {len(self._codes)} learned points), "
                             f"got {key}")
        return code

    def anchor(self, l4_active_cells: SDR, learn: bool = False, l4_winner_cells: SDR | None = None) -> None:
        """An external signal needs no anchoring."""

    def state_dict(self) -> dict:
        """Codes (as a (points, 2) array and a (points, active_bits) array) and the RNG."""
        keys = list(self._codes)
        return {
            "size": self.size,
            "active_bits": self.active_bits,
            "rng": rng_state(self._rng),
            "points": np.asarray(keys, dtype=np.int64).reshape(-1, 2),
            "codes": np.asarray([self._codes[k].sparse for k in keys], dtype=np.int32).reshape(-1, self.active_bits),
        }

    @atomic_load
    def load_state_dict(self, state: Mapping) -> None:
        """Restore :meth:`state_dict`'s output (checked first; a malformed state raises
        :class:`~htmagent.serialization.StateError` and leaves the code book as it was)."""
        size = get_int(state, "size", 1, 2**31 - 1)
        active_bits = get_int(state, "active_bits", 1, size)
        points = get_array(state, "points", np.int64, (None, 2))
        codes = get_array(state, "codes", np.int32, (points.shape[0], active_bits), 0, size, high_open=True,
                          sorted_unique=True)
        if len({(int(x), int(y)) for x, y in points}) != points.shape[0]:
            raise StateError("points must not repeat", field="points")
        rng = restore_rng(get(state, "rng"))
        self.size, self.active_bits = size, active_bits
        self._rng = rng
        self._codes = {(int(x), int(y)): SDR._trusted(size, c) for (x, y), c in zip(points, codes)}


def hawkins2017_l4_params(input_bits: int = 20, capacity: bool = False) -> dict:
    """L4 (pair-mode TemporalMemory) keyword arguments of Hawkins et al. 2017 for ``input_bits``-bit inputs.

    Convergence/noise runs: initial permanence 0.51 below the connected 0.6, so a pair is predicted from its third
    presentation on; threshold 13 for 20 bits (8 for 10, else 0.6 x bits); sample size 1.5 x bits. Capacity runs:
    threshold int(0.6 x 20) = 12 and sample size 24.
    """
    if capacity:
        threshold = int(input_bits * 0.6)
        sample = 2 * threshold
    else:
        threshold = {20: 13, 10: 8}.get(input_bits, int(input_bits * 0.6))
        sample = int(1.5 * input_bits)
    return {
        "initial_permanence": 0.51, "connected_permanence": 0.6, "permanence_increment": 0.1,
        "permanence_decrement": 0.02, "activation_threshold": threshold, "min_threshold": threshold,
        "reduced_basal_threshold": int(threshold * 0.6), "max_new_synapse_count": sample,
        "predicted_segment_decrement": 0.0,
    }


class CorticalColumn:
    """One cortical column: L4 pairs features with locations, L2/3 pools them into a stable object code.

    Neural rule. L4 pyramidal cells take the sensed feature on their proximal dendrites (its bits are L4's active
    minicolumns), the location on their basal dendrites (a cell predicted by the location fires alone in its
    minicolumn, so the active cells mean "this feature at this location"), and this column's previous L2/3 activity
    on their apical dendrites (the object hypothesis breaks ties between location-predicted cells). L2/3
    (:class:`~htmagent.cortex.object_layer.ObjectLayer`) pools L4's cells into an object code and takes the other columns'
    previous L2/3 activity as lateral votes.

    What it does not decide: where the sensor goes, which point it is at, or when an object ends (call :meth:`reset`).

    Args:
        feature_size: width of the feature SDR = L4's minicolumn count.
        cells_per_column: L4 cells per minicolumn.
        location_size: width of the location SDR (L4's basal input).
        num_lateral: number of other columns voting into this one's L2/3.
        l2_params: :class:`ObjectLayerParams` of L2/3.
        l4_params: extra :class:`~htmagent.temporal_memory.TemporalMemory` keyword arguments (defaults:
            :func:`hawkins2017_l4_params`).
        enable_feedback: feed L2/3 back to L4's apical dendrites.
        seed: seed or Generator (L4 and L2/3 get seeds drawn from it).
    """

    def __init__(self, feature_size: int = 150, cells_per_column: int = 16, location_size: int = 2400,
                 num_lateral: int = 0, l2_params: ObjectLayerParams | None = None, l4_params: Mapping | None = None,
                 enable_feedback: bool = True, seed: int | np.random.Generator | None = None):
        from htmagent.temporal_memory import TemporalMemory

        rng = make_rng(seed)
        l2_params = l2_params if l2_params is not None else ObjectLayerParams()
        kwargs = hawkins2017_l4_params()
        kwargs.update(l4_params or {})
        self.enable_feedback = bool(enable_feedback)
        self.feature_size = int(feature_size)
        self.location_size = int(location_size)
        self.l4 = TemporalMemory(
            int(feature_size), int(cells_per_column), mode="pair", basal_input_size=int(location_size),
            apical_input_size=l2_params.cell_count if self.enable_feedback else 0,
            seed=int(rng.integers(2**31)), **kwargs)
        l4_cells = int(feature_size) * int(cells_per_column)
        self.l2 = ObjectLayer(l4_cells, [l2_params.cell_count] * int(num_lateral), l2_params,
                              seed=int(rng.integers(2**31)))

    @property
    def num_lateral(self) -> int:
        """Number of lateral (vote) inputs."""
        return len(self.l2.lateral_input_sizes)

    def reset(self) -> None:
        """Start a new object: clear L4 and L2/3 activity."""
        self.l4.reset()
        self.l2.reset()

    def sensory_compute(self, feature_sdr, location_sdr, lateral_inputs: Sequence = (), learn: bool = False) -> SDR:
        """One sensation step: L4 (feature at location, L2/3 feedback), then L2/3 (pooling, votes).

        Args:
            feature_sdr: active feature bits (``feature_size``), i.e. L4's active minicolumns.
            location_sdr: location SDR (``location_size``), L4's basal input.
            lateral_inputs: the other columns' previous L2/3 activity (``num_lateral`` SDRs).
            learn: learn in both layers.

        Returns:
            L2/3 active cells.

        Raises:
            ValueError/TypeError: on a wrong-size or malformed input (nothing changes).
        """
        feature = as_sdr(feature_sdr, self.feature_size, "feature_sdr")
        location = as_sdr(location_sdr, self.location_size, "location_sdr")
        if len(lateral_inputs) != self.num_lateral:
            raise ValueError(f"lateral_inputs must hold {self.num_lateral} SDRs, got {len(lateral_inputs)}")
        lateral = [as_sdr(x, self.l2.cell_count, f"lateral_inputs[{i}]") for i, x in enumerate(lateral_inputs)]
        apical = self.l2.active_cells if self.enable_feedback else None
        self.l4.compute(feature, basal_input=location, apical_input=apical, learn=learn)
        return self.l2.compute(self.l4.active_cells, lateral, self.l4.predicted_active_cells, learn=learn)

    def state_dict(self) -> dict:
        """L4 and L2/3 states."""
        return {"l4": self.l4.state_dict(), "l2": self.l2.state_dict(), "enable_feedback": self.enable_feedback}

    @atomic_load
    def load_state_dict(self, state: Mapping) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.l4.load_state_dict(state["l4"])
        self.l2.load_state_dict(state["l2"])
        self.enable_feedback = bool(state["enable_feedback"])
