"""A network of voting cortical columns that learns objects and recognizes them from a few sensations."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._validation import NotLearnedError, is_int
from htmagent.agent.motor import MotorPolicy, candidate_objects, make_policy
from htmagent.cortex.column import (
    CorticalColumn,
    LocationSource,
    RandomLocationCodes,
    hawkins2017_l4_params,
)
from htmagent.cortex.object_layer import ObjectLayerParams
from htmagent.cortex.objects import ObjectSet, SensoryObject
from htmagent.sdr import SDR
from htmagent.serialization import load_state, save_state
from htmagent._state import StateError, get_array, get_int, naming_file

__all__ = ["Network", "InferenceResult", "hawkins2017_l2_params", "add_noise"]

Point = tuple[int, int]
_FORMAT = "htmagent.Network/1"


def hawkins2017_l2_params(input_bits: int = 20, **overrides) -> ObjectLayerParams:
    """L2/3 parameters of Hawkins et al. 2017 for ``input_bits``-bit inputs (proximal sample 10 and threshold 5 for
    20 bits, 6 and 3 for 10 bits, else 0.6 x bits and 0.6 x sample), with keyword overrides."""
    sample = {20: 10, 10: 6}.get(input_bits, int(0.6 * input_bits))
    threshold = {20: 5, 10: 3}.get(input_bits, int(0.6 * sample))
    values = {"sample_size_proximal": max(sample, 1), "min_threshold_proximal": max(threshold, 1)}
    values.update(overrides)
    return ObjectLayerParams(**values)


def add_noise(sdr: SDR, level: float, rng: np.random.Generator) -> SDR:
    """Move each active bit, with probability ``level``, to a random currently inactive bit (sparsity kept)."""
    if level <= 0.0 or sdr.num_active == 0:
        return sdr
    active = sdr.sparse
    moved = rng.random(active.size) < level
    k = int(moved.sum())
    if k == 0:
        return sdr
    inactive = np.setdiff1d(np.arange(sdr.size, dtype=np.int32), active, assume_unique=True)
    new_bits = rng.choice(inactive, k, replace=False)
    return SDR._trusted(sdr.size, np.sort(np.concatenate([active[~moved], new_bits])).astype(np.int32))


@dataclass
class InferenceResult:
    """What happened while a network tried to recognize one object.

    Attributes:
        target: label of the presented object among the learned ones (``None`` if it was never learned).
        label: object recognized after the last sensation (``None`` if none).
        sensation: 1-based sensation from which ``label`` was recognized without interruption (``None``).
        points: per sensation, the (x, y) each column touched.
        sensations: per sensation, per column, ``((x, y), feature)`` — feed these to a baseline observer.
        recognized: per sensation, the label recognized after it (or ``None``).
        classified: per sensation, the 2017 paper's criterion on the target (every column overlaps its code by at
            least the recognition threshold with at most 1.5 x sdr_size active cells).
        activity: per time step (``settling_steps`` per sensation), each column's L2/3 active cells.
        overlaps: per sensation, (columns, learned objects) overlaps of L2/3 with each object's code.
        settling_steps: time steps per sensation.
        convergence: the 2017 convergence point in sensations (first sensation after which every column keeps 30 to
            40 active cells; ``len(points) + 1`` if never).
    """

    target: int | None
    label: int | None
    sensation: int | None
    points: list[tuple[Point, ...]]
    sensations: list[list[tuple[Point, int]]]
    recognized: list[int | None]
    classified: list[bool]
    activity: list[tuple[SDR, ...]]
    overlaps: list[np.ndarray]
    settling_steps: int
    convergence: int = field(default=0)

    @property
    def correct(self) -> bool:
        """The recognized label is the target."""
        return self.label is not None and self.label == self.target


class Network:
    """N cortical columns, each with its own sensor on the same object, voting through L2/3.

    Neural rule. Every column pairs the sensed feature with the sensor's location in L4 and pools L4 into an object
    code in L2/3 (:class:`~htmagent.cortex.column.CorticalColumn`). Each column's L2/3 cells have one distal dendrite per
    other column, fed with that column's L2/3 activity of the previous time step (all-to-all): cells supported by more
    columns win, so the columns agree on one object faster than any of them alone — the vote. Because a vote takes
    one time step to arrive, a network of several columns holds each sensation for
    :attr:`default_settling_steps` (3) time steps when inferring.

    Recognition: after a sensation, object ``k`` is recognized if in every column L2/3 overlaps ``k``'s learned code by
    at least ``recognition_threshold`` cells and no other object's code as much.

    Args:
        num_columns: columns (sensors).
        l4_column_count: L4 minicolumns = feature SDR width.
        cells_per_column: L4 cells per minicolumn.
        feature_active_bits: active bits per feature code (default: 20 as in the 2017 paper's code with
            ``location="random"``, 10 as in the 2019 paper with ``location="grid"``).
        location_size: location SDR width (2,400 in the paper).
        location_active_bits: active bits per location code.
        l2_cell_count: L2/3 cells per column.
        l2_sdr_size: active L2/3 cells per object code.
        l2_params: L2/3 parameter overrides (mapping or :class:`ObjectLayerParams`; defaults
            :func:`hawkins2017_l2_params` for ``feature_active_bits``).
        l4_params: L4 ``TemporalMemory`` overrides (defaults :func:`~htmagent.cortex.column.hawkins2017_l4_params`).
        enable_feedback: L2/3 -> L4 apical feedback.
        recognition_threshold: overlap (cells) needed for recognition (30 of 40 in the paper).
        location_sources: one :class:`~htmagent.cortex.column.LocationSource` per column; overrides ``location``.
        location: where each column's location comes from when ``location_sources`` is not given: ``"random"``
            (a fixed random code per point, the 2017 paper's input) or ``"grid"`` (grid-cell modules that
            path-integrate the sensor's own movements and anchor on L4, the 2019 paper's L6a; L4 then uses
            :func:`~htmagent.cortex.location_column.lewis2019_l4_params`, and ``location_size`` / ``location_active_bits``
            are unused). With ``"grid"``, learn with ``repetitions >= 2``: L2/3 learns only on L4 cells that were
            predicted.
        grid_modules: grid-cell modules per column (``location="grid"``; the paper's 10).
        grid_cells_per_axis: cells per module axis (``location="grid"``; the paper's 10, i.e. 100 cells).
        seed: seed or Generator.

    Example:
        >>> objects = ObjectSet.hawkins2017(10, num_features=5, seed=0)
        >>> net = Network(num_columns=3, seed=0)
        >>> net.learn(objects)
        >>> result = net.infer(objects[4], seed=1)
        >>> result.label, result.sensation  # doctest: +SKIP
    """

    def __init__(self, num_columns: int = 1, l4_column_count: int = 150, cells_per_column: int = 16,
                 feature_active_bits: int | None = None, location_size: int = 2400, location_active_bits: int = 20,
                 l2_cell_count: int = 4096, l2_sdr_size: int = 40,
                 l2_params: ObjectLayerParams | Mapping | None = None, l4_params: Mapping | None = None,
                 enable_feedback: bool = True, recognition_threshold: int = 30,
                 location_sources: Sequence[LocationSource] | None = None, location: str = "random",
                 grid_modules: int = 10, grid_cells_per_axis: int = 10,
                 seed: int | np.random.Generator | None = None):
        if feature_active_bits is None:
            feature_active_bits = 10 if location == "grid" else 20
        ints = {"num_columns": num_columns, "l4_column_count": l4_column_count, "cells_per_column": cells_per_column,
                "feature_active_bits": feature_active_bits, "location_size": location_size,
                "location_active_bits": location_active_bits, "l2_cell_count": l2_cell_count,
                "l2_sdr_size": l2_sdr_size, "recognition_threshold": recognition_threshold}
        for name, value in ints.items():
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if feature_active_bits > l4_column_count:
            raise ValueError(f"feature_active_bits must be <= l4_column_count ({l4_column_count}), "
                             f"got {feature_active_bits}")
        if location not in ("random", "grid"):
            raise ValueError(f"location must be 'random' or 'grid', got {location!r}")
        for name, value in (("grid_modules", grid_modules), ("grid_cells_per_axis", grid_cells_per_axis)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if recognition_threshold > l2_sdr_size:
            raise ValueError(f"recognition_threshold must be <= l2_sdr_size ({l2_sdr_size}), "
                             f"got {recognition_threshold}")
        if isinstance(l2_params, ObjectLayerParams):
            l2_overrides = asdict(l2_params)
        else:
            l2_overrides = dict(l2_params or {})
        l2_overrides.update(cell_count=int(l2_cell_count), sdr_size=int(l2_sdr_size))
        self.l2_params = hawkins2017_l2_params(int(feature_active_bits), **l2_overrides)
        if location == "grid":
            from htmagent.cortex.location_column import lewis2019_l4_params

            self.l4_params = lewis2019_l4_params(int(grid_modules))
        else:
            self.l4_params = hawkins2017_l4_params(int(feature_active_bits))
        self.l4_params.update(l4_params or {})
        self.config = {**ints, "enable_feedback": bool(enable_feedback), "location": location,
                       "grid_modules": int(grid_modules), "grid_cells_per_axis": int(grid_cells_per_axis)}
        self._rng = make_rng(seed)
        n = int(num_columns)
        if location_sources is None and location == "grid":
            from htmagent.cortex.grid_source import grid_sources

            location_sources = grid_sources(n, int(grid_modules), int(grid_cells_per_axis),
                                            l4_cells=int(l4_column_count) * int(cells_per_column),
                                            seed=int(self._rng.integers(2**31)))
        if location_sources is None:
            location_sources = [RandomLocationCodes(int(location_size), int(location_active_bits),
                                                    seed=int(self._rng.integers(2**31))) for _ in range(n)]
        if len(location_sources) != n:
            raise ValueError(f"location_sources must hold {n} sources, got {len(location_sources)}")
        for i, src in enumerate(location_sources):
            if not isinstance(src, LocationSource):
                raise TypeError(f"location_sources[{i}] must implement LocationSource (size, reset, locate, anchor), "
                                f"got {type(src).__name__}")
        self.location_sources = list(location_sources)
        self.columns = [
            CorticalColumn(int(l4_column_count), int(cells_per_column), int(src.size), n - 1, self.l2_params,
                           self.l4_params, bool(enable_feedback), seed=int(self._rng.integers(2**31)))
            for src in self.location_sources]
        self._feature_rngs = [np.random.default_rng(int(self._rng.integers(2**31))) for _ in range(n)]
        self._feature_codes: list[list[SDR]] = [[] for _ in range(n)]
        self._objects: list[SensoryObject] = []
        self._index: dict[frozenset, int] = {}
        self._codes: list[np.ndarray] = [np.empty((0, int(l2_sdr_size)), dtype=np.int32) for _ in range(n)]
        self._num_features = 0
        self._known_points: set[Point] = set()

    # ------------------------------------------------------------ properties
    @property
    def num_columns(self) -> int:
        """Number of columns."""
        return len(self.columns)

    @property
    def learned_objects(self) -> list[SensoryObject]:
        """Learned objects; an object's index here is the label :meth:`infer` reports."""
        return list(self._objects)

    @property
    def num_features(self) -> int:
        """Feature ids the network has codes for (``0 .. num_features - 1``)."""
        return self._num_features

    def object_code(self, label: int, column: int = 0) -> SDR:
        """L2/3 code that ``column`` learned for object ``label``."""
        self._check_column(column)
        if not 0 <= label < len(self._objects):
            raise ValueError(f"label must be in [0, {len(self._objects)}), got {label}")
        return SDR._trusted(self.l2_params.cell_count, self._codes[column][label].copy())

    def feature_sdr(self, column: int, feature: int) -> SDR:
        """Feature code of ``feature`` in ``column``."""
        self._check_column(column)
        self._check_feature(feature, "feature")
        return self._feature_codes[column][feature]

    def overlaps(self, column: int = 0) -> np.ndarray:
        """Overlap of ``column``'s current L2/3 activity with every learned object's code (int array)."""
        self._check_column(column)
        return self._overlaps(column)

    def _overlaps(self, column: int) -> np.ndarray:
        mark = np.zeros(self.l2_params.cell_count, dtype=np.bool_)
        mark[self.columns[column].l2._active] = True
        codes = self._codes[column]
        return mark[codes].sum(axis=1).astype(np.int64) if codes.size else np.zeros(0, dtype=np.int64)

    def recognized_label(self) -> int | None:
        """The object every column recognizes now (see the class docstring), or ``None``."""
        return self._recognize(np.array([self._overlaps(c) for c in range(self.num_columns)]))

    def candidates(self, overlaps: np.ndarray | None = None) -> np.ndarray | None:
        """Learned objects every column still backs (L2/3 overlap of at least half a code), or ``None`` for all.

        What a motor policy is told before each sensation (:func:`~htmagent.agent.motor.candidate_objects`).

        Args:
            overlaps: ``(num_columns, num_learned_objects)`` overlaps to read (default: the current activity's).
        """
        if overlaps is None:
            overlaps = np.array([self._overlaps(c) for c in range(self.num_columns)])
        return candidate_objects(overlaps, max(1, self.l2_params.sdr_size // 2))

    def _recognize(self, overlaps: np.ndarray) -> int | None:
        if overlaps.shape[1] == 0:
            return None
        label = int(np.argmax(overlaps[0]))
        for row in overlaps:
            best = row[label]
            if best < self.config["recognition_threshold"] or np.count_nonzero(row >= best) > 1:
                return None
        return label

    # --------------------------------------------------------------- running
    def reset(self) -> None:
        """Start a new object in every column (L4, L2/3, location sources)."""
        for col, src in zip(self.columns, self.location_sources):
            col.reset()
            src.reset()

    def step(self, observations: Sequence[tuple[Point, int | None]], learn: bool = False,
             feature_noise: float = 0.0, location_noise: float = 0.0,
             rng: np.random.Generator | None = None, settling_steps: int | None = None) -> list[SDR]:
        """One sensation of every column: column ``c`` senses feature ``observations[c][1]`` at point
        ``observations[c][0]``; lateral input = the other columns' L2/3 activity of the previous time step.

        A feature of ``None`` means column ``c`` senses nothing there (its sensor is over empty space): its location
        source still moves to the point (grid cells path-integrate the movement) and L4 keeps its last sensation;
        when inferring, L2/3 recomputes from that sensation and the other columns' votes (so it keeps narrowing with
        them), and it keeps voting.

        Args:
            observations: one ``(point, feature id or None)`` per column.
            learn: learn in every layer.
            feature_noise, location_noise: fraction of active bits moved at random in the sensed codes.
            rng: Generator for the noise (default: the network's).
            settling_steps: time steps the sensation is held, so votes travel between columns (a vote takes one
                step). ``None``: :attr:`default_settling_steps` when inferring, 1 when learning.

        Returns:
            Each column's L2/3 active cells.

        Raises:
            ValueError: wrong number of observations, a feature id the network has no code for, or a point the
                location source does not know (nothing changes).
        """
        if len(observations) != self.num_columns:
            raise ValueError(f"observations must hold {self.num_columns} (point, feature) pairs, "
                             f"got {len(observations)}")
        if settling_steps is None:
            settling_steps = 1 if learn else self.default_settling_steps
        if not is_int(settling_steps) or settling_steps < 1:
            raise ValueError(f"settling_steps must be an int >= 1, got {settling_steps!r}")
        for name, value in (("feature_noise", feature_noise), ("location_noise", location_noise)):
            if not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:  # NaN fails both
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        for c, (point, feature) in enumerate(observations):
            if feature is not None:
                self._check_feature(feature, f"observations[{c}] feature")
        rng = rng if rng is not None else self._rng
        out: list[SDR] = []
        for _ in range(int(settling_steps)):
            feats, locs = self._sense(observations, learn, feature_noise, location_noise, rng)
            out = self._compute(feats, locs, learn)
        return out

    def _sense(self, observations: Sequence[tuple[Point, int | None]], learn: bool, feature_noise: float,
               location_noise: float, rng: np.random.Generator) -> tuple[list[SDR | None], list[SDR | None]]:
        """Each column's feature and location codes for one time step (``None`` for a column sensing nothing)."""
        feats: list[SDR | None] = []
        locs: list[SDR | None] = []
        for c, (point, feature) in enumerate(observations):
            src = self.location_sources[c]
            if feature is None:
                if not isinstance(src, RandomLocationCodes):
                    src.locate(point, learn)  # path integration must see every movement, sensed or not
                feats.append(None)
                locs.append(None)
                continue
            # Fresh noise at every time step, as in the paper's protocol.
            feats.append(add_noise(self._feature_codes[c][int(feature)], feature_noise, rng))
            locs.append(add_noise(src.locate(point, learn), location_noise, rng))
        return feats, locs

    @property
    def default_settling_steps(self) -> int:
        """Time steps per sensation when inferring, unless given: 1 for one column; 3 for several, so that every
        column's vote on this sensation reaches the others (with 1, a vote always lags one sensation behind)."""
        return 1 if self.num_columns == 1 else 3

    def _compute(self, feats: list[SDR | None], locs: list[SDR | None], learn: bool) -> list[SDR]:
        prev = [col.l2.active_cells for col in self.columns]
        out = []
        for c, col in enumerate(self.columns):
            lateral = prev[:c] + prev[c + 1:]
            if feats[c] is None:
                # Nothing sensed: L4 holds its last sensation and L2/3 still listens to the other columns' votes.
                if lateral and col.l4.active_cells.num_active and not learn:
                    out.append(col.l2.compute(col.l4.active_cells, lateral, None, learn=False))
                else:
                    out.append(prev[c])
                continue
            out.append(col.sensory_compute(feats[c], locs[c], lateral, learn=learn))
            self.location_sources[c].anchor(col.l4.active_cells, learn, l4_winner_cells=col.l4.winner_cells)
        return out

    def learn(self, object_set: ObjectSet | Sequence[SensoryObject], repetitions: int = 3) -> None:
        """Learn every object: all columns touch each point together, ``repetitions`` steps in a row, in a random
        order per object; L2/3 keeps one random code per object and column. Objects are appended to
        :attr:`learned_objects` (an object already learned is learned again under its first label).

        Raises:
            ValueError: on bad ``repetitions`` or an empty object set.
        """
        if not is_int(repetitions) or repetitions < 1:
            raise ValueError(f"repetitions must be an int >= 1, got {repetitions!r}")
        objects = list(object_set)
        if not objects:
            raise ValueError("object_set must hold at least one object, got none")
        for i, obj in enumerate(objects):
            if not isinstance(obj, SensoryObject):
                raise TypeError(f"object_set[{i}] must be a SensoryObject, got {type(obj).__name__}")
        pool = getattr(object_set, "num_features", None)
        pool = max([pool or 0] + [max(o.features) + 1 for o in objects])
        self._extend_features(pool)
        points = sorted({p for o in objects for p in o.locations})
        self._known_points.update(points)
        for src in self.location_sources:
            if hasattr(src, "add_points"):
                src.add_points(points)
        n = self.num_columns
        for obj in objects:
            self.reset()
            locations = obj.locations
            order = self._rng.permutation(len(locations))
            for i in order:
                point = locations[i]
                obs = [(point, obj.points[point])] * n
                for _ in range(repetitions):
                    self.step(obs, learn=True)
            key = frozenset(obj.points.items())
            codes = [col.l2._active.copy() for col in self.columns]
            if key in self._index:
                label = self._index[key]
                for c in range(n):
                    self._codes[c][label] = codes[c]
            else:
                self._index[key] = len(self._objects)
                self._objects.append(obj)
                for c in range(n):
                    self._codes[c] = np.vstack([self._codes[c], codes[c][None, :]])
        self.reset()

    def infer(self, obj: SensoryObject, policy: str | MotorPolicy = "random", max_sensations: int = 10,
              settling_steps: int | None = None, feature_noise: float = 0.0, location_noise: float = 0.0,
              seed: int | np.random.Generator | None = None) -> InferenceResult:
        """Present ``obj`` for ``max_sensations`` sensations without learning.

        At each sensation the policy places every column's sensor on a point of the object (distinct points across
        columns); each column senses the feature there for ``settling_steps`` time steps (the votes propagate one
        step at a time).

        Args:
            obj: the object (it need not have been learned; its features must be in the learned pool and its points
                known to the location sources).
            policy: ``"random"``, ``"hypothesis"`` or a :class:`~htmagent.agent.motor.MotorPolicy`; it gets the
                object's surface (its points) at reset, and the objects every column still backs before each sensation.
            max_sensations: sensations to run.
            settling_steps: time steps per sensation (3 in the paper's convergence runs, 1 in Fig 4C); ``None``:
                :attr:`default_settling_steps` (1 for one column, 3 for several).
            feature_noise, location_noise: fraction of active bits moved at random in each sensed code, drawn
                afresh at every time step.
            seed: seed or Generator for the policy and the noise.

        Raises:
            ValueError: a feature id never learned, an unknown point, or bad arguments (nothing changes).
        """
        if not isinstance(obj, SensoryObject):
            raise TypeError(f"obj must be a SensoryObject, got {type(obj).__name__}")
        if settling_steps is None:
            settling_steps = self.default_settling_steps
        for name, value in (("max_sensations", max_sensations), ("settling_steps", settling_steps)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name, value in (("feature_noise", feature_noise), ("location_noise", location_noise)):
            if not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if not self._objects:
            raise NotLearnedError("the network has learned no object yet: call learn(object_set) first")
        for point, feature in obj.points.items():
            if not 0 <= feature < self._num_features:
                raise ValueError(f"obj has feature id {feature} at {point}, but the network learned features "
                                 f"0..{self._num_features - 1} only")
        for point in obj.locations:
            if point not in self._known_points:
                raise ValueError(f"obj has point {point}, which no learned object has")
        n = self.num_columns
        policy = make_policy(policy, n, self._objects)
        rng = make_rng(seed)
        policy.reset(rng, surface=obj.locations)
        self.reset()
        target = self._index.get(frozenset(obj.points.items()))
        points, sensations, recognized, classified, activity, overlap_log = [], [], [], [], [], []
        current = np.zeros((n, len(self._objects)), dtype=np.int64)
        here = np.zeros((n, 2), dtype=np.int64)
        for s in range(max_sensations):
            moves = policy.next_jumps(self.candidates(current))
            chosen = [tuple(int(v) for v in p) for p in here + np.asarray(moves, dtype=np.int64).reshape(n, 2)]
            if any(p not in obj.points for p in chosen):
                raise ValueError(f"policy must move the {n} sensors onto points of the object, got {chosen}")
            obs = [(p, int(obj.points[p])) for p in chosen]
            for _ in range(settling_steps):
                feats, locs = self._sense(obs, False, feature_noise, location_noise, rng)
                activity.append(tuple(self._compute(feats, locs, learn=False)))
            policy.observe(np.asarray(chosen, dtype=np.int64) - here, [f for _, f in obs])
            here = np.asarray(chosen, dtype=np.int64)
            current = np.array([self._overlaps(c) for c in range(n)])
            points.append(tuple(chosen))
            sensations.append(obs)
            overlap_log.append(current)
            recognized.append(self._recognize(current))
            classified.append(self._classified(target, current, activity[-1]))
        label = recognized[-1]
        sensation = None
        if label is not None:
            sensation = len(recognized)
            while sensation > 1 and recognized[sensation - 2] == label:
                sensation -= 1
        result = InferenceResult(target, label, sensation, points, sensations, recognized, classified, activity,
                                 overlap_log, int(settling_steps))
        result.convergence = convergence_point(result, self.config["recognition_threshold"], self.l2_params.sdr_size)
        return result

    def _classified(self, target: int | None, overlaps: np.ndarray, active: Sequence[SDR]) -> bool:
        if target is None:
            return False
        limit = 1.5 * self.l2_params.sdr_size
        return all(overlaps[c, target] >= self.config["recognition_threshold"] and active[c].num_active <= limit
                   for c in range(self.num_columns))

    # ------------------------------------------------------------- internals
    def _check_column(self, column: int) -> None:
        if not is_int(column) or not 0 <= column < self.num_columns:
            raise ValueError(f"column must be an int in [0, {self.num_columns}), got {column!r}")

    def _check_feature(self, feature: int, name: str) -> None:
        if not is_int(feature):
            raise TypeError(f"{name} must be an int feature id, got {type(feature).__name__}")
        if not 0 <= feature < self._num_features:
            raise ValueError(f"{name} must be a learned feature id in [0, {self._num_features}), got {feature}")

    def _extend_features(self, pool: int) -> None:
        size, bits = self.config["l4_column_count"], self.config["feature_active_bits"]
        for c in range(self.num_columns):
            rng = self._feature_rngs[c]
            while len(self._feature_codes[c]) < pool:
                code = np.sort(rng.choice(size, bits, replace=False)).astype(np.int32)
                self._feature_codes[c].append(SDR._trusted(size, code))
        self._num_features = max(self._num_features, pool)

    # ------------------------------------------------------------- save/load
    def state_dict(self) -> dict:
        """Everything needed to resume bit-identically."""
        objects = ObjectSet.from_dicts([dict(o.points) for o in self._objects], max(self._num_features, 1),
                                       names=[o.name for o in self._objects]) if self._objects else None
        return {
            "format": _FORMAT,
            "config": dict(self.config),
            "l2_params": asdict(self.l2_params),
            "l4_params": dict(self.l4_params),
            "rng": rng_state(self._rng),
            "num_features": self._num_features,
            "objects": objects.state_dict() if objects is not None else {},
            "columns": {str(c): {
                "column": col.state_dict(),
                "location": src.state_dict(),
                "feature_rng": rng_state(self._feature_rngs[c]),
                "feature_codes": np.asarray([f.sparse for f in self._feature_codes[c]], dtype=np.int32).reshape(
                    -1, self.config["feature_active_bits"]),
                "codes": self._codes[c].copy(),
            } for c, (col, src) in enumerate(zip(self.columns, self.location_sources))},
        }

    @classmethod
    def from_state_dict(cls, state: Mapping) -> "Network":
        """Rebuild a network from :meth:`state_dict`'s output (its sources: random codes or grid cells, as saved)."""
        if state.get("format") != _FORMAT:
            raise ValueError(f"state must have format {_FORMAT!r}, got {state.get('format')!r}")
        cfg = dict(state["config"])
        net = cls(num_columns=cfg["num_columns"], l4_column_count=cfg["l4_column_count"],
                  cells_per_column=cfg["cells_per_column"], feature_active_bits=cfg["feature_active_bits"],
                  location_size=cfg["location_size"], location_active_bits=cfg["location_active_bits"],
                  l2_cell_count=cfg["l2_cell_count"], l2_sdr_size=cfg["l2_sdr_size"],
                  l2_params=ObjectLayerParams(**state["l2_params"]), l4_params=dict(state["l4_params"]),
                  enable_feedback=cfg["enable_feedback"], recognition_threshold=cfg["recognition_threshold"],
                  location=cfg.get("location", "random"), grid_modules=cfg.get("grid_modules", 10),
                  grid_cells_per_axis=cfg.get("grid_cells_per_axis", 10), seed=0)
        net._rng = restore_rng(state["rng"])
        net._num_features = get_int(state, "num_features", 0)
        size = cfg["l4_column_count"]
        for c, col in enumerate(net.columns):
            cs = state["columns"][str(c)]
            col.load_state_dict(cs["column"])
            net.location_sources[c].load_state_dict(cs["location"])
            net._feature_rngs[c] = restore_rng(cs["feature_rng"])
            where = f"columns/{c}/"
            features = get_array(cs, "feature_codes", np.int32, (None, cfg["feature_active_bits"]), 0, size, where,
                                 high_open=True, sorted_unique=True)
            codes = get_array(cs, "codes", np.int32, (None, cfg["l2_sdr_size"]), 0, net.l2_params.cell_count,
                              where, high_open=True, sorted_unique=True)
            net._feature_codes[c] = [SDR._trusted(size, f) for f in features]
            net._codes[c] = codes
        if state["objects"]:
            objects = ObjectSet.from_state_dict(state["objects"])
            net._objects = list(objects)
            net._index = {frozenset(o.points.items()): i for i, o in enumerate(net._objects)}
            net._known_points = {p for o in net._objects for p in o.locations}
            for c, source in enumerate(net.location_sources):
                known = getattr(source, "points", None)  # a code book's points (grid cells code any point)
                if isinstance(known, list) and not net._known_points <= set(map(tuple, known)):
                    raise StateError(f"columns/{c}/location must hold a code for every learned object's location",
                                     field=f"columns/{c}/location")
        return net

    def save(self, path: str | os.PathLike) -> None:
        """Write the network to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Network":
        """Read a network written by :meth:`save` (a malformed file raises
        :class:`~htmagent.serialization.StateError` naming it)."""
        with naming_file(path):
            return cls.from_state_dict(load_state(path))


def convergence_point(result: InferenceResult, low: int = 30, high: int = 40) -> int:
    """The 2017 convergence point of ``result`` in sensations.

    It is the first sensation after which every column's L2/3 active-cell count stays within [``low``, ``high``]:
    ``ceil(step / settling_steps)`` where ``step`` (1-based) starts the final in-range run of time steps;
    ``len(points) + 1`` if the last step is out of range.
    """
    sizes = np.array([[a.num_active for a in step] for step in result.activity])
    bad = np.flatnonzero(((sizes < low) | (sizes > high)).any(axis=1))
    step = 1 if bad.size == 0 else int(bad[-1]) + 2
    return math.ceil(step / result.settling_steps)
