"""Motor policies of :class:`~htmagent.agent.HTMAgent`: where each sensor jumps next, from what the agent knows.

The agent never observes where its sensors are, only how they moved. :class:`RandomJumps` keeps, per sensor, the
start cells consistent with its path and jumps to unvisited cells; :class:`HypothesisJumps` also keeps the (object,
start cell) pairs among the network's candidates that explain what the sensor felt, and jumps where they disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from htmagent._rng import restore_rng, rng_state
from htmagent._validation import is_int

__all__ = ["HypothesisJumps", "RandomJumps"]

EMPTY = -1  # a sensor over empty space (all-zero SDR, blank patch): no feature
UNKNOWN = -2  # a sensation never met while learning: no feature id either


class RandomJumps:
    """Motor policy: each sensor jumps to a random grid cell it has not visited, under the agent's own belief of where
    it is.

    The agent never observes where a sensor is, only how it moved. What it does know: the grid's extent (learned while
    learning), that a sensor starts inside the grid, and that a jump past an edge stops at the edge. So each sensor
    keeps the set of *origins* (absolute start cells) consistent with its path: every position it reached lies
    inside the grid, and a move shorter than requested pins the sensor to that edge. To choose a jump the policy
    draws one plausible origin uniformly, then a grid cell uniformly among those not yet visited under that origin,
    and jumps there (clipped to ``max_jump``). The draws depend only on the displacements observed, never on what was
    sensed, so two players with the same RNG state walk the same path on the same episode.

    Args:
        extent: ``(width, height)`` of the grid in cells.
        max_jump: largest jump per axis and step.
        num_sensors: sensors moved together.
    """

    def __init__(self, extent: tuple[int, int], max_jump: int, num_sensors: int):
        for name, value in (("extent[0]", extent[0]), ("extent[1]", extent[1]), ("max_jump", max_jump),
                            ("num_sensors", num_sensors)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.extent = (int(extent[0]), int(extent[1]))
        self.max_jump = int(max_jump)
        self.num_sensors = int(num_sensors)
        self._rng: np.random.Generator | None = None
        self._clear()

    def _clear(self) -> None:
        s, (w, h) = self.num_sensors, self.extent
        self.ego = np.zeros((s, 2), dtype=np.int64)
        self.origins = np.ones((s, w, h), dtype=bool)
        self.path = np.zeros((0, s, 2), dtype=np.int64)
        self.features = np.zeros((0, s), dtype=np.int64)
        self._request: np.ndarray | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode: every sensor at its own origin ``(0, 0)``, every grid cell a possible origin."""
        self._rng = rng
        self._clear()

    def observe(self, displacement: np.ndarray, features: Sequence[int]) -> None:
        """Take in one step: each sensor's move actually made and its feature id (``-1`` none, ``-2`` unknown)."""
        displacement = np.asarray(displacement, dtype=np.int64).reshape(self.num_sensors, 2)
        self.ego = self.ego + displacement
        w, h = self.extent
        xs, ys = np.arange(w)[:, None], np.arange(h)[None, :]
        for s in range(self.num_sensors):
            ex, ey = self.ego[s]
            mask = (xs + ex >= 0) & (xs + ex < w) & (ys + ey >= 0) & (ys + ey < h)
            if self._request is not None:
                request = self._request[s]
                # A shorter move than requested stopped at an edge: it tells the sensor where it is on that axis.
                if displacement[s, 0] != request[0]:
                    mask &= (xs + ex == (w - 1 if request[0] > displacement[s, 0] else 0))
                if displacement[s, 1] != request[1]:
                    mask &= (ys + ey == (h - 1 if request[1] > displacement[s, 1] else 0))
            narrowed = self.origins[s] & mask
            # An empty set means the moves contradict the learned extent (another grid?): fall back on what is left.
            self.origins[s] = narrowed if narrowed.any() else mask if mask.any() else True
        self.path = np.concatenate([self.path, self.ego[None]], axis=0)
        self.features = np.concatenate([self.features, np.asarray(features, dtype=np.int64)[None]], axis=0)

    def next_jumps(self, candidates: Sequence[int] | None = None) -> np.ndarray:
        """The ``(num_sensors, 2)`` jumps of the next step (``candidates`` is ignored by this policy)."""
        rng = self._require_rng()
        return np.stack([self._request_jump(s, self._random_target(s, rng)) for s in range(self.num_sensors)])

    def _require_rng(self) -> np.random.Generator:
        if self._rng is None:
            raise RuntimeError("call reset(rng) before next_jumps()")
        return self._rng

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
        jump = np.clip(np.asarray(target) - self.ego[s], -self.max_jump, self.max_jump).astype(np.int64)
        if self._request is None:
            self._request = np.zeros((self.num_sensors, 2), dtype=np.int64)
        self._request[s] = jump
        return jump

    def state_dict(self) -> dict:
        """The episode's belief (positions, origins, path, features, last request) and the RNG."""
        return {"ego": self.ego.copy(), "origins": self.origins.copy(), "path": self.path.copy(),
                "features": self.features.copy(),
                "request": np.zeros((0, 2), np.int64) if self._request is None else self._request.copy(),
                "rng": {} if self._rng is None else rng_state(self._rng)}

    def load_state_dict(self, state: Mapping, rng: np.random.Generator | None = None) -> None:
        """Restore :meth:`state_dict`'s output; ``rng`` (if given) replaces the saved generator (shared streams)."""
        self.ego = np.asarray(state["ego"], dtype=np.int64).reshape(self.num_sensors, 2)
        self.origins = np.asarray(state["origins"], dtype=bool).reshape(self.num_sensors, *self.extent)
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

    The agent remembers every learned object as features on the grid, in the frame it learned it in. A *hypothesis*
    of sensor ``s`` is a pair (object, origin): the object is one the network still considers possible (the
    ``candidates`` passed in, from its L2/3 overlaps), and placing the sensor's start at the origin explains every
    feature the sensor has sensed at its ego-centric positions, and every edge it bumped into. An object stays possible
    only if every sensor has a hypothesis on it (all sensors touch the same object).

    For each cell reachable in one jump, each hypothesis predicts what the sensor would sense there: a feature, or
    nothing (empty space, or past the edge). The network narrows its candidates only on features, so the expected
    number of candidates left after the jump is ``sum_f p_f * |objects predicting f|`` over features ``f``, plus
    ``p_nothing * |all candidates|``, where ``p`` counts hypotheses. The cell with the lowest expectation wins; ties
    go to the cell most likely to carry a feature, then at random. Without any consistent hypothesis the policy falls
    back to :class:`RandomJumps`.

    Args:
        extent, max_jump, num_sensors: as in :class:`RandomJumps`.
        objects: ``(num_objects, width, height)`` feature ids of the learned objects on the grid (``-1`` = empty).
    """

    def __init__(self, extent: tuple[int, int], max_jump: int, num_sensors: int, objects: np.ndarray):
        super().__init__(extent, max_jump, num_sensors)
        objects = np.asarray(objects)
        if objects.ndim != 3 or objects.shape[1:] != self.extent or not np.issubdtype(objects.dtype, np.integer):
            raise ValueError(f"objects must be an integer array of shape (num_objects, {self.extent[0]}, "
                             f"{self.extent[1]}), got {objects.dtype} {objects.shape}")
        self.objects = objects.astype(np.int64)

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
            candidates: indices (rows of ``objects``) the network still considers possible; ``None`` = all.
        """
        rng = self._require_rng()
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
        j = self.max_jump
        offsets = np.array([(dx, dy) for dx in range(-j, j + 1) for dy in range(-j, j + 1) if dx or dy],
                           dtype=np.int64)
        targets = self.ego[s] + offsets
        seen = {tuple(p) for p in self.path[:, s].tolist()}
        fresh = np.array([tuple(t) not in seen for t in targets.tolist()], dtype=bool)
        if fresh.any():
            targets = targets[fresh]
        ax = hyps[:, 1][:, None] + targets[None, :, 0]  # (hypotheses, targets)
        ay = hyps[:, 2][:, None] + targets[None, :, 1]
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
        order = np.lexsort((rng.random(n_targets), -p_feature, expected))
        return targets[order[0]]
