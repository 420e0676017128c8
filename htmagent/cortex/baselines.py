"""Baselines for object recognition: the ideal observer (the limit no network can beat) and bag of features.

Both step on the same sensation sequences as a network. A sensation of ``num_sensors`` sensors is a list of
observations, one per sensor, each ``(position, feature)``:

- ``position`` is an integer pair ``(x, y)``. In ``"location"`` mode it is the sensor's location on the object (Hawkins
  et al. 2017 give the location). In ``"displacement"`` mode it is the displacement from the episode origin - sensor 0's
  first point - to the point sensed (Lewis et al. 2019: only movements are known, and the observer knows where its
  sensors are relative to each other).
- ``feature`` is a feature id in ``[0, num_features)``, or ``None`` for a location where the object has no point (a
  sensor over empty space); ``None`` is evidence too, for the ideal observer.

Example:
    >>> from htmagent.cortex.objects import ObjectSet
    >>> objects = ObjectSet.from_dicts([{(0, 0): 0, (1, 0): 1}, {(0, 0): 0, (1, 0): 0}])
    >>> observer = IdealObserver(objects, mode="location")
    >>> observer.step([((0, 0), 0)]) is None, observer.candidates
    (True, {0, 1})
    >>> observer.step([((1, 0), 1)])
    0
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Optional

import numpy as np

from htmagent._validation import is_int
from htmagent.cortex.objects import ObjectSet, SensoryObject

__all__ = [
    "IdealObserver",
    "BagOfFeatures",
    "observations_from_points",
    "recognition_curve",
]

Location = tuple[int, int]
Observation = tuple[Location, Optional[int]]

_MODES = ("location", "displacement")


def _validate_observations(observations: Any, num_features: int) -> list[tuple[Location, Optional[int]]]:
    """Check one sensation (a list of ``(position, feature)``) and return it with plain ints."""
    if not isinstance(observations, Sequence) or isinstance(observations, (str, bytes)):
        raise TypeError(
            f"observations must be a list of (position, feature) pairs, one per sensor, "
            f"got {type(observations).__name__}"
        )
    if len(observations) == 0:
        raise ValueError("observations must hold at least one (position, feature) pair, got an empty list")
    first, second = observations[0], observations[-1]
    if (
        len(observations) == 2
        and (second is None or is_int(second))
        and isinstance(first, (tuple, list))
        and len(first) == 2
        and all(is_int(c) for c in first)
    ):
        raise ValueError(
            f"observations must be a list of (position, feature) pairs, got the bare pair {tuple(observations)!r} "
            f"(wrap a single sensor's observation in a list: [((x, y), feature)])"
        )
    clean = []
    for i, item in enumerate(observations):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                f"observations[{i}] must be a (position, feature) pair, got {item!r} "
                f"(wrap a single sensor's observation in a list: [((x, y), feature)])"
            )
        position, feature = item
        if (
            not isinstance(position, (tuple, list, np.ndarray))
            or len(position) != 2
            or not all(is_int(c) for c in position)
        ):
            raise ValueError(f"observations[{i}] position must be a pair of integers (x, y), got {position!r}")
        if feature is not None and (not is_int(feature) or not 0 <= feature < num_features):
            raise ValueError(
                f"observations[{i}] feature must be None or an integer in [0, {num_features}), got {feature!r}"
            )
        clean.append(((int(position[0]), int(position[1])), None if feature is None else int(feature)))
    return clean


class _Observer(abc.ABC):
    """Shared API of the baselines: ``reset``, ``step``, ``candidates``, ``recognized``, ``sensations_to_recognize``."""

    def __init__(self, object_set: ObjectSet):
        if not isinstance(object_set, ObjectSet):
            raise TypeError(f"object_set must be an htmagent.cortex.objects.ObjectSet, got {type(object_set).__name__}")
        self.object_set = object_set

    @property
    @abc.abstractmethod
    def candidates(self) -> set[int]:
        """Labels of the objects still consistent with every sensation since the last reset."""

    @property
    def recognized(self) -> Optional[int]:
        """The label of the only remaining candidate, or ``None`` while several (or none) remain."""
        candidates = self.candidates
        return next(iter(candidates)) if len(candidates) == 1 else None

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget every sensation: every object becomes possible again."""

    @abc.abstractmethod
    def step(self, observations: Sequence[Observation]) -> Optional[int]:
        """Take in one sensation (one ``(position, feature)`` per sensor).

        Returns:
            The recognized label once exactly one object remains possible, else ``None``.

        Raises:
            TypeError, ValueError: for a malformed sensation; the observer is then left unchanged.
        """

    def sensations_to_recognize(self, sequence: Iterable[Sequence[Observation]]) -> Optional[int]:
        """Reset, then step through ``sequence`` and return the 1-based sensation at which one object remained.

        Args:
            sequence: sensations, each a list of ``(position, feature)`` observations (one per sensor).

        Returns:
            The number of sensations needed, or ``None`` if the sequence ended before recognition.
        """
        self.reset()
        for index, observations in enumerate(sequence, start=1):
            if self.step(observations) is not None:
                return index
        return None


class IdealObserver(_Observer):
    """Keeps every hypothesis consistent with what has been sensed; recognition = one object left.

    This is the limit a network is measured against: it forgets nothing and never confuses two codes.

    - ``mode="location"`` (Hawkins, Ahmad & Cui 2017): the sensor's location on the object is given; hypotheses are
      objects, and an observation ``((x, y), f)`` removes every object whose feature at ``(x, y)`` is not ``f``.
    - ``mode="displacement"`` (Lewis, Purdy, Ahmad & Hawkins 2019): only displacements are known; hypotheses are
      ``(object, origin)`` pairs, where ``origin`` is the object location under the episode origin (sensor 0's first
      point). The first sensation with a feature creates every pair that explains it, later ones prune them. Until
      then (only empty space sensed) every object is a candidate and :attr:`num_hypotheses` counts every point of
      every object, the places where the sensor could be.

    Args:
        object_set: the learned objects.
        mode: ``"location"`` or ``"displacement"``.
        unique_origin: displacement mode only: recognize only once a single ``(object, origin)`` pair is left, not
            merely a single object. This is the stricter criterion of Lewis et al.'s ``ideal_sim.py`` (an object
            that matches the sensations at two placements counts as not yet recognized); use it to reproduce their
            figure 7B. :attr:`candidates` is the same either way.
        shared_origin: displacement mode only. ``True`` (default): every sensor's positions are relative to one
            origin, so the observer knows where the sensors are relative to each other. ``False``: each sensor keeps
            its own ``(object, origin)`` pairs from its own movements only, and an object stays a candidate while
            every sensor can place itself on it — exactly the information of a network of columns that each
            integrate their own sensor's movements and vote on the object (``Network(location="grid")``).
    """

    def __init__(self, object_set: ObjectSet, mode: str = "location", unique_origin: bool = False,
                 shared_origin: bool = True):
        super().__init__(object_set)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        for name, value in (("unique_origin", unique_origin), ("shared_origin", shared_origin)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
        if unique_origin and not shared_origin:
            raise ValueError("unique_origin=True needs shared_origin=True (one placement of all sensors)")
        self.mode = mode
        self.unique_origin = bool(unique_origin)
        self.shared_origin = bool(shared_origin)
        # Per location, the feature of every object there (-1 = no point): a column of objects, built lazily so that
        # sets with thousands of locations (capacity runs) cost memory only where the sensor goes.
        self._columns: dict[Location, np.ndarray] = {}
        self._points = [obj.points for obj in object_set]
        self._points_by_feature: dict[int, list[tuple[int, Location]]] = {}
        for obj in object_set:
            for loc, feature in obj.points.items():
                self._points_by_feature.setdefault(feature, []).append((obj.label, loc))
        self.reset()

    def reset(self) -> None:
        self._alive = np.ones(len(self.object_set), dtype=bool)
        self._pairs: Optional[set[tuple[int, int, int]]] = None
        self._history: list[tuple[Location, Optional[int]]] = []
        # shared_origin=False: per sensor, its (object, origin) pairs (None before its first feature) and history.
        self._sensor_pairs: list[Optional[set[tuple[int, int, int]]]] = []
        self._sensor_history: list[list[tuple[Location, Optional[int]]]] = []

    @property
    def candidates(self) -> set[int]:
        if self.mode == "location":
            return {int(label) for label in np.flatnonzero(self._alive)}
        if not self.shared_origin:
            labels = set(self.object_set.labels)
            for pairs in self._sensor_pairs:
                if pairs is not None:
                    labels &= {label for label, _, _ in pairs}
            return labels
        if self._pairs is None:
            return set(self.object_set.labels)
        return {label for label, _, _ in self._pairs}

    @property
    def recognized(self) -> Optional[int]:
        """The recognized label (see ``unique_origin``), or ``None``."""
        if self.unique_origin and self.mode == "displacement":
            if self._pairs is None or len(self._pairs) != 1:
                return None
            return next(iter(self._pairs))[0]
        return super().recognized

    @property
    def num_hypotheses(self) -> int:
        """Number of live hypotheses: objects (location mode) or (object, origin) pairs (displacement mode)."""
        if self.mode == "location":
            return int(self._alive.sum())
        if not self.shared_origin:
            return sum(self.object_set.num_points if p is None else len(p) for p in self._sensor_pairs)
        if self._pairs is None:
            return self.object_set.num_points
        return len(self._pairs)

    def _column(self, location: Location) -> np.ndarray:
        column = self._columns.get(location)
        if column is None:
            column = np.array([points.get(location, -1) for points in self._points], dtype=np.int64)
            self._columns[location] = column
        return column

    def step(self, observations: Sequence[Observation]) -> Optional[int]:
        clean = _validate_observations(observations, self.object_set.num_features)
        if self.mode == "location":
            alive = self._alive.copy()
            for location, feature in clean:
                alive &= self._column(location) == (-1 if feature is None else feature)
            self._alive = alive
            return self.recognized
        if self.shared_origin:
            self._pairs = self._placements(self._pairs, self._history, clean)
            return self.recognized
        if self._sensor_pairs and len(clean) != len(self._sensor_pairs):
            raise ValueError(f"observations must hold one observation per sensor ({len(self._sensor_pairs)}), "
                             f"got {len(clean)}")
        if not self._sensor_pairs:
            self._sensor_pairs = [None] * len(clean)
            self._sensor_history = [[] for _ in clean]
        for i, observation in enumerate(clean):
            self._sensor_pairs[i] = self._placements(self._sensor_pairs[i], self._sensor_history[i], [observation])
        return self.recognized

    def _placements(self, pairs: Optional[set[tuple[int, int, int]]], history: list[tuple[Location, Optional[int]]],
                    clean: list[tuple[Location, Optional[int]]]) -> Optional[set[tuple[int, int, int]]]:
        """The ``(object, origin)`` pairs still consistent after ``clean`` (``None`` while no feature was sensed;
        ``history`` keeps the evidence until then)."""
        if pairs is None:
            # Before the first feature there is nothing to anchor (object, origin) pairs on; keep the evidence.
            history.extend(clean)
            anchor = next(((pos, f) for pos, f in history if f is not None), None)
            if anchor is None:
                return None
            (dx, dy), feature = anchor
            pairs = {(label, x - dx, y - dy) for label, (x, y) in self._points_by_feature.get(feature, [])}
            pending = history
        else:
            pending = clean
        points = self._points
        for (dx, dy), feature in pending:
            pairs = {(label, ox, oy) for label, ox, oy in pairs if points[label].get((ox + dx, oy + dy)) == feature}
        return pairs


class BagOfFeatures(_Observer):
    """Recognition from the features alone, ignoring where they were sensed.

    An object stays possible while, for every feature id, it holds at least as many points with that feature as the
    number of *distinct* points at which the feature has been sensed. Positions serve only to tell a revisit of the
    same point from a new point (so a revisit counts once); their geometry is never used. Empty-space observations
    (``feature=None``) carry no information here. A revisit that senses a different feature than before is
    inconsistent with every object.

    Because any object consistent with locations is consistent with the feature counts, bag of features never
    recognizes earlier than :class:`IdealObserver` on the same sequence.

    Args:
        object_set: the learned objects.
        counts: ``True`` (default) compares feature counts as above, which reaches every object once all its points
            are sensed (Hawkins et al. 2017, figure 4C). ``False`` compares feature *sets* - an object stays possible
            while it has every feature sensed so far, however often - as Lewis et al.'s ``bof_sim.py`` does; objects
            whose feature set lies inside another's are then never recognized (their figure 7B plateau).
    """

    def __init__(self, object_set: ObjectSet, counts: bool = True):
        super().__init__(object_set)
        if not isinstance(counts, (bool, np.bool_)):
            raise TypeError(f"counts must be a bool, got {type(counts).__name__}")
        self.counts = bool(counts)
        self._counts = np.zeros((len(object_set), object_set.num_features), dtype=np.int64)
        for obj in object_set:
            for feature in obj.features:
                self._counts[obj.label, feature] += 1
        if not self.counts:
            self._counts = np.minimum(self._counts, 1)
        self.reset()

    def reset(self) -> None:
        self._seen: dict[Location, int] = {}
        self._sensed = Counter()
        self._conflict = False

    @property
    def candidates(self) -> set[int]:
        if self._conflict:
            return set()
        if not self._sensed:
            return set(self.object_set.labels)
        features = np.fromiter(self._sensed.keys(), dtype=np.int64)
        needed = np.fromiter(self._sensed.values(), dtype=np.int64)
        if not self.counts:
            needed = np.minimum(needed, 1)
        fits = np.all(self._counts[:, features] >= needed, axis=1)
        return {int(label) for label in np.flatnonzero(fits)}

    @property
    def num_hypotheses(self) -> int:
        """Number of objects still possible."""
        return len(self.candidates)

    def step(self, observations: Sequence[Observation]) -> Optional[int]:
        clean = _validate_observations(observations, self.object_set.num_features)
        for position, feature in clean:
            if feature is None:
                continue
            previous = self._seen.get(position)
            if previous is None:
                self._seen[position] = feature
                self._sensed[feature] += 1
            elif previous != feature:
                self._conflict = True
        return self.recognized


def observations_from_points(
    obj: SensoryObject,
    points: Sequence[Sequence[Location]],
    mode: str = "location",
) -> list[list[Observation]]:
    """Turn the points each sensor touched into the observation sequence the baselines take.

    Args:
        obj: the object being sensed.
        points: per sensation, the ``(x, y)`` each sensor touched (the same number of sensors every time). A point
            where the object has no feature gives ``feature=None``.
        mode: ``"location"`` (positions are the points) or ``"displacement"`` (positions are relative to sensor 0's
            first point).

    Returns:
        One list of ``(position, feature)`` per sensation.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if len(points) == 0:
        return []
    ox, oy = points[0][0] if mode == "displacement" else (0, 0)
    sequence = []
    for step in points:
        sequence.append([((int(x) - ox, int(y) - oy), obj.points.get((int(x), int(y)))) for x, y in step])
    return sequence


def recognition_curve(
    observer: _Observer,
    sequences: Iterable[Sequence[Sequence[Observation]]],
    max_sensations: int,
) -> np.ndarray:
    """Cumulative fraction of sequences recognized by sensation ``1 .. max_sensations`` (Fig. 4C / 7B style).

    Args:
        observer: an :class:`IdealObserver` or :class:`BagOfFeatures`.
        sequences: one observation sequence per episode (see :func:`observations_from_points`).
        max_sensations: length of the curve.

    Returns:
        ``float64`` array of length ``max_sensations``; entry ``k - 1`` is the fraction recognized within ``k``.
    """
    if not is_int(max_sensations) or max_sensations < 1:
        raise ValueError(f"max_sensations must be an integer >= 1, got {max_sensations!r}")
    hits = np.zeros(max_sensations, dtype=np.float64)
    count = 0
    for sequence in sequences:
        count += 1
        needed = observer.sensations_to_recognize(list(sequence)[:max_sensations])
        if needed is not None:
            hits[needed - 1:] += 1
    if count == 0:
        raise ValueError("sequences must hold at least one sequence, got none")
    return hits / count
