"""An agent that plays the sensorimotor environments with a network of voting cortical columns.

:class:`HTMAgent` learns the object library of ``htmagent/ObjectTouch-v0`` or ``htmagent/ObjectSaccade-v0`` through
the environment itself (learning episodes), then plays: each step every sensor senses, its column path-integrates the
sensor's own movements (grid cells), the columns vote, and the agent declares an object once the network has
recognized one. Where the sensors go next is decided by a motor policy of :mod:`htmagent.agent.motor` (:class:`RandomJumps` or
:class:`HypothesisJumps`), which sees only what the agent itself knows.

Example:
    >>> import gymnasium as gym
    >>> import htmagent.envs
    >>> env = gym.make("htmagent/ObjectTouch-v0", num_objects=5, num_sensors=3)
    >>> agent = HTMAgent.for_env(env, seed=0)
    >>> agent.learn(env)
    >>> agent.evaluate(env, episodes=10, seed=0).accuracy  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent._validation import NotLearnedError, is_int
from htmagent.agent.learning import LearningSession, sensation_space, sensor_grid_env
from htmagent.agent.motor import EMPTY, UNKNOWN, HypothesisJumps, RandomJumps
from htmagent.cortex.network import Network
from htmagent.cortex.objects import SensoryObject
from htmagent.serialization import load_state, save_state
from htmagent._state import naming_file

__all__ = ["Evaluation", "HTMAgent", "HypothesisJumps", "RandomJumps"]

_FORMAT = "htmagent.HTMAgent/1"
_POLICIES = ("random", "hypothesis")
_DECLARE = ("all", "majority", "any")
_DEFAULT_MAX_STEPS = 50


# ------------------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Evaluation:
    """What :meth:`HTMAgent.evaluate` measured.

    Attributes:
        episodes: episodes played.
        accuracy: fraction of episodes ending in a correct declaration.
        mean_steps: mean environment steps per episode, the declaring step included (= sensations per sensor).
        mean_reward: mean episode return.
        recognized: fraction of episodes where the network recognized an object (the rest were declared by the
            last-step fallback, or truncated).
        episodes_per_second: wall-clock speed of the evaluation.
        steps: steps of each episode.
        correct: whether each episode's declaration was correct.
        labels: each episode's object (from the final ``info``; ``-1`` if the episode was truncated).
    """

    episodes: int
    accuracy: float
    mean_steps: float
    mean_reward: float
    recognized: float
    episodes_per_second: float
    steps: tuple[int, ...]
    correct: tuple[bool, ...]
    labels: tuple[int, ...]

    def as_dict(self) -> dict:
        """The figures as plain Python values (for JSON)."""
        return {"episodes": self.episodes, "accuracy": self.accuracy, "mean_steps": self.mean_steps,
                "mean_reward": self.mean_reward, "recognized": self.recognized,
                "episodes_per_second": self.episodes_per_second, "steps": list(self.steps),
                "correct": list(self.correct), "labels": list(self.labels)}


# -------------------------------------------------------------------------------------------------------------- agent
class HTMAgent:
    """Plays a sensorimotor environment with a network of voting cortical columns, one column per sensor.

    Neural rule. Each sensor feeds one cortical column (:class:`~htmagent.cortex.network.Network`): L4 pairs the sensed
    feature with the column's location, which grid cells (L6a) path-integrate from the sensor's own movements (so each
    column works in its own ego-centric frame, whose origin is where its sensor started); L2/3 pools L4 into an object
    code and the columns' L2/3 layers vote laterally. The agent declares object ``k`` as soon as every column's L2/3
    has settled on ``k``'s code (:meth:`Network.recognized_label`; or a majority of the columns, or one, see
    ``declare``). If the episode is about to end unrecognized (``max_steps``), it declares the object whose codes
    overlap the columns' activity most (the best guess).

    Sensing. The agent keeps its own vocabulary of sensations: every distinct feature SDR (or pixel patch) met while
    learning gets the next feature id; an all-zero SDR (blank patch) is empty space and a sensation never met while
    learning is unknown - neither carries a feature, and the column then senses nothing while its location still
    path-integrates.

    Learning (:meth:`learn`): for each object the agent runs learning episodes (``options={"learn": True, "label":
    k}``), finds the grid's edges by jumping until it stops, sweeps its sensors over every cell, and has the network
    learn the objects it sensed, with the cells given by the learn-mode ``info`` (as the papers give locations while
    learning; the grid-cell columns use only the differences between them). It never reads the environment's object
    library.

    Moving: ``policy="random"`` (:class:`RandomJumps`) or ``"hypothesis"`` (:class:`HypothesisJumps`).

    Use :meth:`for_env` to build one; then ``learn(env)``, and per episode ``reset(observation)`` and ``act
    (observation)`` until the episode ends, or :meth:`evaluate`.

    Args:
        num_sensors: sensors (= columns).
        sensation_key: observation key of the sensations (``"features"`` or ``"patch"``).
        sensation_shape: shape of one sensor's sensation.
        sensation_dtype: dtype of the sensations (``"int8"`` or ``"uint8"``).
        num_objects: objects in the environment's library (declarations ``1 .. num_objects``).
        max_jump: largest jump per axis and step.
        max_steps: the step at which the agent declares its best guess if nothing was recognized (the
            environment's time limit); ``None`` = 50.
        location: where the columns' locations come from; only ``"grid"`` (grid cells path-integrating each
            sensor's movements): the network's ``"random"`` codes need absolute points, which the agent never has.
        policy: ``"random"`` or ``"hypothesis"``.
        declare: when to declare: ``"all"`` - every column recognizes the object (the network's own criterion,
            :meth:`Network.recognized_label`); ``"majority"`` / ``"any"`` - more than half of the columns / one
            column recognizes it and no column recognizes another. A column recognizes object ``k`` when its L2/3
            overlaps ``k``'s code by at least the recognition threshold and more than any other code.
        seed: seed or Generator of the agent (network and motor policy).
        **network_kwargs: passed to :class:`~htmagent.cortex.network.Network` (e.g. ``l2_cell_count``).
    """

    def __init__(self, num_sensors: int, sensation_key: str, sensation_shape: Sequence[int], sensation_dtype: str,
                 num_objects: int, max_jump: int, max_steps: int | None = None, location: str = "grid",
                 policy: str = "random", declare: str = "all", seed: int | np.random.Generator | None = None,
                 **network_kwargs: Any):
        for name, value in (("num_sensors", num_sensors), ("num_objects", num_objects), ("max_jump", max_jump)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if max_steps is not None and (not is_int(max_steps) or max_steps < 1):
            raise ValueError(f"max_steps must be None or an int >= 1, got {max_steps!r}")
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of {_POLICIES}, got {policy!r}")
        if declare not in _DECLARE:
            raise ValueError(f"declare must be one of {_DECLARE}, got {declare!r}")
        if location != "grid":
            raise ValueError(f"location must be 'grid' (the agent knows only its sensors' movements), got {location!r}")
        if sensation_dtype not in ("int8", "uint8"):
            raise ValueError(f"sensation_dtype must be 'int8' or 'uint8', got {sensation_dtype!r}")
        taken = sorted(set(network_kwargs) & {"num_columns", "location", "location_sources", "seed"})
        if taken:
            raise ValueError(f"network_kwargs must not set {taken}: the agent sets them (one grid column per sensor)")
        shape = tuple(int(v) for v in sensation_shape)
        if not shape or any(v < 1 for v in shape):
            raise ValueError(f"sensation_shape must hold positive ints, got {tuple(sensation_shape)!r}")
        self._rng = make_rng(seed)
        self.config = {"num_sensors": int(num_sensors), "sensation_key": str(sensation_key),
                       "sensation_shape": list(shape), "sensation_dtype": sensation_dtype,
                       "num_objects": int(num_objects), "max_jump": int(max_jump),
                       "max_steps": None if max_steps is None else int(max_steps), "location": location,
                       "policy": policy, "declare": declare,
                       # Parameter dataclasses (e.g. ObjectLayerParams) as plain dicts, so that save() can write them.
                       "network_kwargs": {k: asdict(v) if is_dataclass(v) else v for k, v in network_kwargs.items()}}
        self.network = Network(num_columns=int(num_sensors), location=location,
                               seed=int(self._rng.integers(2**31)), **network_kwargs)
        self._vocab: dict[bytes, int] = {}
        self._extent: tuple[int, int] | None = None
        self._low = (0, 0)
        self._grid_objects = np.zeros((0, 1, 1), dtype=np.int64)
        self._policy: RandomJumps | None = None
        self._episode_rng: np.random.Generator | None = None
        self._steps = 0
        self._done = False
        self._declared_by = ""

    # ------------------------------------------------------------------------------------------------ construction
    @classmethod
    def for_env(cls, env: gym.Env, location: str = "grid", policy: str = "random", declare: str = "all",
                seed: int | np.random.Generator | None = None, max_steps: int | None = None,
                **network_kwargs: Any) -> HTMAgent:
        """Build an agent for ``env`` (``htmagent/ObjectTouch-v0`` or ``htmagent/ObjectSaccade-v0``, wrapped or not).

        Reads the number of sensors, the action layout and the sensation space from ``env.unwrapped``, and
        ``max_steps`` from ``env.spec.max_episode_steps`` unless given.

        Raises:
            TypeError: ``env`` is not one of htmagent's sensorimotor environments.
            ValueError: bad ``location``, ``policy``, ``declare`` or ``max_steps``, or bad ``network_kwargs``.
        """
        base = sensor_grid_env(env)
        key, space = sensation_space(base)
        if max_steps is None:
            spec = getattr(env, "spec", None)
            max_steps = getattr(spec, "max_episode_steps", None)
        return cls(num_sensors=base.num_sensors, sensation_key=key, sensation_shape=space.shape[1:],
                   sensation_dtype=np.dtype(space.dtype).name, num_objects=base.num_objects,
                   max_jump=base.max_jump, max_steps=max_steps, location=location, policy=policy, declare=declare,
                   seed=seed, **network_kwargs)

    @property
    def num_sensors(self) -> int:
        """Sensors (= network columns)."""
        return self.config["num_sensors"]

    @property
    def max_steps(self) -> int:
        """Step at which an unrecognized episode gets the best-guess declaration."""
        return self.config["max_steps"] or _DEFAULT_MAX_STEPS

    @property
    def policy(self) -> str:
        """The motor policy, ``"random"`` or ``"hypothesis"``; may be switched between episodes (learn once)."""
        return self.config["policy"]

    @policy.setter
    def policy(self, value: str) -> None:
        if value not in _POLICIES:
            raise ValueError(f"policy must be one of {_POLICIES}, got {value!r}")
        self.config["policy"] = value
        self._policy = None  # the next episode builds the new policy

    @property
    def declare(self) -> str:
        """The declaration rule, ``"all"``, ``"majority"`` or ``"any"`` (see the class docstring); may be switched."""
        return self.config["declare"]

    @declare.setter
    def declare(self, value: str) -> None:
        if value not in _DECLARE:
            raise ValueError(f"declare must be one of {_DECLARE}, got {value!r}")
        self.config["declare"] = value

    @property
    def num_features(self) -> int:
        """Distinct sensations (feature ids) in the agent's vocabulary."""
        return len(self._vocab)

    @property
    def extent(self) -> tuple[int, int] | None:
        """Grid ``(width, height)`` learned in the learning episodes (``None`` before learning)."""
        return self._extent

    @property
    def learned_labels(self) -> list[int]:
        """Environment label of each network object (network label ``i`` -> ``learned_labels[i]``)."""
        return [obj.label for obj in self.network.learned_objects]

    @property
    def declared_by(self) -> str:
        """How the last episode's declaration was made: ``"network"``, ``"fallback"`` or ``""`` (none yet)."""
        return self._declared_by

    # ---------------------------------------------------------------------------------------------------- learning
    def learn(self, env: gym.Env, repetitions: int = 3, seed: int | None = None) -> None:
        """Learn every object of ``env``'s library through learning episodes.

        Args:
            env: an environment with the layout this agent was built for.
            repetitions: network time steps per point while learning (``Network.learn``; grid columns need >= 2:
                L2/3 learns only on L4 cells that were predicted).
            seed: seed of the first environment reset (``None``: continue the environment's stream).

        Raises:
            TypeError / ValueError: an incompatible environment or bad ``repetitions`` (checked first: nothing
                changes), or a grid whose extent differs from the one learned before (the network learns nothing).
        """
        self._check_env(env)
        if not is_int(repetitions) or repetitions < 2:
            raise ValueError(f"repetitions must be an int >= 2, got {repetitions!r}")
        session = LearningSession(self, env, seed)
        low, high = session.find_edges()
        extent = (high[0] - low[0] + 1, high[1] - low[1] + 1)
        if self._extent is not None and (extent != self._extent or low != self._low):
            raise ValueError(f"env's grid spans {low}..{high}, but this agent learned the grid "
                             f"{self._low}..{(self._low[0] + self._extent[0] - 1, self._low[1] + self._extent[1] - 1)}")
        cells = [(x, y) for x in range(low[0], high[0] + 1) for y in range(low[1], high[1] + 1)]
        objects = []
        for label in range(self.config["num_objects"]):
            points = session.sweep(label, cells)
            if points:  # an object with no feature anywhere cannot be told apart from empty space: skip it
                objects.append(SensoryObject(label, points))
        if not objects:
            raise ValueError("env's objects showed no feature at all: nothing to learn")
        self._extent, self._low = extent, low
        self.network.learn(objects, repetitions=int(repetitions))
        grid = np.full((len(self.network.learned_objects), *extent), EMPTY, dtype=np.int64)
        for i, obj in enumerate(self.network.learned_objects):
            for (x, y), feature in obj.points.items():
                grid[i, x - low[0], y - low[1]] = feature
        self._grid_objects = grid
        self._policy = None

    def _feature_ids(self, sensations: np.ndarray, learn: bool) -> list[int]:
        ids = []
        for row in sensations:
            if not row.any():
                ids.append(EMPTY)
                continue
            key = row.tobytes()
            feature = self._vocab.get(key)
            if feature is None:
                if not learn:
                    ids.append(UNKNOWN)
                    continue
                feature = self._vocab[key] = len(self._vocab)
            ids.append(feature)
        return ids

    # ----------------------------------------------------------------------------------------------------- playing
    def reset(self, observation: Mapping[str, Any], seed: int | np.random.Generator | None = None) -> None:
        """Start an episode whose first observation is ``observation`` (sensed at the first :meth:`act`).

        Args:
            observation: the observation ``env.reset()`` returned.
            seed: the motor policy's RNG for this episode; ``None`` uses the agent's own stream.

        Raises:
            RuntimeError: the agent has not learned yet.
            ValueError / TypeError: a malformed observation (the agent is left unchanged).
        """
        if self._extent is None:
            raise NotLearnedError("the agent has learned no object yet: call agent.learn(env) first")
        self._parse_observation(observation)
        rng = self._rng if seed is None else make_rng(seed)
        self._policy = self._make_policy()
        self._policy.reset(rng)
        self._episode_rng = rng
        self.network.reset()
        self._steps = 0
        self._done = False
        self._declared_by = ""

    def act(self, observation: Mapping[str, Any]) -> np.ndarray:
        """Sense ``observation`` (the result of the previous action) and return the next action.

        Returns:
            An int64 array in the environment's ``MultiDiscrete`` action space: jumps, then ``0`` or a declaration
            ``k + 1``.

        Raises:
            RuntimeError: before :meth:`reset`, or after the episode's declaration.
            ValueError / TypeError: a malformed observation (the agent is left unchanged).
        """
        if self._policy is None:
            raise RuntimeError("call agent.reset(observation) at the start of an episode before act()")
        if self._done:
            raise RuntimeError("the agent has declared an object and the episode is over: call agent.reset() first")
        sensations, displacement = self._parse_observation(observation)
        features = self._feature_ids(sensations, learn=False)
        self._policy.observe(displacement, features)
        self._sense(features)
        self._steps += 1
        label = self._recognized()
        if label is not None:
            return self._declare(label, "network")
        if self._steps >= self.max_steps:
            return self._declare(self._best_guess(), "fallback")
        jumps = self._policy.next_jumps(self.network.candidates())
        return np.concatenate([(jumps + self.config["max_jump"]).reshape(-1), [0]]).astype(np.int64)

    def _sense(self, features: list[int]) -> None:
        # A column over empty space (or an unknown sensation) senses nothing; its grid cells still path-integrate.
        ego = self._policy.ego
        self.network.step([((int(ego[s, 0]), int(ego[s, 1])), None if f < 0 else int(f))
                           for s, f in enumerate(features)])

    def _declare(self, network_label: int, how: str) -> np.ndarray:
        self._done = True
        self._declared_by = how
        jumps = np.full(2 * self.num_sensors, self.config["max_jump"], dtype=np.int64)  # stay
        label = self.network.learned_objects[network_label].label
        return np.concatenate([jumps, [label + 1]]).astype(np.int64)

    def _recognized(self) -> int | None:
        """The network label to declare now under the ``declare`` rule, or ``None``."""
        if self.config["declare"] == "all":
            return self.network.recognized_label()
        threshold = self.network.config["recognition_threshold"]
        named = [int(np.argmax(row)) for row in self._overlaps()
                 if row.size and row.max() >= threshold and np.count_nonzero(row == row.max()) == 1]
        need = 1 if self.config["declare"] == "any" else self.num_sensors // 2 + 1
        return named[0] if len(named) >= need and len(set(named)) == 1 else None

    def _overlaps(self) -> np.ndarray:
        return np.array([self.network.overlaps(c) for c in range(self.num_sensors)])

    def _best_guess(self) -> int:
        return int(np.argmax(self._overlaps().sum(axis=0)))

    def _make_policy(self) -> RandomJumps:
        args = (self._extent, self.config["max_jump"], self.num_sensors)
        if self.config["policy"] == "hypothesis":
            return HypothesisJumps(*args, objects=self._grid_objects)
        return RandomJumps(*args)

    def _parse_observation(self, observation: Any) -> tuple[np.ndarray, np.ndarray]:
        key = self.config["sensation_key"]
        if not isinstance(observation, Mapping) or key not in observation or "displacement" not in observation:
            got = sorted(observation) if isinstance(observation, Mapping) else type(observation).__name__
            raise TypeError(f"observation must be a dict with keys {key!r} and 'displacement', got {got}")
        n = self.num_sensors
        shape = (n, *self.config["sensation_shape"])
        sensations = np.asarray(observation[key])
        if sensations.shape != shape:
            raise ValueError(f"observation[{key!r}] must have shape {shape}, got {sensations.shape}")
        if not np.issubdtype(sensations.dtype, np.number) or sensations.dtype.kind == "c":
            raise TypeError(f"observation[{key!r}] must hold numbers, got dtype {sensations.dtype}")
        high = 1 if self.config["sensation_dtype"] == "int8" else 255
        if not (np.isfinite(sensations).all() and (sensations == np.round(sensations)).all()
                and sensations.min() >= 0 and sensations.max() <= high):
            raise ValueError(f"observation[{key!r}] must hold integers in [0, {high}], got values in "
                             f"[{sensations.min()}, {sensations.max()}]")
        displacement = np.asarray(observation["displacement"])
        if displacement.shape != (n, 2):
            raise ValueError(f"observation['displacement'] must have shape ({n}, 2), got {displacement.shape}")
        if (not np.issubdtype(displacement.dtype, np.number) or not np.isfinite(displacement).all()
                or (displacement != np.round(displacement)).any()):
            raise ValueError(f"observation['displacement'] must hold whole numbers, got {displacement.tolist()}")
        flat = sensations.astype(self.config["sensation_dtype"]).reshape(n, -1)
        return flat, displacement.astype(np.int64)

    # -------------------------------------------------------------------------------------------------- evaluation
    def evaluate(self, env: gym.Env, episodes: int, seed: int | None = None,
                 show_progress: bool = False) -> Evaluation:
        """Play ``episodes`` episodes of ``env`` without learning and measure the agent.

        Args:
            env: the environment (with its time limit, as users play it).
            episodes: episodes to play.
            seed: seeds the environment's first reset and each episode's motor policy (episode ``i`` uses
                ``numpy.random.default_rng([seed, i])``), so a run is reproducible and an episode's path does not
                depend on how long earlier episodes lasted; ``None`` continues both streams.
            show_progress: draw a progress bar on stderr.

        Raises:
            TypeError / ValueError: an incompatible environment or bad ``episodes``.
            RuntimeError: the agent has not learned yet.
        """
        from htmagent._progress import progress

        self._check_env(env)
        if not is_int(episodes) or episodes < 1:
            raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
        if seed is not None and (not is_int(seed) or seed < 0):
            raise ValueError(f"seed must be None or an int >= 0, got {seed!r}")
        if self._extent is None:
            raise NotLearnedError("the agent has learned no object yet: call agent.learn(env) first")
        steps, correct, labels, rewards, recognized = [], [], [], [], []
        start = time.perf_counter()
        for i in progress(range(int(episodes)), desc="evaluate", enabled=show_progress):
            observation, _ = env.reset(seed=seed if i == 0 else None)
            self.reset(observation, seed=None if seed is None else np.random.default_rng([seed, i]))
            total, info, n = 0.0, {}, 0
            while True:
                observation, reward, terminated, truncated, info = env.step(self.act(observation))
                total += float(reward)
                n += 1
                if terminated or truncated:
                    break
            steps.append(n)
            correct.append(bool(info.get("correct", False)))
            labels.append(int(info.get("label", -1)))
            rewards.append(total)
            recognized.append(self._declared_by == "network")
        elapsed = max(time.perf_counter() - start, 1e-9)
        return Evaluation(int(episodes), float(np.mean(correct)), float(np.mean(steps)), float(np.mean(rewards)),
                          float(np.mean(recognized)), int(episodes) / elapsed, tuple(steps), tuple(correct),
                          tuple(labels))

    # --------------------------------------------------------------------------------------------------- save/load
    def state_dict(self) -> dict:
        """Everything needed to resume bit-identically, the current episode included."""
        width = int(np.prod(self.config["sensation_shape"]))
        codes = np.zeros((len(self._vocab), width), dtype=self.config["sensation_dtype"])
        for key, feature in self._vocab.items():
            codes[feature] = np.frombuffer(key, dtype=self.config["sensation_dtype"])
        episode: dict = {"active": self._policy is not None}
        if self._policy is not None:
            episode.update(policy=self._policy.state_dict(), shared_rng=self._episode_rng is self._rng,
                           steps=self._steps, done=self._done, declared_by=self._declared_by)
        return {"format": _FORMAT, "config": dict(self.config), "rng": rng_state(self._rng),
                "network": self.network.state_dict(), "vocabulary": codes,
                "extent": [] if self._extent is None else list(self._extent), "low": list(self._low),
                "grid_objects": self._grid_objects.copy(), "episode": episode}

    @classmethod
    def from_state_dict(cls, state: Mapping) -> HTMAgent:
        """Rebuild an agent from :meth:`state_dict`'s output."""
        if state.get("format") != _FORMAT:
            raise ValueError(f"state must have format {_FORMAT!r}, got {state.get('format')!r}")
        cfg = dict(state["config"])
        kwargs = dict(cfg.pop("network_kwargs") or {})
        agent = cls(**cfg, seed=0, **kwargs)
        agent._rng = restore_rng(state["rng"])
        agent.network = Network.from_state_dict(state["network"])
        codes = np.asarray(state["vocabulary"], dtype=cfg["sensation_dtype"])
        agent._vocab = {row.tobytes(): i for i, row in enumerate(codes.reshape(len(codes), -1))}
        agent._extent = tuple(int(v) for v in state["extent"]) if len(state["extent"]) else None
        agent._low = tuple(int(v) for v in state["low"])
        agent._grid_objects = np.asarray(state["grid_objects"], dtype=np.int64)
        episode = state["episode"]
        if episode["active"]:
            agent._policy = agent._make_policy()
            shared = bool(episode["shared_rng"])
            agent._policy.load_state_dict(episode["policy"], rng=agent._rng if shared else None)
            agent._episode_rng = agent._policy._rng
            agent._steps, agent._done = int(episode["steps"]), bool(episode["done"])
            agent._declared_by = str(episode["declared_by"])
        return agent

    def save(self, path: str | os.PathLike) -> None:
        """Write the agent to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> HTMAgent:
        """Read an agent written by :meth:`save` (a malformed file raises
        :class:`~htmagent.serialization.StateError` naming it)."""
        with naming_file(path):
            return cls.from_state_dict(load_state(path))

    # ---------------------------------------------------------------------------------------------------- internals
    def _check_env(self, env: gym.Env) -> Any:
        base = sensor_grid_env(env)
        key, space = sensation_space(base)
        found = {"num_sensors": base.num_sensors, "sensation_key": key, "sensation_shape": list(space.shape[1:]),
                 "num_objects": base.num_objects, "max_jump": base.max_jump}
        for name, value in found.items():
            if self.config[name] != value:
                raise ValueError(f"env does not fit this agent: {name} must be {self.config[name]!r}, "
                                 f"got {value!r}")
        return base

    def __repr__(self) -> str:
        learned = len(self.network.learned_objects)
        return (f"HTMAgent({self.num_sensors} sensors, {self.config['location']} locations, "
                f"{self.config['policy']} policy, {learned} objects learned, {self.num_features} features)")
