"""The L2/3 object layer (Numenta's "column pooler"): a stable code per object, narrowed by sensations and votes."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass, fields
from typing import Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._state import StateError, atomic_load, check_format, get, get_array, get_int, naming_file
from htmagent._validation import is_int
from htmagent.kernels import object_layer as K
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state

__all__ = ["ObjectLayer", "ObjectLayerParams", "SynapseStore"]

_FORMAT = "htmagent.ObjectLayer/1"


class SynapseStore:
    """Synapses of one dendrite type: one segment per cell onto one presynaptic population.

    Learning reads and writes the cell-major lists; inference reads a cached CSR of the connected synapses by
    presynaptic bit, rebuilt lazily after any change.

    Args:
        num_cells: postsynaptic cells.
        num_presynaptic: presynaptic bits.
        connected_permanence: permanence at which a synapse conducts.
        capacity: initial slots per cell (grows by doubling).
    """

    def __init__(self, num_cells: int, num_presynaptic: int, connected_permanence: float, capacity: int = 32):
        self.num_cells = int(num_cells)
        self.num_presynaptic = int(num_presynaptic)
        self.connected_permanence = float(connected_permanence)
        self.pre = np.zeros((self.num_cells, capacity), dtype=np.int32)
        self.perm = np.zeros((self.num_cells, capacity), dtype=np.float32)
        self.count = np.zeros(self.num_cells, dtype=np.int32)
        self._csr: tuple[np.ndarray, np.ndarray] | None = None

    def learn(self, rng: np.random.Generator, active_cells: np.ndarray, active_input: np.ndarray,
              candidates: np.ndarray, sample_size: int, initial_permanence: float, increment: float,
              decrement: float) -> None:
        """Hebbian update of ``active_cells`` (see :func:`htmagent.kernels.object_layer.learn_synapses`)."""
        if active_cells.size == 0:
            return
        need = int(self.count[active_cells].max()) + sample_size
        if need > self.pre.shape[1]:
            self._grow(max(need, 2 * self.pre.shape[1]))
        mask = np.zeros(self.num_presynaptic, dtype=np.bool_)
        mask[active_input] = True
        keys = rng.random((active_cells.size, candidates.size))
        K.learn_synapses(self.pre, self.perm, self.count, active_cells, mask, candidates, keys, sample_size,
                         initial_permanence, increment, decrement)
        self._csr = None

    def votes(self, active_input: np.ndarray) -> np.ndarray:
        """Connected synapses onto ``active_input``, per cell (int32 array of ``num_cells``).

        The counts of the last call are kept with the CSR they were read from: while nothing is learned (a
        sensation settling, columns voting) the next call walks only the input bits that changed.
        """
        if self._csr is None:
            self._csr = K.connected_csr(self.pre, self.perm, self.count, self.num_presynaptic,
                                        self.connected_permanence)
        indptr, post = self._csr
        held = self.__dict__.get("_held")
        if held is not None and held[0] is self._csr:
            if np.array_equal(held[1], active_input):  # the same input, nothing learned: the same votes
                return held[2].copy()
            overlaps = K.count_votes_delta(indptr, post, held[1], active_input, held[2])
        else:
            overlaps = K.count_votes(indptr, post, active_input, self.num_cells)
        self._held = (self._csr, np.array(active_input, dtype=np.int32), overlaps.copy())
        return overlaps

    def num_synapses(self) -> int:
        """Number of synapses."""
        return int(self.count.sum())

    def _grow(self, capacity: int) -> None:
        pre = np.zeros((self.num_cells, capacity), dtype=np.int32)
        perm = np.zeros((self.num_cells, capacity), dtype=np.float32)
        width = self.pre.shape[1]
        pre[:, :width] = self.pre
        perm[:, :width] = self.perm
        self.pre, self.perm = pre, perm

    def state_dict(self) -> dict:
        """Arrays trimmed to the longest list."""
        width = max(int(self.count.max(initial=0)), 1)
        return {"pre": self.pre[:, :width].copy(), "perm": self.perm[:, :width].copy(), "count": self.count.copy()}

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`'s output (checked first: a malformed state raises
        :class:`~htmagent.serialization.StateError` and leaves the store as it was)."""
        pre = get_array(state, "pre", np.int32, (self.num_cells, None))
        perm = get_array(state, "perm", np.float32, pre.shape, 0.0, 1.0)
        count = get_array(state, "count", np.int32, (self.num_cells,), 0, pre.shape[1])
        used = np.arange(pre.shape[1])[None, :] < count[:, None]
        if used.any() and (pre[used].min() < 0 or pre[used].max() >= self.num_presynaptic):
            raise StateError(f"pre must hold presynaptic cells in [0, {self.num_presynaptic})", field="pre")
        self.pre = np.ascontiguousarray(pre)
        self.perm = np.ascontiguousarray(perm)
        self.count = np.ascontiguousarray(count)
        self._csr = None


@dataclass(frozen=True)
class ObjectLayerParams:
    """Parameters of an :class:`ObjectLayer` (the column pooler's, in snake_case; defaults = the L2 of Hawkins et al.
    2017's convergence experiments with 20-bit inputs).

    Layer:
        cell_count: cells in the layer. More cells = more objects before codes collide (capacity).
        sdr_size: active cells per object code. ``min_sdr_size``/``max_sdr_size`` default to it.
        online_learning: if True, ``compute(learn=True)`` first infers, then learns on the inferred cells (only if
            they are not a union larger than ``max_sdr_size``); if False, learning always picks/keeps a fixed random
            code per object (the papers' offline mode).

    Proximal dendrites (feedforward, from L4):
        sample_size_proximal: synapses onto the active input a cell aims for per learned sensation.
        min_threshold_proximal: connected synapses onto active L4 cells needed for feedforward support
            (rule of thumb: 0.5-0.6 x sample size).
        initial_proximal_permanence, connected_permanence_proximal, syn_perm_proximal_inc, syn_perm_proximal_dec.

    Distal dendrites (internal: own previous activity; lateral: one segment per other column's previous activity):
        sample_size_distal, activation_threshold_distal (a segment is active with this many connected synapses onto
        its source), initial_distal_permanence, connected_permanence_distal, syn_perm_distal_inc, syn_perm_distal_dec.

    Inertia:
        use_inertia, inertia_factor: fraction of the previously active cells that may stay active when too few cells
            have feedforward-and-lateral support.
    """

    cell_count: int = 4096
    sdr_size: int = 40
    min_sdr_size: int | None = None
    max_sdr_size: int | None = None
    online_learning: bool = False
    sample_size_proximal: int = 10
    min_threshold_proximal: int = 5
    initial_proximal_permanence: float = 0.6
    connected_permanence_proximal: float = 0.5
    syn_perm_proximal_inc: float = 0.1
    syn_perm_proximal_dec: float = 0.001
    sample_size_distal: int = 20
    activation_threshold_distal: int = 13
    initial_distal_permanence: float = 0.41
    connected_permanence_distal: float = 0.5
    syn_perm_distal_inc: float = 0.1
    syn_perm_distal_dec: float = 0.001
    use_inertia: bool = True
    inertia_factor: float = 1.0

    def __post_init__(self) -> None:
        for name in ("cell_count", "sdr_size", "sample_size_proximal", "min_threshold_proximal",
                     "sample_size_distal", "activation_threshold_distal"):
            value = getattr(self, name)
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.sdr_size > self.cell_count:
            raise ValueError(f"sdr_size must be <= cell_count ({self.cell_count}), got {self.sdr_size}")
        for name in ("min_sdr_size", "max_sdr_size"):
            value = getattr(self, name)
            if value is not None and (not is_int(value) or value < 1):
                raise ValueError(f"{name} must be None or an int >= 1, got {value!r}")
        for name in ("initial_proximal_permanence", "connected_permanence_proximal", "syn_perm_proximal_inc",
                     "syn_perm_proximal_dec", "initial_distal_permanence", "connected_permanence_distal",
                     "syn_perm_distal_inc", "syn_perm_distal_dec"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.inertia_factor, numbers.Real) or not 0.0 <= self.inertia_factor <= 1.0:
            raise ValueError(f"inertia_factor must be a number in [0, 1], got {self.inertia_factor!r}")

    @property
    def min_size(self) -> int:
        """Fewer active cells than this during learning starts a new object code."""
        return self.sdr_size if self.min_sdr_size is None else int(self.min_sdr_size)

    @property
    def max_size(self) -> int:
        """More active cells than this (a union) suppresses learning."""
        return self.sdr_size if self.max_sdr_size is None else int(self.max_sdr_size)


class ObjectLayer:
    """L2/3 object layer: cells that pool over an object's sensations and vote with other columns.

    Neural rule. Each cell has one proximal dendrite onto the L4 input, one internal distal dendrite onto this layer's
    previous activity, and one distal dendrite per other column onto that column's previous L2/3 activity.

    - Learning (offline mode): at the first sensation of an object (fewer than ``min_sdr_size`` active cells) the
      layer draws a random code of ``sdr_size`` cells and keeps it for every sensation of that object. The code's
      cells strengthen synapses onto active inputs, weaken the others, and grow new ones: proximal synapses to L4's
      *predicted-active* cells (so only pairs L4 already knows are pooled), distal synapses to the previous activity of
      this layer and of the other columns.
    - Inference: cells with enough proximal support are candidates — the union of every object sharing the sensed
      feature-at-location. Candidates with the most active distal segments win (lateral segments are the other
      columns' votes; the internal segment keeps what is consistent with the previous sensations); if fewer than
      ``sdr_size`` win, previously active cells stay on (inertia); if still short, feedforward-only cells are added at
      random, all of them when nothing else is active. So the active union narrows with each sensation and vote.

    What it does not decide: when an object ends (call :meth:`reset`) and what the lateral inputs are (the network
    wires other columns' previous activity in).

    Args:
        input_size: width of the feedforward (L4) input.
        lateral_input_sizes: width of each other column's layer, one distal dendrite per entry.
        params: :class:`ObjectLayerParams`; keyword overrides of its fields are accepted too.
        seed: seed or Generator for the object codes and synapse sampling.

    Example:
        >>> layer = ObjectLayer(input_size=2400, seed=1)
        >>> code = SDR(2400, range(20))
        >>> layer.compute(code, feedforward_growth_candidates=code, learn=True).num_active
        40
    """

    def __init__(self, input_size: int, lateral_input_sizes: Sequence[int] = (),
                 params: ObjectLayerParams | None = None, seed: int | np.random.Generator | None = None, **overrides):
        if not is_int(input_size) or input_size < 1:
            raise ValueError(f"input_size must be an int >= 1, got {input_size!r}")
        sizes = list(lateral_input_sizes)
        for i, s in enumerate(sizes):
            if not is_int(s) or s < 1:
                raise ValueError(f"lateral_input_sizes[{i}] must be an int >= 1, got {s!r}")
        base = params if params is not None else ObjectLayerParams()
        if not isinstance(base, ObjectLayerParams):
            raise TypeError(f"params must be an ObjectLayerParams, got {type(base).__name__}")
        known = {f.name for f in fields(ObjectLayerParams)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown ObjectLayer parameters {sorted(unknown)}; expected some of {sorted(known)}")
        self.params = ObjectLayerParams(**{**asdict(base), **overrides})
        self.input_size = int(input_size)
        self.lateral_input_sizes = tuple(int(s) for s in sizes)
        self._rng = make_rng(seed)
        p = self.params
        n = p.cell_count
        self.proximal = SynapseStore(n, self.input_size, p.connected_permanence_proximal)
        self.internal = SynapseStore(n, n, p.connected_permanence_distal)
        self.lateral = [SynapseStore(n, s, p.connected_permanence_distal) for s in self.lateral_input_sizes]
        self._active = np.empty(0, dtype=np.int32)

    # ------------------------------------------------------------------ state
    @property
    def cell_count(self) -> int:
        """Number of cells."""
        return self.params.cell_count

    @property
    def active_cells(self) -> SDR:
        """Currently active cells."""
        return SDR._trusted(self.params.cell_count, self._active.copy())

    def reset(self) -> None:
        """Forget the current object: no cell active (the next learning step draws a new code)."""
        self._active = np.empty(0, dtype=np.int32)

    def num_synapses(self) -> dict[str, int]:
        """Synapse counts by dendrite type."""
        return {"proximal": self.proximal.num_synapses(), "internal": self.internal.num_synapses(),
                "lateral": sum(s.num_synapses() for s in self.lateral)}

    # ---------------------------------------------------------------- compute
    def compute(self, feedforward_input, lateral_inputs: Sequence = (), feedforward_growth_candidates=None,
                learn: bool = True) -> SDR:
        """Run one time step.

        Args:
            feedforward_input: active L4 cells (SDR or sorted indices of ``input_size``).
            lateral_inputs: previous-step activity of each other column (one per ``lateral_input_sizes``).
            feedforward_growth_candidates: L4 cells new proximal synapses may grow to (L4's predicted-active cells);
                ``None`` = none.
            learn: learn (offline mode: keep this object's code; online mode: infer then learn).

        Returns:
            The active cells.

        Raises:
            ValueError/TypeError: on a wrong-size input or a wrong number of lateral inputs (nothing changes).
        """
        ff = as_sdr(feedforward_input, self.input_size, "feedforward_input").sparse
        if len(lateral_inputs) != len(self.lateral_input_sizes):
            raise ValueError(f"lateral_inputs must hold {len(self.lateral_input_sizes)} SDRs, "
                             f"got {len(lateral_inputs)}")
        lateral = [as_sdr(x, s, f"lateral_inputs[{i}]").sparse
                   for i, (x, s) in enumerate(zip(lateral_inputs, self.lateral_input_sizes))]
        if feedforward_growth_candidates is None:
            growth = np.empty(0, dtype=np.int32)
        else:
            growth = as_sdr(feedforward_growth_candidates, self.input_size, "feedforward_growth_candidates").sparse
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {type(learn).__name__}")
        prev = self._active
        if learn and not self.params.online_learning:
            if prev.size < self.params.min_size:
                self._active = np.sort(self._rng.choice(self.params.cell_count, self.params.sdr_size,
                                                        replace=False)).astype(np.int32)
        else:
            self._active = self._infer(ff, lateral, prev)
            if learn and self._active.size < self.params.min_size:
                self._active = np.sort(self._rng.choice(self.params.cell_count, self.params.sdr_size,
                                                        replace=False)).astype(np.int32)
        if learn and self._active.size <= self.params.max_size:
            self._learn(ff, growth, lateral, prev)
        return self.active_cells

    def _infer(self, ff: np.ndarray, lateral: list[np.ndarray], prev: np.ndarray) -> np.ndarray:
        p = self.params
        ff_overlaps = self.proximal.votes(ff)
        distal = np.empty((1 + len(lateral), p.cell_count), dtype=np.int32)
        distal[0] = self.internal.votes(prev)
        for i, (store, active) in enumerate(zip(self.lateral, lateral)):
            distal[i + 1] = store.votes(active)
        chosen, rest, n_add = K.select_active_cells(ff_overlaps, distal, prev, p.min_threshold_proximal,
                                                    p.activation_threshold_distal, p.sdr_size,
                                                    float(p.inertia_factor), bool(p.use_inertia))
        if n_add == 0:
            return chosen
        if n_add < rest.size:
            rest = self._rng.choice(rest, n_add, replace=False).astype(np.int32)
        return np.sort(np.concatenate([chosen, rest])).astype(np.int32)

    def _learn(self, ff: np.ndarray, growth: np.ndarray, lateral: list[np.ndarray], prev: np.ndarray) -> None:
        if ff.size == 0:
            return
        p = self.params
        cells = self._active
        self.proximal.learn(self._rng, cells, ff, growth, p.sample_size_proximal, p.initial_proximal_permanence,
                            p.syn_perm_proximal_inc, p.syn_perm_proximal_dec)
        for store, active in zip(self.lateral, lateral):
            store.learn(self._rng, cells, active, active, p.sample_size_distal, p.initial_distal_permanence,
                        p.syn_perm_distal_inc, p.syn_perm_distal_dec)
        self.internal.learn(self._rng, cells, prev, prev, p.sample_size_distal, p.initial_distal_permanence,
                            p.syn_perm_distal_inc, p.syn_perm_distal_dec)

    def infer_overlaps(self, feedforward_input) -> np.ndarray:
        """Proximal support (connected synapses onto ``feedforward_input``) of every cell, for diagnostics."""
        ff = as_sdr(feedforward_input, self.input_size, "feedforward_input").sparse
        return self.proximal.votes(ff)

    # ------------------------------------------------------------- save/load
    def state_dict(self) -> dict:
        """Everything needed to resume bit-identically (parameters, synapses, activity, RNG)."""
        return {
            "format": _FORMAT,
            "params": asdict(self.params),
            "input_size": self.input_size,
            "lateral_input_sizes": list(self.lateral_input_sizes),
            "rng": rng_state(self._rng),
            "active": self._active.copy(),
            "proximal": self.proximal.state_dict(),
            "internal": self.internal.state_dict(),
            "lateral": {str(i): s.state_dict() for i, s in enumerate(self.lateral)},
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`'s output into this layer (same sizes); every field is checked first, and a
        malformed state raises :class:`~htmagent.serialization.StateError`, leaving the layer as it was."""
        check_format(state, _FORMAT)
        lateral_sizes = get(state, "lateral_input_sizes")
        if get_int(state, "input_size", 1) != self.input_size or not isinstance(lateral_sizes, list) or \
                tuple(lateral_sizes) != self.lateral_input_sizes:
            raise StateError(f"state is for input_size {state['input_size']} and lateral sizes "
                             f"{lateral_sizes}, this layer has {self.input_size} and "
                             f"{list(self.lateral_input_sizes)}", field="input_size")
        try:
            params = ObjectLayerParams(**dict(get(state, "params")))
        except (TypeError, ValueError) as error:
            raise StateError(f"params are not valid ObjectLayer parameters: {error}", field="params") from error
        if params.cell_count != self.params.cell_count:
            raise StateError(f"params/cell_count must be {self.params.cell_count}, got {params.cell_count}",
                             field="params")
        active = get_array(state, "active", np.int32, (None,), 0, params.cell_count, high_open=True,
                           sorted_unique=True)
        rng = restore_rng(get(state, "rng"))
        lateral = get(state, "lateral")
        stores = [(self.proximal, get(state, "proximal")), (self.internal, get(state, "internal"))]
        stores += [(store, get(lateral, str(i), "lateral/")) for i, store in enumerate(self.lateral)]
        for store, saved in stores:  # each restores itself if it fails; restore those loaded before it too
            store.load_state_dict(saved)
        self.params = params
        self._active = active
        self._rng = rng

    @classmethod
    def from_state_dict(cls, state: dict) -> "ObjectLayer":
        """Build a layer from :meth:`state_dict`'s output."""
        try:
            layer = cls(get_int(state, "input_size", 1), list(get(state, "lateral_input_sizes")),
                        ObjectLayerParams(**dict(get(state, "params"))), seed=0)
        except (TypeError, ValueError) as error:
            raise StateError(f"state does not describe an ObjectLayer: {error}") from error
        layer.load_state_dict(state)
        return layer

    def save(self, path: str | os.PathLike) -> None:
        """Write the layer to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ObjectLayer":
        """Read a layer written by :meth:`save` (a malformed file raises :class:`~htmagent.serialization.StateError`
        naming it)."""
        with naming_file(path):
            return cls.from_state_dict(load_state(path))
