"""How :class:`~htmagent.agent.HTMAgent` meets an environment: the learning episodes and the checks of its spaces.

:class:`LearningSession` walks the sensors with known positions (the environments' learn mode) to find the grid's
extent and to sweep every object; :func:`sensor_grid_env` and :func:`sensation_space` check that an environment is one
of the library's sensorimotor games and find its sensation key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

if TYPE_CHECKING:
    from htmagent.agent.htm_agent import HTMAgent

__all__ = ["LearningSession", "sensation_space", "sensor_grid_env"]


class LearningSession:
    """The learning episodes of one :meth:`HTMAgent.learn` call: walks sensors with known positions (learn mode)."""

    def __init__(self, agent: HTMAgent, env: gym.Env, seed: int | None):
        self.agent, self.env, self.seed = agent, env, seed
        self.key = agent.config["sensation_key"]
        self.jump = agent.config["max_jump"]
        self.n = agent.num_sensors
        self.label = -1
        self.positions = np.zeros((self.n, 2), dtype=np.int64)
        self.points: dict[tuple[int, int], int] = {}
        self.seen: set[tuple[int, int]] = set()

    def _start(self, label: int) -> None:
        options = {"learn": True, "label": label}
        observation, info = self.env.reset(seed=self.seed, options=options)
        self.seed = None
        self.label = label
        self._record(observation, info)

    def _record(self, observation: Mapping, info: Mapping) -> None:
        if "sensor_positions" not in info:
            raise ValueError("env's info carries no 'sensor_positions' in learn mode: not a sensor-grid environment")
        self.positions = np.asarray(info["sensor_positions"], dtype=np.int64).reshape(self.n, 2)
        sensations, _ = self.agent._parse_observation(observation)
        for (x, y), feature in zip(self.positions.tolist(), self.agent._feature_ids(sensations, learn=True)):
            self.seen.add((x, y))
            if feature >= 0:
                self.points[(x, y)] = feature

    def _move(self, jumps: np.ndarray) -> np.ndarray:
        """Jump (no declaration); restart the same object if the time limit cut the episode. Returns the move."""
        before = self.positions.copy()
        action = np.concatenate([(np.clip(jumps, -self.jump, self.jump) + self.jump).reshape(-1), [0]])
        observation, _, terminated, truncated, info = self.env.step(action.astype(np.int64))
        self._record(observation, info)
        moved = self.positions - before
        if terminated or truncated:
            self._start(self.label)
        return moved

    def find_edges(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Jump sensor 0 to the lowest, then the highest corner until it stops: the grid's extent."""
        self._start(0)
        corners = []
        for sign in (-1, 1):
            jumps = np.zeros((self.n, 2), dtype=np.int64)
            jumps[0] = sign * self.jump
            while self._move(jumps)[0].any():
                pass
            corners.append(tuple(int(v) for v in self.positions[0]))
        return corners[0], corners[1]

    def sweep(self, label: int, cells: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """Visit every cell of the grid on object ``label``; return ``{cell: feature id}`` where a feature was."""
        self.points, self.seen = {}, set()
        self._start(label)
        todo = [c for c in cells if c not in self.seen]
        budget = 4 * len(cells) * (1 + max(1, len(cells)) // max(self.jump, 1))
        while todo:
            budget -= 1
            if budget < 0:
                raise RuntimeError(f"could not reach every grid cell of object {label}: {todo[:5]} ... left")
            jumps = np.zeros((self.n, 2), dtype=np.int64)
            taken: set[tuple[int, int]] = set()
            for s in range(self.n):
                here = self.positions[s]
                options = [c for c in todo if c not in taken] or todo
                # The nearest cell in jumps (ties: grid order), so far cells are reached through near ones.
                target = min(options, key=lambda c: -(-max(abs(c[0] - here[0]), abs(c[1] - here[1])) // self.jump))
                taken.add(target)
                jumps[s] = np.asarray(target) - here
            self._move(jumps)
            todo = [c for c in todo if c not in self.seen]
        return dict(self.points)


def sensor_grid_env(env: Any) -> Any:
    """The library's sensorimotor environment under ``env``'s wrappers (``TypeError`` for any other)."""
    from htmagent.envs.object_touch import SensorGridEnv

    base = getattr(env, "unwrapped", None)
    if not isinstance(base, SensorGridEnv):
        raise TypeError("env must be one of htmagent's sensorimotor environments (htmagent/ObjectTouch-v0, "
                        f"htmagent/ObjectSaccade-v0), got {type(base if base is not None else env).__name__}")
    return base


def sensation_space(base: Any) -> tuple[str, spaces.Space]:
    """The observation key of the sensations and its space (one row per sensor; ``TypeError`` otherwise)."""
    space = base.observation_space
    keys = [k for k in space.spaces if k not in ("displacement", "step")] if isinstance(space, spaces.Dict) else []
    if len(keys) != 1:
        raise TypeError(f"env's observation space must be a Dict with one sensation key beside 'displacement', "
                        f"got {space}")
    sensation = space.spaces[keys[0]]
    if not isinstance(sensation, (spaces.MultiBinary, spaces.Box)) or np.dtype(sensation.dtype).name not in (
            "int8", "uint8") or len(sensation.shape) < 2 or sensation.shape[0] != base.num_sensors:
        raise TypeError(f"env's {keys[0]!r} space must be MultiBinary or a uint8 Box with one row per sensor, "
                        f"got {sensation}")
    return keys[0], sensation
