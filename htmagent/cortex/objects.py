"""Sensory objects: sets of features at locations, and the seeded generators of the published protocols.

An object, in the Thousand Brains experiments, is nothing but a set of points: at each integer grid location
``(x, y)`` of the object a sensor would feel one feature id out of a pool of ``num_features``. A column learns an object
by sensing its points with their locations, and recognizes it later from a few (location, feature) sensations.

Generators reproduce the object sets of the papers:

- :meth:`ObjectSet.hawkins2017` - Hawkins, Ahmad & Cui 2017: every object uses points among a few *shared* locations,
  with features drawn uniformly with replacement from a small pool, so objects differ only in which feature sits where.
- :meth:`ObjectSet.lewis2019` - Lewis, Purdy, Ahmad & Hawkins 2019: features on distinct cells of a small grid.
- :meth:`ObjectSet.capacity` - capacity runs: every (location, feature) pair is unique across the whole set.

:func:`random_codes` draws the random k-of-n SDR code books that stand for feature or location identities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, overload

import numpy as np

from htmagent._rng import make_rng
from htmagent._validation import check_int, is_int
from htmagent.sdr import SDR

__all__ = ["SensoryObject", "ObjectSet", "random_codes"]

Location = tuple[int, int]


def _normalise_points(points: Any, who: str) -> dict[Location, int]:
    """Validate a ``{(x, y): feature}`` mapping and return it with plain-int keys and values, sorted by location."""
    if not isinstance(points, Mapping):
        raise TypeError(f"{who}: points must be a mapping {{(x, y): feature_id}}, got {type(points).__name__}")
    clean: dict[Location, int] = {}
    for location, feature in points.items():
        if (
            not isinstance(location, (tuple, list, np.ndarray))
            or len(location) != 2
            or not all(is_int(c) for c in location)
        ):
            raise ValueError(f"{who}: location must be a pair of integers (x, y), got {location!r}")
        key = (int(location[0]), int(location[1]))
        if not is_int(feature):
            raise ValueError(f"{who}: feature at point {key} must be an integer id, got {feature!r}")
        if feature < 0:
            raise ValueError(f"{who}: feature at point {key} must be >= 0, got {feature}")
        if key in clean:
            raise ValueError(f"{who}: location {key} appears more than once")
        clean[key] = int(feature)
    return dict(sorted(clean.items()))


@dataclass(frozen=True)
class SensoryObject:
    """One object: a feature id at each of a few integer grid locations.

    Args:
        label: the object's index in its :class:`ObjectSet` (``0 .. len(set) - 1``).
        points: ``{(x, y): feature_id}``. Stored as a read-only mapping sorted by location.
        name: a human-readable name; defaults to ``"object <label>"``.

    Raises:
        ValueError: if a location is not a pair of integers, a feature id is not a non-negative integer, or the
            object has no point.

    Example:
        >>> cup = SensoryObject(0, {(0, 0): 3, (1, 0): 7})
        >>> cup.feature_at((1, 0)), len(cup), cup.locations
        (7, 2, [(0, 0), (1, 0)])
    """

    label: int
    points: Mapping[Location, int]
    name: str = ""
    _locations: tuple[Location, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_int(self.label) or self.label < 0:
            raise ValueError(f"label must be a non-negative integer, got {self.label!r}")
        name = str(self.name) if self.name else f"object {int(self.label)}"
        who = name if name == f"object {int(self.label)}" else f"object {int(self.label)} ({name})"
        clean = _normalise_points(self.points, who)
        if not clean:
            raise ValueError(f"{who} must have at least one point, got none")
        object.__setattr__(self, "label", int(self.label))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "points", MappingProxyType(clean))
        object.__setattr__(self, "_locations", tuple(clean))

    def __hash__(self) -> int:
        return hash((self.label, self.name, tuple(self.points.items())))

    def __reduce__(self) -> tuple:
        # The read-only mapping proxy cannot be pickled or deep-copied; rebuild from a plain dict instead.
        return type(self), (self.label, dict(self.points), self.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SensoryObject):
            return NotImplemented
        return self.label == other.label and self.name == other.name and dict(self.points) == dict(other.points)

    def __len__(self) -> int:
        return len(self._locations)

    @property
    def locations(self) -> list[Location]:
        """The object's locations, sorted."""
        return list(self._locations)

    @property
    def features(self) -> list[int]:
        """The feature ids, in the order of :attr:`locations`."""
        return list(self.points.values())

    def feature_at(self, location: Sequence[int]) -> int:
        """Return the feature id at ``location``.

        Raises:
            ValueError: if the object has no point at ``location``.
        """
        key = tuple(int(c) for c in location) if isinstance(location, (tuple, list, np.ndarray)) else location
        try:
            return self.points[key]  # type: ignore[index]
        except (KeyError, TypeError):
            raise ValueError(
                f"{self.name} has no point at location {location!r}; its locations are {self.locations}"
            ) from None

    def has_point(self, location: Sequence[int]) -> bool:
        """Whether the object has a point at ``location``."""
        return tuple(int(c) for c in location) in self.points

    def bounds(self) -> tuple[int, int, int, int]:
        """Return ``(min_x, min_y, max_x, max_y)`` over the object's locations."""
        xs = [x for x, _ in self._locations]
        ys = [y for _, y in self._locations]
        return min(xs), min(ys), max(xs), max(ys)


class ObjectSet(Sequence[SensoryObject]):
    """An immutable, labelled collection of :class:`SensoryObject` sharing one feature pool.

    Object ``i`` has label ``i``. Build one from plain data with :meth:`from_dicts` or with a generator
    (:meth:`hawkins2017`, :meth:`lewis2019`, :meth:`capacity`).

    Args:
        objects: the objects; their labels must be ``0 .. len(objects) - 1`` in order.
        num_features: size of the feature pool; every feature id must lie in ``[0, num_features)``.

    Raises:
        ValueError: if the set is empty, labels are out of order, or a feature id lies outside the pool (the message
            names the object and the point).
    """

    def __init__(self, objects: Sequence[SensoryObject], num_features: int):
        num_features = check_int(num_features, "num_features", 1)
        objects = tuple(objects)
        if not objects:
            raise ValueError("an ObjectSet needs at least one object, got none")
        for index, obj in enumerate(objects):
            if not isinstance(obj, SensoryObject):
                raise TypeError(f"objects[{index}] must be a SensoryObject, got {type(obj).__name__}")
            if obj.label != index:
                raise ValueError(f"objects[{index}] must have label {index}, got label {obj.label}")
            for location, feature in obj.points.items():
                if feature >= num_features:
                    raise ValueError(
                        f"{obj.name}: feature at point {location} must lie in [0, {num_features}), got {feature}"
                    )
        self._objects = objects
        self._num_features = num_features
        self._locations = sorted({loc for obj in objects for loc in obj.points})

    # -- constructors ------------------------------------------------------------------------------------------------

    @classmethod
    def from_dicts(
        cls,
        dicts: Sequence[Mapping[Location, int]],
        num_features: int | None = None,
        names: Sequence[str] | None = None,
    ) -> "ObjectSet":
        """Build a set from plain ``{(x, y): feature_id}`` dicts; object ``i`` gets label ``i``.

        Args:
            dicts: one mapping per object.
            num_features: the feature pool size; defaults to the largest feature id used plus one.
            names: optional names, one per object.

        Example:
            >>> objects = ObjectSet.from_dicts([{(0, 0): 0, (1, 0): 1}, {(0, 0): 1, (1, 0): 1}])
            >>> len(objects), objects.num_features
            (2, 2)
        """
        if isinstance(dicts, Mapping) or not isinstance(dicts, Sequence):
            raise TypeError(f"dicts must be a sequence of {{(x, y): feature_id}} mappings, got {type(dicts).__name__}")
        if names is not None:
            names = list(names)
            if len(names) != len(dicts):
                raise ValueError(f"names must have one entry per object ({len(dicts)}), got {len(names)}")
        objects = [
            SensoryObject(label, points, names[label] if names is not None else "")
            for label, points in enumerate(dicts)
        ]
        if num_features is None:
            num_features = max(max(obj.features) for obj in objects) + 1 if objects else 1
        return cls(objects, num_features)

    @classmethod
    def hawkins2017(
        cls,
        num_objects: int,
        num_points: int = 10,
        num_locations: int = 10,
        num_features: int = 10,
        seed: int | np.random.Generator | None = None,
    ) -> "ObjectSet":
        """Objects of Hawkins, Ahmad & Cui 2017 (figures 3-4, 6).

        Each object takes ``num_points`` distinct locations out of ``num_locations`` locations shared by all objects
        (laid out as ``(i, 0)``), with a feature drawn uniformly, with replacement, from the pool at each. With the
        defaults every object uses all ten locations and objects differ only in which feature sits where.

        Args:
            num_objects: number of objects.
            num_points: points per object, ``<= num_locations``.
            num_locations: number of shared locations.
            num_features: feature pool size (the paper uses 5, 10, 20, 30).
            seed: random seed or generator.
        """
        num_objects = check_int(num_objects, "num_objects", 1)
        num_points = check_int(num_points, "num_points", 1)
        num_locations = check_int(num_locations, "num_locations", 1)
        num_features = check_int(num_features, "num_features", 1)
        if num_points > num_locations:
            raise ValueError(f"num_points must be <= num_locations ({num_locations}), got {num_points}")
        rng = make_rng(seed)
        dicts = []
        for _ in range(num_objects):
            cells = np.sort(rng.choice(num_locations, size=num_points, replace=False))
            features = rng.integers(0, num_features, size=num_points)
            dicts.append({(int(c), 0): int(f) for c, f in zip(cells, features)})
        return cls.from_dicts(dicts, num_features)

    @classmethod
    def lewis2019(
        cls,
        num_objects: int,
        num_features: int = 100,
        features_per_object: int = 10,
        grid_size: int = 4,
        seed: int | np.random.Generator | None = None,
    ) -> "ObjectSet":
        """Objects of Lewis, Purdy, Ahmad & Hawkins 2019: features on distinct cells of a small grid.

        Each object places ``features_per_object`` features on distinct cells of a ``grid_size x grid_size`` grid
        (locations ``(x, y)`` with ``0 <= x, y < grid_size``), each drawn uniformly, with replacement, from the pool.

        Args:
            num_objects: number of objects.
            num_features: feature pool size (100 in most figures, 10 in the ideal-observer comparison).
            features_per_object: points per object, ``<= grid_size ** 2``.
            grid_size: side of the object grid.
            seed: random seed or generator.
        """
        num_objects = check_int(num_objects, "num_objects", 1)
        num_features = check_int(num_features, "num_features", 1)
        features_per_object = check_int(features_per_object, "features_per_object", 1)
        grid_size = check_int(grid_size, "grid_size", 1)
        if features_per_object > grid_size * grid_size:
            raise ValueError(
                f"features_per_object must be <= grid_size ** 2 ({grid_size * grid_size}), got {features_per_object}"
            )
        rng = make_rng(seed)
        dicts = []
        for _ in range(num_objects):
            cells = rng.choice(grid_size * grid_size, size=features_per_object, replace=False)
            features = rng.integers(0, num_features, size=features_per_object)
            dicts.append({(int(c % grid_size), int(c // grid_size)): int(f) for c, f in zip(cells, features)})
        return cls.from_dicts(dicts, num_features)

    @classmethod
    def capacity(
        cls,
        num_objects: int,
        num_points: int = 10,
        num_features: int = 5000,
        num_locations: int = 5000,
        seed: int | np.random.Generator | None = None,
    ) -> "ObjectSet":
        """Objects for capacity runs (Hawkins et al. 2017, figure 5): every (location, feature) pair is unique.

        Each object takes ``num_points`` distinct locations among ``num_locations`` (laid out as ``(i, 0)``) and a
        feature at each, such that no (location, feature) pair occurs twice in the whole set.

        Args:
            num_objects: number of objects; ``num_objects * num_points`` must not exceed
                ``num_locations * num_features``.
            num_points: points per object, ``<= num_locations``.
            num_features: feature pool size.
            num_locations: number of locations.
            seed: random seed or generator.
        """
        num_objects = check_int(num_objects, "num_objects", 1)
        num_points = check_int(num_points, "num_points", 1)
        num_features = check_int(num_features, "num_features", 1)
        num_locations = check_int(num_locations, "num_locations", 1)
        if num_points > num_locations:
            raise ValueError(f"num_points must be <= num_locations ({num_locations}), got {num_points}")
        if num_objects * num_points > num_locations * num_features:
            raise ValueError(
                f"num_objects * num_points must be <= num_locations * num_features "
                f"({num_locations * num_features}), got {num_objects * num_points}"
            )
        rng = make_rng(seed)
        used: dict[int, set[int]] = {}
        free = np.full(num_locations, num_features, dtype=np.int64)  # unused features left at each location
        dicts = []
        for _ in range(num_objects):
            # Draw only among locations that still have unused features, so a dense request cannot dead-end.
            open_locations = np.flatnonzero(free > 0)
            if open_locations.size < num_points:
                raise ValueError(
                    f"cannot place {num_points} unique (location, feature) pairs: only {open_locations.size} "
                    f"locations have unused features left (num_objects={num_objects} is too many for this pool)"
                )
            cells = rng.choice(open_locations, size=num_points, replace=False)
            points = {}
            for cell in np.sort(cells):
                taken = used.setdefault(int(cell), set())
                feature = int(rng.integers(0, num_features))
                if feature in taken:
                    # Rejection is fast while the pool is sparse; fall back to an explicit draw when it is not.
                    for _ in range(8):
                        feature = int(rng.integers(0, num_features))
                        if feature not in taken:
                            break
                    else:
                        remaining = np.setdiff1d(np.arange(num_features), np.fromiter(taken, dtype=np.int64))
                        feature = int(rng.choice(remaining))
                taken.add(feature)
                free[cell] -= 1
                points[(int(cell), 0)] = feature
            dicts.append(points)
        return cls.from_dicts(dicts, num_features)

    # -- sequence protocol -------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._objects)

    @overload
    def __getitem__(self, index: int) -> SensoryObject: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[SensoryObject, ...]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._objects[index]
        if not is_int(index):
            raise TypeError(f"ObjectSet index must be an int or a slice, got {type(index).__name__}")
        if not -len(self._objects) <= index < len(self._objects):
            raise IndexError(f"object index must lie in [0, {len(self._objects)}), got {index}")
        return self._objects[index]

    def __iter__(self) -> Iterator[SensoryObject]:
        return iter(self._objects)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectSet):
            return NotImplemented
        return self._num_features == other._num_features and self._objects == other._objects

    def __hash__(self) -> int:
        return hash((self._num_features, self._objects))

    def __repr__(self) -> str:
        return (
            f"ObjectSet({len(self)} objects, num_features={self._num_features}, "
            f"{len(self._locations)} locations, {self.num_points} points)"
        )

    # -- properties --------------------------------------------------------------------------------------------------

    @property
    def num_features(self) -> int:
        """Feature pool size; every feature id lies in ``[0, num_features)``."""
        return self._num_features

    @property
    def locations(self) -> list[Location]:
        """Every distinct location used by any object, sorted."""
        return list(self._locations)

    @property
    def num_points(self) -> int:
        """Total number of points over all objects."""
        return sum(len(obj) for obj in self._objects)

    @property
    def labels(self) -> list[int]:
        """The labels ``0 .. len - 1``."""
        return list(range(len(self._objects)))

    @property
    def names(self) -> list[str]:
        """The object names, in label order."""
        return [obj.name for obj in self._objects]

    def bounds(self) -> tuple[int, int, int, int]:
        """Return ``(min_x, min_y, max_x, max_y)`` over every object's locations."""
        xs = [x for x, _ in self._locations]
        ys = [y for _, y in self._locations]
        return min(xs), min(ys), max(xs), max(ys)

    # -- saving ------------------------------------------------------------------------------------------------------

    def to_dicts(self) -> list[dict[Location, int]]:
        """Return the objects as plain ``{(x, y): feature_id}`` dicts (the inverse of :meth:`from_dicts`)."""
        return [dict(obj.points) for obj in self._objects]

    def state_dict(self) -> dict:
        """Return a state for :func:`htmagent.serialization.save_state`: one ``(points, 4)`` int64 array of rows
        ``(label, x, y, feature)`` plus the pool size and the names."""
        rows = [(obj.label, x, y, f) for obj in self._objects for (x, y), f in obj.points.items()]
        return {
            "format": "htmagent.ObjectSet/1",
            "num_features": self._num_features,
            "names": self.names,
            "points": np.asarray(rows, dtype=np.int64).reshape(-1, 4),
        }

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> "ObjectSet":
        """Rebuild a set from :meth:`state_dict`'s output.

        Raises:
            ValueError: if the state is not an ObjectSet state or is inconsistent.
        """
        if not isinstance(state, Mapping) or state.get("format") != "htmagent.ObjectSet/1":
            got = state.get("format") if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"state must be an ObjectSet state with format 'htmagent.ObjectSet/1', got {got!r}")
        rows = np.asarray(state["points"])
        if rows.ndim != 2 or rows.shape[1] != 4 or not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(f"state['points'] must be an integer array of shape (n, 4), got {rows.dtype} {rows.shape}")
        names = list(state["names"])
        dicts: list[dict[Location, int]] = [{} for _ in names]
        for label, x, y, feature in rows.tolist():
            if not 0 <= label < len(dicts):
                raise ValueError(f"state['points'] has label {label}, expected labels in [0, {len(dicts)})")
            dicts[label][(x, y)] = feature
        return cls.from_dicts(dicts, int(state["num_features"]), names)


def random_codes(
    num_codes: int,
    size: int = 150,
    active_bits: int = 10,
    seed: int | np.random.Generator | None = None,
) -> list[SDR]:
    """Draw a code book of ``num_codes`` random k-of-n SDRs (``active_bits`` of ``size``), e.g. one per feature id.

    Codes are drawn independently, so two codes overlap by chance only (about ``active_bits ** 2 / size`` bits).

    Args:
        num_codes: number of codes.
        size: bits per code.
        active_bits: active bits per code, ``<= size``.
        seed: random seed or generator.

    Returns:
        A list of :class:`~htmagent.sdr.SDR`, code ``i`` for identity ``i``.
    """
    num_codes = check_int(num_codes, "num_codes", 1)
    size = check_int(size, "size", 1)
    active_bits = check_int(active_bits, "active_bits", 1)
    if active_bits > size:
        raise ValueError(f"active_bits must be <= size ({size}), got {active_bits}")
    rng = make_rng(seed)
    return [
        SDR._trusted(size, np.sort(rng.choice(size, size=active_bits, replace=False)).astype(np.int32))
        for _ in range(num_codes)
    ]
