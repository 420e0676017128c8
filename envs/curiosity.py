"""Curiosity from an HTM: :class:`HTMCuriosity` adds the HTM's surprise, or the rarity of its code, to the reward.

It reads the HTM of an :class:`~htmagent.envs.wrappers.HTMObservation` it wraps, or runs a private
:class:`~htmagent.envs.wrappers.HTMStream` on any environment's observations.
"""

from __future__ import annotations

import os
import zlib
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from htmagent._rng import make_rng
from htmagent._validation import check_bool, check_int, is_real
from htmagent.envs.wrappers import HTMObservation, HTMStream, WrapperState
from htmagent.serialization import StateError, load_state, save_state
from htmagent._state import atomic_load, get_array, naming_file

__all__ = ["HTMCuriosity", "IntrinsicNormalizer", "RawCountBonus"]


def _find_htm_observation(env: gym.Env) -> HTMObservation | None:
    while True:
        if isinstance(env, HTMObservation):
            return env
        if not isinstance(env, gym.Wrapper):
            return None
        env = env.env


class IntrinsicNormalizer:
    """RND's normalisation of an intrinsic reward (Burda et al. 2018): divide it by the running standard deviation
    of its discounted sum (never reset between episodes).

    The statistics are exact (Welford) over the first ``horizon`` steps and exponentially weighted with that horizon
    after (weight ``1 / horizon`` per step), so the scale follows a bonus that decays as the learner learns instead
    of staying pinned to its first, largest values. ``state`` is ``[return, count, mean, variance]``.
    """

    def __init__(self, gamma: float = 0.99, horizon: int = 10_000):
        if not is_real(gamma) or not 0.0 <= float(gamma) < 1.0:
            raise ValueError(f"intrinsic_gamma must be a number in [0, 1), got {gamma!r}")
        self.gamma = float(gamma)
        self.horizon = check_int(horizon, "horizon", 1)
        self.state = np.zeros(4, dtype=np.float64)

    def __call__(self, intrinsic: float) -> float:
        """Update the statistics with ``intrinsic`` and return it normalised."""
        ret, count, mean, var = self.state
        ret = ret * self.gamma + intrinsic
        count += 1
        alpha = 1.0 / min(count, self.horizon)
        delta = ret - mean
        mean += alpha * delta
        var = (1.0 - alpha) * (var + alpha * delta * delta)
        self.state[:] = (ret, count, mean, var)
        std = np.sqrt(var) if count > 1 else 0.0
        return intrinsic / float(std) if std > 1e-8 else intrinsic

    @staticmethod
    def checked(state: dict, key: str = "normalizer") -> np.ndarray:
        """``state[key]`` checked (absent in files from before normalisation existed: zeros, it was off)."""
        if key not in state:
            return np.zeros(4)
        norm = get_array(state, key, np.float64, (4,), -1e300, 1e300)
        if norm[1] < 0 or norm[3] < 0:
            raise StateError(f"{key}'s count and variance must be >= 0", field=key)
        return norm


class HTMCuriosity(WrapperState, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Add the HTM's surprise to the reward: ``reward = extrinsic + beta * intrinsic``.

    The intrinsic part is the anomaly score of the new observation (``source="anomaly"``), or its anomaly likelihood
    (``source="likelihood"``, a running estimate of how unusual the recent scores are), or the rarity of the
    current minicolumn pattern (``source="count"``: ``1 / sqrt(n)``, where ``n`` counts the steps, over the whole
    life of the wrapper, on which exactly this set of active minicolumns occurred; the sets are hashed into a
    fixed table of ``count_table_size`` counters, so memory stays bounded — count-based exploration on the
    spatial pooler's codes, which group similar states). A prediction error signal
    like this rewards the agent for reaching states whose transitions the HTM has not learned yet; as the HTM
    learns them the bonus fades (lifelong novelty). With ``episodic=True`` the bonus becomes episodic novelty
    modulated by that surprise, as in "Never Give Up" (Badia et al. 2020; lifelong novelty alone is known to help
    little): ``intrinsic = 0.5 + 0.5 * surprise`` when this step's set of active minicolumns has not occurred before
    in the episode (a per-episode set of the sets), else 0. Reaching many different states per episode keeps paying
    after the HTM has learned them, surprising new states pay double, and shuttling between two states pays once.

    Where the HTM comes from: if ``env`` is (or wraps) an :class:`HTMObservation`, its HTM is read (no second
    model; the observation is left as it is). Otherwise this wrapper runs its own private :class:`HTMStream`
    (always learning) on the observations and leaves them unchanged, so curiosity can be added to any env.

    ``info`` gets ``extrinsic_reward`` (the env's reward) and ``intrinsic_reward`` (before ``beta``). Logging: put
    ``Monitor`` *inside* this wrapper so that logged episode returns stay extrinsic — SB3's
    ``make_vec_env(env_id, wrapper_class=HTMCuriosity)`` does exactly that (Monitor first, then ``wrapper_class``).

    Args:
        env: the environment to wrap.
        beta: weight of the intrinsic reward (>= 0).
        source: ``"anomaly"``, ``"likelihood"`` or ``"count"``.
        episodic: pay episodic novelty modulated by surprise instead of surprise alone (see above).
        htm_kwargs: keyword arguments of the private :class:`HTMStream` (only when ``env`` has no
            :class:`HTMObservation`).
        likelihood_params: keyword arguments of ``htmagent.anomaly.AnomalyLikelihood`` (``source="likelihood"``).
        count_table_size: counters of the hashed pattern counts (``source="count"``).
        seed: int, Generator or None for the private HTM.
        normalize: divide the intrinsic reward by a running standard deviation of its discounted sum (as RND
            does: Burda et al. 2018; :class:`IntrinsicNormalizer`, whose statistics forget with a horizon of 10k
            steps), so that one ``beta`` suits tasks whose bonuses differ in scale; ``info`` then also has
            ``intrinsic_reward_normalized``. The statistics are kept per wrapper (per env copy), never reset
            between episodes, and saved with the state.
        intrinsic_gamma: the discount of that running sum (only with ``normalize``).

    Example (the setting that solves MountainCar-v0 with PPO in docs/results_rl.md):
        >>> env = HTMCuriosity(gym.make("MountainCar-v0"), beta=0.5, source="count", seed=0,
        ...                    htm_kwargs=dict(encoder_params=dict(resolution=[0.05, 0.005])))
    """

    def __init__(
        self,
        env: gym.Env,
        beta: float = 0.1,
        source: str = "anomaly",
        episodic: bool = False,
        htm_kwargs: dict | None = None,
        likelihood_params: dict | None = None,
        count_table_size: int = 2**16,
        seed: int | np.random.Generator | None = None,
        normalize: bool = False,
        intrinsic_gamma: float = 0.99,
    ):
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}")
        count_table_size = check_int(count_table_size, "count_table_size", 1)
        if not is_real(beta):
            raise TypeError(f"beta must be a real number, got {type(beta).__name__} {beta!r}")
        if not (np.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta}")
        if source not in ("anomaly", "likelihood", "count"):
            raise ValueError(f"source must be 'anomaly', 'likelihood' or 'count', got {source!r}")
        episodic = check_bool(episodic, "episodic")
        normalize = check_bool(normalize, "normalize")
        normalizer = IntrinsicNormalizer(intrinsic_gamma)  # checks the discount before anything is built
        for name, value in (("htm_kwargs", htm_kwargs), ("likelihood_params", likelihood_params)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
        inner = _find_htm_observation(env)
        if inner is not None and htm_kwargs:
            raise ValueError("htm_kwargs is only used when env has no HTMObservation inside, which it has")
        gym.utils.RecordConstructorArgs.__init__(
            self, beta=beta, source=source, episodic=episodic, htm_kwargs=htm_kwargs,
            likelihood_params=likelihood_params, count_table_size=count_table_size, seed=seed,
            normalize=normalize, intrinsic_gamma=intrinsic_gamma,
        )
        gym.Wrapper.__init__(self, env)
        self.beta = float(beta)
        self.source = source
        self.episodic = episodic
        self.normalize = normalize
        self.intrinsic_gamma = normalizer.gamma
        self._normalizer = normalizer
        self._inner = inner
        rng = make_rng(seed)
        # The private stream draws its seeds from rng first (as it would from ``seed`` itself); the hash keys after.
        self.htm = inner.htm if inner is not None else HTMStream(env.observation_space, seed=rng,
                                                                 **(htm_kwargs or {}))
        # Zobrist hashing of minicolumn sets: one random 64-bit key per minicolumn, XORed over the active ones.
        self._column_keys = rng.integers(0, 2**63, size=self.htm.column_count, dtype=np.int64).astype(np.uint64)
        self._counts = np.zeros(count_table_size if source == "count" else 0, dtype=np.int64)
        if source == "likelihood":
            from htmagent.anomaly import AnomalyLikelihood

            self.likelihood = AnomalyLikelihood(**(likelihood_params or {}))
        else:
            if likelihood_params:
                raise ValueError("likelihood_params is only used with source='likelihood'")
            self.likelihood = None
        self._seen: set[bytes] = set()

    def _after_observation(self, observation: Any, reset: bool) -> None:
        if self._inner is None:
            if reset:
                self.htm.reset()
            self.htm.compute(observation, True)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env; the episodic memory of seen SDRs starts empty with the first observation."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._after_observation(obs, reset=True)
        self._seen = {self.htm.active_columns.sparse.tobytes()}
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and add ``beta * intrinsic`` to its reward."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._after_observation(obs, reset=False)
        intrinsic = self.htm.anomaly
        if self.likelihood is not None:
            intrinsic = float(self.likelihood.compute(intrinsic))
        elif self.source == "count":
            slot = int(np.bitwise_xor.reduce(self._column_keys[self.htm.active_columns.sparse], initial=np.uint64(0))
                       % np.uint64(self._counts.size))
            self._counts[slot] += 1
            intrinsic = 1.0 / float(np.sqrt(self._counts[slot]))
        if self.episodic:
            key = self.htm.active_columns.sparse.tobytes()
            novel = key not in self._seen
            self._seen.add(key)
            intrinsic = (0.5 + 0.5 * intrinsic) if novel else 0.0
        info = dict(info)
        info["extrinsic_reward"] = float(reward)
        info["intrinsic_reward"] = float(intrinsic)
        if self.normalize:
            intrinsic = self._normalizer(float(intrinsic))
            info["intrinsic_reward_normalized"] = intrinsic
        return obs, float(reward) + self.beta * float(intrinsic), terminated, truncated, info

    def state_dict(self) -> dict:
        """The private HTM (if any), the likelihood model (if any), the pattern counts and this episode's seen SDRs."""
        return {
            "htm": self.htm.state_dict() if self._inner is None else {},
            "likelihood": self.likelihood.state_dict() if self.likelihood is not None else {},
            "seen": sorted(key.hex() for key in self._seen),
            "column_keys": self._column_keys.copy(),
            "counts": self._counts.copy(),
            "normalizer": self._normalizer.state.copy(),
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (an inner :class:`HTMObservation` loads its own HTM)."""
        seen = {bytes.fromhex(key) for key in state["seen"]}
        keys = np.asarray(state["column_keys"]).astype(np.uint64)
        counts = np.asarray(state["counts"]).astype(np.int64)
        # [discounted return, count, mean, variance]; files from before normalisation existed have none (it was off)
        norm = IntrinsicNormalizer.checked(state)
        if keys.shape != self._column_keys.shape or counts.shape != self._counts.shape:
            raise ValueError(
                f"state has {keys.shape[0]} column keys and {counts.shape[0]} counters, this wrapper has "
                f"{self._column_keys.shape[0]} and {self._counts.shape[0]}"
            )
        if self._inner is None:
            self.htm.load_state_dict(state["htm"])
        if self.likelihood is not None:
            self.likelihood.load_state_dict(state["likelihood"])
        self._seen = seen
        self._column_keys = keys.copy()
        self._counts = counts.copy()
        self._normalizer.state = norm

    def _own_state(self) -> dict:
        return self.state_dict()

    def _load_own_state(self, state: dict) -> None:
        self.load_state_dict(state)

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`state_dict` to ``path`` (``.npz`` + JSON)."""
        save_state(path, self.state_dict())

    def load(self, path: str | os.PathLike) -> None:
        """Load a file written by :meth:`save` into this wrapper (a malformed file raises
        :class:`~htmagent.serialization.StateError` naming it, and leaves the wrapper as it was)."""
        with naming_file(path):
            self.load_state_dict(load_state(path))


class RawCountBonus(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The count baseline for :class:`HTMCuriosity`: ``beta / sqrt(n)`` over buckets of the raw observation.

    Each observation (flattened as :func:`~htmagent.envs.wrappers.flatten_observation` does) is cut into buckets,
    ``num_buckets`` across each bounded element's range (``resolution`` wide for an unbounded one), and ``n``
    counts the steps on which exactly this tuple of buckets occurred, in a hashed table of ``count_table_size``
    counters. The same bonus as ``HTMCuriosity(source="count")``, on the raw state instead of the HTM's code: what
    the HTM must beat to be worth its cost. ``info`` gets ``extrinsic_reward`` and ``intrinsic_reward``.

    Args:
        env: the environment.
        beta: weight of the bonus (>= 0).
        num_buckets: buckets across each bounded element's range.
        resolution: bucket width of unbounded elements.
        count_table_size: counters of the hashed table.
        normalize: divide the bonus by :class:`IntrinsicNormalizer`'s running std.
        intrinsic_gamma: that normaliser's discount.
    """

    def __init__(self, env: gym.Env, beta: float = 0.1, num_buckets: int = 20, resolution: float = 1.0,
                 count_table_size: int = 2**16, normalize: bool = False, intrinsic_gamma: float = 0.99):
        from htmagent.envs.wrappers import flat_space

        if not is_real(beta) or not (np.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        num_buckets = check_int(num_buckets, "num_buckets", 1)
        count_table_size = check_int(count_table_size, "count_table_size", 1)
        if not is_real(resolution) or not resolution > 0:
            raise ValueError(f"resolution must be a number > 0, got {resolution!r}")
        gym.utils.RecordConstructorArgs.__init__(self, beta=beta, num_buckets=num_buckets, resolution=resolution,
                                                 count_table_size=count_table_size, normalize=normalize,
                                                 intrinsic_gamma=intrinsic_gamma)
        gym.Wrapper.__init__(self, env)
        self.beta = float(beta)
        box = flat_space(env.observation_space)
        low, high = box.low.astype(np.float64), box.high.astype(np.float64)
        bounded = np.isfinite(low) & np.isfinite(high) & (high > low)
        self._low = np.where(bounded, low, 0.0)
        self._width = np.where(bounded, (high - low) / num_buckets, float(resolution))
        self._counts = np.zeros(count_table_size, dtype=np.int64)
        self.normalize = check_bool(normalize, "normalize")
        self._normalizer = IntrinsicNormalizer(intrinsic_gamma)

    def bonus(self, observation: Any) -> float:
        """Count this observation's bucket tuple and return ``1 / sqrt(n)``."""
        from htmagent.envs.wrappers import flatten_observation

        buckets = np.floor((flatten_observation(self.env.observation_space, observation) - self._low)
                           / self._width).astype(np.int64)
        slot = zlib.crc32(buckets.tobytes()) % self._counts.size
        self._counts[slot] += 1
        return 1.0 / float(np.sqrt(self._counts[slot]))

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and add ``beta * bonus``."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        intrinsic = self.bonus(obs)
        info = dict(info, extrinsic_reward=float(reward), intrinsic_reward=float(intrinsic))
        if self.normalize:
            intrinsic = self._normalizer(intrinsic)
            info["intrinsic_reward_normalized"] = intrinsic
        return obs, float(reward) + self.beta * intrinsic, terminated, truncated, info
