"""The spatial pooler: turns an input SDR into a sparse set of active minicolumns that keeps input similarity.

Neural picture: each minicolumn's proximal dendrite samples a *potential pool* of input bits (topologically near the
column when the input has a layout). A synapse is connected when its permanence reaches ``syn_perm_connected``. The
column's *overlap* is the number of connected synapses on active input bits; inhibition lets only the columns with
the highest (boosted) overlaps fire, either over the whole layer (global) or within each column's neighbourhood
(local). Winners learn by Hebbian plasticity: synapses from active bits strengthen, the others weaken. Homeostasis
keeps every column in use: a column firing less than its neighbours gets its overlap boosted (``exp(-(duty -
target) * boost_strength)``), and a column that rarely receives any input has all its permanences bumped up.

What the spatial pooler does not decide: time. Each ``compute`` call is one independent input; there is no sequence
state (that is the temporal memory's job).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._state import StateError, atomic_load, check_format, get, get_array, get_int, naming_file
from htmagent._validation import check_bool, check_int, check_real, is_int
from htmagent.kernels import spatial_pooler as K
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state

__all__ = ["SpatialPooler", "SpatialPoolerParams"]

_FORMAT = "htmagent.SpatialPooler/1"
# Fraction of potential synapses that start connected (htm.core's initConnectedPct).
_INIT_CONNECTED_PCT = 0.5
# Permanence marking an input bit outside a column's potential pool (never updated, never connected).
_NOT_POTENTIAL = -1.0
# Scale of the fixed per-column tie-breaker: far below any meaningful difference of boosted overlaps.
_TIE_BREAK_SCALE = 1e-6


def _dims(value: int | Sequence[int], name: str) -> tuple[int, ...]:
    if is_int(value):
        dims = (int(value),)
    elif isinstance(value, (tuple, list)) and value and all(
        is_int(d) for d in value
    ):
        dims = tuple(int(d) for d in value)
    else:
        raise TypeError(f"{name} must be a positive int or a non-empty tuple of positive ints, got {value!r}")
    if any(d <= 0 for d in dims):
        raise ValueError(f"{name} must have positive dimensions, got {dims}")
    return dims


@dataclasses.dataclass(frozen=True)
class SpatialPoolerParams:
    """Parameters of a :class:`SpatialPooler` (htm.core names in snake_case).

    Layout:
        input_dimensions: shape of the input SDR; topology (potential pools, inhibition radius) follows it.
        column_dimensions: shape of the minicolumn sheet; the number of columns is its product.
        potential_radius: half-width, in input bits per dimension, of the region a column may sample; use the input
            size to let every column see the whole input (the usual choice for encoder outputs).
        potential_pct: fraction of that region in the potential pool (0.5-0.85 typical).
        wrap_around: whether topology wraps at the edges (pools and inhibition neighbourhoods).

    Inhibition:
        global_inhibition: True = the top columns of the whole layer win (fast, the usual choice); False = local
            inhibition within an adaptive radius derived from the columns' receptive-field spans.
        local_area_density: fraction of columns active per inhibition area (e.g. 0.02). Exactly one of this and
            ``num_active_columns_per_inh_area`` must be set.
        num_active_columns_per_inh_area: number of active columns per inhibition area (e.g. 40 of 2048).
        stimulus_threshold: minimum boosted overlap a column needs to be active (0 = any overlap above zero).

    Learning:
        syn_perm_active_inc: permanence increment of a winner's synapses on active bits.
        syn_perm_inactive_dec: permanence decrement of a winner's synapses on inactive bits.
        syn_perm_connected: permanence at which a synapse counts towards the overlap.
        syn_perm_below_stimulus_inc: step by which a weak column's permanences are bumped (default
            ``syn_perm_connected / 10``).

    Homeostasis:
        min_pct_overlap_duty_cycles: a column whose overlap duty cycle falls below this fraction of the best in its
            neighbourhood is "weak" and gets bumped.
        duty_cycle_period: averaging window of the duty cycles, in learning steps.
        boost_strength: 0 disables boosting; larger values equalise column usage more aggressively (htm.core
            hotgym uses 3.0).
        update_period: how often (learning steps) the weak-column threshold and the inhibition radius are updated.

    seed: seed of the pooler's random generator (potential pools, initial permanences, tie-breaker).
    """

    input_dimensions: tuple[int, ...]
    column_dimensions: tuple[int, ...]
    potential_radius: int = 16
    potential_pct: float = 0.5
    global_inhibition: bool = True
    local_area_density: float | None = None
    num_active_columns_per_inh_area: int | None = None
    stimulus_threshold: float = 0.0
    syn_perm_inactive_dec: float = 0.008
    syn_perm_active_inc: float = 0.05
    syn_perm_connected: float = 0.1
    syn_perm_below_stimulus_inc: float | None = None
    min_pct_overlap_duty_cycles: float = 0.001
    duty_cycle_period: int = 1000
    boost_strength: float = 0.0
    update_period: int = 50
    wrap_around: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_dimensions", _dims(self.input_dimensions, "input_dimensions"))
        object.__setattr__(self, "column_dimensions", _dims(self.column_dimensions, "column_dimensions"))
        if len(self.input_dimensions) != len(self.column_dimensions):
            raise ValueError(
                "input_dimensions and column_dimensions must have the same number of dimensions, got "
                f"{self.input_dimensions} and {self.column_dimensions}"
            )
        check_int(self.potential_radius, "potential_radius", 0)
        check_real(self.potential_pct, "potential_pct", 0.0, 1.0, low_open=True)
        if (self.local_area_density is None) == (self.num_active_columns_per_inh_area is None):
            raise ValueError(
                "exactly one of local_area_density and num_active_columns_per_inh_area must be given, got "
                f"local_area_density={self.local_area_density!r}, "
                f"num_active_columns_per_inh_area={self.num_active_columns_per_inh_area!r}"
            )
        if self.local_area_density is not None:
            check_real(self.local_area_density, "local_area_density", 0.0, 0.5, low_open=True)
        else:
            check_int(self.num_active_columns_per_inh_area, "num_active_columns_per_inh_area", 1)
        check_real(self.stimulus_threshold, "stimulus_threshold", 0.0, math.inf, finite=False)
        check_real(self.syn_perm_inactive_dec, "syn_perm_inactive_dec", 0.0, 1.0)
        check_real(self.syn_perm_active_inc, "syn_perm_active_inc", 0.0, 1.0)
        check_real(self.syn_perm_connected, "syn_perm_connected", 0.0, 1.0, low_open=True)
        if self.syn_perm_below_stimulus_inc is None:
            object.__setattr__(self, "syn_perm_below_stimulus_inc", self.syn_perm_connected / 10.0)
        check_real(self.syn_perm_below_stimulus_inc, "syn_perm_below_stimulus_inc", 0.0, 1.0)
        check_real(self.min_pct_overlap_duty_cycles, "min_pct_overlap_duty_cycles", 0.0, 1.0)
        check_int(self.duty_cycle_period, "duty_cycle_period", 1)
        check_real(self.boost_strength, "boost_strength", 0.0, math.inf, finite=False)
        check_int(self.update_period, "update_period", 1)
        for name in ("global_inhibition", "wrap_around"):
            check_bool(getattr(self, name), name)

    @property
    def num_inputs(self) -> int:
        """Number of input bits."""
        return int(np.prod(self.input_dimensions))

    @property
    def num_columns(self) -> int:
        """Number of minicolumns."""
        return int(np.prod(self.column_dimensions))


def _box(center: np.ndarray, radius: int, dims: tuple[int, ...], wrap: bool) -> np.ndarray:
    """Flat indices of the hyper-cube of half-width ``radius`` around ``center`` (sorted, unique)."""
    axes = []
    for c, d in zip(center, dims):
        if 2 * radius + 1 >= d:
            axes.append(np.arange(d))
        elif wrap:
            axes.append(np.unique(np.arange(c - radius, c + radius + 1) % d))
        else:
            axes.append(np.arange(max(0, c - radius), min(d, c + radius + 1)))
    grids = np.meshgrid(*axes, indexing="ij")
    # Sorted axes and row-major order give ascending flat indices.
    return np.ravel_multi_index(tuple(g.ravel() for g in grids), dims)


def _lowest(keys: np.ndarray, count: int) -> np.ndarray:
    """Boolean mask of the ``count`` lowest ``keys`` along the last axis (one random pool per row of random keys)."""
    if count == 0:
        return np.zeros(keys.shape, dtype=bool)
    return keys <= np.partition(keys, count - 1, axis=-1)[..., count - 1:count]


class SpatialPooler:
    """A spatial pooler layer of minicolumns (see the module docstring for the neural rule).

    Args:
        input_dimensions, column_dimensions, potential_radius, potential_pct, global_inhibition, local_area_density,
        num_active_columns_per_inh_area, stimulus_threshold, syn_perm_inactive_dec, syn_perm_active_inc,
        syn_perm_connected, syn_perm_below_stimulus_inc, min_pct_overlap_duty_cycles, duty_cycle_period,
        boost_strength, update_period, wrap_around: see :class:`SpatialPoolerParams`.
        seed: ``int``, ``np.random.Generator`` or ``None`` (fresh entropy).
        storage: how the synapses are stored: ``"dense"``, ``"pool"`` or ``"auto"`` (the default: ``"pool"`` when
            the potential pools cover at most a quarter of the input and the pooler has at least a million
            (column, input) pairs, else ``"dense"``). Both give the same pooler, synapse for synapse.

    Dense storage: a float32 permanence matrix (``num_columns x num_inputs``, -1 outside the potential pools) and two
    uint8 connection matrices, i.e. 6 bytes per (column, input) pair (hotgym: 1638 x 1462 -> 14 MB). That is what
    makes a learning step a few contiguous, vectorised row updates. Pool storage keeps only the potential synapses:
    16 bytes each (input bit and permanence, and the reverse index that makes an overlap cost only the active bits'
    synapses), so memory follows the pools, which for inputs of many thousands of bits with small topological pools
    is a small fraction of the pairs.

    Attributes (diagnostics, refreshed by each ``compute``):
        overlaps: int32 raw overlap of every column.
        boosted_overlaps: float64 overlaps times the boost factors (equal to ``overlaps`` when not learning).
        boost_factors: float64 current boost factor of every column.
        active_duty_cycles, overlap_duty_cycles: float64 moving averages used by homeostasis.

    Example:
        >>> sp = SpatialPooler(1000, 2048, potential_radius=1000, num_active_columns_per_inh_area=40, seed=1)
        >>> columns = sp.compute(SDR.random(1000, 0.02, seed=2))
        >>> columns.num_active
        40
    """

    def __init__(
        self,
        input_dimensions: int | Sequence[int],
        column_dimensions: int | Sequence[int],
        *,
        potential_radius: int = 16,
        potential_pct: float = 0.5,
        global_inhibition: bool = True,
        local_area_density: float | None = None,
        num_active_columns_per_inh_area: int | None = None,
        stimulus_threshold: float = 0.0,
        syn_perm_inactive_dec: float = 0.008,
        syn_perm_active_inc: float = 0.05,
        syn_perm_connected: float = 0.1,
        syn_perm_below_stimulus_inc: float | None = None,
        min_pct_overlap_duty_cycles: float = 0.001,
        duty_cycle_period: int = 1000,
        boost_strength: float = 0.0,
        update_period: int = 50,
        wrap_around: bool = True,
        seed: int | np.random.Generator | None = None,
        storage: str = "auto",
    ):
        if storage not in ("auto", "dense", "pool"):
            raise ValueError(f"storage must be 'auto', 'dense' or 'pool', got {storage!r}")
        if local_area_density is None and num_active_columns_per_inh_area is None:
            local_area_density = 0.02
        self.params = SpatialPoolerParams(
            input_dimensions=input_dimensions,
            column_dimensions=column_dimensions,
            potential_radius=potential_radius,
            potential_pct=potential_pct,
            global_inhibition=global_inhibition,
            local_area_density=local_area_density,
            num_active_columns_per_inh_area=num_active_columns_per_inh_area,
            stimulus_threshold=stimulus_threshold,
            syn_perm_inactive_dec=syn_perm_inactive_dec,
            syn_perm_active_inc=syn_perm_active_inc,
            syn_perm_connected=syn_perm_connected,
            syn_perm_below_stimulus_inc=syn_perm_below_stimulus_inc,
            min_pct_overlap_duty_cycles=min_pct_overlap_duty_cycles,
            duty_cycle_period=duty_cycle_period,
            boost_strength=boost_strength,
            update_period=update_period,
            wrap_around=wrap_around,
        )
        self._rng = make_rng(seed)
        self._pool_storage = storage == "pool" or (storage == "auto" and self._pools_are_small())
        self._build()

    # ------------------------------------------------------------------ construction

    def _pools_are_small(self) -> bool:
        """The ``"auto"`` storage rule: pools of at most a quarter of the input, on at least a million pairs."""
        p = self.params
        if p.num_columns * p.num_inputs < 1_000_000:
            return False
        region = 1
        for d in p.input_dimensions:
            region *= min(2 * p.potential_radius + 1, d)
        return p.potential_pct * region <= 0.25 * p.num_inputs

    @property
    def storage(self) -> str:
        """``"dense"`` or ``"pool"``: how the synapses are stored (see the class docstring)."""
        return "pool" if self._pool_storage else "dense"

    def _build(self) -> None:
        p = self.params
        n_in, n_col = p.num_inputs, p.num_columns
        rng = self._rng
        c = p.syn_perm_connected
        if self._pool_storage:
            self._build_pools(rng)
        else:
            potential = self._potential_pools(rng)
            u = rng.random((n_col, n_in), dtype=np.float32)
            perm = self._initial_permanences(u)
            perm[~potential] = _NOT_POTENTIAL
            self._perm = perm.astype(np.float32)
        self._tie_breaker = _TIE_BREAK_SCALE * rng.random(n_col)
        self._rebuild_connected()
        if p.stimulus_threshold > 0:
            if self._pool_storage:
                K.pool_raise_columns(self._pool_ptr, self._pool_perm, self._connected_count, p.stimulus_threshold,
                                     p.syn_perm_below_stimulus_inc, c)
            else:
                for column in range(n_col):
                    K._raise_column(self._perm, self._connected, self._connected_t, self._connected_count, column,
                                    p.stimulus_threshold, p.syn_perm_below_stimulus_inc, c)
        self._overlap_duty = np.zeros(n_col)
        self._active_duty = np.zeros(n_col)
        self._min_overlap_duty = np.zeros(n_col)
        self._boost = np.ones(n_col)
        self._iteration = 0
        self._iteration_learn = 0
        self._inhibition_radius = 0
        self._neigh_ptr = np.zeros(n_col + 1, dtype=np.int64)
        self._neigh_idx = np.empty(0, dtype=np.int32)
        self._update_inhibition_radius()
        self._allocate_scratch()

    def _allocate_scratch(self) -> None:
        n_col = self.params.num_columns
        self._num_columns = n_col
        self._num_active = self.num_active_columns
        self._ones = np.ones(n_col)
        self.overlaps = np.zeros(n_col, dtype=np.int32)
        self.boosted_overlaps = np.zeros(n_col)
        self._num_inputs = self.params.num_inputs
        self._input_dense = np.zeros(self._num_inputs, dtype=np.uint8)
        # Last step's k-th best score: speeds up global inhibition, never changes its result (not saved).
        self._kth_hint = np.full(1, -np.inf)

    def _initial_permanences(self, u: np.ndarray) -> np.ndarray:
        """Permanences from uniform float32 draws ``u``: a fraction _INIT_CONNECTED_PCT of the potential synapses
        starts connected, uniformly above the threshold, the rest uniformly below. One draw decides both: u < pct ->
        connected, and u rescaled to [0, 1) within its side is the position in the chosen interval."""
        c = self.params.syn_perm_connected
        pct = np.float32(_INIT_CONNECTED_PCT)
        return np.where(u < pct, c + (1 - c) * (u / pct), c * ((u - pct) / (1 - pct)))

    def _build_pools(self, rng: np.random.Generator) -> None:
        """Pool storage, drawn from ``rng`` exactly as the dense matrices are (row by row, the same numbers), without
        ever holding a dense matrix: each column's pool, then each column's permanences, kept on its pool."""
        p = self.params
        n_in, n_col = p.num_inputs, p.num_columns
        if all(2 * p.potential_radius + 1 >= d for d in p.input_dimensions):
            count = int(round(n_in * p.potential_pct))
            pools = [np.flatnonzero(_lowest(rng.random(n_in), count)) for _ in range(n_col)]
        else:
            pools = [self._local_pool(column, rng) for column in range(n_col)]
        ptr = np.zeros(n_col + 1, dtype=np.int64)
        np.cumsum([pool.size for pool in pools], out=ptr[1:])
        idx = np.empty(int(ptr[-1]), dtype=np.int32)
        perm = np.empty(int(ptr[-1]), dtype=np.float32)
        for column, pool in enumerate(pools):
            u = rng.random(n_in, dtype=np.float32)
            idx[ptr[column]:ptr[column + 1]] = pool
            perm[ptr[column]:ptr[column + 1]] = self._initial_permanences(u[pool]).astype(np.float32)
        self._set_pools(ptr, idx, perm)

    def _set_pools(self, ptr: np.ndarray, idx: np.ndarray, perm: np.ndarray) -> None:
        self._pool_ptr, self._pool_idx, self._pool_perm = ptr, idx, perm
        self._rev_ptr, self._rev_col, self._rev_slot = K.pool_reverse(ptr, idx, self.params.num_inputs)

    def _potential_pools(self, rng: np.random.Generator) -> np.ndarray:
        """Boolean ``(num_columns, num_inputs)`` matrix: ``round(potential_pct * region)`` random bits of each
        column's topological region (the input bits within ``potential_radius`` of the column's centre)."""
        p = self.params
        n_in, n_col = p.num_inputs, p.num_columns
        if all(2 * p.potential_radius + 1 >= d for d in p.input_dimensions):
            # Every region is the whole input: draw all pools at once.
            count = int(round(n_in * p.potential_pct))
            return _lowest(rng.random((n_col, n_in)), count)
        potential = np.zeros((n_col, n_in), dtype=bool)
        for column in range(n_col):
            potential[column, self._local_pool(column, rng)] = True
        return potential

    def _local_pool(self, column: int, rng: np.random.Generator) -> np.ndarray:
        """Sorted input bits of ``column``'s pool under topology: ``round(potential_pct * region)`` random bits of
        the region within ``potential_radius`` of the column's centre."""
        p = self.params
        ratio = np.array(p.input_dimensions) / np.array(p.column_dimensions)
        coords = np.array(np.unravel_index(column, p.column_dimensions))
        center = np.floor((coords + 0.5) * ratio).astype(np.int64)
        region = _box(center, p.potential_radius, p.input_dimensions, p.wrap_around)
        count = int(round(region.size * p.potential_pct))
        return np.sort(region[np.argsort(rng.random(region.size))[:count]])

    def _rebuild_connected(self) -> None:
        if self._pool_storage:
            owner, _ = self._connected_pairs()
            self._connected_count = np.bincount(owner, minlength=self.params.num_columns).astype(np.int32)
            return
        is_connected = self._perm >= np.float32(self.params.syn_perm_connected)
        self._connected = is_connected.astype(np.uint8)
        self._connected_t = np.ascontiguousarray(is_connected.T, dtype=np.uint8)
        self._connected_count = is_connected.sum(axis=1, dtype=np.int32)

    # ------------------------------------------------------------------ topology

    def _update_inhibition_radius(self) -> None:
        """Local inhibition radius = the columns' average connected span mapped into column space."""
        p = self.params
        if p.global_inhibition:
            return
        n_col = p.num_columns
        owner, inputs = self._connected_pairs()
        if owner.size == 0:
            radius = max(p.column_dimensions)
        else:
            coords = np.unravel_index(inputs, p.input_dimensions)
            spans = []
            for axis in coords:
                hi = np.full(n_col, -1, dtype=np.int64)
                lo = np.full(n_col, np.iinfo(np.int64).max, dtype=np.int64)
                np.maximum.at(hi, owner, axis)
                np.minimum.at(lo, owner, axis)
                has = hi >= 0
                spans.append(float(np.mean(hi[has] - lo[has] + 1)))
            avg_span = float(np.mean(spans))
            cols_per_input = float(np.mean(np.array(p.column_dimensions) / np.array(p.input_dimensions)))
            diameter = avg_span * cols_per_input
            radius = int(round(max(1.0, (diameter - 1.0) / 2.0)))
        radius = min(radius, max(p.column_dimensions))
        if radius != self._inhibition_radius:
            self._inhibition_radius = radius
            self._build_neighbourhoods()

    def _connected_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(column, input bit) of every connected synapse, by column then input."""
        thr = np.float32(self.params.syn_perm_connected)
        if self._pool_storage:
            keep = self._pool_perm >= thr
            owner = np.repeat(np.arange(self.params.num_columns), np.diff(self._pool_ptr))
            return owner[keep], self._pool_idx[keep].astype(np.int64)
        return np.nonzero(self._perm >= thr)

    @property
    def _acts_globally(self) -> bool:
        # A local neighbourhood that spans every column is the whole layer: inhibit globally (as htm.core does),
        # which gives the same winners without the quadratic neighbourhood lists.
        p = self.params
        return p.global_inhibition or all(2 * self._inhibition_radius + 1 >= d for d in p.column_dimensions)

    def _build_neighbourhoods(self) -> None:
        p = self.params
        n_col = p.num_columns
        if self._acts_globally:
            self._neigh_ptr = np.zeros(n_col + 1, dtype=np.int64)
            self._neigh_idx = np.empty(0, dtype=np.int32)
            return
        lists = []
        for c in range(n_col):
            coords = np.array(np.unravel_index(c, p.column_dimensions))
            box = _box(coords, self._inhibition_radius, p.column_dimensions, p.wrap_around)
            lists.append(box[box != c])
        sizes = np.array([b.size for b in lists], dtype=np.int64)
        self._neigh_ptr = np.zeros(n_col + 1, dtype=np.int64)
        np.cumsum(sizes, out=self._neigh_ptr[1:])
        self._neigh_idx = np.concatenate(lists).astype(np.int32) if lists else np.empty(0, dtype=np.int32)

    # ------------------------------------------------------------------ public API

    @property
    def num_inputs(self) -> int:
        """Number of input bits."""
        return self.params.num_inputs

    @property
    def num_columns(self) -> int:
        """Number of minicolumns."""
        return self._num_columns

    @property
    def density(self) -> float:
        """Target fraction of active columns (per inhibition area)."""
        p = self.params
        if p.local_area_density is not None:
            return float(p.local_area_density)
        if p.global_inhibition:
            return min(0.5, p.num_active_columns_per_inh_area / self._num_columns)
        area = (2 * self._inhibition_radius + 1) ** len(p.column_dimensions)
        return min(0.5, p.num_active_columns_per_inh_area / min(area, self._num_columns))

    @property
    def num_active_columns(self) -> int:
        """Number of winners per step under global inhibition."""
        p = self.params
        if p.num_active_columns_per_inh_area is not None:
            return min(p.num_active_columns_per_inh_area, p.num_columns)
        return max(1, int(round(p.local_area_density * p.num_columns)))

    @property
    def inhibition_radius(self) -> int:
        """Current local-inhibition radius in columns (0 under global inhibition)."""
        return self._inhibition_radius

    @property
    def boost_factors(self) -> np.ndarray:
        """Current boost factor of every column (copy)."""
        return self._boost.copy()

    @property
    def active_duty_cycles(self) -> np.ndarray:
        """Moving average of how often each column is active (copy)."""
        return self._active_duty.copy()

    @property
    def overlap_duty_cycles(self) -> np.ndarray:
        """Moving average of how often each column has a non-zero overlap (copy)."""
        return self._overlap_duty.copy()

    @property
    def iteration(self) -> int:
        """Number of ``compute`` calls so far."""
        return self._iteration

    def permanences(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """The potential pool of ``column``: (input bit indices, float32 permanences), both copies."""
        if not is_int(column) or not 0 <= column < self.num_columns:
            raise ValueError(f"column must be an int in [0, {self.num_columns}), got {column!r}")
        if self._pool_storage:
            lo, hi = self._pool_ptr[column], self._pool_ptr[column + 1]
            return self._pool_idx[lo:hi].copy(), self._pool_perm[lo:hi].copy()
        row = self._perm[column]
        pool = np.flatnonzero(row >= 0.0).astype(np.int32)
        return pool, row[pool].copy()

    def connected_counts(self) -> np.ndarray:
        """Number of connected synapses of every column (copy)."""
        return self._connected_count.copy()

    def compute(self, input_sdr: SDR | np.ndarray | Sequence[int], learn: bool = True) -> SDR:
        """Run one input through the pooler.

        Args:
            input_sdr: SDR of ``num_inputs`` bits (any shape of that size) or sorted unique active indices.
            learn: apply Hebbian learning and homeostasis (duty cycles, boosting, bumping).

        Returns:
            The active columns, an SDR shaped like ``column_dimensions``.

        Raises:
            ValueError / TypeError: on a wrong size, unsorted or duplicate indices (the pooler is unchanged).
        """
        sdr = as_sdr(input_sdr, self._num_inputs, "input_sdr")
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {learn!r}")
        p = self.params
        active_inputs = sdr.sparse
        if self._pool_storage:
            K.pool_overlaps(self.overlaps, self.boosted_overlaps, active_inputs, self._rev_ptr, self._rev_col,
                            self._rev_slot, self._pool_perm, p.syn_perm_connected, self._boost if learn else self._ones)
        else:
            K.sp_overlaps(self.overlaps, self.boosted_overlaps, active_inputs, self._connected_t,
                          self._boost if learn else self._ones)
        if self._acts_globally:
            winners = K.sp_inhibit_global(self.overlaps, self.boosted_overlaps, self._tie_breaker,
                                          p.stimulus_threshold, self._num_active, self._kth_hint)
        else:
            winners = K.sp_inhibit_local(self.overlaps, self.boosted_overlaps, self._tie_breaker,
                                         p.stimulus_threshold, self._neigh_ptr, self._neigh_idx, self.density)
        self._iteration += 1
        if learn:
            self._learn(active_inputs, winners)
        out = SDR._trusted(self._num_columns, winners)
        if len(p.column_dimensions) > 1:
            out = out.reshape(p.column_dimensions)
        return out

    def _learn(self, active_inputs: np.ndarray, winners: np.ndarray) -> None:
        p = self.params
        self._iteration_learn += 1
        period = float(min(self._iteration_learn, p.duty_cycle_period))
        acts_globally = self._acts_globally
        # One kernel call does the whole step (adapt, duty cycles, bumping, and the boost under global inhibition).
        store = (self._pool_ptr, self._pool_idx, self._pool_perm) if self._pool_storage else \
            (self._perm, self._connected, self._connected_t)
        (K.pool_learn if self._pool_storage else K.sp_learn)(
            *store, self._connected_count, self._overlap_duty, self._active_duty, self._boost, self._input_dense,
            active_inputs, winners, self.overlaps, self._min_overlap_duty, period, p.syn_perm_active_inc,
            p.syn_perm_inactive_dec, p.syn_perm_connected, p.stimulus_threshold, p.syn_perm_below_stimulus_inc,
            p.boost_strength, self.density if acts_globally else -1.0)
        if not acts_globally:
            self._update_boost_factors()
        if self._iteration_learn % p.update_period == 0:
            self._update_inhibition_radius()
            self._update_min_duty_cycles()

    def _update_boost_factors(self) -> None:
        # Local inhibition only (sp_learn does the global case): the target is each neighbourhood's mean activity.
        p = self.params
        if p.boost_strength == 0.0:
            return
        target = np.empty(self.num_columns)
        K.sp_neighbourhood_mean(target, self._active_duty, self._neigh_ptr, self._neigh_idx)
        np.exp((target - self._active_duty) * p.boost_strength, out=self._boost)

    def _update_min_duty_cycles(self) -> None:
        p = self.params
        if self._acts_globally:
            self._min_overlap_duty[:] = p.min_pct_overlap_duty_cycles * float(self._overlap_duty.max())
        else:
            K.sp_neighbourhood_max(self._min_overlap_duty, self._overlap_duty, self._neigh_ptr, self._neigh_idx)
            self._min_overlap_duty *= p.min_pct_overlap_duty_cycles

    # ------------------------------------------------------------------ persistence

    def state_dict(self) -> dict:
        """Everything needed to resume exactly (parameters, synapses, homeostasis, RNG). The synapses are saved as
        they are stored: ``perm`` (dense), or ``pool_ptr`` / ``pool_idx`` / ``pool_perm`` (pool storage)."""
        synapses = {"pool_ptr": self._pool_ptr.copy(), "pool_idx": self._pool_idx.copy(),
                    "pool_perm": self._pool_perm.copy()} if self._pool_storage else {"perm": self._perm.copy()}
        return {
            "format": _FORMAT,
            "params": dataclasses.asdict(self.params),
            **synapses,
            "tie_breaker": self._tie_breaker.copy(),
            "overlap_duty": self._overlap_duty.copy(),
            "active_duty": self._active_duty.copy(),
            "min_overlap_duty": self._min_overlap_duty.copy(),
            "boost": self._boost.copy(),
            "iteration": self._iteration,
            "iteration_learn": self._iteration_learn,
            "inhibition_radius": self._inhibition_radius,
            "rng": rng_state(self._rng),
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state produced by :meth:`state_dict` (replaces parameters and synapses).

        Every field is checked (dtype, shape, range) before any is used; a malformed state raises
        :class:`~htmagent.serialization.StateError` and leaves the pooler as it was.
        """
        check_format(state, _FORMAT)
        raw = get(state, "params")
        if not isinstance(raw, dict):
            raise StateError(f"params must be a mapping, got {type(raw).__name__}", field="params")
        raw = dict(raw)
        names = {f.name for f in dataclasses.fields(SpatialPoolerParams)}
        if set(raw) != names:
            raise StateError(f"params must hold exactly the pooler's parameters; missing {sorted(names - set(raw))}, "
                             f"unknown {sorted(set(raw) - names)}", field="params")
        try:
            for key in ("input_dimensions", "column_dimensions"):
                raw[key] = tuple(int(d) for d in np.atleast_1d(get(raw, key, "params/")))
            params = SpatialPoolerParams(**raw)
        except (TypeError, ValueError) as error:
            raise StateError(f"params are not valid pooler parameters: {error}", field="params") from error
        n_col = params.num_columns
        pool_storage = "perm" not in state and "pool_ptr" in state
        if pool_storage:
            pools = self._checked_pools(state, params)
        else:
            perm = get_array(state, "perm", np.float32, (n_col, params.num_inputs), _NOT_POTENTIAL, 1.0)
            if not np.all((perm >= 0) | (perm == _NOT_POTENTIAL)):
                raise StateError(f"perm must hold permanences in [0, 1] or {_NOT_POTENTIAL} (outside the pool)",
                                 field="perm")
        tie_breaker = get_array(state, "tie_breaker", np.float64, (n_col,), 0.0, 1.0)
        duties = {key: get_array(state, key, np.float64, (n_col,), 0.0, 1.0)
                  for key in ("overlap_duty", "active_duty", "min_overlap_duty")}
        boost = get_array(state, "boost", np.float64, (n_col,), 0.0, 1e300)
        iteration = get_int(state, "iteration", 0)
        iteration_learn = get_int(state, "iteration_learn", 0, iteration)
        radius = get_int(state, "inhibition_radius", 0, max(max(params.column_dimensions), 1))
        rng = restore_rng(get(state, "rng"))
        self.params = params
        self._pool_storage = pool_storage
        if pool_storage:
            self._set_pools(*pools)
            for name in ("_perm", "_connected", "_connected_t"):  # a dense pooler's matrices, if it was one
                self.__dict__.pop(name, None)
        else:
            self._perm = perm
            for name in ("_pool_ptr", "_pool_idx", "_pool_perm", "_rev_ptr", "_rev_col", "_rev_slot"):
                self.__dict__.pop(name, None)
        self._tie_breaker = tie_breaker
        self._overlap_duty = duties["overlap_duty"]
        self._active_duty = duties["active_duty"]
        self._min_overlap_duty = duties["min_overlap_duty"]
        self._boost = boost
        self._iteration = iteration
        self._iteration_learn = iteration_learn
        self._rng = rng
        self._rebuild_connected()
        self._inhibition_radius = radius
        self._build_neighbourhoods()
        self._allocate_scratch()

    @staticmethod
    def _checked_pools(state: dict, params: SpatialPoolerParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pool storage's arrays of ``state``, checked: offsets from 0, non-decreasing, ending at the number of
        synapses; input bits in range and strictly increasing within each column; permanences in [0, 1]."""
        n_col, n_in = params.num_columns, params.num_inputs
        ptr = get_array(state, "pool_ptr", np.int64, (n_col + 1,), 0, n_col * n_in)
        if ptr[0] != 0 or np.any(np.diff(ptr) < 0) or np.any(np.diff(ptr) > n_in):
            raise StateError(f"pool_ptr must start at 0 and grow by 0..{n_in} per column", field="pool_ptr")
        idx = get_array(state, "pool_idx", np.int32, (int(ptr[-1]),), 0, n_in, high_open=True)
        perm = get_array(state, "pool_perm", np.float32, (int(ptr[-1]),), 0.0, 1.0)
        if idx.size > 1:
            steps = np.diff(idx.astype(np.int64))
            starts = np.zeros(idx.size, dtype=bool)
            starts[ptr[1:-1][ptr[1:-1] < idx.size]] = True
            if np.any((steps <= 0) & ~starts[1:]):
                raise StateError("pool_idx must list each column's input bits in increasing order", field="pool_idx")
        return np.ascontiguousarray(ptr), np.ascontiguousarray(idx), np.ascontiguousarray(perm)

    def save(self, path: str | os.PathLike) -> None:
        """Write the pooler to ``path`` (npz + JSON, see :mod:`htmagent.serialization`)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SpatialPooler":
        """Read a pooler written by :meth:`save` (a malformed file raises
        :class:`~htmagent.serialization.StateError` naming it)."""
        sp = cls.__new__(cls)
        with naming_file(path):
            sp.load_state_dict(load_state(path))
        return sp

    def __repr__(self) -> str:
        p = self.params
        kind = "global" if p.global_inhibition else f"local r={self._inhibition_radius}"
        return (
            f"SpatialPooler(inputs={p.input_dimensions}, columns={p.column_dimensions}, "
            f"density={self.density:.4f}, inhibition={kind}, iteration={self._iteration})"
        )
