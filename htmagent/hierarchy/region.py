"""One region of a hierarchy: a spatial pooler, a temporal memory and a temporal pooler.

A :class:`Region` turns its input (an SDR: pixels of a patch, a symbol, the pooled codes of the regions below) into
three things:

- **active columns and cells**: the spatial pooler's minicolumns (with topology when ``input_dimensions`` and
  ``column_dimensions`` are given and ``global_inhibition=False``: local receptive fields, local inhibition) and the
  temporal memory's cells in them, which carry the sequence context;
- **predicted cells** for the next step (what the region expects);
- **the pooled code** (:attr:`pooled`): a temporal pooler's output over the minicolumns, the region's output up the
  hierarchy. Each column's pooling activation decays by ``pool_decay`` per step and grows by 1 when the column is
  active and was predicted, by ``burst_weight`` when it is active but was not; the code is the ``pool_size`` most
  active columns. While the input sequence is predicted, the same columns keep being reinforced and the code stays
  put; an unpredicted input enters only weakly, and with ``pool_reset`` (an anomaly threshold) a surprise clears the
  pool, so that the code changes when the sequence does. The pooled code is a union of the recent columns: it
  stands for a stretch of sequence, so it changes more slowly than the columns do.

The hierarchy sends a region's feedback (its pooled code by default, or its predicted or active cells) down as the
apical input of the regions below: there the temporal memory's apical tiebreak lets the cells that the upper region
supports win over the others in their minicolumns.

Neurally: the pooled code is the layer-2/3-like output of a region that stays active across the elements of a
predicted sequence (Numenta's union pooler); the feedback reaches layer 1 of the region below, where the apical
dendrites of its pyramidal cells are.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from htmagent._rng import make_rng
from htmagent._state import atomic_load, check_format, get, get_array, get_real, naming_file
from htmagent._validation import check_int, check_real
from htmagent.serialization import StateError, load_state, save_state
from htmagent.sdr import SDR, as_sdr

__all__ = ["Region", "RegionParams"]

_FORMAT = "htmagent.Region/1"


def _seed_int(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _dims(value: int | Sequence[int], name: str) -> tuple[int, ...]:
    dims = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not dims:
        raise ValueError(f"{name} must be an int or a non-empty sequence of ints, got {value!r}")
    return tuple(check_int(d, name, 1) for d in dims)


@dataclass(frozen=True)
class RegionParams:
    """The configuration of a :class:`Region`.

    Attributes:
        input_dimensions: shape of the input (an int or a tuple; topology follows it).
        column_dimensions: shape of the minicolumn sheet (the same number of dimensions as the input).
        cells_per_column: cells per minicolumn (sequence context).
        active_columns: minicolumns active per step (per inhibition area with local inhibition).
        potential_radius: the spatial pooler's receptive-field radius (in input units); ``None``: the whole input.
        potential_pct: fraction of the receptive field each column may connect to.
        global_inhibition: True: the top columns of the sheet win; False: local inhibition (topology).
        apical_input_size: size of the feedback input (from the region above); 0: none. Set by
            :class:`~htmagent.hierarchy.Hierarchy`.
        pool_size: columns in the pooled code (default: ``2 * active_columns``).
        pool_decay: decay of each column's pooling activation per step, in [0, 1).
        burst_weight: what an active but unpredicted column adds to its pooling activation (a predicted one adds 1).
        pool_reset: anomaly at or above which the pool is cleared before this step's columns enter (``None``: never).
        sp_params: extra :class:`~htmagent.SpatialPooler` keyword arguments.
        tm_params: extra :class:`~htmagent.TemporalMemory` keyword arguments (thresholds sized for
            ``active_columns`` are the default).
    """

    input_dimensions: int | tuple[int, ...]
    column_dimensions: int | tuple[int, ...]
    cells_per_column: int = 4
    active_columns: int = 10
    potential_radius: int | None = None
    potential_pct: float = 0.8
    global_inhibition: bool = True
    apical_input_size: int = 0
    pool_size: int | None = None
    pool_decay: float = 0.7
    burst_weight: float = 0.3
    pool_reset: float | None = None
    sp_params: dict = field(default_factory=dict)
    tm_params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_dimensions", _dims(self.input_dimensions, "input_dimensions"))
        object.__setattr__(self, "column_dimensions", _dims(self.column_dimensions, "column_dimensions"))
        if len(self.input_dimensions) != len(self.column_dimensions):
            raise ValueError(f"input_dimensions and column_dimensions must have the same number of dimensions, got "
                             f"{self.input_dimensions} and {self.column_dimensions}")
        check_int(self.cells_per_column, "cells_per_column", 1)
        check_int(self.active_columns, "active_columns", 1, self.column_count)
        if self.potential_radius is not None:
            check_int(self.potential_radius, "potential_radius", 1)
        check_real(self.potential_pct, "potential_pct", 0.0, 1.0, low_open=True)
        if not isinstance(self.global_inhibition, bool):
            raise TypeError(f"global_inhibition must be a bool, got {type(self.global_inhibition).__name__}")
        check_int(self.apical_input_size, "apical_input_size", 0)
        if self.pool_size is not None:
            check_int(self.pool_size, "pool_size", 1, self.column_count)
        check_real(self.pool_decay, "pool_decay", 0.0, 1.0, high_open=True)
        check_real(self.burst_weight, "burst_weight", 0.0, 1.0)
        if self.pool_reset is not None:
            check_real(self.pool_reset, "pool_reset", 0.0, 1.0, low_open=True)
        for name in ("sp_params", "tm_params"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name} must be a dict, got {type(getattr(self, name)).__name__}")

    @property
    def input_size(self) -> int:
        """Bits of the input (the product of ``input_dimensions``)."""
        return int(np.prod(self.input_dimensions))

    @property
    def column_count(self) -> int:
        """Minicolumns (the product of ``column_dimensions``)."""
        return int(np.prod(self.column_dimensions))

    @property
    def pooled_size(self) -> int:
        """Active columns in the pooled code."""
        return self.pool_size if self.pool_size is not None else min(2 * self.active_columns, self.column_count)

    def to_dict(self) -> dict:
        """The fields as plain JSON values (what a saved region records)."""
        out = asdict(self)
        out["input_dimensions"] = list(self.input_dimensions)
        out["column_dimensions"] = list(self.column_dimensions)
        return out


class Region:
    """A spatial pooler, a temporal memory (sequence mode, optional apical feedback) and a temporal pooler.

    Args:
        params: a :class:`RegionParams` (or its fields as keyword arguments).
        seed: int, Generator or None; seeds the pooler and the memory.

    Attributes:
        sp, tm: the :class:`~htmagent.SpatialPooler` and :class:`~htmagent.TemporalMemory`.
        active_columns: this step's active minicolumns (SDR over ``column_count``).
        pooled: this step's pooled code (SDR over ``column_count``, ``pooled_size`` active once enough columns
            have been active).
        anomaly: fraction of this step's active columns that were not predicted.

    Example:
        >>> region = Region(RegionParams(input_dimensions=64, column_dimensions=128, active_columns=8), seed=1)
        >>> out = region.step(SDR(64, list(range(0, 64, 8))))
        >>> out.num_active, region.pooled.num_active
        (8, 8)
    """

    def __init__(self, params: RegionParams | None = None, seed: int | np.random.Generator | None = None,
                 **kwargs: Any):
        from htmagent.spatial_pooler import SpatialPooler
        from htmagent.temporal_memory import TemporalMemory

        if params is None:
            params = RegionParams(**kwargs)
        elif kwargs:
            raise TypeError("give either params or keyword fields, not both")
        if not isinstance(params, RegionParams):
            raise TypeError(f"params must be a RegionParams, got {type(params).__name__}")
        self.params = p = params
        rng = make_rng(seed)
        radius = p.potential_radius if p.potential_radius is not None else max(p.input_dimensions)
        sp_kwargs = dict(potential_radius=radius, potential_pct=p.potential_pct, global_inhibition=p.global_inhibition,
                         local_area_density=p.active_columns / p.column_count, boost_strength=0.0,
                         wrap_around=False)
        sp_kwargs.update(p.sp_params)
        self.sp = SpatialPooler(p.input_dimensions, p.column_dimensions, seed=_seed_int(rng), **sp_kwargs)
        # Thresholds in proportion to the active columns: a segment samples them all, fires on ~70% of them.
        k = p.active_columns
        tm_kwargs = dict(activation_threshold=max(1, int(round(0.7 * k))), min_threshold=max(1, int(round(0.5 * k))),
                         max_new_synapse_count=k, initial_permanence=0.21, connected_permanence=0.5)
        tm_kwargs.update(p.tm_params)
        self.tm = TemporalMemory(p.column_count, p.cells_per_column, apical_input_size=p.apical_input_size,
                                 seed=_seed_int(rng), **tm_kwargs)
        self._activation = np.zeros(p.column_count)
        self._clear()

    # ------------------------------------------------------------------ sizes
    @property
    def input_size(self) -> int:
        """Bits of the input."""
        return self.params.input_size

    @property
    def column_count(self) -> int:
        """Minicolumns."""
        return self.params.column_count

    @property
    def num_cells(self) -> int:
        """Cells of the memory (minicolumns x cells per minicolumn)."""
        return self.column_count * self.params.cells_per_column

    # ------------------------------------------------------------------ stepping
    def _clear(self) -> None:
        self.active_columns = SDR(self.column_count)
        self.pooled = SDR(self.column_count)
        self.anomaly = 0.0

    def reset(self) -> None:
        """End a sequence: the memory's context, the pool and the outputs are cleared (learning stays)."""
        self.tm.reset()
        self._activation = np.zeros(self.column_count)
        self._clear()

    def check_input(self, input_sdr: object, apical_input: object = None) -> tuple[SDR, SDR | None]:
        """Validate a step's inputs without changing anything; returns them as SDRs."""
        return as_sdr(input_sdr, self.input_size, "input_sdr"), self._apical(apical_input)

    def _apical(self, apical_input: object) -> SDR | None:
        if apical_input is None:
            return None
        if not self.params.apical_input_size:
            raise ValueError("apical_input must be None: this region has apical_input_size=0")
        return as_sdr(apical_input, self.params.apical_input_size, "apical_input")

    def step(self, input_sdr: SDR | np.ndarray | Sequence[int], apical_input: SDR | np.ndarray | Sequence[int] | None
             = None, learn: bool = True) -> SDR:
        """One step: pool the input into columns, activate and learn the cells, update the pooled code.

        Args:
            input_sdr: SDR over ``input_size`` bits (or sorted active indices).
            apical_input: feedback for this step (from the region above), joined to the prediction that
                the previous step made; ``None``: no feedback.
            learn: learn in the pooler and the memory.

        Returns:
            The active columns.

        Raises:
            ValueError, TypeError: a wrong size or unsorted input, apical input to a region without apical
                dendrites, a non-bool ``learn``; the region is then unchanged.
        """
        sdr, apical = self.check_input(input_sdr, apical_input)
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {type(learn).__name__}")
        cols = self.sp.compute(sdr, learn=bool(learn))
        cols = SDR(self.column_count, cols.sparse)  # flat (a 2-D sheet's SDR is shaped like it)
        self.tm.compute(cols, apical_input=apical, learn=bool(learn))
        self.active_columns = cols
        self.anomaly = float(self.tm.anomaly)
        self._pool(cols.sparse, self.tm.predicted_active_cells.sparse // self.params.cells_per_column)
        return cols

    def feedback(self, apical_input: SDR | np.ndarray | Sequence[int] | None) -> None:
        """Top-down phase: recompute the prediction for the next step with this feedback (from the region above).
        ``None`` or empty: the prediction from the region's own context alone."""
        apical = self._apical(apical_input)
        if apical is not None:
            self.tm.depolarize(apical_input=apical)

    def _pool(self, active: np.ndarray, predicted_active_columns: np.ndarray) -> None:
        p = self.params
        if p.pool_reset is not None and self.anomaly >= p.pool_reset:
            self._activation[:] = 0.0
        self._activation *= p.pool_decay
        self._activation[active] += p.burst_weight
        predicted = np.unique(predicted_active_columns)
        self._activation[predicted] += 1.0 - p.burst_weight
        self.pooled = self._top(self._activation, p.pooled_size)

    @staticmethod
    def _top(activation: np.ndarray, k: int) -> SDR:
        live = np.flatnonzero(activation > 1e-12)
        if live.size > k:  # the k most active; ties: the lower index
            order = np.lexsort((live, -activation[live]))
            live = np.sort(live[order[:k]])
        return SDR(activation.shape[0], live.astype(np.int32))

    # ------------------------------------------------------------------ outputs
    @property
    def predicted_cells(self) -> SDR:
        """Cells predicted for the next step (what goes down the hierarchy as feedback)."""
        return self.tm.predictive_cells

    @property
    def predicted_columns(self) -> SDR:
        """Minicolumns predicted for the next step."""
        return self.tm.predicted_columns

    @property
    def active_cells(self) -> SDR:
        """This step's active cells."""
        return self.tm.active_cells

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """Everything needed to resume exactly."""
        return {"format": _FORMAT, "params": self.params.to_dict(), "sp": self.sp.state_dict(),
                "tm": self.tm.state_dict(), "activation": self._activation.copy(),
                "active_columns": self.active_columns.sparse.copy(), "anomaly": float(self.anomaly)}

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output; the parameters must match. A malformed state raises
        :class:`~htmagent.serialization.StateError` and leaves the region as it was."""
        check_format(state, _FORMAT)
        params = get(state, "params")
        if params != self.params.to_dict():
            raise StateError("params must match this region's", field="params")
        sp, tm = copy.deepcopy(self.sp), copy.deepcopy(self.tm)
        sp.load_state_dict(get(state, "sp"))
        tm.load_state_dict(get(state, "tm"))
        activation = get_array(state, "activation", np.float64, (self.column_count,), 0.0, None)
        active = get_array(state, "active_columns", np.int32, (None,), 0, self.column_count, high_open=True,
                           sorted_unique=True)
        anomaly = get_real(state, "anomaly", 0.0, 1.0)
        self.sp, self.tm, self._activation = sp, tm, activation
        self.active_columns = SDR(self.column_count, active)
        self.pooled = self._top(activation, self.params.pooled_size)
        self.anomaly = anomaly

    @staticmethod
    def from_params_dict(params: dict, seed: int = 0) -> "Region":
        """A new region from :meth:`RegionParams.to_dict` output (a saved file's ``params``); a bad one raises
        :class:`~htmagent.serialization.StateError`."""
        try:
            params = dict(params)
            params["input_dimensions"] = tuple(params["input_dimensions"])
            params["column_dimensions"] = tuple(params["column_dimensions"])
            return Region(RegionParams(**params), seed=seed)
        except (TypeError, ValueError, KeyError) as error:
            raise StateError(f"params is not a valid RegionParams: {error}", field="params") from error

    def save(self, path: str | os.PathLike) -> None:
        """Write the region to ``path`` (npz + JSON, no pickle)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Region":
        """Read a region written by :meth:`save`."""
        with naming_file(path):
            state = load_state(path)
            check_format(state, _FORMAT)
            region = cls.from_params_dict(get(state, "params"))
            region.load_state_dict(state)
        return region

    def __repr__(self) -> str:
        p = self.params
        return (f"Region(input={p.input_dimensions}, columns={p.column_dimensions}, cells_per_column="
                f"{p.cells_per_column}, apical={p.apical_input_size})")
