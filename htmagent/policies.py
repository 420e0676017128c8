"""Motor policies: where each column's sensor touches the object next.

A policy sees only what the network itself knows: the object's surface (the points that can be touched, not their
features), the points already touched, the L2/3 overlaps of every column with every learned object, and the objects
the network has learned. It never sees which object is really there.

Protocol (any object with these two methods is a policy)::

    policy.reset(obj_points, rng)                       # a new object: its touchable points, the episode's RNG
    policy.next_points(state) -> list[(x, y)]           # one point per column, for the coming sensation
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from htmagent.cortex.objects import SensoryObject

__all__ = ["NetworkState", "Policy", "RandomPolicy", "HypothesisPolicy", "make_policy"]

Point = tuple[int, int]


@dataclass(frozen=True)
class NetworkState:
    """What a policy may look at before a sensation.

    Attributes:
        sensation: sensations already done (0 before the first).
        num_columns: columns to place.
        visited: every point touched so far, in order (all columns).
        overlaps: (num_columns, num_learned_objects) overlap of each column's L2/3 activity with each learned
            object's code (zeros before the first sensation).
        sdr_size: active cells per object code.
        learned_objects: the objects the network learned (its memory: feature at each location).
    """

    sensation: int
    num_columns: int
    visited: tuple[Point, ...]
    overlaps: np.ndarray
    sdr_size: int
    learned_objects: Sequence[SensoryObject]


@runtime_checkable
class Policy(Protocol):
    """A motor policy (see the module docstring)."""

    def reset(self, obj_points: Sequence[Point], rng: np.random.Generator) -> None:
        """Start a new object whose touchable points are ``obj_points``."""

    def next_points(self, state: NetworkState) -> list[Point]:
        """Return one point per column for the next sensation."""


class RandomPolicy:
    """Random points, no revisits while unvisited points remain, distinct across columns at each sensation."""

    def __init__(self) -> None:
        self._points: list[Point] = []
        self._rng: np.random.Generator | None = None

    def reset(self, obj_points: Sequence[Point], rng: np.random.Generator) -> None:
        """Shuffle the object's points into a visiting order."""
        points = [tuple(int(v) for v in p) for p in obj_points]
        if not points:
            raise ValueError("obj_points must hold at least one point, got none")
        order = rng.permutation(len(points))
        self._points = [points[i] for i in order]
        self._rng = rng

    def next_points(self, state: NetworkState) -> list[Point]:
        """The next unvisited points in the shuffled order, topped up with random visited ones."""
        if self._rng is None:
            raise RuntimeError("call reset(obj_points, rng) before next_points")
        visited = set(state.visited)
        chosen = [p for p in self._points if p not in visited][:state.num_columns]
        return _top_up(chosen, self._points, state.num_columns, self._rng)


class HypothesisPolicy:
    """Move each sensor to the unvisited point that best splits the objects the network still considers possible.

    Possible objects = learned objects whose code overlaps every column's L2/3 activity by at least
    ``min_overlap`` cells (all learned objects before the first sensation, or if none passes). A point's score is the
    expected number of possible objects left after sensing it, ``sum_g n_g**2 / n`` over the groups of possible
    objects sharing the same feature there (objects without that point form one group); the lowest score wins, ties
    at random. Columns are placed greedily on distinct points.

    Args:
        min_overlap: overlap (cells) for an object to count as possible; ``None`` = half the code size.
    """

    def __init__(self, min_overlap: int | None = None) -> None:
        if min_overlap is not None and (not isinstance(min_overlap, int) or min_overlap < 1):
            raise ValueError(f"min_overlap must be None or an int >= 1, got {min_overlap!r}")
        self.min_overlap = min_overlap
        self._points: list[Point] = []
        self._rng: np.random.Generator | None = None

    def reset(self, obj_points: Sequence[Point], rng: np.random.Generator) -> None:
        """Remember the object's touchable points."""
        points = [tuple(int(v) for v in p) for p in obj_points]
        if not points:
            raise ValueError("obj_points must hold at least one point, got none")
        self._points = points
        self._rng = rng

    def possible_objects(self, state: NetworkState) -> list[int]:
        """Indices (into ``state.learned_objects``) of the objects the network still considers possible."""
        n = len(state.learned_objects)
        if state.sensation == 0 or state.overlaps.size == 0:
            return list(range(n))
        threshold = self.min_overlap if self.min_overlap is not None else max(1, state.sdr_size // 2)
        ok = np.all(state.overlaps >= threshold, axis=0)
        possible = np.flatnonzero(ok).tolist()
        return possible if possible else list(range(n))

    def next_points(self, state: NetworkState) -> list[Point]:
        """Greedy best-splitting points, one per column."""
        if self._rng is None:
            raise RuntimeError("call reset(obj_points, rng) before next_points")
        possible = [state.learned_objects[i] for i in self.possible_objects(state)]
        visited = set(state.visited)
        free = [p for p in self._points if p not in visited]
        scores = np.array([_split_score(possible, p) for p in free], dtype=np.float64)
        jitter = self._rng.random(len(free))
        order = np.lexsort((jitter, scores))
        chosen = [free[i] for i in order[:state.num_columns]]
        return _top_up(chosen, self._points, state.num_columns, self._rng)


def _split_score(objects: Sequence[SensoryObject], point: Point) -> float:
    groups: dict[int, int] = {}
    for obj in objects:
        feature = obj.points.get(point, -1)
        groups[feature] = groups.get(feature, 0) + 1
    total = max(len(objects), 1)
    return sum(n * n for n in groups.values()) / total


def _top_up(chosen: list[Point], points: list[Point], n: int, rng: np.random.Generator) -> list[Point]:
    """Fill ``chosen`` up to ``n`` points with random other points (distinct while enough exist)."""
    chosen = list(chosen)
    if len(chosen) < n:
        others = [p for p in points if p not in chosen]
        extra = rng.permutation(len(others))[:n - len(chosen)]
        chosen += [others[i] for i in extra]
    while len(chosen) < n:
        chosen.append(points[int(rng.integers(len(points)))])
    return chosen


def make_policy(policy: str | Policy) -> Policy:
    """Turn ``"random"``/``"hypothesis"`` or a policy object into a policy."""
    if isinstance(policy, str):
        if policy == "random":
            return RandomPolicy()
        if policy == "hypothesis":
            return HypothesisPolicy()
        raise ValueError(f"policy must be 'random', 'hypothesis' or a Policy, got {policy!r}")
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be 'random', 'hypothesis' or an object with reset() and next_points(), "
                        f"got {type(policy).__name__}")
    return policy
