"""Active sensing: an RL policy chooses where the sensors jump, a pretrained column network recognizes the object.

:class:`ActiveSensingEnv` turns ``htmagent/ObjectTouch-v0`` into a pure motor task. The policy picks only the sensor
jumps; the environment feeds every sensation to a :class:`~htmagent.cortex.network.Network` with grid-cell location
(``location="grid"``), whose columns path-integrate the observed displacements, and declares the object for the
policy as soon as the network recognizes one. What the policy sees is the network's state (how much its L2/3
activity overlaps each learned object, how many objects are still backed), never the sensor's location or the label.
A good policy is one that makes the network recognize the object in few sensations.

The library's motor policies (:mod:`htmagent.agent.motor`) play it too: :meth:`ActiveSensingEnv.motor_policy` builds
one from what the agent knows, and :func:`htmagent.experiments.active_sensing.evaluate` plays any policy on fixed
episode seeds beside the ideal observer.

Example:
    >>> from htmagent.envs.active_sensing import ActiveSensingEnv
    >>> from htmagent.experiments.active_sensing import evaluate
    >>> env = ActiveSensingEnv(num_objects=10, network_seed=0)
    >>> summary = evaluate(env, env.motor_policy("hypothesis"), episodes=20, seed=0)
    >>> summary.accuracy, summary.mean_sensations  # doctest: +SKIP
    (1.0, 2.55)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from htmagent._validation import NotLearnedError, is_int
from htmagent.agent.motor import (
    HypothesisJumps,
    MotorPolicy,
    RandomJumps,
    candidate_objects,
)
from htmagent.cortex.network import Network

__all__ = ["ActiveSensingEnv"]

_ENV_ID = "htmagent/ObjectTouch-v0"
_OPTION_KEYS = ("label",)


class ActiveSensingEnv(gym.Env):
    """ObjectTouch-v0 as a motor task: jump the sensors so that a pretrained column network recognizes the object fast.

    ## Description

    Each episode the inner ``ObjectTouch-v0`` draws an object and puts every sensor on one of its features. Every
    sensation (the first one at ``reset``, then one after each jump) goes to a pretrained
    :class:`~htmagent.cortex.network.Network` with grid-cell location: each column's grid cells path-integrate its sensor's
    observed displacements (sensor positions are accumulated from the displacements only, so they are ego-centric and
    start at ``(0, 0)``), L4 pairs feature and location, L2/3 narrows the set of objects and the columns vote. A sensor
    over empty space senses nothing; its grid cells still move. As soon as the network recognizes an object (every
    column's L2/3 overlaps one learned code by the recognition threshold and no other as much), this environment
    declares it to the inner environment, which ends the episode.

    Pretraining is supervised, as in the papers: the network learns the inner environment's
    ``object_set`` with ``Network.learn`` (features and locations given), unless a network already trained on that
    library is passed in. The feature under a sensor is decoded from its SDR with the inner environment's code book.

    ## Action Space

    ``MultiDiscrete([2J + 1] * (2 * num_sensors))`` with ``J`` the inner ``max_jump``: the inner action without its
    declaration slot, ``dx = action[2 * s] - J``, ``dy = action[2 * s + 1] - J``. A jump past the grid's edge stops
    at the edge (the observed displacement is the move made).

    ## Observation Space

    ``Box(0, 1, (n,), float32)``, the concatenation of:

    | Part                | Size                          | Meaning                                              |
    |---------------------|-------------------------------|------------------------------------------------------|
    | overlaps            | ``num_sensors * num_objects`` | per column, L2/3 overlap with each learned object's   |
    |                     |                               | code / code size                                      |
    | candidates          | 1                             | objects whose code every column overlaps by at least |
    |                     |                               | ``candidate_threshold`` cells / number of objects     |
    | feature             | ``num_sensors * (F + 1)``     | per sensor, one-hot feature id sensed now (last slot |
    |                     |                               | = empty space), ``F`` = features the network knows   |
    | displacement        | ``num_sensors * 2``           | last move ``(d + J) / 2J`` (0.5 = no move)            |
    | steps               | 1                             | jumps so far / ``max_steps``                          |

    Never the sensor's location nor the object's label.

    ## Rewards

    Those of the inner environment: ``-move_cost`` per jump, ``+1`` for a correct declaration, ``-1`` for a wrong one.

    ## Starting State

    The inner environment's (random object, sensors on random featured points), seeded through ``reset(seed=...)``.
    If the first sensation alone lets the network recognize the object, the next ``step`` declares at once (its jump
    is not made).

    Reproducibility: ``reset(seed=s)`` seeds the inner environment from this one's stream, the network is reset at
    every episode and draws nothing from its RNG while inferring, so an episode depends only on its seed and the
    actions, not on the episodes played before it.

    ## Episode End

    Terminated when the network recognizes an object (declared for the policy). After ``max_steps`` jumps
    (``max_steps + 1`` sensations) without recognition: with ``guess_at_limit`` the object with the largest overlap
    summed over columns is declared (terminated); otherwise the episode is truncated without a declaration.

    ## Info

    ``sensations`` (sensations so far), ``candidates`` (objects still backed); on a declaration also ``declared``,
    ``correct``, ``label`` (from the inner environment) and ``declared_by`` (``"network"`` or ``"limit"``).

    ## Arguments

    - ``env``: an ``ObjectTouch-v0`` instance (``gym.make`` or ``ObjectTouchEnv``); ``None`` makes one with
      ``num_sensors`` and ``env_kwargs``. Its ``TimeLimit``, if any, must allow ``max_steps`` moves and a declaration.
    - ``network``: a ``Network(location="grid")`` with ``num_sensors`` columns that learned this library (its
      objects' points and labels must match ``env``'s); ``None`` makes one (``network_seed``, ``network_kwargs``) and
      pretrains it. The environment takes it over: it resets and steps it (never learning).
    - ``num_sensors`` (1): sensors (= columns) when ``env`` is ``None``; ignored otherwise.
    - ``max_steps`` (20): jumps per episode at most.
    - ``guess_at_limit`` (True): declare the best guess when ``max_steps`` is reached.
    - ``candidate_threshold`` (half the L2/3 code size): overlap for an object to count as still backed.
    - ``repetitions`` (3): learning steps per point when pretraining.
    - ``render_mode``: passed to the inner environment when it is made here (``"rgb_array"`` or ``"human"``).
    - ``env_kwargs``: more ``ObjectTouch-v0`` arguments (``num_objects``, ``move_cost``, ``library_seed``, ...).

    Example:
        >>> env = ActiveSensingEnv(num_objects=10, network_seed=0)
        >>> observation, info = env.reset(seed=0)
        >>> observation, reward, terminated, truncated, info = env.step(env.action_space.sample())

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}

    def __init__(self, env: gym.Env | None = None, network: Network | None = None, num_sensors: int = 1,
                 max_steps: int = 20, guess_at_limit: bool = True, candidate_threshold: int | None = None,
                 network_seed: int | np.random.Generator | None = 0, network_kwargs: Mapping | None = None,
                 repetitions: int = 3, render_mode: str | None = None, **env_kwargs: Any):
        if not is_int(max_steps) or max_steps < 1:
            raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
        if not isinstance(guess_at_limit, (bool, np.bool_)):
            raise TypeError(f"guess_at_limit must be a bool, got {type(guess_at_limit).__name__}")
        if not is_int(repetitions) or repetitions < 2:
            raise ValueError(f"repetitions must be an int >= 2 (grid columns learn on predicted L4 cells), "
                             f"got {repetitions!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        if env is None:
            if not is_int(num_sensors) or num_sensors < 1:
                raise ValueError(f"num_sensors must be an int >= 1, got {num_sensors!r}")
            import htmagent.envs  # noqa: F401  (registers the ids)

            env = gym.make(_ENV_ID, num_sensors=int(num_sensors), max_episode_steps=int(max_steps) + 1,
                           render_mode=render_mode, **env_kwargs)
        else:
            if env_kwargs:
                raise ValueError(f"env_kwargs are only used when env is None, got {sorted(env_kwargs)}")
            self._check_inner(env, int(max_steps))
        inner = env.unwrapped
        self.env = env
        self.render_mode = getattr(env, "render_mode", None)
        self.object_set = inner.object_set
        self.num_sensors = int(inner.num_sensors)
        self.max_jump = int(inner.max_jump)
        self.max_steps = int(max_steps)
        self.guess_at_limit = bool(guess_at_limit)
        if network is None:
            network = Network(num_columns=self.num_sensors, location="grid", seed=network_seed,
                              **dict(network_kwargs or {}))
            network.learn(self.object_set, repetitions=int(repetitions))
        elif network_kwargs:
            raise ValueError(f"network_kwargs are only used when network is None, got {sorted(network_kwargs)}")
        self._check_network(network)
        self.network = network
        sdr_size = network.l2_params.sdr_size
        if candidate_threshold is None:
            candidate_threshold = max(1, sdr_size // 2)
        if not is_int(candidate_threshold) or not 1 <= candidate_threshold <= sdr_size:
            raise ValueError(f"candidate_threshold must be an int in [1, {sdr_size}], got {candidate_threshold!r}")
        self.candidate_threshold = int(candidate_threshold)
        self._labels = np.array([obj.label for obj in network.learned_objects], dtype=np.int64)
        self.num_objects = len(self._labels)
        self.num_features = int(network.num_features)
        s, n, f = self.num_sensors, self.num_objects, self.num_features
        self.action_space = spaces.MultiDiscrete(np.full(2 * s, 2 * self.max_jump + 1, dtype=np.int64))
        size = s * n + 1 + s * (f + 1) + 2 * s + 1
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        self._stay = np.full(2 * s, self.max_jump, dtype=np.int64)
        self._started = False
        self._done = False
        self._clear_episode()

    # ------------------------------------------------------------------------------------------------- validation
    def _check_inner(self, env: Any, max_steps: int) -> None:
        from htmagent.envs.object_touch import ObjectTouchEnv

        if not isinstance(env, gym.Env) or not isinstance(env.unwrapped, ObjectTouchEnv):
            raise TypeError(f"env must be an ObjectTouch-v0 environment (gym.make({_ENV_ID!r}) or ObjectTouchEnv), "
                            f"got {type(env).__name__}")
        limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
        if limit is not None and limit < max_steps + 1:
            raise ValueError(f"env's max_episode_steps must be >= max_steps + 1 ({max_steps + 1}: the moves and the "
                             f"declaration), got {limit}")

    def _check_network(self, network: Any) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"network must be an htmagent.Network, got {type(network).__name__}")
        if network.config.get("location") != "grid":
            raise ValueError(f"network must use grid-cell location (Network(location='grid')): the sensors' "
                             f"locations are never observed, got location={network.config.get('location')!r}")
        if network.num_columns != self.num_sensors:
            raise ValueError(f"network must have one column per sensor ({self.num_sensors}), "
                             f"got {network.num_columns}")
        if not network.learned_objects:
            raise NotLearnedError("network has learned no object: call network.learn(env.unwrapped.object_set) first")
        if network.num_features < self.object_set.num_features:
            raise ValueError(f"network must know the env's {self.object_set.num_features} features, "
                             f"got {network.num_features}")
        for obj in network.learned_objects:
            if not 0 <= obj.label < len(self.object_set) or self.object_set[obj.label].points != obj.points:
                raise ValueError(f"network learned an object (label {obj.label}) that is not the env's object "
                                 f"{obj.label}: train it on env.unwrapped.object_set")

    # ---------------------------------------------------------------------------------------------------- episode
    def _clear_episode(self) -> None:
        s = self.num_sensors
        self._ego = np.zeros((s, 2), dtype=np.int64)
        self._path: list[np.ndarray] = []
        self._features: list[np.ndarray] = []
        self._displacement = np.zeros((s, 2), dtype=np.int64)
        self._overlaps = np.zeros((s, self.num_objects), dtype=np.int64)
        self._recognized: int | None = None

    def _sense(self, observation: Mapping[str, np.ndarray]) -> None:
        inner = self.env.unwrapped
        displacement = np.rint(np.asarray(observation["displacement"], dtype=np.float64)).astype(np.int64)
        features = np.array([-1 if (f := inner.feature_id(bits)) is None else f for bits in observation["features"]],
                            dtype=np.int64)
        self._displacement = displacement
        self._ego = self._ego + displacement
        self._path.append(self._ego.copy())
        self._features.append(features)
        self.network.step([((int(x), int(y)), None if f < 0 else int(f)) for (x, y), f in zip(self._ego, features)])
        self._overlaps = np.array([self.network.overlaps(c) for c in range(self.num_sensors)], dtype=np.int64)
        index = self.network.recognized_label()
        self._recognized = None if index is None else int(index)

    def candidates(self) -> np.ndarray:
        """Network indices of the objects every column still backs (overlap >= ``candidate_threshold``)."""
        return np.flatnonzero(np.all(self._overlaps >= self.candidate_threshold, axis=0))

    def _observation(self) -> np.ndarray:
        s, f = self.num_sensors, self.num_features
        sdr_size = self.network.l2_params.sdr_size
        onehot = np.zeros((s, f + 1), dtype=np.float32)
        current = self._features[-1] if self._features else np.full(s, -1)
        onehot[np.arange(s), np.where(current < 0, f, current)] = 1.0
        parts = [
            np.minimum(self._overlaps / sdr_size, 1.0).ravel(),
            [len(self.candidates()) / self.num_objects],
            onehot.ravel(),
            ((self._displacement + self.max_jump) / (2 * self.max_jump)).ravel(),
            [min(len(self._path) - 1, self.max_steps) / self.max_steps],
        ]
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts]).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        return {"sensations": len(self._path), "candidates": len(self.candidates())}

    @property
    def history(self) -> list[list[tuple[tuple[int, int], int | None]]]:
        """This episode's sensations so far: per sensation, per sensor, ``(ego-centric position, feature or None)``
        (the input format of :class:`~htmagent.cortex.baselines.IdealObserver`)."""
        return [[((int(x), int(y)), None if f < 0 else int(f)) for (x, y), f in zip(pos, feats)]
                for pos, feats in zip(self._path, self._features)]

    @property
    def ego_path(self) -> np.ndarray:
        """``(sensations, num_sensors, 2)`` ego-centric positions of every sensation so far (what the agent knows)."""
        if not self._path:
            return np.zeros((0, self.num_sensors, 2), dtype=np.int64)
        return np.stack(self._path)

    @property
    def sensed_features(self) -> np.ndarray:
        """``(sensations, num_sensors)`` feature ids sensed so far (``-1`` = empty space)."""
        if not self._features:
            return np.zeros((0, self.num_sensors), dtype=np.int64)
        return np.stack(self._features)

    @property
    def overlap_matrix(self) -> np.ndarray:
        """``(num_sensors, num_objects)`` current L2/3 overlaps of every column with every learned object's code."""
        return self._overlaps.copy()

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: the inner environment draws an object (``options={"label": k}`` picks one), the network
        forgets the last one and takes in the first sensation."""
        if options is not None:
            if not isinstance(options, Mapping):
                raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
            unknown = sorted(set(options) - set(_OPTION_KEYS))
            if unknown:
                raise ValueError(f"options may only hold the keys {_OPTION_KEYS} (learn mode would reveal the "
                                 f"label), got unknown key(s) {unknown}")
        super().reset(seed=seed)
        # The inner environment gets a seed drawn from this one's stream, so an unseeded reset stays reproducible.
        inner_seed = int(self.np_random.integers(2**31 - 1))
        observation, _ = self.env.reset(seed=inner_seed, options=None if options is None else dict(options))
        self.network.reset()
        self._clear_episode()
        self._sense(observation)
        self._started = True
        self._done = False
        return self._observation(), self._info()

    def _parse_action(self, action: Any) -> np.ndarray:
        array = np.asarray(action)
        nvec = self.action_space.nvec
        if array.shape != nvec.shape or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"action must be an integer array of shape {nvec.shape} (per sensor dx + {self.max_jump} "
                             f"and dy + {self.max_jump}), got {action!r}")
        if (array < 0).any() or (array >= nvec).any():
            raise ValueError(f"action out of range: expected every entry in [0, {2 * self.max_jump}], "
                             f"got {array.tolist()}")
        return array.astype(np.int64)

    def _declare(self, index: int, by: str) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        label = int(self._labels[index])
        _, reward, _, _, inner_info = self.env.step(np.concatenate([self._stay, [label + 1]]))
        self._done = True
        info = self._info()
        info.update(declared=int(inner_info["declared"]), correct=bool(inner_info["correct"]),
                    label=int(inner_info["label"]), declared_by=by)
        return self._observation(), float(reward), True, False, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Jump the sensors, sense, and declare for the policy if the network now recognizes the object."""
        if not self._started:
            raise gym.error.ResetNeeded("cannot call step() before reset(): call env.reset() to start an episode")
        if self._done:
            raise gym.error.ResetNeeded("the episode is over: call env.reset() before step()")
        jumps = self._parse_action(action)
        if self._recognized is not None:  # recognized on the first sensation: declare before moving
            return self._declare(self._recognized, "network")
        observation, reward, _, truncated, _ = self.env.step(np.concatenate([jumps, [0]]))
        self._sense(observation)
        if self._recognized is not None:
            obs, declared, term, trunc, info = self._declare(self._recognized, "network")
            return obs, float(reward) + declared, term, trunc, info
        if len(self._path) - 1 >= self.max_steps:
            if self.guess_at_limit:
                guess = int(np.argmax(self._overlaps.sum(axis=0)))
                obs, declared, term, trunc, info = self._declare(guess, "limit")
                return obs, float(reward) + declared, term, trunc, info
            truncated = True
        if truncated:
            self._done = True
        return self._observation(), float(reward), False, bool(truncated), self._info()

    def backed(self) -> np.ndarray | None:
        """The objects every column still backs, or ``None`` for all: the ``candidates`` a motor policy is given."""
        return candidate_objects(self._overlaps, self.candidate_threshold)

    def motor_policy(self, name: str) -> MotorPolicy:
        """A library motor policy for this task, built from what the agent knows (never the object or its place).

        Args:
            name: ``"random"`` (uniformly random jumps: the baseline that knows nothing) or ``"hypothesis"``
                (:class:`~htmagent.agent.motor.HypothesisJumps` over the learned objects laid out on the grid,
                whose extent the agent knows from learning).
        """
        if name == "random":
            return RandomJumps(max_jump=self.max_jump, num_sensors=self.num_sensors, uniform=True)
        if name != "hypothesis":
            raise ValueError(f"name must be 'random' or 'hypothesis', got {name!r}")
        min_x, min_y, max_x, max_y = self.env.unwrapped.grid_bounds
        extent = (max_x - min_x + 1, max_y - min_y + 1)
        grids = np.full((self.num_objects, *extent), -1, dtype=np.int64)
        for i, obj in enumerate(self.network.learned_objects):
            for (x, y), feature in obj.points.items():
                grids[i, x - min_x, y - min_y] = feature
        return HypothesisJumps(extent, self.max_jump, self.num_sensors, grids, clamp_to_grid=True,
                               tie_break="new_feature")

    @property
    def last_move(self) -> np.ndarray:
        """``(num_sensors, 2)`` move each sensor actually made at the last step (an edge stops a jump)."""
        return self._displacement.copy()

    def render(self) -> np.ndarray | None:
        """Render the inner environment (its ``render_mode``)."""
        return self.env.render()

    def close(self) -> None:
        self.env.close()
