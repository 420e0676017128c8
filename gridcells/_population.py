"""The machinery shared by :class:`GridCellModule` (one module) and :class:`LocationLayer` (several modules).

Both are a stack of ``M`` modules of ``n x n`` cells that move and anchor together; the arrays below hold every
module's state side by side so that one kernel call serves them all.

State of module ``m``:

- ``anchor_phases[m, :num_bumps[m]]``: the bump phases at the last anchoring (or random location),
- ``displacement[m]``: the world displacement integrated since then (noise included).

The current bumps are ``frac(anchor_phases + A_m @ displacement[m])``. Integrating the displacement in world units,
rather than adding phase shifts one move at a time, makes path integration exact: moving ``d1`` then ``d2`` gives
bit for bit the bumps of moving ``d1 + d2``, and a loop whose moves sum to zero returns exactly to the start.
"""

from __future__ import annotations

import dataclasses

import abc
import os
from typing import Any, Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._validation import check_int, check_real, is_int
from htmagent.connections import Connections
from htmagent.gridcells import _kernels as K
from htmagent.gridcells.anchoring import AnchorParams, learn_anchors, supported_cells
from htmagent.gridcells.geometry import (
    TILINGS,
    activation_radius2,
    default_active_firing_rate,
    default_bump_sigma,
    phase_per_world,
    search_window,
    tile_basis,
)
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state
from htmagent._state import StateError, atomic_load, get, get_array, naming_file
from htmagent.serialization import _to_json

__all__ = ["GridCellPopulation", "check_displacement"]


def check_displacement(displacement: Any) -> np.ndarray:
    """Return ``displacement`` as a finite float64 2-vector, or raise naming the argument."""
    try:
        raw = np.asarray(displacement)
    except (TypeError, ValueError) as error:
        raise TypeError(f"displacement must be a 2-vector of numbers, got {displacement!r}") from error
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"displacement must be a 2-vector of numbers, got {displacement!r}")
    d = raw.astype(np.float64)
    if d.shape != (2,):
        raise ValueError(f"displacement must be a 2-vector (dx, dy) in world units, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"displacement must be finite, got {d.tolist()}")
    return d


def _without_budget(config: Any) -> Any:
    """A configuration (as JSON) without the anchoring memory budget, which may differ between a file and a layer."""
    if isinstance(config, dict) and isinstance(config.get("anchor"), dict):
        return {**config, "anchor": {k: v for k, v in config["anchor"].items() if k != "memory_budget"}}
    return config


class GridCellPopulation(abc.ABC):
    """Base of the grid-cell classes: ``M`` modules moving, anchoring and learning together.

    Subclasses call :meth:`_setup` from their constructor and provide :meth:`_config` (the constructor arguments,
    for save/load).
    """

    _FORMAT = "htmagent.gridcells/1"

    def _setup(
        self,
        cells_per_axis: int,
        scales: Sequence[float],
        orientations: Sequence[float],
        tiling: str,
        bump_sigma: float | None,
        active_firing_rate: float | None,
        path_integration_noise: float,
        anchor_input_size: int,
        anchor: AnchorParams,
        seed: int | np.random.Generator | None,
    ) -> None:
        n = check_int(cells_per_axis, "cells_per_axis", 1)
        if tiling not in TILINGS:
            raise ValueError(f"tiling must be one of {TILINGS}, got {tiling!r}")
        scales = [check_real(s, f"scales[{i}]", 0.0, low_open=True) for i, s in enumerate(scales)]
        orientations = [check_real(o, f"orientations[{i}]") for i, o in enumerate(orientations)]
        if len(scales) != len(orientations) or not scales:
            raise ValueError(f"need one scale per orientation (>= 1 module), got {len(scales)} scales and "
                             f"{len(orientations)} orientations")
        sigma = default_bump_sigma(n) if bump_sigma is None else check_real(bump_sigma, "bump_sigma", 0.0,
                                                                            low_open=True)
        rate = (default_active_firing_rate(n, sigma) if active_firing_rate is None
                else check_real(check_real(active_firing_rate, "active_firing_rate", 0.0, low_open=True),
                                "active_firing_rate", high=1.0))
        noise = check_real(path_integration_noise, "path_integration_noise", 0.0)
        anchor_input_size = check_int(anchor_input_size, "anchor_input_size", 1)
        if not isinstance(anchor, AnchorParams):
            raise TypeError(f"anchor must be an AnchorParams, got {type(anchor).__name__}")
        self._rng = make_rng(seed)

        self.cells_per_axis = n
        self.scales = np.array(scales, dtype=np.float64)
        self.orientations = np.array(orientations, dtype=np.float64)
        self.tiling = tiling
        self.bump_sigma = sigma
        self.active_firing_rate = rate
        self.path_integration_noise = noise
        self.anchor_input_size = anchor_input_size
        self.anchor = anchor
        m = len(scales)
        self.num_modules = m
        self.module_size = n * n
        self._basis = np.stack([tile_basis(o, tiling) for o in orientations])
        self._phase_per_world = np.stack([phase_per_world(s, b) for s, b in zip(scales, self._basis)])
        radius2 = activation_radius2(sigma, rate)
        self._radius2 = np.full(m, radius2)
        self._window = np.array([search_window(np.sqrt(radius2), b, n) for b in self._basis])
        self._anchor_phases = np.zeros((m, n * n, 2))
        self._num_bumps = np.zeros(m, dtype=np.int64)
        self._displacement = np.zeros((m, 2))
        self._bumps = np.zeros((m, n * n, 2))
        self._associated = SDR(m * n * n)
        self._connections = Connections(m * n * n, anchor_input_size, anchor.max_segments_per_cell,
                                        anchor.max_synapses_per_segment,
                                        seed=int(self._rng.integers(0, 2**63 - 1)),
                                        memory_budget=anchor.memory_budget,
                                        connected_permanence=anchor.connected_permanence)
        self._refresh()

    @abc.abstractmethod
    def _config(self) -> dict:
        """The constructor arguments that rebuild this object (JSON values), for :meth:`load`."""

    # ------------------------------------------------------------------ readout
    @property
    def size(self) -> int:
        """Number of cells (``num_modules * cells_per_axis ** 2``), modules concatenated in order."""
        return self.num_modules * self.module_size

    @property
    def active_cells(self) -> SDR:
        """Cells whose firing rate from their nearest bump reaches ``active_firing_rate`` (L4's basal input)."""
        return self._active

    @property
    def learning_cells(self) -> SDR:
        """The cell nearest each bump centre (the cells that learn: L4's basal growth candidates)."""
        return self._learning

    @property
    def sensory_associated_cells(self) -> SDR:
        """Cells tied to the last sensation: the cells its anchoring segments recalled (inference; empty if none),
        or the learning cells that learned it (learning). Empty after :meth:`reset`."""
        if self._associated is None:  # built on first read: the owners of the active segments, deduplicated
            self._associated = SDR._trusted(self.size, np.unique(self._supported).astype(np.int32))
        return self._associated

    @property
    def bumps_per_module(self) -> np.ndarray:
        """Number of activity bumps (location hypotheses) held by each module."""
        return self._num_bumps.copy()

    @property
    def num_hypotheses(self) -> int:
        """Location hypotheses left: the most bumps any module holds (0 when no location is active).

        Modules anchor independently, so this is a lower bound on the distinct joint locations in the union; it is
        1 when every module holds a single bump.
        """
        return int(self._num_bumps.max())

    def bump_phases(self, module: int = 0) -> np.ndarray:
        """Current bump phases of ``module`` (``(bumps, 2)``, in ``[0, 1)``: fractions of the tile's two edges)."""
        module = check_int(module, "module", 0)
        if module >= self.num_modules:
            raise ValueError(f"module must be < {self.num_modules}, got {module}")
        return self._bumps[module, : self._num_bumps[module]].copy()

    @property
    def bump_radius(self) -> float:
        """Distance from a bump centre within which cells are active, in units of the grid spacing (multiply by a
        module's scale for world units; about 0.1155 with the defaults, ~1.15 cell spacings)."""
        return float(np.sqrt(self._radius2[0]))

    @property
    def cell_phases(self) -> np.ndarray:
        """``(n * n, 2)`` phase of each cell of a module: cell ``i * n + j`` at ``((i + .5) / n, (j + .5) / n)``."""
        axis = (np.arange(self.cells_per_axis) + 0.5) / self.cells_per_axis
        return np.stack([np.repeat(axis, self.cells_per_axis), np.tile(axis, self.cells_per_axis)], axis=1)

    @property
    def tile_bases(self) -> np.ndarray:
        """``(M, 2, 2)``: per module, the tile's edge vectors as columns (unit length; ``basis @ phase`` draws a
        phase in the module's rhombus or square, in units of the grid spacing)."""
        return self._basis.copy()

    @property
    def phase_matrices(self) -> np.ndarray:
        """``(M, 2, 2)``: per module, the matrix ``A`` that turns a world displacement into a phase shift."""
        return self._phase_per_world.copy()

    @property
    def connections(self) -> Connections:
        """The anchoring segments (cells of every module, presynaptic = the L4 cells)."""
        return self._connections

    def _refresh(self) -> None:
        K.shift_bumps(self._bumps, self._anchor_phases, self._num_bumps, self._phase_per_world, self._displacement)
        active, learning = K.activate_cells(self._bumps, self._num_bumps, self._basis, self._radius2, self._window,
                                            self.cells_per_axis)
        self._active = SDR._trusted(self.size, active)
        self._learning = SDR._trusted(self.size, learning)

    # ------------------------------------------------------------------ dynamics
    def reset(self) -> None:
        """Forget the location: no bump, no active cell (learned anchors are kept)."""
        self._num_bumps[:] = 0
        self._displacement[:] = 0.0
        self._associated = SDR(self.size)
        self._refresh()

    def activate_random_location(self, rng: int | np.random.Generator | None = None) -> None:
        """Put one bump at a uniformly random phase in every module (a fresh location space, e.g. per object).

        Args:
            rng: generator (or seed) to draw the phases from; by default this object's own generator.
        """
        generator = self._rng if rng is None else make_rng(rng, "rng")
        phases = generator.random((self.num_modules, 2))
        self._anchor_phases[:, 0, :] = phases
        self._num_bumps[:] = 1
        self._displacement[:] = 0.0
        self._refresh()

    def set_bump_phases(self, phases: Sequence[Sequence[Sequence[float]]] | np.ndarray) -> None:
        """Place the bumps explicitly: ``phases[m]`` is a ``(bumps, 2)`` array of phases in ``[0, 1)`` for module m.

        Raises:
            ValueError: wrong number of modules, a bad shape, more than ``cells_per_axis ** 2`` bumps in a module,
                or phases outside ``[0, 1)`` or not finite.
        """
        if len(phases) != self.num_modules:
            raise ValueError(f"phases must hold one array per module ({self.num_modules}), got {len(phases)}")
        checked = []
        for m, p in enumerate(phases):
            arr = np.asarray(p, dtype=np.float64)
            if arr.size == 0:
                arr = np.zeros((0, 2))
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise ValueError(f"phases[{m}] must have shape (bumps, 2), got {arr.shape}")
            if arr.shape[0] > self.module_size:
                raise ValueError(f"phases[{m}] must hold at most {self.module_size} bumps, got {arr.shape[0]}")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0.0) or np.any(arr >= 1.0):
                raise ValueError(f"phases[{m}] must be finite and in [0, 1), got {arr.tolist()}")
            checked.append(arr)
        for m, arr in enumerate(checked):
            self._anchor_phases[m, : arr.shape[0]] = arr
            self._num_bumps[m] = arr.shape[0]
        self._displacement[:] = 0.0
        self._refresh()

    def movement_compute(self, displacement: Sequence[float] | np.ndarray) -> None:
        """Path integration: shift every bump of every module by the movement ``displacement`` (world units).

        Module ``m`` shifts its bumps by ``A_m @ displacement`` modulo 1. With ``path_integration_noise > 0``, each
        module adds its own Gaussian error (that standard deviation, per axis, in world units) to each move.

        Raises:
            ValueError / TypeError: if ``displacement`` is not a finite 2-vector (the state is then unchanged).
        """
        d = check_displacement(displacement)
        if self.path_integration_noise > 0.0:
            self._displacement += d + self._rng.normal(0.0, self.path_integration_noise, (self.num_modules, 2))
        else:
            self._displacement += d
        self._refresh()

    def sensory_compute(self, l4_active: SDR | np.ndarray | Sequence[int], l4_winners: SDR | np.ndarray |
                        Sequence[int], learn: bool) -> None:
        """Anchor the location to the sensory layer's activity.

        Inference (``learn=False``): cells with an active anchoring segment under ``l4_active`` are the locations
        where this sensation was learned. In each module that has such cells, the bumps are replaced by bumps
        centred on them (the union of those locations; the path-integrated bumps are dropped, which is what narrows
        a union). A module with no supported cell keeps its path-integrated bumps: a sensation that was never
        learned (a novel feature, or L4 input too weak) then neither erases nor moves the location.

        Learning (``learn=True``): the learning cells grow or reinforce a segment onto ``l4_winners``; the bumps do
        not change.

        Args:
            l4_active: active L4 cells (SDR of ``anchor_input_size`` bits, or sorted indices).
            l4_winners: L4 winner cells, the ones learned onto.
            learn: learning or inference.

        Raises:
            ValueError / TypeError: wrong sizes or types (the state is then unchanged).
        """
        active = as_sdr(l4_active, self.anchor_input_size, "l4_active")
        winners = as_sdr(l4_winners, self.anchor_input_size, "l4_winners")
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {type(learn).__name__}")
        if learn:
            learn_anchors(self._connections, self._learning.sparse, winners, self.anchor)
            self._associated = self._learning
            return
        supported = supported_cells(self._connections, active, self.anchor)
        if supported.size:
            if not self._repeat_anchoring(supported):
                K.anchor_bumps(self._anchor_phases, self._num_bumps, self._displacement, supported,
                               self.cells_per_axis)
                self._refresh()
                self._anchored = (supported.copy(), self._anchor_phases.copy(), self._num_bumps.copy(),
                                  self._displacement.copy(), self._bumps.copy(), self._active, self._learning)
            self._supported, self._associated = supported, None
        else:
            self._associated = SDR(self.size)

    def _repeat_anchoring(self, supported: np.ndarray) -> bool:
        """Whether anchoring to ``supported`` would give the state it gave last time: the same supported cells,
        met in the very state that anchoring left (nothing moved or re-anchored since), as while a sensation
        settles over several time steps. Then that state's bumps and cells are restored instead of recomputed
        (the activation is a function of the bumps alone, so they are exactly what :meth:`_refresh` would give)."""
        last = self.__dict__.get("_anchored")
        if last is None or not (np.array_equal(last[0], supported) and np.array_equal(last[1], self._anchor_phases)
                                and np.array_equal(last[2], self._num_bumps)
                                and np.array_equal(last[3], self._displacement)):
            return False
        self._bumps[:] = last[4]
        self._active, self._learning = last[5], last[6]
        return True

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """Configuration, bumps, integrated displacement, RNG and anchoring segments (exact restore)."""
        return {
            "format": self._FORMAT,
            "class": type(self).__name__,
            "config": self._config(),
            "anchor_phases": self._anchor_phases.copy(),
            "num_bumps": self._num_bumps.copy(),
            "displacement": self._displacement.copy(),
            "associated": self.sensory_associated_cells.sparse.copy(),
            "rng": rng_state(self._rng),
            "connections": self._connections.state_dict(),
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` of an object built with the same configuration."""
        if state.get("format") != self._FORMAT or state.get("class") != type(self).__name__:
            raise ValueError(f"state must come from {type(self).__name__}.state_dict() (format {self._FORMAT!r}), "
                             f"got class {state.get('class')!r} format {state.get('format')!r}")
        mine = _to_json(self._config())
        saved = _to_json(get(state, "config"))
        budget = saved.get("anchor", {}).get("memory_budget") if isinstance(saved, dict) and isinstance(
            saved.get("anchor"), dict) else None
        if budget is not None and (not is_int(budget) or budget < 1):
            raise StateError(f"config anchor memory_budget must be None or an int >= 1, got {budget!r}",
                             field="config/anchor/memory_budget")
        if _without_budget(saved) != _without_budget(mine):
            raise StateError(f"config must match this {type(self).__name__}'s {mine}, got {state.get('config')!r}",
                             field="config")
        anchor_phases = get_array(state, "anchor_phases", np.float64, self._anchor_phases.shape, -1e9, 1e9)
        num_bumps = get_array(state, "num_bumps", np.int64, self._num_bumps.shape, 0, anchor_phases.shape[-2]
                              if anchor_phases.ndim >= 2 else None)
        displacement = get_array(state, "displacement", np.float64, self._displacement.shape, -1e300, 1e300)
        associated = get_array(state, "associated", np.int32, (None,), 0, self.size, high_open=True,
                               sorted_unique=True)
        connections = Connections(1, 1, seed=0)
        connections.load_state_dict(state["connections"])
        connections.set_connected_permanence(self.anchor.connected_permanence)  # files before the connected bits
        if (connections.num_cells, connections.num_presynaptic) != (self.size, self.anchor_input_size):
            raise ValueError(f"state['connections'] must connect {self.anchor_input_size} L4 cells to {self.size} "
                             f"cells, got {connections.num_presynaptic} to {connections.num_cells}")
        self._rng = restore_rng(get(state, "rng"))
        self._anchor_phases = anchor_phases
        self._num_bumps = num_bumps
        self._displacement = displacement
        self._connections = connections
        # The budget is a resource limit, not part of what was learned: the loaded store's own (None in files from
        # before budgets existed) is the one in force.
        self.anchor = dataclasses.replace(self.anchor, memory_budget=connections.memory_budget)
        self._associated = SDR(self.size, associated)
        self._refresh()

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`state_dict` to ``path`` (see :mod:`htmagent.serialization`)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Rebuild an object saved with :meth:`save`."""
        with naming_file(path):
            state = load_state(path)
            if state.get("class") != cls.__name__:
                raise StateError(f"holds a {state.get('class')!r}, not a {cls.__name__}", field="class")
            try:
                obj = cls(**cls._config_to_kwargs(get(state, "config")))
            except (TypeError, ValueError) as error:
                raise StateError(f"config is not a valid {cls.__name__} configuration: {error}",
                                 field="config") from error
            obj.load_state_dict(state)
        return obj

    @classmethod
    def _config_to_kwargs(cls, config: dict) -> dict:
        kwargs = dict(config)
        kwargs["anchor"] = AnchorParams(**{"memory_budget": None, **config["anchor"]})  # no field: no budget
        kwargs["seed"] = 0
        return kwargs
