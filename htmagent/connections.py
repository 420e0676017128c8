"""The dendrite segment store: cells own segments, segments own synapses onto presynaptic cells.

A :class:`Connections` models the dendrites of a population of ``num_cells`` postsynaptic cells that receive input
from ``num_presynaptic`` presynaptic cells (the same population for a temporal memory's basal dendrites, another one
for apical dendrites or for grid-cell anchoring). Each cell owns up to ``max_segments_per_cell`` dendrite segments;
each segment owns up to ``max_synapses_per_segment`` synapses, each a (presynaptic cell, float32 permanence) pair.
A synapse is *connected* when its permanence reaches the caller's connected threshold.

Storage is preallocated NumPy arrays that grow by half their capacity at a time. A presynaptic index (the synapses leaving each
presynaptic cell) makes :meth:`Connections.compute_activity` cost O(synapses on the active presynaptic cells), not
O(all synapses). Memory is bounded: a cell at its segment cap replaces its least recently used segment (the one whose
last learning is oldest), and a full segment drops its weakest synapses before growing new ones.

API (segment ids are ints, stable while the segment lives; a destroyed segment's id may be reused):

- ``Connections(num_cells, num_presynaptic, max_segments_per_cell=255, max_synapses_per_segment=255, seed=None,
  memory_budget=None, max_synapses_per_presynaptic=None, connected_permanence=0.5)``; ``connected_permanence`` is
  the value the store keeps a connected bit per synapse for (``set_connected_permanence`` changes it; counting at
  another value re-flags the store once, automatically).
- ``compute_activity(active_presynaptic, connected_permanence) -> SegmentActivity``: the segments reached by the
  active presynaptic cells, with their connected and potential synapse counts onto them.
- ``create_segment(cell) -> int``: a new empty segment, stamped with ``iteration`` (at the cap, the cell's least
  recently used segment is replaced).
- ``grow_synapses(segment, candidates, max_new, initial_permanence) -> int``: synapses to a random sample (this
  object's Generator) of the candidates the segment is not yet connected to; returns how many grew.
- ``adapt_segment(segment, active_presynaptic, increment, decrement) -> bool``: Hebbian learning, stamps the
  segment with ``iteration``; False if the segment lost its last synapse and was destroyed.
- ``punish_segment(segment, active_presynaptic, decrement) -> bool``: weakens the synapses onto active cells.
- ``destroy_segment(segment)``.
- Queries: ``segments_for_cell(cell)`` (sorted ids), ``segment_cells(segments)`` (vectorised owners),
  ``cell_for_segment(segment)``, ``synapses_for_segment(segment)`` (presynaptic cells and permanences, sorted by
  cell), ``segment_last_used(segment)``, ``num_segments(cell=None)``, ``num_synapses(segment=None)``.
- ``iteration``: an int attribute, the clock of the LRU replacement; advance it once per time step.
- ``active_segment_cells(active_presynaptic, connected_permanence, activation_threshold)``: owners of the segments
  active under an input, one entry per segment, sorted (the grid cells' anchoring).
- ``held_activity``: the input whose counts the store's counters hold while the store is unchanged; the next
  ``compute_activity`` (and the temporal memory's counts) then walk only the input cells that changed, and the same
  input again returns the held answer (``held_result``). Every mutating method, and asking for ``store`` (the tuple
  kernels take), forgets it; ``store_for_reading()`` does not.
- ``state_dict()``, ``load_state_dict(state)``, ``save(path)``, ``Connections.load(path)``: exact save/load (arrays
  and RNG state).

Example (grid-cell anchoring style: module cells learn to recognise L4 activity):

    >>> conn = Connections(num_cells=100, num_presynaptic=1000, seed=0)
    >>> seg = conn.create_segment(cell=7)
    >>> conn.grow_synapses(seg, candidates=[3, 40, 500], max_new=3, initial_permanence=0.6)
    3
    >>> act = conn.compute_activity([3, 40, 999], connected_permanence=0.5)
    >>> act.segments.tolist(), act.connected.tolist(), act.potential.tolist()
    ([0], [2], [2])
    >>> conn.segment_cells(act.segments[act.connected >= 2]).tolist()
    [7]

The numba kernels live in :mod:`htmagent.kernels.connections`; :class:`~htmagent.temporal_memory.TemporalMemory`
calls them directly on this object's arrays inside its own step kernels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._state import StateError, as_int, atomic_load, check_format, get, get_array, get_int, naming_file
from htmagent._validation import check_int, check_real
from htmagent.kernels import connections as K
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state

__all__ = ["Connections", "SegmentActivity"]

_FORMAT = "htmagent.Connections/2"
#: Files before the connected bits: the presynaptic index held (segment, synapse id) rows and a permanence copy.
_FORMAT_1 = "htmagent.Connections/1"


@dataclass(frozen=True)
class SegmentActivity:
    """Activity of the segments reached by the active presynaptic cells.

    Attributes:
        segments: ids of the segments with at least one synapse onto an active presynaptic cell (int32, sorted).
        connected: per segment, the number of connected synapses onto active cells (int32).
        potential: per segment, the number of synapses (any permanence) onto active cells (int32).
    """

    segments: np.ndarray
    connected: np.ndarray
    potential: np.ndarray


def _pair_list(state: dict, key: str) -> list:
    value = get(state, key)
    if not isinstance(value, list) or len(value) != 3:
        raise StateError(f"{key} must be a list of 3 slot counts (segments, synapse blocks, chunks), got {value!r}",
                         field=key)
    return value


class Connections:
    """Dendrite segments and synapses of a population of cells (see the module docstring for the API).

    Neurally: each segment is a stretch of dendrite that acts as an independent coincidence detector. It fires when
    enough of its synapses are connected to currently active presynaptic cells. Learning is Hebbian: synapses from
    active cells grow stronger, the others weaker. Synapses that fade to zero are pruned. New synapses grow to a
    random sample of recently active cells.

    Args:
        num_cells: number of postsynaptic cells (segment owners), >= 1.
        num_presynaptic: number of presynaptic cells that synapses may start from, >= 1.
        max_segments_per_cell: cap on segments per cell; a cell at the cap replaces its least recently used segment.
        max_synapses_per_segment: cap on synapses per segment; growing onto a full segment first removes its weakest
            synapses.
        seed: seed or Generator for the random sampling in :meth:`grow_synapses`.
        memory_budget: bytes the store may allocate (``None``: no limit but the caps). When growing would pass it,
            the least recently used segments (oldest last learning) are retired instead, a sixteenth of the store
            at a time, so that learning goes on in bounded memory. Segment ids held outside the store may then
            name retired segments: only owners that re-read their segments each step (the temporal memory) should
            set it.
        max_synapses_per_presynaptic: fan-out cap: at most this many synapses leave any one presynaptic cell
            (``None``: no cap). After growing, a cell over the cap loses its synapses on the segments that learned
            longest ago (ties: the weaker synapse), and a segment left without synapses is destroyed. A step costs
            time in proportion to the synapses leaving its active cells, so the cap bounds the cost of a step however
            long the store learns.
        connected_permanence: the connected permanence the store keeps a connected bit for, in each synapse's
            presynaptic-index entry, so that counting connected synapses reads no permanence. Counting at another
            value works too: the store then re-flags every synapse once (one pass over the store) and keeps the bits
            for that value from then on.
    """

    def __init__(
        self,
        num_cells: int,
        num_presynaptic: int,
        max_segments_per_cell: int = 255,
        max_synapses_per_segment: int = 255,
        seed: int | np.random.Generator | None = None,
        memory_budget: int | None = None,
        max_synapses_per_presynaptic: int | None = None,
        connected_permanence: float = 0.5,
    ):
        self.num_cells = check_int(num_cells, "num_cells", 1)
        self.num_presynaptic = check_int(num_presynaptic, "num_presynaptic", 1)
        self.max_segments_per_cell = check_int(max_segments_per_cell, "max_segments_per_cell", 1)
        # compute_activity packs two per-segment counts into one int32 (15 bits for the connected one)
        self.max_synapses_per_segment = check_int(max_synapses_per_segment, "max_synapses_per_segment", 1, 32_767)
        self._rng = make_rng(seed)
        self.iteration = 0
        self.memory_budget = None if memory_budget is None else check_int(memory_budget, "memory_budget", 1)
        self.max_synapses_per_presynaptic = None if max_synapses_per_presynaptic is None else check_int(
            max_synapses_per_presynaptic, "max_synapses_per_presynaptic", 1, 2**31 - 1)
        self.segments_retired = 0
        self._allocate(segment_capacity=64, block_capacity=64, chunk_capacity=64,
                       threshold=self._connected_threshold(connected_permanence))

    # ------------------------------------------------------------------ storage
    #: Names of the arrays that make up the store, in the order the kernels take them.
    STORE = ("seg_i32", "seg_used", "syn_i32", "syn_perm", "syn_link", "cell_i32", "pre_i32", "chunk_i32",
             "connected_at", "chunk_link", "free_segs", "free_blocks", "free_chunks", "meta")

    def _allocate(self, segment_capacity: int, block_capacity: int, chunk_capacity: int,
                  threshold: np.float32) -> None:
        self.seg_i32 = np.full((6, segment_capacity), -1, dtype=np.int32)
        self.seg_i32[K.S_NSYN] = 0
        self.seg_used = np.zeros(segment_capacity, dtype=np.int64)
        self.syn_i32 = np.full((2, block_capacity * K.CHUNK), -1, dtype=np.int32)
        self.syn_perm = np.zeros(block_capacity * K.CHUNK, dtype=np.float32)
        self.syn_link = np.full((2, block_capacity), -1, dtype=np.int32)
        self.cell_i32 = np.zeros((2, self.num_cells), dtype=np.int32)
        self.cell_i32[K.C_HEAD] = -1
        self.pre_i32 = np.full((3, self.num_presynaptic), -1, dtype=np.int32)
        self.pre_i32[K.P_LEN] = 0
        self.chunk_i32 = np.full((1, chunk_capacity * K.CHUNK), -1, dtype=np.int32)
        self.connected_at = np.array([threshold], dtype=np.float32)
        self.chunk_link = np.full((2, chunk_capacity), -1, dtype=np.int32)
        # Free stacks are popped from the end, so lower ids are handed out first.
        self.free_segs = np.arange(segment_capacity - 1, -1, -1, dtype=np.int32)
        self.free_blocks = np.arange(block_capacity - 1, -1, -1, dtype=np.int32)
        self.free_chunks = np.arange(chunk_capacity - 1, -1, -1, dtype=np.int32)
        self.meta = np.array([segment_capacity, block_capacity, chunk_capacity, 0, 0], dtype=np.int64)
        self._init_scratch()

    def _init_scratch(self) -> None:
        self._held = None
        cap = self.seg_i32.shape[1]
        self.counts = np.zeros(cap, dtype=np.int32)
        self.touched = np.zeros(cap, dtype=np.int32)
        self.n_touched = 0
        self.scratch_mask = np.zeros(self.num_presynaptic, dtype=np.uint8)
        self.candidate_mask = np.zeros(self.num_presynaptic, dtype=np.uint8)

    def __setattr__(self, name: str, value: object) -> None:
        if name in self.STORE:  # a store array was replaced (growth, loading): rebuild the tuple on next use
            self.__dict__.pop("_store", None)
            self.__dict__["_held"] = None
        object.__setattr__(self, name, value)

    @property
    def store(self) -> tuple[np.ndarray, ...]:
        """The arrays named in :attr:`STORE`, in that order (what the kernels take).

        A kernel handed the whole store may change it, so asking for it also forgets the segment activity held
        for incremental counting (:attr:`held_activity`); a caller that only reads uses :meth:`store_for_reading`.
        """
        self.__dict__["_held"] = None
        return self.store_for_reading()

    def store_for_reading(self) -> tuple[np.ndarray, ...]:
        """:attr:`store` for a kernel that does not change it (the held activity stays valid)."""
        cached = self.__dict__.get("_store")
        if cached is None:
            cached = self.__dict__["_store"] = tuple(getattr(self, name) for name in self.STORE)
        return cached

    @property
    def held_activity(self) -> tuple[np.ndarray, np.float32, object] | None:
        """(input, connected threshold, (key, result) held by :meth:`hold_activity` or None): the input whose
        per-segment counts ``counts`` / ``touched`` hold, on the store as it is now; None when they hold nothing
        usable. Set after every count (:meth:`compute_activity`, the temporal memory's), and cleared by everything
        that changes the store (every mutating method, and whoever asks for :attr:`store`), so that the next count on
        an unchanged store walks only the input cells that changed."""
        return self.__dict__.get("_held")

    def hold_activity(self, active: np.ndarray, threshold: np.float32, result: object = None,
                      key: object = None) -> None:
        """Record that ``counts`` / ``touched`` now hold the counts of ``active`` (sorted indices, copied).

        ``result``, when given, is what the caller derived from these counts (read-only arrays), and ``key`` says
        how (which caller, which thresholds). Both are kept with the counts and forgotten with them, so that a
        caller that meets the same input on the unchanged store again can take its result back without counting
        (:meth:`held_result`).
        """
        kept = None if result is None else (key, result)
        self.__dict__["_held"] = (np.array(active, dtype=np.int32), np.float32(threshold), kept)

    def held_result(self, active: np.ndarray, threshold: np.float32, key: object) -> object:
        """The ``result`` held under ``key`` with the last count, if that count was of ``active`` at ``threshold``
        on the store as it is now (nothing changed since); else None."""
        held = self.__dict__.get("_held")
        if held is None or held[2] is None or held[2][0] != key or held[1] != threshold \
                or not np.array_equal(held[0], active):
            return None
        return held[2][1]

    @property
    def segment_capacity(self) -> int:
        """Number of segment slots currently allocated (ids are below this)."""
        return int(self.seg_i32.shape[1])

    @staticmethod
    def _widen(arr: np.ndarray, new: int, fill: int | float) -> np.ndarray:
        grown = np.full(arr.shape[:-1] + (new,), fill, dtype=arr.dtype)
        grown[..., : arr.shape[-1]] = arr
        return grown

    def _grow_pool(self, counter: int, free_name: str, link_name: str | None, needed: int) -> tuple[int, int] | None:
        """Grow a pool (segments, blocks or chunks) by halves until ``needed`` slots are free; return (old, new) sizes."""
        n_free = int(self.meta[counter])
        if n_free >= needed:
            return None
        old = getattr(self, free_name).shape[0]
        new = old
        while new - old + n_free < needed:
            new += max(1, new // 2)
        free = np.zeros(new, dtype=np.int32)
        free[: new - old] = np.arange(new - 1, old - 1, -1, dtype=np.int32)
        free[new - old : new - old + n_free] = getattr(self, free_name)[:n_free]
        setattr(self, free_name, free)
        self.meta[counter] = n_free + new - old
        if link_name is not None:
            setattr(self, link_name, self._widen(getattr(self, link_name), new, -1))
        return old, new

    #: Bytes one slot of each pool costs: a segment (its row, LRU stamp, free-stack entry and two scratch counters),
    #: a synapse block (``CHUNK`` synapses of presynaptic cell, index entry and permanence; links; free entry) and a
    #: presynaptic-index chunk (``CHUNK`` entries of one int32; links; free entry).
    _SLOT_BYTES = (6 * 4 + 8 + 4 + 4 + 4, K.CHUNK * 12 + 8 + 4, K.CHUNK * 4 + 8 + 4)

    @property
    def nbytes(self) -> int:
        """Bytes of every array the store holds (its resident memory, less Python's small objects)."""
        arrays = [getattr(self, name) for name in self.STORE]
        arrays += [self.counts, self.touched, self.scratch_mask, self.candidate_mask]
        return int(sum(a.nbytes for a in arrays))

    def _grown(self, counter: int, capacity: int, needed: int) -> int:
        """The capacity a pool would grow to so that ``needed`` slots are free."""
        n_free = int(self.meta[counter])
        new = capacity
        while new - capacity + n_free < needed:
            new += max(1, new // 2)
        return new

    def _retire(self, needs: tuple[int, int, int], protected: np.ndarray | None) -> bool:
        """Retire least recently used segments until ``needs`` (segments, blocks, chunks) are free plus a sixteenth
        of each pool; False if the protected and the live segments left cannot free that much."""
        capacities = (self.segment_capacity, self.syn_link.shape[1], self.chunk_link.shape[1])
        targets = [n + c // 16 for n, c in zip(needs, capacities)]
        live = np.flatnonzero(self.seg_i32[K.S_CELL] >= 0).astype(np.int32)
        order = live[np.argsort(self.seg_used[live], kind="stable")]
        mask = np.zeros(self.segment_capacity, dtype=np.uint8)
        if protected is not None and len(protected):
            mask[np.asarray(protected, dtype=np.int64)] = 1
        self.segments_retired += int(K.retire_segments(*self.store, order, mask, *targets))
        return all(int(self.meta[k]) >= n for k, n in zip((K.M_FREE_SEG, K.M_FREE_BLOCK, K.M_FREE_CHUNK), needs))

    def ensure_capacity(self, new_segments: int, new_synapses: int, growing_segments: int | None = None,
                        protected: np.ndarray | None = None, presynaptic_cells: int | None = None) -> None:
        """Make sure ``new_segments`` segments and ``new_synapses`` synapses can be created (growing the pools by halves).

        Args:
            new_segments: segments that may be created before the next call.
            new_synapses: synapses that may be created before the next call.
            growing_segments: how many segments those synapses are spread over (None = as many as synapses); it
                bounds the synapse blocks needed.
            protected: segments that must survive (with a :attr:`memory_budget`: the ones the caller is about to
                learn on).
            presynaptic_cells: how many distinct presynaptic cells those synapses start from (None = as many as
                synapses); it bounds the presynaptic-index chunks needed.
        """
        spread = new_synapses if growing_segments is None else min(growing_segments, new_synapses)
        blocks = spread + (new_synapses + K.CHUNK - 1) // K.CHUNK
        # g new entries on one list open at most ceil(g / CHUNK) chunks, so p lists taking n entries in all open at
        # most p + n / CHUNK; without p, each new synapse may open one.
        sources = new_synapses if presynaptic_cells is None else min(presynaptic_cells, new_synapses)
        chunks = min(new_synapses, sources + (new_synapses + K.CHUNK - 1) // K.CHUNK)
        free_segs, free_blocks, free_chunks = self.meta[:3].tolist()
        if free_segs >= new_segments and free_blocks >= blocks and free_chunks >= chunks:
            return  # the usual case, checked once per time step
        if self.memory_budget is not None:
            sizes = (self.segment_capacity, self.syn_link.shape[1], self.chunk_link.shape[1])
            grown = [self._grown(k, c, n) for k, c, n in zip((K.M_FREE_SEG, K.M_FREE_BLOCK, K.M_FREE_CHUNK), sizes,
                                                              (new_segments, blocks, chunks))]
            extra = sum((g - c) * b for g, c, b in zip(grown, sizes, self._SLOT_BYTES))
            if self.nbytes + extra > self.memory_budget and self._retire((new_segments, blocks, chunks),
                                                                         protected):
                return  # retiring freed enough: no growth
        grown = self._grow_pool(K.M_FREE_SEG, "free_segs", None, new_segments)
        if grown is not None:
            new = grown[1]
            self.seg_i32 = self._widen(self.seg_i32, new, -1)
            self.seg_i32[K.S_NSYN, grown[0]:] = 0
            self.seg_used = self._widen(self.seg_used, new, 0)
            self.counts = self._widen(self.counts, new, 0)
            self.touched = self._widen(self.touched, new, 0)
        grown = self._grow_pool(K.M_FREE_BLOCK, "free_blocks", "syn_link", blocks)
        if grown is not None:
            self.syn_i32 = self._widen(self.syn_i32, grown[1] * K.CHUNK, -1)
            self.syn_perm = self._widen(self.syn_perm, grown[1] * K.CHUNK, 0.0)
        grown = self._grow_pool(K.M_FREE_CHUNK, "free_chunks", "chunk_link", chunks)
        if grown is not None:
            self.chunk_i32 = self._widen(self.chunk_i32, grown[1] * K.CHUNK, -1)

    # ------------------------------------------------------------------ validation helpers
    def _check_cell(self, cell: object) -> int:
        return check_int(cell, "cell", 0, self.num_cells - 1)

    def _check_segment(self, segment: object) -> int:
        seg = check_int(segment, "segment", 0)
        if seg >= self.segment_capacity or self.seg_i32[K.S_CELL, seg] < 0:
            raise ValueError(f"segment must be the id of an existing segment, got {seg}")
        return seg

    def _presynaptic(self, value: SDR | np.ndarray | Sequence[int], name: str) -> np.ndarray:
        return as_sdr(value, self.num_presynaptic, name).sparse

    # ------------------------------------------------------------------ queries
    def num_segments(self, cell: int | None = None) -> int:
        """Number of segments of ``cell``, or of all cells when ``cell`` is None."""
        if cell is None:
            return int(self.meta[K.M_NUM_SEG])
        return int(self.cell_i32[K.C_NSEG, self._check_cell(cell)])

    def num_synapses(self, segment: int | None = None) -> int:
        """Number of synapses on ``segment``, or on all segments when ``segment`` is None."""
        if segment is None:
            return int(self.meta[K.M_NUM_SYN])
        return int(self.seg_i32[K.S_NSYN, self._check_segment(segment)])

    def segments_for_cell(self, cell: int) -> np.ndarray:
        """Sorted ids of the segments owned by ``cell``."""
        cell = self._check_cell(cell)
        out = []
        seg = self.cell_i32[K.C_HEAD, cell]
        while seg != -1:
            out.append(seg)
            seg = self.seg_i32[K.S_NEXT, seg]
        return np.array(sorted(out), dtype=np.int32)

    def cell_for_segment(self, segment: int) -> int:
        """The cell that owns ``segment``."""
        return int(self.seg_i32[K.S_CELL, self._check_segment(segment)])

    def segment_cells(self, segments: np.ndarray | Sequence[int]) -> np.ndarray:
        """Owning cell of each segment id in ``segments`` (vectorised, int32; ids must be live segments)."""
        segs = np.asarray(segments, dtype=np.int64)
        if segs.size and (segs.min() < 0 or segs.max() >= self.segment_capacity):
            raise ValueError(f"segments must be ids in [0, {self.segment_capacity}), got {segs.min()}..{segs.max()}")
        cells = self.seg_i32[K.S_CELL, segs]
        if np.any(cells < 0):
            raise ValueError(f"segments must be live segment ids, got destroyed id {int(segs[cells < 0][0])}")
        return cells.astype(np.int32)

    def synapses_for_segment(self, segment: int) -> tuple[np.ndarray, np.ndarray]:
        """(presynaptic cells, permanences) of the synapses on ``segment``, sorted by presynaptic cell."""
        seg = self._check_segment(segment)
        pres, perms = K.segment_synapses(self.seg_i32, self.syn_i32, self.syn_perm, self.syn_link, seg)
        order = np.argsort(pres, kind="stable")
        return pres[order], perms[order]

    def segment_last_used(self, segment: int) -> int:
        """Iteration at which ``segment`` was created or last adapted."""
        return int(self.seg_used[self._check_segment(segment)])

    # ------------------------------------------------------------------ activity
    def compute_activity(
        self, active_presynaptic: SDR | np.ndarray | Sequence[int], connected_permanence: float
    ) -> SegmentActivity:
        """Connected and potential synapse counts onto ``active_presynaptic`` for every segment they reach.

        Args:
            active_presynaptic: SDR of size ``num_presynaptic`` or sorted unique indices.
            connected_permanence: a synapse counts as connected when its permanence is >= this value (minus
                ``1e-6``, so that float32 rounding of e.g. 0.21 + 3 * 0.1 does not miss 0.5).

        Returns:
            :class:`SegmentActivity` over the segments with at least one synapse onto an active cell. Its arrays
            are read-only: the same input on the unchanged store returns the same object again.
        """
        active = self._presynaptic(active_presynaptic, "active_presynaptic")
        threshold = self._connected_threshold(connected_permanence)
        repeated = self.held_result(active, threshold, "activity")
        if repeated is not None:  # the same input on the unchanged store (a sensation settling): the same activity
            return repeated
        self._count(active, threshold)
        segs = np.sort(self.touched[: self.n_touched])
        counts = self.counts[segs]
        activity = SegmentActivity(segs, (counts >> 16).astype(np.int32), (counts & 0xFFFF).astype(np.int32))
        for arr in (activity.segments, activity.connected, activity.potential):
            arr.flags.writeable = False  # held and handed out again while the input repeats
        self.hold_activity(active, threshold, activity, "activity")
        return activity

    def active_segment_cells(self, active_presynaptic: SDR | np.ndarray | Sequence[int], connected_permanence: float,
                             activation_threshold: int) -> np.ndarray:
        """Owners of the segments with at least ``activation_threshold`` connected synapses onto
        ``active_presynaptic``: one entry per such segment, sorted by cell (read-only int32).

        The same as filtering :meth:`compute_activity` and taking :meth:`segment_cells`, in one kernel; like it,
        a repeated input on the unchanged store returns the held answer without counting.
        """
        active = self._presynaptic(active_presynaptic, "active_presynaptic")
        threshold = self._connected_threshold(connected_permanence)
        minimum = check_int(activation_threshold, "activation_threshold", 0)
        key = ("owners", minimum)
        repeated = self.held_result(active, threshold, key)
        if repeated is not None:
            return repeated
        self._count(active, threshold)
        owners = K.active_segment_owners(self.counts, self.touched, self.n_touched, self.seg_i32, minimum)
        owners.flags.writeable = False
        self.hold_activity(active, threshold, owners, key)
        return owners

    @staticmethod
    def _connected_threshold(connected_permanence: float) -> np.float32:
        return np.float32(np.float32(check_real(connected_permanence, "connected_permanence", 0.0, 1.0)) - K.EPSILON)

    @property
    def connected_threshold(self) -> float:
        """The permanence at or above which the store's connected bits count a synapse as connected (the connected
        permanence less ``1e-6``)."""
        return float(self.connected_at[0])

    def set_connected_permanence(self, connected_permanence: float) -> None:
        """Keep the connected bits for ``connected_permanence`` from now on (one pass over the store when it
        changes; counting at that value then reads no permanence)."""
        self._use_threshold(self._connected_threshold(connected_permanence))

    def _use_threshold(self, threshold: np.float32) -> None:
        if threshold != self.connected_at[0]:
            K.set_connected_threshold(self.seg_i32, self.syn_i32, self.syn_perm, self.syn_link, self.chunk_i32,
                                      self.connected_at, threshold)
            self.__dict__["_held"] = None

    def _count(self, active: np.ndarray, threshold: np.float32) -> None:
        """Fill ``counts`` / ``touched`` with the counts of ``active``: afresh, or from the held counts by walking
        what changed when the store is unchanged since they were taken."""
        self._use_threshold(threshold)
        held = self.held_activity
        if held is not None and held[1] == threshold:
            self.n_touched = K.compute_activity_delta(self.counts, self.touched, self.pre_i32, self.chunk_i32,
                                                      self.connected_at, self.chunk_link, self.n_touched, held[0],
                                                      active, threshold)
        else:
            self.n_touched = K.compute_activity(self.counts, self.touched, self.pre_i32, self.chunk_i32,
                                                self.connected_at, self.chunk_link, self.n_touched, active, threshold)

    # ------------------------------------------------------------------ learning
    def create_segment(self, cell: int) -> int:
        """Add an empty segment to ``cell`` stamped with the current ``iteration``; return its id.

        A cell already at ``max_segments_per_cell`` first loses its least recently used segment (ties: lowest id).
        """
        cell = self._check_cell(cell)
        self.ensure_capacity(1, 0)
        return int(K.create_segment(*self.store, cell, self.iteration, self.max_segments_per_cell))

    def destroy_segment(self, segment: int) -> None:
        """Remove ``segment`` and its synapses."""
        seg = self._check_segment(segment)
        K.destroy_segment(*self.store, seg)

    def grow_synapses(
        self,
        segment: int,
        candidates: SDR | np.ndarray | Sequence[int],
        max_new: int,
        initial_permanence: float,
    ) -> int:
        """Grow synapses from up to ``max_new`` random ``candidates`` not yet connected to ``segment``.

        A segment that would exceed ``max_synapses_per_segment`` first loses its weakest synapses that do not start
        from a candidate. A candidate left over ``max_synapses_per_presynaptic`` then loses its synapses on the
        segments (other than ``segment``) that learned longest ago, and a segment left empty is destroyed. Returns
        the number of synapses grown.
        """
        seg = self._check_segment(segment)
        cand = self._presynaptic(candidates, "candidates")
        n = check_int(max_new, "max_new", 0)
        perm = np.float32(check_real(initial_permanence, "initial_permanence", 0.0, 1.0))
        if perm <= K.EPSILON:
            raise ValueError(f"initial_permanence must be > {float(K.EPSILON)}, got {initial_permanence}")
        n = min(n, cand.size)
        self.ensure_capacity(0, n, 1, protected=np.array([seg], dtype=np.int32))
        rand = self._rng.random(n)
        self.candidate_mask[cand] = 1
        try:
            grown, _ = K.grow_synapses(*self.store, self.scratch_mask, rand, 0, seg, cand, self.candidate_mask, n,
                                       perm, self.max_synapses_per_segment)
            if self.max_synapses_per_presynaptic is not None:
                K.enforce_fan_out(*self.store, cand, self.max_synapses_per_presynaptic, seg)
        finally:
            self.candidate_mask[cand] = 0
        return int(grown)

    def _adapt(self, seg: int, active: np.ndarray, increment: np.float32, decrement: np.float32) -> bool:
        self.scratch_mask[active] = 1
        try:
            alive = K.adapt_segment(*self.store, seg, self.scratch_mask, increment, decrement)
        finally:
            self.scratch_mask[active] = 0
        if alive:
            self.seg_used[seg] = self.iteration
        return bool(alive)

    def adapt_segment(
        self,
        segment: int,
        active_presynaptic: SDR | np.ndarray | Sequence[int],
        increment: float,
        decrement: float,
    ) -> bool:
        """Hebbian learning on ``segment``; stamps it with ``iteration``.

        Synapses from ``active_presynaptic`` gain ``increment``, the others lose ``decrement``, clipped to [0, 1];
        synapses that reach 0 are removed, and a segment left without synapses is destroyed.

        Returns:
            True if the segment still exists.
        """
        seg = self._check_segment(segment)
        active = self._presynaptic(active_presynaptic, "active_presynaptic")
        inc = np.float32(check_real(increment, "increment", 0.0, 1.0))
        dec = np.float32(check_real(decrement, "decrement", 0.0, 1.0))
        return self._adapt(seg, active, inc, dec)

    def punish_segment(
        self, segment: int, active_presynaptic: SDR | np.ndarray | Sequence[int], decrement: float
    ) -> bool:
        """Weaken the synapses of ``segment`` onto ``active_presynaptic`` by ``decrement`` (a wrong prediction).

        Returns:
            True if the segment still exists.
        """
        seg = self._check_segment(segment)
        active = self._presynaptic(active_presynaptic, "active_presynaptic")
        dec = np.float32(check_real(decrement, "decrement", 0.0, 1.0))
        return self._adapt(seg, active, np.float32(-dec), np.float32(0.0))

    # ------------------------------------------------------------------ persistence
    #: Per pool (segments, synapse blocks, presynaptic chunks): the store arrays indexed by its slots, each with its
    #: empty value (one per row for ``seg_i32``, whose synapse count starts at 0) and the number of entries per slot.
    _POOLS = ((("seg_i32", (-1, -1, -1, 0, -1, -1), 1), ("seg_used", 0, 1)),
              (("syn_i32", -1, K.CHUNK), ("syn_perm", 0, K.CHUNK), ("syn_link", -1, 1)),
              (("chunk_i32", -1, K.CHUNK), ("chunk_link", -1, 1)))

    def _stored_slots(self) -> list[int]:
        """Per pool, one past the last slot that differs from an empty slot in any bit: what a file must hold
        (slots past it are rebuilt exactly on load, so a file is sized to what was learned, not to capacity)."""
        counts = []
        for pool in self._POOLS:
            last = -1
            for name, fill, per_slot in pool:
                arr = getattr(self, name)
                bits = arr.view(np.uint32) if arr.dtype == np.float32 else arr
                slots = bits.shape[-1] // per_slot
                empty = np.asarray(fill).reshape((-1, 1, 1) if bits.ndim == 2 else ())
                differs = (bits.reshape(bits.shape[:-1] + (slots, per_slot)) != empty).reshape(-1, slots, per_slot)
                used = np.flatnonzero(differs.any(axis=(0, 2)))
                if used.size:
                    last = max(last, int(used[-1]))
            counts.append(last + 1)
        return counts

    def state_dict(self) -> dict:
        """Everything needed to restore this object exactly (arrays, counters, RNG state).

        The slot arrays hold only the slots up to the last one ever written (``stored``); ``capacity`` records the
        allocated sizes, which loading restores, empty slots and all.
        """
        stored = self._stored_slots()
        state = {
            "format": _FORMAT,
            "num_cells": self.num_cells,
            "num_presynaptic": self.num_presynaptic,
            "max_segments_per_cell": self.max_segments_per_cell,
            "max_synapses_per_segment": self.max_synapses_per_segment,
            "iteration": int(self.iteration),
            "memory_budget": self.memory_budget,
            "max_synapses_per_presynaptic": self.max_synapses_per_presynaptic,
            "segments_retired": int(self.segments_retired),
            "rng": rng_state(self._rng),
            "capacity": [self.segment_capacity, int(self.syn_link.shape[1]), int(self.chunk_link.shape[1])],
            "stored": stored,
        }
        cut = {name: n * per_slot for pool, n in zip(self._POOLS, stored) for name, _, per_slot in pool}
        for name in self.STORE:  # one copy each, of the stored slots only
            arr = getattr(self, name)
            state[name] = (arr[..., : cut[name]] if name in cut else arr).copy()
        return state

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state produced by :meth:`state_dict` (sizes and caps are taken from the state).

        Every array is checked for dtype and shape, and every index and link of the store for consistency
        (:func:`htmagent.kernels.connections.check_store`), before any field of this object changes; a malformed
        state raises :class:`~htmagent.serialization.StateError` and leaves the object as it was.
        """
        version_1 = isinstance(state, dict) and state.get("format") == _FORMAT_1
        if not version_1:
            check_format(state, _FORMAT)
        num_cells = get_int(state, "num_cells", 1, 2**31 - 1)
        num_pre = get_int(state, "num_presynaptic", 1, 2**31 - 1)
        max_segs = get_int(state, "max_segments_per_cell", 1, 2**31 - 1)
        max_syns = get_int(state, "max_synapses_per_segment", 1, 2**31 - 1)
        iteration = get_int(state, "iteration", 0)
        budget = state.get("memory_budget")  # absent from files written before the budget existed
        budget = None if budget is None else get_int(state, "memory_budget", 1)
        retired = get_int(state, "segments_retired", 0) if "segments_retired" in state else 0
        fan_out = state.get("max_synapses_per_presynaptic")  # absent from files written before the fan-out cap
        fan_out = None if fan_out is None else get_int(state, "max_synapses_per_presynaptic", 1, 2**31 - 1)
        if "capacity" in state:  # slot arrays cut after the last written slot (files since 0.2)
            capacity = [as_int(v, "capacity", 1, 2**31 - 1) for v in _pair_list(state, "capacity")]
            stored = [as_int(v, "stored", 0, c) for v, c in zip(_pair_list(state, "stored"), capacity)]
        else:  # full-capacity arrays
            capacity = [get_array(state, "seg_i32", np.int32, (6, None)).shape[1],
                        get_array(state, "syn_link", np.int32, (2, None)).shape[1],
                        get_array(state, "chunk_link", np.int32, (2, None)).shape[1]]
            stored = list(capacity)
        (seg_cap, blocks, chunks), (seg_n, block_n, chunk_n) = capacity, stored
        expected = {
            "seg_i32": ((6, seg_n), np.int32), "seg_used": ((seg_n,), np.int64),
            "syn_i32": ((2, block_n * K.CHUNK), np.int32), "syn_perm": ((block_n * K.CHUNK,), np.float32),
            "syn_link": ((2, block_n), np.int32), "cell_i32": ((2, num_cells), np.int32),
            "pre_i32": ((3, num_pre), np.int32), "chunk_i32": ((2 if version_1 else 1, chunk_n * K.CHUNK), np.int32),
            "chunk_link": ((2, chunk_n), np.int32),
            "free_segs": ((seg_cap,), np.int32), "free_blocks": ((blocks,), np.int32),
            "free_chunks": ((chunks,), np.int32), "meta": ((5,), np.int64),
        }
        if version_1:  # the presynaptic index held (segment, synapse) rows and a copy of each permanence
            expected["chunk_perm"] = ((chunk_n * K.CHUNK,), np.float32)
        else:
            expected["connected_at"] = ((1,), np.float32)
        arrays = {key: get_array(state, key, dtype, shape) for key, (shape, dtype) in expected.items()}
        if version_1:  # keep the segment row; its connected bits come from the copies, at the default threshold
            copies = arrays.pop("chunk_perm")
            threshold = self._connected_threshold(0.5)
            entries = arrays["chunk_i32"][:1].copy()
            entries[0, (copies >= threshold) & (entries[0] >= 0)] |= K.CONNECTED
            arrays["chunk_i32"] = entries
            arrays["connected_at"] = np.array([threshold], dtype=np.float32)
        # a segment's last learning is an iteration (>= 0; it orders retiring: least recently used first)
        arrays["seg_used"] = get_array(state, "seg_used", np.int64, (seg_n,), low=0)
        for pool, cap in zip(self._POOLS, capacity):
            for name, fill, per_slot in pool:
                arr = arrays[name]
                full = np.empty(arr.shape[:-1] + (cap * per_slot,), dtype=arr.dtype)
                full[...] = np.asarray(fill, dtype=arr.dtype).reshape((-1, 1) if arr.ndim == 2 else ())
                full[..., : arr.shape[-1]] = arr
                arrays[name] = full
        code, where = K.check_store(*(arrays[key] for key in self.STORE), max_segs, max_syns)
        if code:
            raise StateError(f"the segment store is inconsistent: {K.STORE_ERRORS[code]} (at {where})",
                             field="seg_i32")
        rng = restore_rng(get(state, "rng"))
        self.num_cells = num_cells
        self.num_presynaptic = num_pre
        self.max_segments_per_cell = max_segs
        self.max_synapses_per_segment = max_syns
        self.iteration = iteration
        self.memory_budget = budget
        self.max_synapses_per_presynaptic = fan_out
        self.segments_retired = retired
        self._rng = rng
        for key, arr in arrays.items():
            setattr(self, key, arr)
        self._init_scratch()

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`state_dict` to ``path`` (npz + JSON, see :mod:`htmagent.serialization`)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Connections":
        """Read a file written by :meth:`save`."""
        with naming_file(path):
            state = load_state(path)
            conn = cls(1, 1, seed=0)
            conn.load_state_dict(state)
        return conn

    def __repr__(self) -> str:
        return (f"Connections(num_cells={self.num_cells}, num_presynaptic={self.num_presynaptic}, "
                f"segments={self.num_segments()}, synapses={self.num_synapses()})")
