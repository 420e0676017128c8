"""Motor policies: where each sensor moves next, from what the agent itself knows. One protocol for the library.

Every place that moves sensors over an object uses the policies of this module: ``Network.infer`` (the papers'
experiments, where the sensors touch the object's surface), :class:`~htmagent.agent.HTMAgent` (which plays the
sensorimotor environments and never observes where its sensors are) and the active-sensing environment's baselines.
A policy never sees which object is there; it sees what the agent knows:

- its own movements and what each sensor sensed (:meth:`MotorPolicy.observe`: the efference copy and the sensation),
- which learned objects the network still backs (``candidates`` of :meth:`MotorPolicy.next_jumps`, from the
  columns' L2/3 overlaps: :func:`candidate_objects`),
- its memory of the learned objects (features at locations, given at construction),
- and, where the task says so, the object's touchable surface (``surface`` of :meth:`MotorPolicy.reset`).

Protocol (any object with these methods and attributes is a policy)::

    policy.reset(rng, surface=None)            # a new episode; surface: the touchable points, when known
    policy.observe(moves, features)            # each sensor's move made and the feature it sensed (-1 none, -2 unknown)
    policy.next_jumps(candidates) -> (n, 2)    # each sensor's requested move for the coming sensation
    policy.ego                                 # (n, 2) where the policy believes the sensors are, in its frame

*Frames.* Without a surface (the agent, the active-sensing environment) positions are ego-centric: each sensor starts
at ``(0, 0)`` and the policy keeps the set of absolute start cells ("origins") consistent with its path inside the
learned grid ``extent`` — a move shorter than requested stopped at an edge and pins the sensor to it. With a surface
(``Network.infer``) the frame is the object's own: the sensors start unplaced at ``(0, 0)``, every move lands exactly
where requested, and targets are surface points, distinct across sensors while enough remain.

*Policies.* :class:`RandomJumps` jumps to unvisited cells at random (``uniform=True``: a uniformly random move instead,
the baseline of the active-sensing study). :class:`HypothesisJumps` keeps the (object, origin) hypotheses among the
network's candidates that explain everything sensed and jumps where they disagree most: the move whose sensation
should leave the fewest candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from htmagent._rng import restore_rng, rng_state
from htmagent._validation import is_int
from htmagent.cortex.objects import SensoryObject
from htmagent._state import atomic_load

__all__ = [
    "EMPTY",
    "UNKNOWN",
    "HypothesisJumps",
    "HypothesisPolicy",
    "MotorPolicy",
    "RandomJumps",
    "RandomPolicy",
    "candidate_objects",
    "make_policy",
]

EMPTY = -1  # a sensor over empty space (all-zero SDR, blank patch): no feature
UNKNOWN = -2  # a sensation never met while learning: no feature id either

Point = tuple[int, int]


@runtime_checkable
class MotorPolicy(Protocol):
    """A motor policy (see the module docstring)."""

    num_sensors: int

    def reset(self, rng: np.random.Generator, surface: Sequence[Point] | None = None) -> None:
        """Start an episode with ``rng``; ``surface``: the object's touchable points when the task gives them."""

    def observe(self, moves: np.ndarray, features: Sequence[int]) -> None:
        """Take in one sensation: each sensor's move actually made and the feature it sensed."""

    def next_jumps(self, candidates: Sequence[int] | None = None) -> np.ndarray:
        """The ``(num_sensors, 2)`` moves requested for the next sensation."""


def candidate_objects(overlaps: np.ndarray, threshold: int) -> np.ndarray | None:
    """Learned objects every column still backs: L2/3 overlap ``>= threshold`` cells in every column.

    Args:
        overlaps: ``(num_columns, num_learned_objects)`` overlap of each column's L2/3 activity with each object code.
        threshold: cells of overlap for an object to stay possible (>= 1).

    Returns:
        The indices of the backed objects, or ``None`` (every object possible) when none is backed — before the
        first sensation, or when the columns disagree.
    """
    overlaps = np.asarray(overlaps)
    if overlaps.size == 0:
        return None
    alive = np.flatnonzero(np.all(overlaps >= threshold, axis=0))
    return alive if alive.size else None


class RandomJumps:
    """Motor policy: each sensor jumps to a random cell it has not visited, under the agent's own belief of where it is.

    Without a surface (the agent never observes where a sensor is, only how it moved) each sensor keeps the set of
    *origins* (absolute start cells in the learned grid ``extent``) consistent with its path: every position it reached
    lies inside the grid, and a move shorter than requested pins the sensor to that edge. To choose a jump the policy
    draws one plausible origin uniformly, then a grid cell uniformly among those not yet visited under that origin,
    and jumps there (clipped to ``max_jump``). The draws depend only on the displacements observed, never on what was
    sensed, so two players with the same RNG state walk the same path on the same episode.

    With a surface (``reset(rng, surface=points)``: the sensors touch the object, as in ``Network.infer``) the
    surface's points are shuffled once per episode and the sensors take the next unvisited ones in that order,
    distinct across sensors, topped up with random points once every point has been visited.

    Args:
        extent: ``(width, height)`` of the learned grid in cells (needed without a surface).
        max_jump: largest move per axis and step (``None``: anywhere, as with a surface).
        num_sensors: sensors moved together.
        uniform: jump uniformly at random over ``[-max_jump, max_jump]`` per axis instead (the sensor may stay or hit
            an edge; needs ``max_jump``): the baseline that knows nothing.
    """

    def __init__(self, extent: tuple[int, int] | None = None, max_jump: int | None = None, num_sensors: int = 1,
                 uniform: bool = False):
        if extent is not None:
            if len(extent) != 2:
                raise ValueError(f"extent must be (width, height), got {extent!r}")
            for name, value in (("extent[0]", extent[0]), ("extent[1]", extent[1])):
                if not is_int(value) or value < 1:
                    raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name, value in (("max_jump", max_jump), ("num_sensors", num_sensors)):
            if (value is not None or name == "num_sensors") and (not is_int(value) or value < 1):
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not isinstance(uniform, (bool, np.bool_)):
            raise TypeError(f"uniform must be a bool, got {type(uniform).__name__}")
        if uniform and max_jump is None:
            raise ValueError("uniform jumps need max_jump (the range of a move), got max_jump=None")
        self.extent = None if extent is None else (int(extent[0]), int(extent[1]))
        self.max_jump = None if max_jump is None else int(max_jump)
        self.num_sensors = int(num_sensors)
        self.uniform = bool(uniform)
        self._rng: np.random.Generator | None = None
        self._surface: list[Point] | None = None
        self._clear()

    # ------------------------------------------------------------------------------------------------- belief
    def _clear(self) -> None:
        s = self.num_sensors
        w, h = self.extent if self.extent is not None else (1, 1)
        self.ego = np.zeros((s, 2), dtype=np.int64)
        self.origins = np.ones((s, w, h), dtype=bool)
        self.path = np.zeros((0, s, 2), dtype=np.int64)
        self.features = np.zeros((0, s), dtype=np.int64)
        self._request: np.ndarray | None = None

    def reset(self, rng: np.random.Generator, surface: Sequence[Point] | None = None) -> None:
        """Start an episode: every sensor at ``(0, 0)`` of its frame.

        Args:
            rng: the episode's generator (kept: the policy draws from it).
            surface: the object's touchable points, when the task gives them (``Network.infer``); their frame is the
                policy's then.

        Raises:
            ValueError: an empty surface, or no surface and no ``extent`` for a policy that needs one.
        """
        if surface is not None:
            points = [tuple(int(v) for v in p) for p in surface]
            if not points:
                raise ValueError("surface must hold at least one point, got none")
            self._surface = self._order_surface(points, rng)
        else:
            if self.extent is None and not self.uniform:
                raise ValueError("without a surface the policy needs the grid's extent: "
                                 f"{type(self).__name__}(extent=(width, height), ...)")
            self._surface = None
        self._rng = rng
        self._clear()

    def _order_surface(self, points: list[Point], rng: np.random.Generator) -> list[Point]:
        """The order in which surface points are tried: a shuffle (random policy)."""
        order = rng.permutation(len(points))
        return [points[i] for i in order]

    def observe(self, moves: np.ndarray, features: Sequence[int]) -> None:
        """Take in one sensation: each sensor's move actually made and its feature id (``-1`` none, ``-2`` unknown)."""
        moves = np.asarray(moves, dtype=np.int64).reshape(self.num_sensors, 2)
        self.ego = self.ego + moves
        if self._surface is None and self.extent is not None:
            self._narrow_origins(moves)
        self.path = np.concatenate([self.path, self.ego[None]], axis=0)
        self.features = np.concatenate([self.features, np.asarray(features, dtype=np.int64)[None]], axis=0)

    def _narrow_origins(self, moves: np.ndarray) -> None:
        w, h = self.extent
        xs, ys = np.arange(w)[:, None], np.arange(h)[None, :]
        for s in range(self.num_sensors):
            ex, ey = self.ego[s]
            mask = (xs + ex >= 0) & (xs + ex < w) & (ys + ey >= 0) & (ys + ey < h)
            if self._request is not None:
                request = self._request[s]
                # A shorter move than requested stopped at an edge: it tells the sensor where it is on that axis.
                if moves[s, 0] != request[0]:
                    mask &= (xs + ex == (w - 1 if request[0] > moves[s, 0] else 0))
                if moves[s, 1] != request[1]:
                    mask &= (ys + ey == (h - 1 if request[1] > moves[s, 1] else 0))
            narrowed = self.origins[s] & mask
            # An empty set means the moves contradict the learned extent (another grid?): fall back on what is left.
            self.origins[s] = narrowed if narrowed.any() else mask if mask.any() else True

    # ---------------------------------------------------------------------------------------------- choosing
    def next_jumps(self, candidates: Sequence[int] | None = None) -> np.ndarray:
        """The ``(num_sensors, 2)`` jumps of the next step (``candidates`` is ignored by this policy)."""
        rng = self._require_rng()
        if self.uniform:
            jumps = rng.integers(0, 2 * self.max_jump + 1, 2 * self.num_sensors).astype(np.int64) - self.max_jump
            return self._requested(jumps.reshape(self.num_sensors, 2))
        if self._surface is not None:
            visited = set(map(tuple, self.path.reshape(-1, 2).tolist()))
            chosen = [p for p in self._surface if p not in visited][:self.num_sensors]
            return self._jumps_to(_top_up(chosen, self._surface, self.num_sensors, rng))
        return np.stack([self._request_jump(s, self._random_target(s, rng)) for s in range(self.num_sensors)])

    def _require_rng(self) -> np.random.Generator:
        if self._rng is None:
            raise RuntimeError("call reset(rng) before next_jumps()")
        return self._rng

    def _jumps_to(self, targets: Sequence[Point]) -> np.ndarray:
        """Moves from where the sensors are to ``targets`` (one per sensor), recorded as the request."""
        return self._requested(np.asarray(targets, dtype=np.int64).reshape(self.num_sensors, 2) - self.ego)

    def _requested(self, jumps: np.ndarray) -> np.ndarray:
        self._request = jumps.astype(np.int64).copy()
        return jumps.astype(np.int64)

    def _random_target(self, s: int, rng: np.random.Generator) -> np.ndarray:
        """Ego-centric target of sensor ``s``: a random unvisited cell under a random plausible origin."""
        w, h = self.extent
        origins = np.argwhere(self.origins[s])
        origin = origins[int(rng.integers(len(origins)))]
        free = np.ones((w, h), dtype=bool)
        visited = self.path[:, s] + origin
        inside = (visited[:, 0] >= 0) & (visited[:, 0] < w) & (visited[:, 1] >= 0) & (visited[:, 1] < h)
        free[visited[inside, 0], visited[inside, 1]] = False
        if not free.any():
            free[:] = True
            here = self.ego[s] + origin
            free[here[0], here[1]] = False
            if not free.any():  # a 1 x 1 grid: nowhere else to go
                return self.ego[s].copy()
        cells = np.argwhere(free)
        return cells[int(rng.integers(len(cells)))] - origin

    def _request_jump(self, s: int, target: np.ndarray) -> np.ndarray:
        jump = np.asarray(target) - self.ego[s]
        if self.max_jump is not None:
            jump = np.clip(jump, -self.max_jump, self.max_jump)
        jump = jump.astype(np.int64)
        if self._request is None:
            self._request = np.zeros((self.num_sensors, 2), dtype=np.int64)
        self._request[s] = jump
        return jump

    # ------------------------------------------------------------------------------------------ save / load
    def state_dict(self) -> dict:
        """The episode's belief (positions, origins, path, features, last request) and the RNG."""
        return {"ego": self.ego.copy(), "origins": self.origins.copy(), "path": self.path.copy(),
                "features": self.features.copy(),
                "request": np.zeros((0, 2), np.int64) if self._request is None else self._request.copy(),
                "rng": {} if self._rng is None else rng_state(self._rng)}

    @atomic_load
    def load_state_dict(self, state: Mapping, rng: np.random.Generator | None = None) -> None:
        """Restore :meth:`state_dict`'s output; ``rng`` (if given) replaces the saved generator (shared streams)."""
        extent = self.extent if self.extent is not None else (1, 1)
        self.ego = np.asarray(state["ego"], dtype=np.int64).reshape(self.num_sensors, 2)
        self.origins = np.asarray(state["origins"], dtype=bool).reshape(self.num_sensors, *extent)
        self.path = np.asarray(state["path"], dtype=np.int64).reshape(-1, self.num_sensors, 2)
        self.features = np.asarray(state["features"], dtype=np.int64).reshape(-1, self.num_sensors)
        request = np.asarray(state["request"], dtype=np.int64)
        self._request = request.reshape(self.num_sensors, 2) if request.size else None
        if rng is not None:
            self._rng = rng
        elif state["rng"]:
            self._rng = restore_rng(state["rng"])


class HypothesisJumps(RandomJumps):
    """Motor policy: each sensor jumps to the cell whose sensation should leave the network the fewest candidates.

    The agent remembers every learned object as features at locations. A *hypothesis* of sensor ``s`` is a pair
    (object, origin): the object is one the network still backs (the ``candidates`` of :meth:`next_jumps`), and
    placing the sensor's start at the origin explains every feature the sensor sensed at its positions, and every edge
    it bumped into. An object stays possible only if every sensor has a hypothesis on it (all sensors touch the same
    object). Without any consistent hypothesis the policy falls back to :class:`RandomJumps`.

    Without a surface (``objects`` = the learned objects on the grid), for each cell reachable in one jump each
    hypothesis predicts what the sensor would sense there: a feature, or nothing (empty space, or past the edge). The
    network narrows its candidates only on features, so the expected number left after the jump is
    ``sum_f p_f * |objects predicting f|`` plus ``p_nothing * |all candidates|``, with ``p`` counted over hypotheses.
    The cell with the lowest expectation wins; ties go to the cell most likely to carry a feature, then at random.

    With a surface (``Network.infer``; ``objects`` = the learned :class:`SensoryObject` s) the origin is known, every
    target is a feature of the object, and an object without that point is ruled out as surely as one with another
    feature: a point's score is ``sum_g n_g**2 / n`` over the groups of candidates sharing the same feature there
    (objects without the point form one group); the lowest wins, ties at random, and the sensors take distinct
    unvisited points greedily.

    Args:
        extent, max_jump, num_sensors: as in :class:`RandomJumps`.
        objects: without a surface, ``(num_objects, width, height)`` feature ids of the learned objects on the grid
            (``-1`` = empty); with one, the learned objects (``network.learned_objects``).
        clamp_to_grid: without a surface, predict a jump past the grid's edge as stopping at the edge (as the
            library's environments move a sensor) instead of sensing nothing there.
        tie_break: among equally good jumps, prefer the one most likely to sense a feature (``"feature"``) or a
            feature at a cell not touched yet (``"new_feature"``: the network firms up only on new
            feature-locations).
    """

    def __init__(self, extent: tuple[int, int] | None = None, max_jump: int | None = None, num_sensors: int = 1,
                 objects: np.ndarray | Sequence[SensoryObject] | None = None, clamp_to_grid: bool = False,
                 tie_break: str = "feature"):
        super().__init__(extent, max_jump, num_sensors)
        if not isinstance(clamp_to_grid, (bool, np.bool_)):
            raise TypeError(f"clamp_to_grid must be a bool, got {type(clamp_to_grid).__name__}")
        if tie_break not in ("feature", "new_feature"):
            raise ValueError(f"tie_break must be 'feature' or 'new_feature', got {tie_break!r}")
        self.clamp_to_grid = bool(clamp_to_grid)
        self.tie_break = tie_break
        self.learned: list[SensoryObject] | None = None
        self.objects: np.ndarray | None = None
        if objects is None:
            raise ValueError("objects must be the learned objects: a (num_objects, width, height) grid of feature ids "
                             "or a sequence of SensoryObject, got None")
        if not isinstance(objects, np.ndarray) and all(isinstance(o, SensoryObject) for o in objects):
            self.learned = list(objects)  # may be empty while the network is still learning: then random points
            return
        grids = np.asarray(objects)
        if (self.extent is None or grids.ndim != 3 or grids.shape[1:] != self.extent
                or not np.issubdtype(grids.dtype, np.integer)):
            shape = "(num_objects, width, height)" if self.extent is None else \
                f"(num_objects, {self.extent[0]}, {self.extent[1]})"
            raise ValueError(f"objects must be an integer array of shape {shape} or a sequence of SensoryObject, "
                             f"got {grids.dtype} {grids.shape}")
        self.objects = grids.astype(np.int64)

    def _order_surface(self, points: list[Point], rng: np.random.Generator) -> list[Point]:
        if self.learned is None:
            raise ValueError("a surface needs the learned objects as SensoryObjects: "
                             "HypothesisJumps(objects=network.learned_objects, ...)")
        return points

    # ------------------------------------------------------------------------------------------------ surface
    def _surface_jumps(self, candidates: Sequence[int] | None, rng: np.random.Generator) -> np.ndarray:
        learned = self.learned
        possible = learned if candidates is None else [learned[i] for i in candidates]
        visited = set(map(tuple, self.path.reshape(-1, 2).tolist()))
        free = [p for p in self._surface if p not in visited]
        scores = np.array([_split_score(possible, p) for p in free], dtype=np.float64)
        jitter = rng.random(len(free))
        order = np.lexsort((jitter, scores))
        chosen = [free[i] for i in order[:self.num_sensors]]
        return self._jumps_to(_top_up(chosen, self._surface, self.num_sensors, rng))

    # ------------------------------------------------------------------------------------------------- belief
    def _hypotheses(self, s: int, candidates: np.ndarray) -> np.ndarray:
        """``(n, 3)`` rows (object, origin x, origin y) consistent with sensor ``s``'s path."""
        origins = np.argwhere(self.origins[s])
        obj = np.repeat(candidates, len(origins))
        ox = np.tile(origins[:, 0], len(candidates))
        oy = np.tile(origins[:, 1], len(candidates))
        ok = np.ones(obj.size, dtype=bool)
        w, h = self.extent
        for (ex, ey), feature in zip(self.path[:, s], self.features[:, s]):
            x, y = ox + ex, oy + ey
            ok &= (x >= 0) & (x < w) & (y >= 0) & (y < h)
            if feature == UNKNOWN:
                continue  # a sensation no learned object explains says nothing about where the sensor is
            ok &= self.objects[obj, np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)] == feature
        return np.stack([obj[ok], ox[ok], oy[ok]], axis=1)

    def next_jumps(self, candidates: Sequence[int] | None = None) -> np.ndarray:
        """The ``(num_sensors, 2)`` jumps of the next step.

        Args:
            candidates: indices (into the learned objects) the network still backs; ``None`` = all.
        """
        rng = self._require_rng()
        if self._surface is not None:
            return self._surface_jumps(None if candidates is None else list(candidates), rng)
        if self.objects is None:
            raise ValueError("without a surface the policy needs the learned objects on the grid: "
                             "HypothesisJumps(extent, max_jump, num_sensors, objects=<(n, width, height) ids>)")
        cand = np.arange(len(self.objects)) if candidates is None else np.asarray(list(candidates), dtype=np.int64)
        hyps = [self._hypotheses(s, cand) for s in range(self.num_sensors)]
        alive = set(cand.tolist())
        for h in hyps:
            alive &= set(h[:, 0].tolist())
        jumps = []
        for s in range(self.num_sensors):
            h = hyps[s][np.isin(hyps[s][:, 0], list(alive))] if alive else hyps[s][:0]
            target = self._best_target(s, h, rng) if len(h) else self._random_target(s, rng)
            jumps.append(self._request_jump(s, target))
        return np.stack(jumps)

    def _best_target(self, s: int, hyps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        w, h = self.extent
        j = self.max_jump if self.max_jump is not None else max(w, h)
        offsets = np.array([(dx, dy) for dx in range(-j, j + 1) for dy in range(-j, j + 1) if dx or dy],
                           dtype=np.int64)
        targets = self.ego[s] + offsets
        seen = {tuple(p) for p in self.path[:, s].tolist()}
        fresh = np.array([tuple(t) not in seen for t in targets.tolist()], dtype=bool)
        if fresh.any():
            targets = targets[fresh]
        ax = hyps[:, 1][:, None] + targets[None, :, 0]  # (hypotheses, targets)
        ay = hyps[:, 2][:, None] + targets[None, :, 1]
        if self.clamp_to_grid:
            ax, ay = np.clip(ax, 0, w - 1), np.clip(ay, 0, h - 1)
        inside = (ax >= 0) & (ax < w) & (ay >= 0) & (ay < h)
        obj = np.broadcast_to(hyps[:, 0][:, None], ax.shape)
        outcome = np.full(ax.shape, EMPTY, dtype=np.int64)
        outcome[inside] = self.objects[obj[inside], ax[inside], ay[inside]]
        n_hyp, n_targets = ax.shape
        n_objects = len(np.unique(hyps[:, 0]))
        featured = outcome >= 0
        p_feature = featured.mean(axis=0)
        # Per (target, feature): hypotheses predicting it and distinct objects predicting it.
        t_idx = np.broadcast_to(np.arange(n_targets)[None, :], ax.shape)[featured]
        f_idx = outcome[featured]
        o_idx = obj[featured]
        num_f = int(f_idx.max()) + 1 if f_idx.size else 1
        counts = np.bincount(t_idx * num_f + f_idx, minlength=n_targets * num_f)
        pairs = np.unique(np.stack([t_idx * num_f + f_idx, o_idx], axis=1), axis=0)
        distinct = np.bincount(pairs[:, 0], minlength=n_targets * num_f)
        expected = (counts * distinct).reshape(n_targets, num_f).sum(axis=1) / n_hyp
        expected = expected + (1.0 - p_feature) * n_objects
        prefer = p_feature
        if self.tie_break == "new_feature":
            # Absolute cells each hypothesis says the sensor already touched: a feature there adds nothing new.
            vx = hyps[:, 1][:, None] + self.path[None, :, s, 0]
            vy = hyps[:, 2][:, None] + self.path[None, :, s, 1]
            seen = ((ax[:, :, None] == vx[:, None, :]) & (ay[:, :, None] == vy[:, None, :])).any(axis=2)
            prefer = (featured & ~seen).mean(axis=0)
        order = np.lexsort((rng.random(n_targets), -prefer, expected))
        return targets[order[0]]


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


# The names Network.infer's two policies have always had (``from htmagent import RandomPolicy``): the same classes.
RandomPolicy = RandomJumps
HypothesisPolicy = HypothesisJumps


def make_policy(policy: str | MotorPolicy, num_sensors: int, objects: Sequence[SensoryObject] = ()) -> MotorPolicy:
    """Turn ``"random"`` / ``"hypothesis"`` or a policy object into a policy for sensors touching a surface.

    Args:
        policy: a name, or a :class:`MotorPolicy` (returned as it is).
        num_sensors: sensors the policy moves.
        objects: the learned objects (the hypothesis policy's memory).
    """
    if isinstance(policy, str):
        if policy == "random":
            return RandomJumps(num_sensors=num_sensors)
        if policy == "hypothesis":
            return HypothesisJumps(num_sensors=num_sensors, objects=list(objects))
        raise ValueError(f"policy must be 'random', 'hypothesis' or a MotorPolicy, got {policy!r}")
    if not isinstance(policy, MotorPolicy):
        raise TypeError(f"policy must be 'random', 'hypothesis' or an object with reset(), observe() and "
                        f"next_jumps(), got {type(policy).__name__}")
    return policy
