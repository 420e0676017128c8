"""The grid-cell cortical column of Lewis, Purdy, Ahmad & Hawkins 2019: L6a location layer + L4 sensory layer.

:class:`LocationColumn` is the paper's two-layer column ("path integration union narrowing"). :class:`LocationNetwork`
learns a set of objects with it and recognizes them from movements and features alone, with the paper's readout
(no L2/3): after a sensation, the location cells that the sensation activated must all belong to the location code
learned for a single (object, point), so the location code alone names the object. Its :meth:`~LocationNetwork.infer`
returns a result with ``.label``, ``.sensation`` and ``.points`` like :meth:`htmagent.Network.infer`, so experiments
are written the same way for either model.

Model: Lewis, Purdy, Ahmad & Hawkins 2019, "Locations in the Neocortex: A Theory of Sensorimotor Object Recognition
Using Cortical Grid Cells", Front. Neural Circuits 13:22 (parameters in ``references/papers.md`` section 2.1).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._validation import check_int, check_real, is_int
from htmagent.cortex.objects import ObjectSet, SensoryObject
from htmagent.gridcells import AnchorParams, LocationLayer
from htmagent.gridcells.anchoring import supported_cells
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state
from htmagent.temporal_memory import TemporalMemory

__all__ = [
    "LocationColumnParams",
    "PAPER_PARAMS",
    "lewis2019_l4_params",
    "LocationColumn",
    "LocationNetwork",
    "LocationInferenceResult",
    "random_traversals",
]

Point = tuple[int, int]
_COLUMN_FORMAT = "htmagent.LocationColumn/1"
_NETWORK_FORMAT = "htmagent.LocationNetwork/1"
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
    l4_column_count: int = 150
    l4_cells_per_column: int = 16
    feature_active_bits: int = 10
    basal_threshold: int | None = None
    feature_scale: float = 20.0

    def __post_init__(self) -> None:
        for name in ("num_modules", "cells_per_axis", "anchor_threshold", "anchor_sample_size", "l4_column_count",
                     "l4_cells_per_column", "feature_active_bits"):
            check_int(getattr(self, name), name, 1)
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
    (:class:`LocationNetwork` keeps that map).

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
                              sample_size=params.anchor_sample_size)
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

    def load_state_dict(self, state: Mapping) -> None:
        """Restore :meth:`state_dict`'s output into a column built with the same parameters."""
        if state.get("format") != _COLUMN_FORMAT:
            raise ValueError(f"state must have format {_COLUMN_FORMAT!r}, got {state.get('format')!r}")
        if LocationColumnParams(**state["params"]) != self.params:
            raise ValueError(f"state params must equal this column's params {self.params}, got {state['params']}")
        self.location_layer.load_state_dict(state["location_layer"])
        self.l4.load_state_dict(state["l4"])
        self._associated = np.asarray(state["associated"], dtype=np.int32)

    def save(self, path: str | os.PathLike) -> None:
        """Write the column to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LocationColumn":
        """Read a column written by :meth:`save`."""
        state = load_state(path)
        column = cls(LocationColumnParams(**state["params"]), seed=0)
        column.load_state_dict(state)
        return column

    def __repr__(self) -> str:
        p = self.params
        return (f"LocationColumn({p.num_modules} modules x {p.cells_per_axis}x{p.cells_per_axis} cells, "
                f"L4 {p.l4_column_count}x{p.l4_cells_per_column}, hypotheses={self.num_hypotheses})")


def random_traversals(locations: Sequence[Point], traversals: int, rng: np.random.Generator) -> list[Point]:
    """The paper's touch order: ``traversals`` random passes over every point, each pass starting elsewhere than the
    previous pass ended (so every touch after the first follows a real movement)."""
    points = [(int(x), int(y)) for x, y in locations]
    order: list[Point] = []
    for _ in range(traversals):
        while True:
            perm = [points[i] for i in rng.permutation(len(points))]
            if not order or len(points) == 1 or perm[0] != order[-1]:
                break
        order.extend(perm)
    return order


@dataclass
class LocationInferenceResult:
    """What happened while a :class:`LocationNetwork` tried to recognize one object.

    Attributes:
        target: label of the presented object among the learned ones (``None`` if it was never learned).
        label: the recognized object (``None`` if none); the first recognition ends the trial, as in the paper.
        sensation: 1-based sensation at which ``label`` was recognized (``None``).
        points: per sensation, the (x, y) the sensor touched (a 1-tuple, as :class:`htmagent.Network` gives one point
            per column).
        sensations: per sensation, ``[((x, y), feature)]`` — feed :func:`htmagent.cortex.baselines.observations_from_points`
            or a baseline observer.
        recognized: per sensation, the label the location code named after it (or ``None``).
        num_hypotheses: per sensation, location hypotheses left (most bumps in any module).
        location_density: per sensation, fraction of location cells active.
    """

    target: int | None
    label: int | None
    sensation: int | None
    points: list[tuple[Point, ...]] = field(default_factory=list)
    sensations: list[list[tuple[Point, int]]] = field(default_factory=list)
    recognized: list[int | None] = field(default_factory=list)
    num_hypotheses: list[int] = field(default_factory=list)
    location_density: list[float] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        """The recognized label is the target."""
        return self.label is not None and self.label == self.target


class LocationNetwork:
    """Learns objects with one :class:`LocationColumn` and recognizes them from movements and features alone.

    Learning an object (the paper's ``learnObject``): reset, a random location, then for each of the object's points
    in a random order, move the sensor there (path integration of ``feature_scale`` world units per grid step) and
    sense its feature with learning on. The location cells learned at each (object, point) are remembered.

    Recognition readout (no L2/3): after a sensation, let ``S`` be the location cells the sensation activated. The
    network names object ``k`` when ``S`` is non-empty and every learned (object, point) location code holding all of
    ``S`` belongs to ``k``. With exact path integration every location consistent with the sensations so far stays in
    the union, so the network does not name an object before the evidence rules the others out (compare with
    :class:`htmagent.cortex.baselines.IdealObserver` in ``"displacement"`` mode on the same sequence). A sensation that L4
    did not predict anywhere bursts and recalls every location of its feature, dropping the history: far above
    capacity, or on an object never learned, the readout can then name a wrong object.

    Args:
        params: column parameters (default :data:`PAPER_PARAMS`); keyword ``overrides`` replace single fields.
        seed: seed or Generator.

    Example:
        >>> objects = ObjectSet.lewis2019(20, num_features=20, seed=0)
        >>> net = LocationNetwork(seed=0)
        >>> net.learn(objects)
        >>> result = net.infer(objects[3], seed=1)
        >>> result.label, result.sensation  # doctest: +SKIP
        (3, 3)
    """

    def __init__(self, params: LocationColumnParams | None = None, seed: int | np.random.Generator | None = None,
                 **overrides):
        params = PAPER_PARAMS if params is None else params
        if not isinstance(params, LocationColumnParams):
            raise TypeError(f"params must be a LocationColumnParams, got {type(params).__name__}")
        if overrides:
            params = LocationColumnParams(**{**asdict(params), **overrides})
        self.params = params
        self._rng = make_rng(seed)
        self.column = LocationColumn(params, seed=int(self._rng.integers(2**63 - 1)))
        self._feature_rng = np.random.default_rng(int(self._rng.integers(2**63 - 1)))
        self._feature_codes: list[np.ndarray] = []
        self._objects: list[SensoryObject] = []
        self._index: dict[frozenset, int] = {}
        self._keys: list[tuple[int, int, int]] = []  # (label, x, y) per stored location code
        self._codes: list[np.ndarray] = []  # the learning cells stored for each key
        self._lookup: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------ properties
    @property
    def learned_objects(self) -> list[SensoryObject]:
        """Learned objects; an object's index here is the label :meth:`infer` reports."""
        return list(self._objects)

    @property
    def num_features(self) -> int:
        """Feature ids the network has codes for (``0 .. num_features - 1``)."""
        return len(self._feature_codes)

    def feature_sdr(self, feature: int) -> SDR:
        """The random code (``feature_active_bits`` of ``l4_column_count`` minicolumns) of feature id ``feature``."""
        self._check_feature(feature, "feature")
        return SDR._trusted(self.params.l4_column_count, self._feature_codes[int(feature)])

    @property
    def code_keys(self) -> list[tuple[int, Point]]:
        """The ``(label, (x, y))`` of every stored location code, in the order :meth:`candidate_codes` indexes."""
        return [(label, (x, y)) for label, x, y in self._keys]

    def location_code(self, label: int, point: Sequence[int]) -> SDR:
        """The location cells learned for object ``label`` at ``point``."""
        key = (int(label), int(point[0]), int(point[1]))
        if key in self._keys:
            return SDR._trusted(self.column.location_size, self._codes[self._keys.index(key)])
        raise ValueError(f"(label, point) must be a learned object point, got label {label} point {tuple(point)}")

    # ------------------------------------------------------------ learning
    def learn(self, object_set: ObjectSet | Sequence[SensoryObject]) -> None:
        """Learn every object once (one pass over its points, in a random order, from a random location).

        An object already learned (same points) is skipped. Feature ids get random codes on first use.

        Raises:
            TypeError / ValueError: an element that is not a :class:`~htmagent.cortex.objects.SensoryObject`, or an empty
                set (nothing is learned).
        """
        objects = list(object_set)
        if not objects:
            raise ValueError("object_set must hold at least one object, got none")
        for i, obj in enumerate(objects):
            if not isinstance(obj, SensoryObject):
                raise TypeError(f"object_set[{i}] must be a SensoryObject, got {type(obj).__name__}")
        pool = max([getattr(object_set, "num_features", 0) or 0] + [max(o.features) + 1 for o in objects])
        self._extend_features(pool)
        column, scale = self.column, self.params.feature_scale
        for obj in objects:
            key = frozenset(obj.points.items())
            if key in self._index:
                continue
            label = len(self._objects)
            column.reset()
            column.activate_random_location()
            locations = obj.locations
            previous: Point | None = None
            for i in self._rng.permutation(len(locations)):
                point = locations[i]
                if previous is not None:
                    column.movement_compute([scale * (point[0] - previous[0]), scale * (point[1] - previous[1])])
                column.sensory_compute(self._feature_sdr(obj.points[point]), learn=True)
                self._keys.append((label, point[0], point[1]))
                self._codes.append(column.sensory_associated_cells.sparse.copy())
                previous = point
            self._index[key] = label
            self._objects.append(obj)
        column.reset()
        self._lookup = None

    def _extend_features(self, pool: int) -> None:
        size, bits = self.params.l4_column_count, self.params.feature_active_bits
        while len(self._feature_codes) < pool:
            self._feature_codes.append(np.sort(self._feature_rng.choice(size, bits, replace=False)).astype(np.int32))

    def _feature_sdr(self, feature: int) -> SDR:
        return SDR._trusted(self.params.l4_column_count, self._feature_codes[feature])

    # ------------------------------------------------------------ readout
    def _build_lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inverted index: for every location cell, the stored codes (keys) that hold it (CSR layout)."""
        if self._lookup is None:
            lengths = np.array([c.size for c in self._codes], dtype=np.int64)
            cells = np.concatenate(self._codes) if self._codes else np.empty(0, dtype=np.int32)
            owners = np.repeat(np.arange(len(self._codes), dtype=np.int64), lengths)
            order = np.argsort(cells, kind="stable")
            indptr = np.zeros(self.column.location_size + 1, dtype=np.int64)
            np.add.at(indptr, cells.astype(np.int64) + 1, 1)
            labels = np.array([k[0] for k in self._keys], dtype=np.int64)
            self._lookup = (np.cumsum(indptr), owners[order], labels)
        return self._lookup

    def candidate_codes(self, cells: SDR | np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Indices of the stored (object, point) location codes that hold every one of ``cells``.

        Args:
            cells: location cells (default: the column's :attr:`~LocationColumn.sensory_associated_cells`).
        """
        sparse = (self.column.sensory_associated_cells if cells is None
                  else as_sdr(cells, self.column.location_size, "cells")).sparse
        if sparse.size == 0 or not self._codes:
            return np.empty(0, dtype=np.int64)
        indptr, owners, _ = self._build_lookup()
        starts, ends = indptr[sparse], indptr[sparse + 1]
        if np.any(starts == ends):
            return np.empty(0, dtype=np.int64)
        hits = np.concatenate([owners[s:e] for s, e in zip(starts.tolist(), ends.tolist())])
        counts = np.bincount(hits, minlength=len(self._codes))
        return np.flatnonzero(counts == sparse.size)

    def recognized_label(self) -> int | None:
        """The object the current location code names (see the class docstring), or ``None``."""
        candidates = self.candidate_codes()
        if candidates.size == 0:
            return None
        labels = np.unique(self._build_lookup()[2][candidates])
        return int(labels[0]) if labels.size == 1 else None

    # ------------------------------------------------------------ inference
    def infer(self, obj: SensoryObject, max_traversals: int = 4, max_sensations: int | None = None,
              points: Sequence[Sequence[int]] | None = None, stop_on_recognition: bool = True,
              seed: int | np.random.Generator | None = None) -> LocationInferenceResult:
        """Present ``obj`` without learning: move to a point, sense its feature, read the location code out.

        Args:
            obj: the object (its features must be in the learned pool; it need not have been learned).
            max_traversals: random passes over the object's points (4 in the paper); ignored if ``points`` is given.
            max_sensations: cap on the number of sensations (None = every touch of the traversals).
            points: an explicit touch sequence (points of ``obj``) instead of random traversals.
            stop_on_recognition: end the trial at the first recognition (the paper's protocol).
            seed: seed or Generator of the random touch order.

        Raises:
            ValueError / TypeError: a point the object does not have, a feature id never learned, no learned object,
                or bad arguments (nothing changes).
        """
        if not isinstance(obj, SensoryObject):
            raise TypeError(f"obj must be a SensoryObject, got {type(obj).__name__}")
        max_traversals = check_int(max_traversals, "max_traversals", 1)
        if max_sensations is not None:
            max_sensations = check_int(max_sensations, "max_sensations", 1)
        if not self._objects:
            raise ValueError("the network has learned no object yet: call learn(object_set) first")
        for point, feature in obj.points.items():
            if feature >= self.num_features:
                raise ValueError(f"obj has feature id {feature} at {point}, but the network learned features "
                                 f"0..{self.num_features - 1} only")
        if points is None:
            sequence = random_traversals(obj.locations, max_traversals, make_rng(seed))
        else:
            sequence = []
            for i, p in enumerate(points):
                if (not isinstance(p, (tuple, list, np.ndarray)) or len(p) != 2
                        or not all(is_int(c) for c in p)
                        or not obj.has_point(p)):
                    raise ValueError(f"points[{i}] must be a point of the object ({obj.locations}), got {p!r}")
                sequence.append((int(p[0]), int(p[1])))
            if not sequence:
                raise ValueError("points must hold at least one point, got none")
        if max_sensations is not None:
            sequence = sequence[:max_sensations]
        result = LocationInferenceResult(self._index.get(frozenset(obj.points.items())), None, None)
        column, scale = self.column, self.params.feature_scale
        column.reset()
        previous: Point | None = None
        for step, point in enumerate(sequence, start=1):
            if previous is not None:
                column.movement_compute([scale * (point[0] - previous[0]), scale * (point[1] - previous[1])])
            feature = obj.points[point]
            column.sensory_compute(self._feature_sdr(feature), learn=False)
            label = self.recognized_label()
            result.points.append((point,))
            result.sensations.append([(point, feature)])
            result.recognized.append(label)
            result.num_hypotheses.append(column.num_hypotheses)
            result.location_density.append(column.location_density)
            if label is not None and result.label is None:
                result.label, result.sensation = label, step
                if stop_on_recognition:
                    break
            previous = point
        return result

    # ------------------------------------------------------------ internals
    def _check_feature(self, feature: object, name: str) -> None:
        if not is_int(feature):
            raise TypeError(f"{name} must be an int feature id, got {type(feature).__name__}")
        if not 0 <= feature < self.num_features:
            raise ValueError(f"{name} must be a learned feature id in [0, {self.num_features}), got {feature}")

    # ------------------------------------------------------------ save/load
    def state_dict(self) -> dict:
        """Everything needed to resume bit-identically (column, RNGs, feature codes, objects, location codes)."""
        objects = (ObjectSet.from_dicts([dict(o.points) for o in self._objects], max(self.num_features, 1),
                                        names=[o.name for o in self._objects]).state_dict() if self._objects else {})
        lengths = np.array([c.size for c in self._codes], dtype=np.int64)
        return {
            "format": _NETWORK_FORMAT,
            "params": asdict(self.params),
            "rng": rng_state(self._rng),
            "feature_rng": rng_state(self._feature_rng),
            "feature_codes": np.asarray(self._feature_codes, dtype=np.int32).reshape(
                -1, self.params.feature_active_bits),
            "objects": objects,
            "keys": np.asarray(self._keys, dtype=np.int64).reshape(-1, 3),
            "code_lengths": lengths,
            "code_cells": np.concatenate(self._codes).astype(np.int32) if self._codes else _EMPTY.copy(),
            "column": self.column.state_dict(),
        }

    @classmethod
    def from_state_dict(cls, state: Mapping) -> "LocationNetwork":
        """Rebuild a network from :meth:`state_dict`'s output."""
        if state.get("format") != _NETWORK_FORMAT:
            raise ValueError(f"state must have format {_NETWORK_FORMAT!r}, got {state.get('format')!r}")
        net = cls(LocationColumnParams(**state["params"]), seed=0)
        net.column.load_state_dict(state["column"])
        net._rng = restore_rng(state["rng"])
        net._feature_rng = restore_rng(state["feature_rng"])
        net._feature_codes = [np.asarray(c, dtype=np.int32) for c in np.asarray(state["feature_codes"])]
        if state["objects"]:
            net._objects = list(ObjectSet.from_state_dict(state["objects"]))
            net._index = {frozenset(o.points.items()): i for i, o in enumerate(net._objects)}
        net._keys = [tuple(int(v) for v in row) for row in np.asarray(state["keys"]).reshape(-1, 3)]
        bounds = np.cumsum(np.concatenate(([0], np.asarray(state["code_lengths"], dtype=np.int64))))
        cells = np.asarray(state["code_cells"], dtype=np.int32)
        net._codes = [cells[a:b].copy() for a, b in zip(bounds[:-1], bounds[1:])]
        return net

    def save(self, path: str | os.PathLike) -> None:
        """Write the network to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LocationNetwork":
        """Read a network written by :meth:`save`."""
        return cls.from_state_dict(load_state(path))

    def __repr__(self) -> str:
        return f"LocationNetwork({len(self._objects)} objects, {self.column!r})"
