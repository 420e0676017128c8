"""The temporal memory: minicolumns of pyramidal neurons with basal and apical dendrites.

:class:`TemporalMemory` is htm.core's temporal memory extended with Numenta's apical tiebreak
(``ApicalTiebreakTemporalMemory`` in htmresearch). It runs in two modes. In ``"sequence"`` mode the basal input is the
layer's own previous activity, so the layer learns sequences. In ``"pair"`` mode the basal input is an external SDR
given in the same step (a location), which makes the layer the L4 input layer of a cortical column.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._state import StateError, atomic_load, check_format, get, get_array, get_int, get_real, naming_file
from htmagent._validation import check_int, is_int, is_real
from htmagent.connections import Connections
from htmagent.kernels import connections as K_CONN
from htmagent.kernels import temporal_memory as TK
from htmagent.kernels.connections import EPSILON
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state

__all__ = ["TemporalMemory", "DendriteParameters"]

_FORMAT = "htmagent.TemporalMemory/1"
#: Default bytes per segment store of a :class:`TemporalMemory` (see its ``memory_budget``).
DEFAULT_MEMORY_BUDGET = 256 * 2**20
_POOL = 65536
_EMPTY = np.empty(0, dtype=np.int32)
_EMPTY.flags.writeable = False
_EMPTY_FLAGS = np.empty(0, dtype=np.uint8)
_EMPTY_FLAGS.flags.writeable = False


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mark kernel outputs read-only. Every activity array handed to a kernel is read-only, like an SDR's indices,
    so that numba compiles one signature and dispatches on its fast path."""
    for arr in arrays:
        arr.flags.writeable = False
    return arrays

SdrLike = "SDR | np.ndarray | Sequence[int]"


@dataclass(frozen=True)
class DendriteParameters:
    """Learning and activation rules of one kind of dendrite (basal or apical).

    Attributes:
        activation_threshold: connected synapses onto active input that make a segment active (a dendritic spike).
            Higher = fewer, more certain predictions. Typically 60-80% of ``max_new_synapse_count``.
        min_threshold: potential synapses (any permanence) onto active input that make a segment "matching", i.e.
            eligible to learn when its minicolumn bursts. Lower = faster reuse of partial matches.
        initial_permanence: permanence of newly grown synapses. Below ``connected_permanence`` means a pattern must
            repeat before it is predicted.
        connected_permanence: permanence at which a synapse counts as connected (compared with a 1e-6 tolerance).
        permanence_increment: added to synapses from active input on a learning segment.
        permanence_decrement: subtracted from synapses from inactive input on a learning segment.
        predicted_segment_decrement: subtracted from synapses from active input on matching segments whose cell's
            minicolumn did not become active (punishes wrong predictions; 0 = off). Rule of thumb: a bit above
            ``permanence_increment * column sparsity``.
        max_new_synapse_count: synapses a learning segment aims to have onto active input (it grows
            ``max_new_synapse_count - potential`` new ones).
        max_segments_per_cell: cap; a full cell replaces its least recently used segment.
        max_synapses_per_segment: cap; a full segment loses its weakest synapses before growing.
        max_synapses_per_presynaptic: fan-out cap (``None``: none): at most this many synapses leave one input cell.
            After each learning step, a growth candidate over the cap loses its synapses on the segments that
            learned longest ago (ties: the weaker synapse), and emptied segments are destroyed. It bounds the cost
            of a step, which follows the synapses leaving the active cells, and the store's size (at most cells x
            cap synapses), at a price in prediction (docs/results_memory.md).
    """

    activation_threshold: int = 13
    min_threshold: int = 10
    initial_permanence: float = 0.21
    connected_permanence: float = 0.5
    permanence_increment: float = 0.1
    permanence_decrement: float = 0.1
    predicted_segment_decrement: float = 0.0
    max_new_synapse_count: int = 20
    max_segments_per_cell: int = 255
    max_synapses_per_segment: int = 255
    max_synapses_per_presynaptic: int | None = None

    def __post_init__(self) -> None:
        for name in ("activation_threshold", "min_threshold", "max_new_synapse_count", "max_segments_per_cell",
                     "max_synapses_per_segment"):
            value = getattr(self, name)
            if not is_int(value):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name in ("initial_permanence", "connected_permanence", "permanence_increment", "permanence_decrement",
                     "predicted_segment_decrement"):
            value = getattr(self, name)
            if not is_real(value):
                raise TypeError(f"{name} must be a float, got {type(value).__name__}")
            if not 0.0 <= float(value) <= 1.0 or value != value:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        fan_out = self.max_synapses_per_presynaptic
        if fan_out is not None:
            if not is_int(fan_out):
                raise TypeError(f"max_synapses_per_presynaptic must be an int or None, got {type(fan_out).__name__}")
            if fan_out < 1:
                raise ValueError(f"max_synapses_per_presynaptic must be >= 1 or None, got {fan_out}")
        if self.initial_permanence <= float(EPSILON):
            raise ValueError(f"initial_permanence must be > {float(EPSILON)}, got {self.initial_permanence}")

    def _fparams(self) -> np.ndarray:
        return np.array([self.initial_permanence, self.permanence_increment, self.permanence_decrement,
                         self.predicted_segment_decrement], dtype=np.float32)

    def _iparams(self) -> np.ndarray:
        return np.array([self.min_threshold, self.max_new_synapse_count, self.max_segments_per_cell,
                         self.max_synapses_per_segment, self.max_synapses_per_presynaptic or 0], dtype=np.int64)


class TemporalMemory:
    """Minicolumns of pyramidal neurons that learn to predict their input from context.

    The rule in neural terms: each of ``column_count`` minicolumns holds ``cells_per_column`` pyramidal cells that
    share one feedforward receptive field, so the active minicolumns (the input) say *what* is sensed. Each cell has
    basal dendrite segments, which listen to context (the layer's own previous activity in ``"sequence"`` mode, an
    external signal such as a location in ``"pair"`` mode), and apical segments, which listen to feedback (e.g. L2/3's
    object representation). A basal segment with enough connected synapses onto active context
    (``activation_threshold``) depolarizes its cell: the cell is *predictive*. Apical input alone never depolarizes. It
    breaks ties: in a minicolumn where some depolarized cell also has an active apical segment, only such cells stay
    predicted. Its support also lowers the basal threshold to ``reduced_basal_threshold``. When a minicolumn becomes
    active, its predicted cells fire first and inhibit the rest. If none was predicted, all its cells fire (a burst:
    "this is new in this context") and one cell is chosen to learn it.

    Learning is Hebbian on the chosen (winner) cells. Segments that correctly predicted are reinforced and grow
    synapses to the growth candidates (previous winner cells / active inputs). A bursting minicolumn trains its best
    matching segment, or grows a new segment on its least used cell. Segments that predicted a minicolumn which stayed
    inactive are punished by ``predicted_segment_decrement``. Apical dendrites learn on the same winner cells.

    What the class does not decide: when a sequence ends (call :meth:`reset`), or where inputs come from.

    Phases: :meth:`depolarize` (context in, predictions out), then :meth:`activate` (feedforward in, activity and
    learning). :meth:`compute` does both. In ``"sequence"`` mode :meth:`activate` ends by depolarizing from the new
    activity, so that after :meth:`compute` the ``predictive_cells`` / ``predicted_columns`` are the predictions for
    the *next* step. :meth:`depolarize` is then only needed to add apical input for the coming step. In ``"pair"`` mode
    ``compute`` is depolarize-then-activate with this step's basal (and apical) input, and ``predictive_cells`` are
    this step's predictions.

    Cell index = ``column * cells_per_column + i``. ``anomaly`` = fraction of this step's active minicolumns that were
    not predicted (0 with no active minicolumn).

    Args:
        column_count: number of minicolumns.
        cells_per_column: cells per minicolumn.
        mode: ``"sequence"`` or ``"pair"``.
        basal_input_size: size of the basal input in pair mode (required there); must be None (or the cell count)
            in sequence mode.
        apical_input_size: size of the apical input; 0 = no apical dendrites.
        activation_threshold, min_threshold, initial_permanence, connected_permanence, permanence_increment,
            permanence_decrement, predicted_segment_decrement, max_new_synapse_count, max_segments_per_cell,
            max_synapses_per_segment, max_synapses_per_presynaptic: basal dendrite rules, see
            :class:`DendriteParameters`. The three caps and the predicted-segment decrement apply to apical dendrites
            too.
        apical_activation_threshold, apical_min_threshold, apical_initial_permanence, apical_connected_permanence,
            apical_permanence_increment, apical_permanence_decrement, apical_max_new_synapse_count: apical rules;
            None = the basal value.
        reduced_basal_threshold: basal activation threshold for cells with an active apical segment; None = the
            ordinary threshold.
        memory_budget: bytes each segment store (basal, apical) may allocate; past it, the segments that learned
            longest ago are retired instead of growing the store, so memory stays bounded on any input (a stream
            that never repeats keeps adding segments). ``None``: bounded only by the caps (which allow tens of GB).
            The default, 256 MiB, holds about 5 million synapses; ordinary streams stay far below it.
        seed: seed or Generator (tie breaks and synapse sampling).

    Attributes:
        basal, apical: the :class:`DendriteParameters` in force.
        basal_connections, apical_connections: the :class:`~htmagent.connections.Connections` holding the basal and
            apical segments (the apical store is an unused one-input placeholder when ``apical_input_size`` is 0).

    Example:
        >>> tm = TemporalMemory(column_count=64, cells_per_column=4, activation_threshold=3, min_threshold=2,
        ...                     max_new_synapse_count=4, seed=1)
        >>> seq = [[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]]
        >>> for _ in range(4):
        ...     for cols in seq:
        ...         tm.compute(cols)
        ...     tm.reset()
        >>> tm.compute(seq[0]); tm.predicted_columns.sparse.tolist()
        [10, 11, 12, 13]
    """

    def __init__(
        self,
        column_count: int = 2048,
        cells_per_column: int = 32,
        *,
        mode: str = "sequence",
        basal_input_size: int | None = None,
        apical_input_size: int = 0,
        activation_threshold: int = 13,
        min_threshold: int = 10,
        initial_permanence: float = 0.21,
        connected_permanence: float = 0.5,
        permanence_increment: float = 0.1,
        permanence_decrement: float = 0.1,
        predicted_segment_decrement: float = 0.0,
        max_new_synapse_count: int = 20,
        max_segments_per_cell: int = 255,
        max_synapses_per_segment: int = 255,
        max_synapses_per_presynaptic: int | None = None,
        apical_activation_threshold: int | None = None,
        apical_min_threshold: int | None = None,
        apical_initial_permanence: float | None = None,
        apical_connected_permanence: float | None = None,
        apical_permanence_increment: float | None = None,
        apical_permanence_decrement: float | None = None,
        apical_max_new_synapse_count: int | None = None,
        reduced_basal_threshold: int | None = None,
        memory_budget: int | None = DEFAULT_MEMORY_BUDGET,
        seed: int | np.random.Generator | None = None,
    ):
        self.column_count = check_int(column_count, "column_count", 1)
        self.cells_per_column = check_int(cells_per_column, "cells_per_column", 1)
        if mode not in ("sequence", "pair"):
            raise ValueError(f"mode must be 'sequence' or 'pair', got {mode!r}")
        self.mode = mode
        num_cells = self.column_count * self.cells_per_column
        if mode == "pair":
            if basal_input_size is None:
                raise ValueError("basal_input_size must be given in pair mode, got None")
            self.basal_input_size = check_int(basal_input_size, "basal_input_size", 1)
        else:
            if basal_input_size is not None and basal_input_size != num_cells:
                raise ValueError(f"basal_input_size must be None or {num_cells} (the cell count) in sequence mode, "
                                 f"got {basal_input_size}")
            self.basal_input_size = num_cells
        self.apical_input_size = check_int(apical_input_size, "apical_input_size", 0)
        self.basal = DendriteParameters(
            activation_threshold, min_threshold, initial_permanence, connected_permanence, permanence_increment,
            permanence_decrement, predicted_segment_decrement, max_new_synapse_count, max_segments_per_cell,
            max_synapses_per_segment, max_synapses_per_presynaptic)

        def pick(value, default):
            return default if value is None else value

        try:
            self.apical = DendriteParameters(
                pick(apical_activation_threshold, activation_threshold), pick(apical_min_threshold, min_threshold),
                pick(apical_initial_permanence, initial_permanence),
                pick(apical_connected_permanence, connected_permanence),
                pick(apical_permanence_increment, permanence_increment),
                pick(apical_permanence_decrement, permanence_decrement), predicted_segment_decrement,
                pick(apical_max_new_synapse_count, max_new_synapse_count), max_segments_per_cell,
                max_synapses_per_segment, max_synapses_per_presynaptic)
        except (TypeError, ValueError) as error:  # name the apical argument the caller actually passed
            raise type(error)(f"apical_{error}") from None
        self.reduced_basal_threshold = check_int(pick(reduced_basal_threshold, activation_threshold),
                                                   "reduced_basal_threshold", 1)
        self.memory_budget = None if memory_budget is None else check_int(memory_budget, "memory_budget", 1)
        self._rng = make_rng(seed)
        self.basal_connections = Connections(num_cells, self.basal_input_size, max_segments_per_cell,
                                             max_synapses_per_segment, seed=self._rng, memory_budget=memory_budget,
                                             max_synapses_per_presynaptic=max_synapses_per_presynaptic,
                                             connected_permanence=self.basal.connected_permanence)
        self.apical_connections = Connections(num_cells, max(self.apical_input_size, 1), max_segments_per_cell,
                                              max_synapses_per_segment, seed=self._rng, memory_budget=memory_budget,
                                              max_synapses_per_presynaptic=max_synapses_per_presynaptic,
                                              connected_permanence=self.apical.connected_permanence)
        self._setup_constants()
        self._rand = self._rng.random(_POOL)
        self._rand_pos = 0
        self._iteration = 0
        self._clear_activity()

    # ------------------------------------------------------------------ setup
    def _setup_constants(self) -> None:
        b, a = self.basal, self.apical
        self._b_fparams, self._b_iparams = b._fparams(), b._iparams()
        self._a_fparams, self._a_iparams = a._fparams(), a._iparams()
        self._b_threshold = np.float32(np.float32(b.connected_permanence) - EPSILON)
        self._a_threshold = np.float32(np.float32(a.connected_permanence) - EPSILON)
        self._b_keep_connected = min(b.activation_threshold, self.reduced_basal_threshold)
        self._b_mask = np.zeros(self.basal_input_size, dtype=np.uint8)
        self._a_mask = np.zeros(self.apical_connections.num_presynaptic, dtype=np.uint8)

    def _clear_activity(self) -> None:
        self._active = _EMPTY
        self._winners = _EMPTY
        self._predicted_active = _EMPTY
        self._bursting = _EMPTY
        self._anomaly = 0.0
        self._clear_depolarization()

    def _clear_depolarization(self) -> None:
        self._b_input = _EMPTY
        self._b_cands = _EMPTY
        self._b_segs = self._b_cells = self._b_conn = self._b_pot = _EMPTY
        self._b_flag = _EMPTY_FLAGS
        self._clear_apical()
        self._predictive = _EMPTY

    def _clear_apical(self) -> None:
        self._a_input = _EMPTY
        self._a_cands = _EMPTY
        self._a_segs = self._a_cells = self._a_conn = self._a_pot = _EMPTY
        self._a_flag = _EMPTY_FLAGS

    # ------------------------------------------------------------------ validation
    def _sdr(self, value: object, size: int, name: str) -> np.ndarray:
        return as_sdr(value, size, name).sparse

    def _apical_arrays(self, apical_input: object, apical_growth_candidates: object) -> tuple[np.ndarray, np.ndarray]:
        if self.apical_input_size == 0:
            for name, value in (("apical_input", apical_input), ("apical_growth_candidates",
                                                                 apical_growth_candidates)):
                if value is not None and (value.num_active if isinstance(value, SDR) else np.asarray(value).size):
                    raise ValueError(f"{name} must be empty: this TemporalMemory has apical_input_size=0")
            return _EMPTY, _EMPTY
        apical = _EMPTY if apical_input is None else self._sdr(apical_input, self.apical_input_size, "apical_input")
        cands = apical if apical_growth_candidates is None else self._sdr(
            apical_growth_candidates, self.apical_input_size, "apical_growth_candidates")
        return apical, cands

    def _basal_arrays(self, basal_input: object, basal_growth_candidates: object) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "sequence":
            if basal_input is not None or basal_growth_candidates is not None:
                raise ValueError("basal_input and basal_growth_candidates must be None in sequence mode (the basal "
                                 "input is the layer's own previous activity), got an input")
            return self._active, self._winners
        basal = _EMPTY if basal_input is None else self._sdr(basal_input, self.basal_input_size, "basal_input")
        cands = basal if basal_growth_candidates is None else self._sdr(
            basal_growth_candidates, self.basal_input_size, "basal_growth_candidates")
        return basal, cands

    @staticmethod
    def _check_learn(learn: object) -> bool:
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {type(learn).__name__}")
        return bool(learn)

    # ------------------------------------------------------------------ phases
    def depolarize(
        self,
        basal_input: SDR | np.ndarray | Sequence[int] | None = None,
        apical_input: SDR | np.ndarray | Sequence[int] | None = None,
        basal_growth_candidates: SDR | np.ndarray | Sequence[int] | None = None,
        apical_growth_candidates: SDR | np.ndarray | Sequence[int] | None = None,
    ) -> None:
        """Compute which cells are predicted from the context.

        Args:
            basal_input: pair mode: this step's basal input (None = empty). Sequence mode: must be None (the layer's
                previous active cells are used).
            apical_input: apical input (None = empty).
            basal_growth_candidates: inputs new basal synapses may grow from; default the active basal input (pair
                mode) or the previous winner cells (sequence mode).
            apical_growth_candidates: same for apical synapses; default the active apical input.

        Raises:
            ValueError, TypeError: on a wrong size or unsorted/duplicate indices; the state is then unchanged.
        """
        basal, b_cands = self._basal_arrays(basal_input, basal_growth_candidates)
        apical, a_cands = self._apical_arrays(apical_input, apical_growth_candidates)
        self._depolarize(basal, b_cands, apical, a_cands, compute_basal=True)

    def _depolarize(self, basal: np.ndarray, b_cands: np.ndarray, apical: np.ndarray, a_cands: np.ndarray,
                    compute_basal: bool) -> None:
        if compute_basal:
            self._compute_basal(basal, b_cands)
        if self.apical_input_size:
            out = self._segment_activity(self.apical_connections, apical, self._a_threshold,
                                         self.apical.min_threshold, self.apical.activation_threshold)
            self._a_segs, self._a_cells, self._a_conn, self._a_pot = _frozen(*out)
            self._a_input, self._a_cands = apical, a_cands
        self._predict()

    def _compute_basal(self, basal: np.ndarray, b_cands: np.ndarray) -> None:
        out = self._segment_activity(self.basal_connections, basal, self._b_threshold, self.basal.min_threshold,
                                     self._b_keep_connected)
        self._b_segs, self._b_cells, self._b_conn, self._b_pot = _frozen(*out)
        self._b_input, self._b_cands = basal, b_cands

    @staticmethod
    def _segment_activity(conn: Connections, active: np.ndarray, threshold: np.float32, min_potential: int,
                          min_connected: int) -> list:
        """Segment activity of ``active`` on ``conn``: counted afresh, or, when the store has not changed since
        the last count (no learning in between, as while a sensation settles), by walking only the cells that
        turned on or off since that count."""
        conn._use_threshold(threshold)  # the store's connected bits, for this threshold (a no-op unless someone
        # counted the store at another one through its own API)
        key = ("segments", min_potential, min_connected)
        repeated = conn.held_result(active, threshold, key)
        if repeated is not None:  # the same input on the unchanged store: the same segments (frozen arrays)
            return repeated
        held = conn.held_activity
        if held is not None and held[1] == threshold:
            conn.n_touched, *out = TK.segment_activity_delta(
                conn.counts, conn.touched, conn.seg_i32, conn.pre_i32, conn.chunk_i32, conn.connected_at,
                conn.chunk_link, conn.n_touched, held[0], active, threshold, min_potential, min_connected)
        else:
            conn.n_touched, *out = TK.segment_activity(
                conn.counts, conn.touched, conn.seg_i32, conn.pre_i32, conn.chunk_i32, conn.connected_at,
                conn.chunk_link, conn.n_touched, active, threshold, min_potential, min_connected)
        out = _frozen(*out)
        conn.hold_activity(active, threshold, out, key)
        return out

    def _predict(self) -> None:
        self._b_flag, self._a_flag, self._predictive = _frozen(*TK.predict(
            self._b_cells, self._b_conn, self._a_cells, self._a_conn, self.basal.activation_threshold,
            self.reduced_basal_threshold, self.apical.activation_threshold, self.cells_per_column))
        self._predictive_sdr = None

    def activate(self, active_columns: SDR | np.ndarray | Sequence[int], learn: bool = True) -> None:
        """Activate cells in ``active_columns`` against the current depolarization, and learn.

        In sequence mode this ends by depolarizing from the new activity (predictions for the next step). In pair
        mode call :meth:`depolarize` first, once per step (:meth:`compute` does both).

        Raises:
            ValueError, TypeError: on a wrong size or unsorted/duplicate indices; the state is then unchanged.
        """
        cols = self._sdr(active_columns, self.column_count, "active_columns")
        self._activate(cols, self._check_learn(learn))

    def _activate(self, cols: np.ndarray, learn: bool) -> None:
        b, a = self.basal_connections, self.apical_connections
        n_cols = cols.shape[0]
        n_pred = self._predictive.shape[0]
        n_learning = n_pred + n_cols
        a_new = (self._a_segs.shape[0] + n_learning) * self.apical.max_new_synapse_count if self.apical_input_size \
            else 0
        if learn:
            # Room for this step's growth, bounded tightly (a loose bound holds several times the store, and under a
            # memory budget it would make the store grow past the budget when every segment is protected): the
            # segments that will learn and what each can grow follow from the step's inputs, and new synapses start
            # only from the candidate cells (the previous winners), which bounds the presynaptic-index chunks they
            # can open.
            b_new, b_growing, b_created = TK.basal_growth_bound(
                cols, self._predictive, self._b_cells, self._b_pot, self._b_flag, self.cells_per_column,
                self.basal.max_new_synapse_count, self.basal.min_threshold, self._b_cands.shape[0])
            b.ensure_capacity(b_created, b_new, b_growing, protected=self._b_segs,
                              presynaptic_cells=self._b_cands.shape[0])
            if a_new:
                a.ensure_capacity(n_learning, a_new, self._a_segs.shape[0] + n_learning, protected=self._a_segs,
                                  presynaptic_cells=self._a_cands.shape[0])
        # random numbers drawn ahead for growth: sized by the loose bound, as ever, so a seed's stream is unchanged
        need = n_cols + (self._b_segs.shape[0] + n_cols) * self.basal.max_new_synapse_count + a_new
        if self._rand.shape[0] - self._rand_pos < need:
            self._rand = self._rng.random(max(_POOL, 2 * need))
            self._rand_pos = 0
        activity = (cols, self._predictive, self._b_segs, self._b_cells, self._b_pot, self._b_flag, self._b_input,
                    self._b_cands)
        if self.mode == "sequence" and not self.apical_input_size:
            # The common case in one kernel call: activate and learn, then depolarize from the new activity.
            b._use_threshold(self._b_threshold)
            (active, winners, predicted_active, bursting, self._rand_pos, b.n_touched, *depolarization) = \
                TK.activate_learn_depolarize_basal(
                    *b.store, b.scratch_mask, self._b_mask, b.candidate_mask, b.counts, b.touched, self._rand,
                    *activity, self._rand_pos, b.n_touched, self._iteration, learn, self.cells_per_column,
                    self._b_fparams, self._b_iparams, self._b_threshold, self.basal.activation_threshold,
                    self._b_keep_connected)
            (self._active, self._winners, self._predicted_active, self._bursting, self._b_segs, self._b_cells,
             self._b_conn, self._b_pot, self._b_flag, self._predictive) = _frozen(
                active, winners, predicted_active, bursting, *depolarization)
            self._b_input, self._b_cands = self._active, self._winners
            self._predictive_sdr = None
            self._iteration += 1
            self._anomaly = bursting.shape[0] / n_cols if n_cols else 0.0
            self._sdr_cache = {}
            return
        # Without learning the stores stay as they are, and so does the segment activity they hold.
        b_store = b.store if learn else b.store_for_reading()
        if self.apical_input_size:
            a_store = a.store if learn else a.store_for_reading()
            out = TK.activate_learn(
                *b_store, b.scratch_mask, self._b_mask, b.candidate_mask,
                *a_store, a.scratch_mask, self._a_mask, a.candidate_mask, self._rand,
                *activity, self._a_segs, self._a_cells, self._a_pot, self._a_flag, self._a_input, self._a_cands,
                self._rand_pos, self._iteration, learn,
                self.cells_per_column, self._b_fparams, self._b_iparams, self._a_fparams, self._a_iparams)
        else:
            out = TK.activate_learn_basal(
                *b_store, b.scratch_mask, self._b_mask, b.candidate_mask, self._rand, *activity, self._rand_pos,
                self._iteration, learn, self.cells_per_column, self._b_fparams, self._b_iparams)
        self._active, self._winners, self._predicted_active, self._bursting = _frozen(*out[:4])
        self._rand_pos = out[4]
        self._iteration += 1
        self._anomaly = self._bursting.shape[0] / n_cols if n_cols else 0.0
        self._sdr_cache = {}
        if self.mode == "sequence":
            self._clear_apical()
            self._compute_basal(self._active, self._winners)
            self._predict()
        elif learn:
            self._drop_dead_segments()

    def _drop_dead_segments(self) -> None:
        """Keep only live segments in the depolarization lists, which pair mode holds past :meth:`activate`.

        Learning may destroy segments (all synapses decayed, or emptied by the fan-out cap); an id left in the lists
        could name a freed slot, which an :meth:`activate` without a fresh :meth:`depolarize` would then learn on.
        The predictive cells stay as they were: they are this step's predictions.
        """
        for side, conn in (("b", self.basal_connections), ("a", self.apical_connections)):
            segs = getattr(self, f"_{side}_segs")
            if not segs.size:
                continue
            live = conn.seg_i32[K_CONN.S_CELL, segs] == getattr(self, f"_{side}_cells")
            if live.all():
                continue
            for key in ("segs", "cells", "conn", "pot", "flag"):
                setattr(self, f"_{side}_{key}", _frozen(getattr(self, f"_{side}_{key}")[live])[0])

    def compute(
        self,
        active_columns: SDR | np.ndarray | Sequence[int],
        basal_input: SDR | np.ndarray | Sequence[int] | None = None,
        apical_input: SDR | np.ndarray | Sequence[int] | None = None,
        basal_growth_candidates: SDR | np.ndarray | Sequence[int] | None = None,
        apical_growth_candidates: SDR | np.ndarray | Sequence[int] | None = None,
        learn: bool = True,
    ) -> None:
        """One time step: depolarize from the context, then activate ``active_columns`` (and learn).

        Sequence mode: ``basal_input`` must be None; an ``apical_input`` given here joins the depolarization that
        was computed at the end of the previous step. Pair mode: depolarize with this step's basal and apical input,
        then activate. All inputs are validated before anything changes.
        """
        cols = self._sdr(active_columns, self.column_count, "active_columns")
        learn = self._check_learn(learn)
        if self.mode == "sequence":
            self._basal_arrays(basal_input, basal_growth_candidates)
            apical, a_cands = self._apical_arrays(apical_input, apical_growth_candidates)
            if apical.shape[0] or a_cands.shape[0]:
                self._depolarize(_EMPTY, _EMPTY, apical, a_cands, compute_basal=False)
        else:
            basal, b_cands = self._basal_arrays(basal_input, basal_growth_candidates)
            apical, a_cands = self._apical_arrays(apical_input, apical_growth_candidates)
            self._depolarize(basal, b_cands, apical, a_cands, compute_basal=True)
        self._activate(cols, learn)

    def reset(self) -> None:
        """End a sequence: forget the current activity and predictions (learned synapses stay)."""
        self._clear_activity()
        self._sdr_cache = {}
        self._predictive_sdr = None

    # ------------------------------------------------------------------ outputs
    def _cached(self, key: str, array: np.ndarray, size: int) -> SDR:
        cache = self.__dict__.setdefault("_sdr_cache", {})
        sdr = cache.get(key)
        if sdr is None:
            sdr = SDR._trusted(size, array)
            cache[key] = sdr
        return sdr

    @property
    def num_cells(self) -> int:
        """Total number of cells (``column_count * cells_per_column``)."""
        return self.column_count * self.cells_per_column

    @property
    def active_cells(self) -> SDR:
        """Cells that fired this step."""
        return self._cached("active", self._active, self.num_cells)

    @property
    def winner_cells(self) -> SDR:
        """Cells chosen to learn this step (predicted active cells, plus one per bursting minicolumn)."""
        return self._cached("winners", self._winners, self.num_cells)

    @property
    def predicted_active_cells(self) -> SDR:
        """Active cells that were predicted."""
        return self._cached("predicted_active", self._predicted_active, self.num_cells)

    @property
    def bursting_columns(self) -> SDR:
        """Active minicolumns with no predicted cell."""
        return self._cached("bursting", self._bursting, self.column_count)

    @property
    def predictive_cells(self) -> SDR:
        """Depolarized cells: the next step's predictions (sequence mode) or this step's (pair mode)."""
        if self.__dict__.get("_predictive_sdr") is None:
            self._predictive_sdr = SDR._trusted(self.num_cells, self._predictive)
        return self._predictive_sdr

    @property
    def predicted_columns(self) -> SDR:
        """Minicolumns with at least one predictive cell."""
        cols = self._predictive // self.cells_per_column
        if cols.size > 1:
            cols = cols[np.concatenate(([True], cols[1:] != cols[:-1]))]
        return SDR._trusted(self.column_count, cols.astype(np.int32))

    @property
    def anomaly(self) -> float:
        """Fraction of this step's active minicolumns that were not predicted (0.0 with none active)."""
        return float(self._anomaly)

    @property
    def iteration(self) -> int:
        """Number of :meth:`activate` calls so far."""
        return self._iteration

    def num_segments(self, kind: str = "basal") -> int:
        """Number of dendrite segments (``kind``: ``"basal"``, ``"apical"`` or ``"all"``)."""
        return self._count(kind, Connections.num_segments)

    def num_synapses(self, kind: str = "basal") -> int:
        """Number of synapses (``kind``: ``"basal"``, ``"apical"`` or ``"all"``)."""
        return self._count(kind, Connections.num_synapses)

    def _count(self, kind: str, method) -> int:
        if kind == "basal":
            return method(self.basal_connections)
        if kind == "apical":
            return method(self.apical_connections)
        if kind == "all":
            return method(self.basal_connections) + method(self.apical_connections)
        raise ValueError(f"kind must be 'basal', 'apical' or 'all', got {kind!r}")

    # ------------------------------------------------------------------ persistence
    def _config(self) -> dict:
        b, a = asdict(self.basal), asdict(self.apical)
        return {
            "column_count": self.column_count, "cells_per_column": self.cells_per_column, "mode": self.mode,
            "basal_input_size": self.basal_input_size if self.mode == "pair" else None,
            "apical_input_size": self.apical_input_size, **b,
            **{f"apical_{k}": a[k] for k in ("activation_threshold", "min_threshold", "initial_permanence",
                                              "connected_permanence", "permanence_increment",
                                              "permanence_decrement", "max_new_synapse_count")},
            "reduced_basal_threshold": self.reduced_basal_threshold,
            "memory_budget": self.memory_budget,
        }

    _ARRAYS = ("_active", "_winners", "_predicted_active", "_bursting", "_predictive", "_b_input", "_b_cands",
               "_b_segs", "_b_cells", "_b_conn", "_b_pot", "_b_flag", "_a_input", "_a_cands", "_a_segs", "_a_cells",
               "_a_conn", "_a_pot", "_a_flag", "_rand")

    def state_dict(self) -> dict:
        """Everything needed to resume exactly: parameters, synapses, current activity, RNG state."""
        return {
            "format": _FORMAT,
            "config": self._config(),
            "iteration": self._iteration,
            "anomaly": float(self._anomaly),
            "rand_pos": int(self._rand_pos),
            "rng": rng_state(self._rng),
            "basal_connections": self.basal_connections.state_dict(),
            "apical_connections": self.apical_connections.state_dict(),
            "arrays": {name.lstrip("_"): np.array(getattr(self, name)) for name in self._ARRAYS},
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` into this object (its configuration must match).

        Both segment stores and every activity array are checked (dtype, ranges, sortedness, segments that exist
        and belong to the cells named) before any field changes; a malformed state raises
        :class:`~htmagent.serialization.StateError` and leaves the memory as it was.
        """
        check_format(state, _FORMAT)
        config = get(state, "config")
        if not isinstance(config, dict):
            raise StateError(f"config must be a mapping, got {type(config).__name__}", field="config")
        mine = self._config()
        # files written before the memory budget and the fan-out cap existed: take this memory's
        config = {"memory_budget": self.memory_budget, "max_synapses_per_presynaptic": None, **config}
        if dict(config) != mine:
            diff = sorted(k for k in set(config) | set(mine) if config.get(k) != mine.get(k))
            raise StateError(f"config must match this TemporalMemory's, differing keys: {diff}", field="config")
        basal = Connections(1, 1, seed=0)
        basal.load_state_dict(get(state, "basal_connections"))
        apical = Connections(1, 1, seed=0)
        apical.load_state_dict(get(state, "apical_connections"))
        sizes = {"basal": (basal.num_cells, basal.num_presynaptic), "apical": (apical.num_cells,
                                                                               apical.num_presynaptic)}
        if sizes["basal"] != (self.num_cells, self.basal_input_size) or sizes["apical"][0] != self.num_cells or (
                self.apical_input_size and sizes["apical"][1] != self.apical_input_size):
            raise StateError(f"the segment stores' sizes {sizes} do not match this TemporalMemory "
                             f"({self.num_cells} cells, inputs {self.basal_input_size} / {self.apical_input_size})",
                             field="basal_connections")
        rng = restore_rng(get(state, "rng"))
        saved = get(state, "arrays")
        arrays = self._checked_activity(saved, basal, apical, live=True)
        arrays["_rand"] = get_array(saved, "rand", np.float64, (None,), 0.0, 1.0, "arrays/", high_open=True)
        if arrays["_rand"].size == 0:
            raise StateError("arrays/rand must not be empty", field="rand")
        rand_pos = get_int(state, "rand_pos", 0, arrays["_rand"].shape[0])
        iteration = get_int(state, "iteration", 0)
        anomaly = get_real(state, "anomaly", 0.0, 1.0)
        for name, arr in arrays.items():
            if name != "_rand":
                arr.flags.writeable = False
        self._rng = rng
        basal._rng = rng
        apical._rng = rng
        basal.memory_budget = apical.memory_budget = self.memory_budget  # the memory's configuration rules
        fan_out = self.basal.max_synapses_per_presynaptic
        basal.max_synapses_per_presynaptic = apical.max_synapses_per_presynaptic = fan_out
        basal.set_connected_permanence(self.basal.connected_permanence)  # files before the connected bits
        apical.set_connected_permanence(self.apical.connected_permanence)
        self.basal_connections, self.apical_connections = basal, apical
        for name, arr in arrays.items():
            setattr(self, name, arr)
        self._iteration = iteration
        self._anomaly = anomaly
        self._rand_pos = rand_pos
        self._sdr_cache = {}
        self._predictive_sdr = None

    def _checked_activity(self, saved: object, basal: Connections, apical: Connections, live: bool = True) -> dict:
        """The activity arrays of ``saved`` (a state's ``arrays``, or an :meth:`activity` dict) checked against the
        stores ``basal`` / ``apical``: dtypes, shapes, ranges, sortedness. ``live``: every listed segment must exist
        and belong to its cell, and the predictive cells must be those of the depolarizing segments (a state saved
        together with its stores); otherwise (an activity kept aside while other streams learned on the same
        stores) segments destroyed since are only dropped. Returns ``{"_active": ..., ...}`` (no ``_rand``)."""
        if not isinstance(saved, dict):
            raise StateError(f"the activity must be a mapping, got {type(saved).__name__}", field="arrays")
        cells, columns = self.num_cells, self.column_count
        ranges = {"_active": cells, "_winners": cells, "_predicted_active": cells, "_bursting": columns,
                  "_predictive": cells, "_b_input": self.basal_input_size, "_b_cands": self.basal_input_size,
                  "_a_input": max(self.apical_input_size, 1), "_a_cands": max(self.apical_input_size, 1)}
        arrays = {}
        for name, high in ranges.items():
            arrays[name] = get_array(saved, name.lstrip("_"), np.int32, (None,), 0, high, "arrays/", high_open=True,
                                     sorted_unique=True)
        for side, conn in (("b", basal), ("a", apical)):
            segs = get_array(saved, f"{side}_segs", np.int32, (None,), 0, conn.segment_capacity, "arrays/",
                             high_open=True)
            n = segs.shape[0]
            owners = get_array(saved, f"{side}_cells", np.int32, (n,), 0, cells, "arrays/", high_open=True)
            if owners.size > 1 and not np.all(np.diff(owners) >= 0):
                raise StateError(f"arrays/{side}_cells must be sorted", field=f"{side}_cells")
            parts = {"segs": segs, "cells": owners}
            for key in ("conn", "pot"):
                parts[key] = get_array(saved, f"{side}_{key}", np.int32, (n,), 0, conn.max_synapses_per_segment,
                                       "arrays/")
            parts["flag"] = get_array(saved, f"{side}_flag", np.uint8, (n,), where="arrays/")
            alive = conn.seg_i32[K_CONN.S_CELL, segs] == owners if n else np.ones(0, dtype=bool)
            if not alive.all():
                if live:
                    raise StateError(f"arrays/{side}_segs must name live segments of the cells in {side}_cells",
                                     field=f"{side}_segs")
                parts = {key: value[alive] for key, value in parts.items()}
            for key, value in parts.items():
                arrays[f"_{side}_{key}"] = value
        if live:
            # The predictive cells are cells of the depolarizing basal segments (at least the reduced threshold's
            # match); without apical input, exactly those with a full match. (In pair mode the lists outlive the
            # step's learning, which may have destroyed some of the segments, so there the predictive cells are only
            # range-checked: a pair-mode step recomputes them in depolarize.)
            strong = np.unique(arrays["_b_cells"][arrays["_b_conn"] >= self.basal.activation_threshold])
            weak = np.unique(arrays["_b_cells"][arrays["_b_conn"] >= min(self.reduced_basal_threshold,
                                                                         self.basal.activation_threshold)])
            exact = self.apical_input_size == 0 and self.mode == "sequence"
            if self.mode == "sequence" and not (np.isin(arrays["_predictive"], weak).all()
                                                and (not exact or np.array_equal(strong, arrays["_predictive"]))):
                raise StateError("arrays/predictive must be the cells of the depolarized segments in arrays/b_segs",
                                 field="predictive")
        return arrays

    def activity(self) -> dict:
        """The current sequence's activity: active, winner and predictive cells, the depolarizing segments, the
        anomaly. What a stream keeps between its steps when several streams share this memory's synapses (one HTM
        learning from several environment copies, each in its own sequence): take it after a stream's step, put it
        back with :meth:`set_activity` before its next one. The arrays are read-only views, not copies.
        """
        out = {name.lstrip("_"): getattr(self, name) for name in self._ARRAYS if name != "_rand"}
        out["anomaly"] = float(self._anomaly)
        return out

    def set_activity(self, activity: dict) -> None:
        """Make ``activity`` (from :meth:`activity`, possibly taken before other streams learned) the current one.

        Segments destroyed since it was taken (by decay, a cap or the memory budget) leave its lists, and the
        predictions are then recomputed from the segments that remain; the learned synapses are not touched.

        Raises:
            StateError: a malformed activity (a wrong dtype, shape or range); the memory is then unchanged.
        """
        arrays = self._checked_activity(activity, self.basal_connections, self.apical_connections, live=False)
        anomaly = get_real(activity, "anomaly", 0.0, 1.0)
        dropped = any(arrays[f"_{side}_segs"].shape[0] != np.shape(activity[f"{side}_segs"])[0] for side in "ba")
        self._restore_activity(arrays, anomaly, dropped)

    def _swap_activity(self, activity: dict) -> None:
        """:meth:`set_activity` for an activity this library took itself (no dtype or range checks: only the
        segments destroyed since are dropped). The per-step path of a shared memory."""
        arrays = {"_" + key: value for key, value in activity.items() if key != "anomaly"}
        dropped = False
        for side, conn in (("b", self.basal_connections), ("a", self.apical_connections)):
            segs = arrays[f"_{side}_segs"]
            if segs.size:
                alive = conn.seg_i32[K_CONN.S_CELL, segs] == arrays[f"_{side}_cells"]
                if not alive.all():
                    dropped = True
                    for key in ("segs", "cells", "conn", "pot", "flag"):
                        arrays[f"_{side}_{key}"] = arrays[f"_{side}_{key}"][alive]
        self._restore_activity(arrays, activity["anomaly"], dropped)

    def _restore_activity(self, arrays: dict, anomaly: float, dropped: bool) -> None:
        for name, arr in arrays.items():
            if arr.flags.writeable:
                arr = arr.copy()
                arr.flags.writeable = False
            setattr(self, name, arr)
        self._anomaly = float(anomaly)
        self._sdr_cache = {}
        self._predictive_sdr = None
        if dropped:  # a destroyed segment may have been all that predicted a cell
            self._predict()

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (npz + JSON, no pickle)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TemporalMemory":
        """Read a model written by :meth:`save`."""
        with naming_file(path):
            state = load_state(path)
            config = get(state, "config")
            try:
                tm = cls(**dict(config), seed=0)
            except (TypeError, ValueError) as error:
                raise StateError(f"config is not a valid TemporalMemory configuration: {error}",
                                 field="config") from error
            tm.load_state_dict(state)
        return tm

    def __repr__(self) -> str:
        return (f"TemporalMemory(column_count={self.column_count}, cells_per_column={self.cells_per_column}, "
                f"mode={self.mode!r}, segments={self.num_segments('all')}, synapses={self.num_synapses('all')})")
