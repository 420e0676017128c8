"""The 2019 paper's network of one grid-cell column: learns objects and recognizes them from movements and features.

:class:`LocationNetwork` learns a set of objects with a :class:`~htmagent.cortex.location_column.LocationColumn` and
recognizes them with the paper's readout (no L2/3): after a sensation, the location cells that the sensation
activated must all belong to the location code learned for a single (object, point), so the location code alone
names the object. Its :meth:`~LocationNetwork.infer` returns a result with ``.label``, ``.sensation`` and ``.points``
like :meth:`htmagent.Network.infer`, so experiments are written the same way for either model.

Model: Lewis, Purdy, Ahmad & Hawkins 2019 (parameters in ``references/papers.md`` section 2.1).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._validation import NotLearnedError, check_int, is_int
from htmagent.cortex.location_column import (
    PAPER_PARAMS,
    LocationColumn,
    LocationColumnParams,
    Point,
)
from htmagent.cortex.objects import ObjectSet, SensoryObject
from htmagent.sdr import SDR, as_sdr
from htmagent.serialization import load_state, save_state
from htmagent._state import naming_file

__all__ = ["LocationInferenceResult", "LocationNetwork", "random_traversals"]

_NETWORK_FORMAT = "htmagent.LocationNetwork/1"
_EMPTY = np.empty(0, dtype=np.int32)


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
            raise NotLearnedError("the network has learned no object yet: call learn(object_set) first")
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
        """Read a network written by :meth:`save` (a malformed file raises
        :class:`~htmagent.serialization.StateError` naming it)."""
        with naming_file(path):
            return cls.from_state_dict(load_state(path))

    def __repr__(self) -> str:
        return f"LocationNetwork({len(self._objects)} objects, {self.column!r})"
