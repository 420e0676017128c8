"""``htmagent/ObjectTouch-v0``: sensors touch an object's features on a grid and the agent must name the object.

Also home of :class:`SensorGridEnv`, the game both sensorimotor environments share (sensors jumping over a grid of
positions, a declaration ends the episode); :mod:`htmagent.envs.object_saccade` plays it on images.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from htmagent._validation import check_int, is_int
from htmagent.cortex.objects import ObjectSet, random_codes
from htmagent.envs import rendering
from htmagent.sdr import SDR

__all__ = ["ObjectTouchEnv", "SensorGridEnv"]

_OPTION_KEYS = ("learn", "label")
_STEP_CAP = 2**24  # the observed step count saturates here (the largest integer float32 counts exactly to)


class SensorGridEnv(gym.Env, abc.ABC):
    """The game shared by the sensorimotor environments: ``num_sensors`` sensors jump over a grid of positions on one
    object, sense what is under them, and the agent declares which object it is.

    Subclasses say what a sensor senses (:meth:`_sense`, :attr:`_sensation_space`), where sensors may start
    (:meth:`_start_cells`) and what a frame shows (:meth:`_render_surface`). Positions are integer ``(x, y)`` grid
    cells within ``self.grid_bounds = (min_x, min_y, max_x, max_y)``; a move that would leave the grid is clamped to
    its edge, and the observed displacement is the move actually made.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}

    def _setup_game(
        self,
        num_objects: int,
        grid_bounds: tuple[int, int, int, int],
        num_sensors: int,
        max_jump: Optional[int],
        move_cost: float,
        observe_step: bool,
        render_mode: Optional[str],
    ) -> None:
        self.num_sensors = check_int(num_sensors, "num_sensors", 1)
        span = max(grid_bounds[2] - grid_bounds[0], grid_bounds[3] - grid_bounds[1])
        self.max_jump = max(span, 1) if max_jump is None else check_int(max_jump, "max_jump", 1)
        move_cost = float(move_cost)
        if not np.isfinite(move_cost) or move_cost < 0:
            raise ValueError(f"move_cost must be a finite number >= 0, got {move_cost}")
        self.move_cost = move_cost
        if not isinstance(observe_step, (bool, np.bool_)):
            raise TypeError(f"observe_step must be a bool, got {type(observe_step).__name__}")
        self.observe_step = bool(observe_step)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.num_objects = num_objects
        self.grid_bounds = grid_bounds
        self._low = np.array(grid_bounds[:2], dtype=np.int64)
        self._high = np.array(grid_bounds[2:], dtype=np.int64)
        jumps = 2 * self.max_jump + 1
        self.action_space = spaces.MultiDiscrete(np.array([jumps] * (2 * self.num_sensors) + [num_objects + 1]))
        obs = {
            self._sensation_key: self._sensation_space,
            "displacement": spaces.Box(-span, span, shape=(self.num_sensors, 2), dtype=np.float32),
        }
        if self.observe_step:
            obs["step"] = spaces.Box(0.0, float(_STEP_CAP), shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Dict(obs)
        self._positions: Optional[np.ndarray] = None
        self._label = -1
        self._learn = False
        self._done = False
        self._steps = 0
        self._paths: list[list[tuple[int, int]]] = []
        self._last_event: str | np.ndarray = ""
        self._viewer: Optional[rendering.Viewer] = None

    # -- what subclasses provide ---------------------------------------------------------------------------------------

    _sensation_key = "sensation"
    _sensation_space: spaces.Space

    @abc.abstractmethod
    def _sense(self, label: int, positions: np.ndarray) -> np.ndarray:
        """Return every sensor's sensation at ``positions`` (``(num_sensors, 2)`` grid cells) on object ``label``."""

    @abc.abstractmethod
    def _start_cells(self, label: int) -> np.ndarray:
        """Return the ``(n, 2)`` grid cells where a sensor may start on object ``label``."""

    @abc.abstractmethod
    def _render_surface(self) -> Any:
        """Return a pygame surface showing the current state."""

    # -- the game ------------------------------------------------------------------------------------------------------

    @property
    def label(self) -> int:
        """Label of this episode's object (for evaluation and rendering; an agent must not read it), -1 before reset."""
        return self._label

    def _parse_options(self, options: Optional[Mapping[str, Any]]) -> tuple[bool, Optional[int]]:
        if options is None:
            return False, None
        if not isinstance(options, Mapping):
            raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
        unknown = sorted(set(options) - set(_OPTION_KEYS))
        if unknown:
            raise ValueError(f"options may only hold the keys {_OPTION_KEYS}, got unknown key(s) {unknown}")
        learn = options.get("learn", False)
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"options['learn'] must be a bool, got {type(learn).__name__}")
        label = options.get("label")
        if label is not None and (not is_int(label) or not 0 <= label < self.num_objects):
            raise ValueError(f"options['label'] must be an object label in [0, {self.num_objects}), got {label!r}")
        return bool(learn), None if label is None else int(label)

    def _observation(self, sensation: np.ndarray, displacement: np.ndarray) -> dict[str, np.ndarray]:
        obs = {self._sensation_key: sensation, "displacement": displacement.astype(np.float32)}
        if self.observe_step:
            obs["step"] = np.array([min(self._steps, _STEP_CAP)], dtype=np.float32)
        return obs

    def _info(self) -> dict[str, Any]:
        if not self._learn:
            return {}
        return {"label": self._label, "sensor_positions": self._positions.copy()}

    def reset(
        self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode on a random object (or ``options["label"]``); see the class docstring for ``options``."""
        # Options are checked before seeding, so that a rejected call leaves the environment (and its RNG) untouched.
        learn, label = self._parse_options(options)
        super().reset(seed=seed)
        if label is None:
            label = int(self.np_random.integers(0, self.num_objects))
        cells = self._start_cells(label)
        if len(cells) >= self.num_sensors:
            picks = self.np_random.choice(len(cells), size=self.num_sensors, replace=False)
        else:
            # More sensors than starting cells: every cell gets a sensor, the rest double up at random.
            extra = self.np_random.choice(len(cells), size=self.num_sensors - len(cells), replace=True)
            picks = np.concatenate([self.np_random.permutation(len(cells)), extra])
        self._label = label
        self._learn = learn
        self._positions = np.asarray(cells, dtype=np.int64)[picks].reshape(self.num_sensors, 2)
        self._done = False
        self._steps = 0
        self._paths = [[(int(x), int(y))] for x, y in self._positions]
        self._last_event = "reset"
        observation = self._observation(
            self._sense(label, self._positions), np.zeros((self.num_sensors, 2), dtype=np.float32)
        )
        if self.render_mode == "human":
            self.render()
        return observation, self._info()

    def _parse_action(self, action: Any) -> np.ndarray:
        array = np.asarray(action)
        shape_ok = array.shape == self.action_space.shape and np.issubdtype(array.dtype, np.integer)
        if shape_ok and (array >= 0).all() and (array < self.action_space.nvec).all():
            return array.astype(np.int64)
        expected = (
            f"an integer array of shape {self.action_space.shape} in {self.action_space} "
            f"(per sensor dx + {self.max_jump} and dy + {self.max_jump} in [0, {2 * self.max_jump}], "
            f"then a declaration in [0, {self.num_objects}], 0 = none)"
        )
        if not shape_ok:
            raise ValueError(f"action must be {expected}, got {action!r}")
        raise ValueError(f"action out of range: expected {expected}, got {array.tolist()}")

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Move the sensors (or declare an object); see the class docstring for the action layout and rewards."""
        if self._positions is None:
            raise gym.error.ResetNeeded("cannot call step() before reset(): call env.reset() to start an episode")
        if self._done:
            raise gym.error.ResetNeeded("the episode has ended with a declaration: call env.reset() before step()")
        action = self._parse_action(action)
        declaration = int(action[-1])
        self._steps += 1
        zeros = np.zeros((self.num_sensors, 2), dtype=np.float32)
        if declaration > 0:
            guess = declaration - 1
            correct = guess == self._label
            self._done = True
            self._last_event = f"declared object {guess}: {'correct' if correct else 'wrong'}"
            observation = self._observation(self._sense(self._label, self._positions), zeros)
            info = self._info()
            info.update(declared=guess, correct=correct, label=self._label)
            if self.render_mode == "human":
                self.render()
            return observation, 1.0 if correct else -1.0, True, False, info
        jumps = action[:-1].reshape(self.num_sensors, 2) - self.max_jump
        target = np.clip(self._positions + jumps, self._low, self._high)
        displacement = target - self._positions
        self._positions = target
        for path, (x, y) in zip(self._paths, target):
            path.append((int(x), int(y)))
        self._last_event = displacement  # formatted only when a frame is drawn
        observation = self._observation(self._sense(self._label, target), displacement)
        if self.render_mode == "human":
            self.render()
        return observation, -self.move_cost, False, False, self._info()

    def render(self) -> Optional[np.ndarray]:
        """``rgb_array``: return the frame as an ``(H, W, 3)`` uint8 array; ``human``: show it in a window."""
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render_mode; pass render_mode='rgb_array' or 'human' to gymnasium.make"
            )
            return None
        if self._positions is None:
            raise gym.error.ResetNeeded("cannot render before reset(): call env.reset() first")
        surface = self._render_surface()
        if self.render_mode == "rgb_array":
            return rendering.surface_to_array(surface)
        if self._viewer is None:
            self._viewer = rendering.Viewer(type(self).__name__, self.metadata["render_fps"])
        self._viewer.show(surface)
        return None

    def close(self) -> None:
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None

    def _status_lines(self) -> list[str]:
        event = self._last_event
        if isinstance(event, np.ndarray):
            event = "moved " + ", ".join(f"({dx:+d}, {dy:+d})" for dx, dy in event.tolist())
        return [
            f"object {self._label} of {self.num_objects}",
            f"step {self._steps}",
            f"last: {event}",
            "learn mode" if self._learn else "inference mode",
        ]


class ObjectTouchEnv(SensorGridEnv):
    """Sensors touch a feature-on-grid object; the agent must say which object of the library it is.

    ## Description

    The sensorimotor object-recognition task of Hawkins, Ahmad & Cui (2017) and Lewis, Purdy, Ahmad & Hawkins (2019)
    as a Gymnasium game. A library of objects is fixed when the environment is built (``library_seed``); each
    episode draws one of them. An object is a set of features on the cells of a small grid (by default 10 features on
    distinct cells of a 4 x 4 grid, drawn from a pool of 10). The agent moves ``num_sensors`` sensors - one per
    cortical column in a multi-column agent - over the object, feels the feature under each sensor as an SDR, and
    ends the episode by declaring which object it is touching. It never observes where its sensors are, only how
    they moved: recognizing the object requires integrating movements into locations (grid cells) and combining
    sensations over time and across sensors (voting).

    ## Action Space

    ``MultiDiscrete([2J + 1] * (2 * num_sensors) + [num_objects + 1])`` with ``J = max_jump``:

    | Index               | Meaning                                                            |
    |---------------------|--------------------------------------------------------------------|
    | ``2 * s``           | horizontal jump of sensor ``s``: ``dx = action[2 * s] - J``        |
    | ``2 * s + 1``       | vertical jump of sensor ``s``: ``dy = action[2 * s + 1] - J``      |
    | ``-1`` (last)       | ``0`` = no declaration, ``k + 1`` = "this is object ``k``"        |

    Why relative jumps rather than four directions or absolute cells: one step is one sensation, as in the papers,
    where a sensor jumps (saccades) to any point of the object; four-direction moves would spend steps walking over
    empty cells. A jump to an *absolute* cell would tell the agent where it is, which the task forbids. With the
    default ``J`` (the grid span) any cell is reachable in one step, and stay is ``(J, J)``. A flat ``MultiDiscrete``
    (not a ``Dict``) works with Stable-Baselines3's PPO and A2C as is. A declaration ends the episode at once: the
    jumps of a declaring action are ignored.

    ## Observation Space

    A ``Dict``:

    | Key              | Space                                            | Meaning                            |
    |------------------|--------------------------------------------------|------------------------------------|
    | ``features``     | ``MultiBinary((num_sensors, sdr_size))``, int8   | feature under each sensor as a     |
    |                  |                                                  | k-of-n SDR from a seeded code book |
    |                  |                                                  | (all zeros over an empty cell)     |
    | ``displacement`` | ``Box(-span, span, (num_sensors, 2), float32)``  | each sensor's last move ``(dx,     |
    |                  |                                                  | dy)`` actually made; zeros after a |
    |                  |                                                  | reset or a declaration             |
    | ``step``         | ``Box(0, 2**24, (1,), float32)``                 | steps taken (if ``observe_step``)  |

    The absolute location and the object's label are never observed. ``env.unwrapped.feature_codes[f]`` is the SDR
    of feature ``f`` (for decoding, and for the ideal observer), ``env.unwrapped.object_set`` the library.

    ## Rewards

    ``+1`` for a correct declaration, ``-1`` for a wrong one, ``-move_cost`` on every step without a declaration.

    ## Starting State

    The object is drawn uniformly from the library with ``self.np_random`` (or chosen with ``options["label"]``).
    Each sensor starts on a random point of the object that carries a feature, on distinct points while there are
    enough of them.

    ## Episode End

    Terminated on a declaration; truncated after ``max_episode_steps`` steps (50 for the registered id, by
    Gymnasium's ``TimeLimit``). Sensors cannot leave the grid of the library (its bounding box, the same for every
    object so that the edges say nothing about the object): a jump past an edge stops at the edge, and the observed
    displacement is the move actually made. Cells of the grid where the object has no feature read as all-zero SDRs.

    ## Learn mode (supervised pretraining)

    ``reset(options={"learn": True})`` makes ``info`` carry ``"label"`` (the object) and ``"sensor_positions"``
    (``(num_sensors, 2)`` int64 grid cells) after the reset and every step of that episode, so an agent can learn the
    library through the environment, the way the papers' networks learn objects with their locations given.
    ``options={"label": k}`` picks object ``k`` (e.g. to learn every object in turn). Without learn mode ``info`` is
    empty except on a declaration, which adds ``"declared"``, ``"correct"`` and ``"label"`` (the episode is over).

    ## Arguments

    ```python
    import gymnasium as gym
    import htmagent.envs  # registers the ids

    env = gym.make("htmagent/ObjectTouch-v0", num_sensors=3, render_mode="rgb_array")
    ```

    - ``object_set``: an :class:`~htmagent.cortex.objects.ObjectSet`, or a list of ``{(x, y): feature}`` dicts (validated
      against ``num_features``: a feature outside the pool raises ``ValueError``). Default: ``ObjectSet.lewis2019``.
      The next four arguments only shape the default library and are ignored when an ``ObjectSet`` is given.
    - ``num_objects`` (20), ``num_features`` (10), ``grid_size`` (4), ``features_per_object`` (10): the default
      library's size, feature pool, grid side and points per object.
    - ``library_seed`` (0): seed of the library and the feature code book; fixed, so that every episode (and every
      copy of the environment in a vector env) plays the same objects.
    - ``num_sensors`` (1): sensors, one per column.
    - ``max_jump`` (grid span): the largest jump per axis and step.
    - ``move_cost`` (0.01): cost of each step without a declaration.
    - ``sdr_size`` (150), ``sdr_active_bits`` (10): the feature SDRs.
    - ``observe_step`` (False): add the step count to the observation.
    - ``render_mode``: ``None``, ``"rgb_array"`` or ``"human"``.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}
    _sensation_key = "features"

    def __init__(
        self,
        object_set: ObjectSet | Sequence[Mapping[tuple[int, int], int]] | None = None,
        num_objects: int = 20,
        num_features: int = 10,
        grid_size: int = 4,
        features_per_object: int = 10,
        library_seed: int = 0,
        num_sensors: int = 1,
        max_jump: Optional[int] = None,
        move_cost: float = 0.01,
        sdr_size: int = 150,
        sdr_active_bits: int = 10,
        observe_step: bool = False,
        render_mode: Optional[str] = None,
    ):
        library_seed = check_int(library_seed, "library_seed", 0)
        if object_set is None:
            object_set = ObjectSet.lewis2019(
                num_objects, num_features, features_per_object, grid_size, seed=library_seed
            )
        elif not isinstance(object_set, ObjectSet):
            object_set = ObjectSet.from_dicts(object_set, num_features=num_features)
        self.object_set = object_set
        sdr_size = check_int(sdr_size, "sdr_size", 1)
        sdr_active_bits = check_int(sdr_active_bits, "sdr_active_bits", 1)
        if sdr_active_bits > sdr_size:
            raise ValueError(f"sdr_active_bits must be <= sdr_size ({sdr_size}), got {sdr_active_bits}")
        # Feature codes come from their own stream so that they do not depend on how the library was made.
        self.feature_codes: list[SDR] = random_codes(
            object_set.num_features, sdr_size, sdr_active_bits, seed=np.random.default_rng([library_seed, 1])
        )
        codes = np.zeros((object_set.num_features + 1, sdr_size), dtype=np.int8)
        for feature, code in enumerate(self.feature_codes):
            codes[feature, code.sparse] = 1
        self._codes = codes  # the last row (index -1) is the all-zero code of an empty cell
        bounds = object_set.bounds()
        width, height = bounds[2] - bounds[0] + 1, bounds[3] - bounds[1] + 1
        self._features = np.full((len(object_set), width, height), -1, dtype=np.int64)
        for obj in object_set:
            for (x, y), feature in obj.points.items():
                self._features[obj.label, x - bounds[0], y - bounds[1]] = feature
        self._sensation_space = spaces.MultiBinary([check_int(num_sensors, "num_sensors", 1), sdr_size])
        self._setup_game(len(object_set), bounds, num_sensors, max_jump, move_cost, observe_step, render_mode)

    def _sense(self, label: int, positions: np.ndarray) -> np.ndarray:
        features = self._features[label, positions[:, 0] - self._low[0], positions[:, 1] - self._low[1]]
        return self._codes[features]

    def _start_cells(self, label: int) -> np.ndarray:
        return np.asarray(self.object_set[label].locations, dtype=np.int64)

    def feature_id(self, bits: np.ndarray) -> Optional[int]:
        """Decode one sensor's SDR from the ``features`` observation into a feature id (``None`` for empty space).

        Raises:
            ValueError: if ``bits`` is not one of the code book's SDRs.
        """
        bits = np.asarray(bits)
        if bits.shape != (self._codes.shape[1],):
            raise ValueError(f"bits must have shape ({self._codes.shape[1]},), got {bits.shape}")
        matches = np.flatnonzero(np.all(self._codes == bits.astype(np.int8), axis=1))
        if matches.size == 0:
            raise ValueError("bits is not a feature code of this environment")
        feature = int(matches[0])
        return None if feature == len(self.feature_codes) else feature

    def _render_surface(self) -> Any:
        obj = self.object_set[self._label]
        scene = rendering.TouchScene(
            points=obj.points,
            bounds=self.grid_bounds,
            num_features=self.object_set.num_features,
            paths=self._paths,
            title="ObjectTouch-v0",
            lines=[f"{obj.name} ({self.num_objects} in library)", *self._status_lines()[1:]],
        )
        return rendering.render_touch(scene)
