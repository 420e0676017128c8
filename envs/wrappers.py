"""Gymnasium wrappers that put an HTM next to any environment: HTM observations and a curiosity reward.

:class:`HTMObservation` runs an encoder, a spatial pooler and a temporal memory online inside ``step`` and hands the
agent the active minicolumns, the minicolumns predicted for the next step and the anomaly score.
:class:`HTMCuriosity` adds ``beta * intrinsic`` to the reward, where the intrinsic part is the HTM's surprise.

Both are ordinary ``gymnasium`` wrappers: they work under vector envs (each copy has its own HTM) and with
Stable-Baselines3 (see :mod:`htmagent.sb3` for the matching features extractor).
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Protocol, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from htmagent._rng import make_rng
from htmagent.encoders.category import CategoryEncoder
from htmagent.encoders.rdse import RDSE
from htmagent.sdr import SDR
from htmagent.serialization import load_state, save_state

__all__ = [
    "ObservationEncoder",
    "SpaceEncoder",
    "HTMStream",
    "HTMObservation",
    "HTMCuriosity",
]

_STATE_FORMAT = "htmagent.HTMStream/1"
# Distinct hash keys per Box dimension: dimension d's buckets are shifted by d * _DIM_STRIDE before hashing.
_DIM_STRIDE = float(2**32)
# A Box bound this wide (e.g. CartPole's +-float32 max for velocities) counts as "no bound".
_UNBOUNDED_WIDTH = 1e6
# Default number of active minicolumns (the spatial pooler's k; at most half the columns): enough for the TM's
# default thresholds below.
_ACTIVE_COLUMNS = 20


class ObservationEncoder(Protocol):
    """What :class:`HTMObservation` needs from a user-given encoder: a fixed ``size`` and ``encode(obs) -> SDR``."""

    size: int

    def encode(self, value: Any) -> SDR: ...


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def _seed_int(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**62))


class SpaceEncoder:
    """The default encoder for a Gymnasium space: a sensory population chosen from the space's type.

    - ``Box`` (1-D or any non-image shape): one RDSE block of ``size_per_dim`` bits per element. A dimension with
      both bounds finite and less than 1e6 apart gets ``resolution = (high - low) / num_buckets``. An unbounded
      dimension (CartPole's velocities) gets its resolution from running statistics: mean and variance (Welford) of
      the first ``stats_warmup`` observations, ``resolution = 4 * std / num_buckets`` (the +-2 std range is cut
      into ``num_buckets`` buckets), re-estimated when the count reaches 2, 4, 8, ... and frozen at
      ``stats_warmup``. The codes therefore depend only on the sequence of observations seen (no clock, no RNG):
      the same seeds and the same episodes give the same codes, and the statistics are saved with the state.
    - ``Box`` image (``uint8``, shape ``(H, W)`` or ``(H, W, C)``, both sides >= 8): converted to grey, averaged
      down to an ``image_grid x image_grid`` grid, each cell's brightness quantized into ``image_levels`` levels and
      one-hot coded (``image_grid**2`` active bits of ``image_grid**2 * image_levels``).
    - ``Discrete``: a category code (disjoint random groups of ``active_bits``).
    - ``MultiDiscrete``: one category code per element, concatenated.
    - ``MultiBinary``: passed through (the set bits are the active bits).
    - ``Dict`` / ``Tuple``: the sub-spaces' codes, concatenated in key order.

    Args:
        space: the observation space to encode.
        size_per_dim: bits per Box element or per category block.
        active_bits: active bits per Box element or category.
        num_buckets: buckets across a bounded dimension's range (or +-2 std of an unbounded one).
        stats_warmup: observations after which an unbounded dimension's resolution is frozen.
        image_grid: side of the down-sampled image grid.
        image_levels: brightness levels per grid cell.
        seed: int (or Generator) that selects the hash codes.
    """

    def __init__(
        self,
        space: spaces.Space,
        size_per_dim: int = 128,
        active_bits: int = 8,
        num_buckets: int = 64,
        stats_warmup: int = 1024,
        image_grid: int = 16,
        image_levels: int = 8,
        seed: int | np.random.Generator | None = 0,
    ):
        if not isinstance(space, spaces.Space):
            raise TypeError(f"space must be a gymnasium.spaces.Space, got {type(space).__name__}")
        self.size_per_dim = _check_int(size_per_dim, "size_per_dim", 1)
        self.active_bits = _check_int(active_bits, "active_bits", 1)
        if self.active_bits > self.size_per_dim:
            raise ValueError(f"active_bits must be <= size_per_dim ({self.size_per_dim}), got {self.active_bits}")
        self.num_buckets = _check_int(num_buckets, "num_buckets", 1)
        self.stats_warmup = _check_int(stats_warmup, "stats_warmup", 2)
        self.image_grid = _check_int(image_grid, "image_grid", 1)
        self.image_levels = _check_int(image_levels, "image_levels", 2)
        # The codes are a function of one int seed, kept in the state so that a loaded encoder codes alike.
        if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
            if seed < 0:
                raise ValueError(f"seed must be a non-negative integer, got {seed}")
            self.seed = int(seed)
        else:
            self.seed = _seed_int(make_rng(seed))
        rng = make_rng(self.seed)
        self.space = space
        self.kind = _space_kind(space)
        if self.kind == "box":
            self._init_box(space, _seed_int(rng))
        elif self.kind == "image":
            h, w = space.shape[:2]
            self._image_rows = np.minimum((np.arange(h) * self.image_grid) // h, self.image_grid - 1)
            self._image_cols = np.minimum((np.arange(w) * self.image_grid) // w, self.image_grid - 1)
            self._image_counts = np.bincount(
                (self._image_rows[:, None] * self.image_grid + self._image_cols[None, :]).ravel(),
                minlength=self.image_grid**2,
            ).astype(np.float64)
            self.size = self.image_grid**2 * self.image_levels
        elif self.kind == "discrete":
            self._category = CategoryEncoder(
                num_categories=int(space.n), size=self.size_per_dim, active_bits=self.active_bits, seed=_seed_int(rng)
            )
            self.size = self.size_per_dim
        elif self.kind == "multidiscrete":
            nvec = np.asarray(space.nvec).ravel()
            self._categories = [
                CategoryEncoder(num_categories=int(n), size=self.size_per_dim, active_bits=self.active_bits,
                                seed=_seed_int(rng))
                for n in nvec
            ]
            self.size = self.size_per_dim * len(nvec)
        elif self.kind == "multibinary":
            self.size = int(np.prod(space.shape))
        else:
            subspaces = list(space.spaces.values()) if isinstance(space, spaces.Dict) else list(space.spaces)
            self._keys = list(space.spaces.keys()) if isinstance(space, spaces.Dict) else list(range(len(subspaces)))
            self._parts = [
                SpaceEncoder(s, size_per_dim, active_bits, num_buckets, stats_warmup, image_grid, image_levels,
                             seed=_seed_int(rng))
                for s in subspaces
            ]
            self._offsets = np.cumsum([0] + [p.size for p in self._parts])
            self.size = int(self._offsets[-1])

    def _init_box(self, space: spaces.Box, seed: int) -> None:
        low = np.asarray(space.low, dtype=np.float64).ravel()
        high = np.asarray(space.high, dtype=np.float64).ravel()
        self._dims = low.size
        self.size = self._dims * self.size_per_dim
        self._bounded = np.isfinite(low) & np.isfinite(high) & ((high - low) < _UNBOUNDED_WIDTH)
        self._resolution = np.ones(self._dims)
        self._resolution[self._bounded] = (high - low)[self._bounded] / self.num_buckets
        self._resolution[self._bounded & (self._resolution <= 0)] = 1.0
        self._rdse = RDSE(self.size_per_dim, active_bits=self.active_bits, resolution=1.0, seed=seed)
        self._dim_shift = np.arange(self._dims) * _DIM_STRIDE
        self._block_offsets = (np.arange(self._dims) * self.size_per_dim)[:, None].astype(np.int32)
        self._count = 0
        self._mean = np.zeros(self._dims)
        self._m2 = np.zeros(self._dims)

    def encode(self, value: Any, learn: bool = True) -> SDR:
        """Encode one observation of ``space``.

        Args:
            value: an observation of ``space``.
            learn: let unbounded Box dimensions update their running statistics (during the warm-up only).
        """
        if self.kind == "box":
            return SDR._trusted(self.size, self._encode_box(value, learn))
        if self.kind == "image":
            return SDR._trusted(self.size, self._encode_image(value))
        if self.kind == "discrete":
            return self._category.encode(int(value) - int(self.space.start))
        if self.kind == "multidiscrete":
            values = np.asarray(value).ravel() - np.asarray(self.space.start).ravel()
            rows = [enc.encode(int(v)).sparse + i * self.size_per_dim for i, (enc, v) in
                    enumerate(zip(self._categories, values))]
            return SDR._trusted(self.size, np.concatenate(rows).astype(np.int32))
        if self.kind == "multibinary":
            arr = np.asarray(value)
            if arr.size != self.size:
                raise ValueError(f"observation must have {self.size} elements, got shape {arr.shape}")
            return SDR._trusted(self.size, np.flatnonzero(arr.ravel()).astype(np.int32))
        values = [value[k] for k in self._keys]
        rows = [p.encode(v, learn).sparse + int(off) for p, v, off in zip(self._parts, values, self._offsets)]
        return SDR._trusted(self.size, np.concatenate(rows).astype(np.int32))

    def _encode_box(self, value: Any, learn: bool) -> np.ndarray:
        x = np.asarray(value, dtype=np.float64).ravel()
        if x.size != self._dims:
            raise ValueError(f"observation must have {self._dims} elements, got shape {np.shape(value)}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"observation must be finite, got {x}")
        if learn and self._count < self.stats_warmup and not self._bounded.all():
            self._update_statistics(x)
        scaled = x / self._resolution + self._dim_shift
        rows = self._rdse.encode_indices(scaled) + self._block_offsets
        return rows.ravel()

    def _update_statistics(self, x: np.ndarray) -> None:
        self._count += 1
        delta = x - self._mean
        self._mean += delta / self._count
        self._m2 += delta * (x - self._mean)
        # Re-estimate only at powers of two (and at the end of warm-up) so that codes change a few times, not every
        # step, while the statistics settle.
        if self._count >= 2 and (self._count & (self._count - 1) == 0 or self._count == self.stats_warmup):
            std = np.sqrt(self._m2 / (self._count - 1))
            free = ~self._bounded
            self._resolution[free] = np.maximum(4.0 * std[free], 1e-6) / self.num_buckets

    def _encode_image(self, value: Any) -> np.ndarray:
        img = np.asarray(value)
        if img.shape != self.space.shape:
            raise ValueError(f"observation must have shape {self.space.shape}, got {img.shape}")
        grey = img.astype(np.float64)
        if grey.ndim == 3:
            grey = grey.mean(axis=2)
        cells = (self._image_rows[:, None] * self.image_grid + self._image_cols[None, :]).ravel()
        sums = np.bincount(cells, weights=grey.ravel(), minlength=self.image_grid**2)
        levels = np.minimum((sums / self._image_counts / 256.0 * self.image_levels).astype(np.int64),
                            self.image_levels - 1)
        return (np.arange(self.image_grid**2) * self.image_levels + levels).astype(np.int32)

    def state_dict(self) -> dict:
        """The seed (which fixes the codes) and the running statistics of unbounded Box dimensions."""
        state: dict = {"seed": self.seed}
        if self.kind == "box":
            state.update(count=self._count, mean=self._mean.copy(), m2=self._m2.copy(),
                         resolution=self._resolution.copy())
        elif self.kind in ("dict", "tuple"):
            state.update({str(i): p.state_dict() for i, p in enumerate(self._parts)})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (re-deriving the codes if the seed differs)."""
        seed = int(state["seed"])
        if seed != self.seed:
            # Same settings, other seed: rebuild the codes first (the statistics are loaded below).
            self.__init__(self.space, self.size_per_dim, self.active_bits, self.num_buckets, self.stats_warmup,
                          self.image_grid, self.image_levels, seed=seed)
        if self.kind == "box":
            resolution = np.asarray(state["resolution"], dtype=np.float64)
            if resolution.shape != (self._dims,):
                raise ValueError(f"state['resolution'] must have shape ({self._dims},), got {resolution.shape}")
            self._count = int(state["count"])
            self._mean = np.asarray(state["mean"], dtype=np.float64).copy()
            self._m2 = np.asarray(state["m2"], dtype=np.float64).copy()
            self._resolution = resolution.copy()
        elif self.kind in ("dict", "tuple"):
            for i, p in enumerate(self._parts):
                p.load_state_dict(state[str(i)])


def _space_kind(space: spaces.Space) -> str:
    if isinstance(space, spaces.Box):
        shape = space.shape
        if space.dtype == np.uint8 and len(shape) in (2, 3) and min(shape[:2]) >= 8:
            return "image"
        return "box"
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if isinstance(space, spaces.MultiDiscrete):
        return "multidiscrete"
    if isinstance(space, spaces.MultiBinary):
        return "multibinary"
    if isinstance(space, spaces.Dict):
        return "dict"
    if isinstance(space, spaces.Tuple):
        return "tuple"
    raise TypeError(
        f"no default encoder for {type(space).__name__} observation spaces; pass encoder= (an object with .size and "
        ".encode(observation) -> SDR)"
    )


class HTMStream:
    """Encoder -> spatial pooler -> temporal memory, one observation at a time (the classic sequence path).

    Each :meth:`compute` encodes an observation, lets the spatial pooler pick the active minicolumns and lets the
    temporal memory (sequence mode: its basal context is its own previous activity) activate cells and predict the
    next step's minicolumns. The anomaly score is the fraction of this step's active minicolumns that were not
    predicted. :meth:`reset` ends the sequence, so the next observation is not taken as a continuation. The stream
    does not decide when learning happens: the caller passes ``learn``.

    Args:
        observation_space: space of the observations (used to build the default encoder).
        encoder: an object with ``size`` and ``encode(observation) -> SDR``; ``None`` builds a :class:`SpaceEncoder`.
        column_count: number of minicolumns.
        cells_per_column: cells per minicolumn.
        sp_params: extra keyword arguments of :class:`~htmagent.spatial_pooler.SpatialPooler` (override defaults:
            global inhibition, 20 active minicolumns, potential pool over half the input).
        tm_params: extra keyword arguments of :class:`~htmagent.temporal_memory.TemporalMemory`.
        seed: int, Generator or None; seeds the default encoder, the pooler and the memory.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        encoder: ObservationEncoder | None = None,
        column_count: int = 512,
        cells_per_column: int = 8,
        sp_params: dict | None = None,
        tm_params: dict | None = None,
        seed: int | np.random.Generator | None = None,
    ):
        from htmagent.spatial_pooler import SpatialPooler
        from htmagent.temporal_memory import TemporalMemory

        self.column_count = _check_int(column_count, "column_count", 1)
        self.cells_per_column = _check_int(cells_per_column, "cells_per_column", 1)
        for name, value in (("sp_params", sp_params), ("tm_params", tm_params)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
        rng = make_rng(seed)
        if encoder is None:
            encoder = SpaceEncoder(observation_space, seed=_seed_int(rng))
        elif not (hasattr(encoder, "encode") and isinstance(getattr(encoder, "size", None), numbers.Integral)):
            raise TypeError(
                f"encoder must have an int .size and an .encode(observation) -> SDR method, got {type(encoder).__name__}"
            )
        self.encoder = encoder
        n_inputs = int(encoder.size)
        sp_kwargs = dict(
            potential_radius=n_inputs,
            potential_pct=0.5,
            global_inhibition=True,
            local_area_density=min(_ACTIVE_COLUMNS / self.column_count, 0.5),
            boost_strength=0.0,
            wrap_around=False,
        )
        sp_kwargs.update(sp_params or {})
        self.sp = SpatialPooler(n_inputs, self.column_count, seed=_seed_int(rng), **sp_kwargs)
        # The memory's defaults (segments sample 20 winner cells, fire on 13, match on 10) fit the 20 active
        # minicolumns; a lower matching threshold lets one segment match two contexts and flip between them.
        tm_kwargs = dict(tm_params or {})
        self.tm = TemporalMemory(self.column_count, self.cells_per_column, seed=_seed_int(rng), **tm_kwargs)
        self.active_columns = SDR(self.column_count)
        self.predicted_columns = SDR(self.column_count)
        self.anomaly = 0.0

    def reset(self) -> None:
        """End the current sequence (the next observation starts a new one)."""
        self.tm.reset()

    def compute(self, observation: Any, learn: bool) -> None:
        """Process one observation; sets ``active_columns``, ``predicted_columns`` and ``anomaly``."""
        if isinstance(self.encoder, SpaceEncoder):
            encoded = self.encoder.encode(observation, learn)
        else:
            encoded = self.encoder.encode(observation)
        if encoded.size != self.encoder.size:
            raise ValueError(f"encoder returned an SDR of size {encoded.size}, expected {self.encoder.size}")
        columns = self.sp.compute(encoded, learn=learn)
        self.tm.compute(columns, learn=learn)
        self.active_columns = columns.reshape(self.column_count) if columns.shape != (self.column_count,) else columns
        self.predicted_columns = self.tm.predicted_columns
        self.anomaly = float(self.tm.anomaly)

    @property
    def active_cells(self) -> SDR:
        """The temporal memory's active cells (minicolumn-major: cell ``c * cells_per_column + i``)."""
        return self.tm.active_cells

    def state_dict(self) -> dict:
        """Everything needed to resume exactly: encoder statistics, pooler, memory and the last outputs."""
        encoder_state = self.encoder.state_dict() if hasattr(self.encoder, "state_dict") else {}
        return {
            "format": _STATE_FORMAT,
            "column_count": self.column_count,
            "cells_per_column": self.cells_per_column,
            "encoder": encoder_state,
            "sp": self.sp.state_dict(),
            "tm": self.tm.state_dict(),
            "active_columns": self.active_columns.sparse.copy(),
            "predicted_columns": self.predicted_columns.sparse.copy(),
            "anomaly": self.anomaly,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (sizes must match this stream's)."""
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            got = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"state must be an HTM stream state with format {_STATE_FORMAT!r}, got {got!r}")
        for key in ("column_count", "cells_per_column"):
            if int(state[key]) != getattr(self, key):
                raise ValueError(f"state has {key}={state[key]}, this stream has {getattr(self, key)}")
        backup = self.state_dict()
        try:
            self._load_parts(state)
        except Exception:
            # Leave the stream as it was if any part rejects its state.
            self._load_parts(backup)
            raise

    def _load_parts(self, state: dict) -> None:
        if hasattr(self.encoder, "load_state_dict"):
            self.encoder.load_state_dict(state["encoder"])
        self.sp.load_state_dict(state["sp"])
        self.tm.load_state_dict(state["tm"])
        self.active_columns = SDR(self.column_count, np.asarray(state["active_columns"], dtype=np.int32))
        self.predicted_columns = SDR(self.column_count, np.asarray(state["predicted_columns"], dtype=np.int32))
        self.anomaly = float(state["anomaly"])


class HTMObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observe an environment through an HTM that learns online: active minicolumns, predictions, anomaly.

    Every observation (after ``reset`` and after each ``step``) is encoded into an SDR, pooled into active
    minicolumns by a spatial pooler and fed to a sequence temporal memory, which predicts the next step's
    minicolumns from its own previous cells. The agent receives:

    ==============  ==========================================  =====================================================
    key             space                                       meaning
    ==============  ==========================================  =====================================================
    ``original``    the wrapped env's observation space         the observation itself
    ``sdr``         ``MultiBinary(column_count)``               active minicolumns now
    ``predicted``   ``MultiBinary(column_count)``               minicolumns predicted for the next step
    ``anomaly``     ``Box(0, 1, (1,), float32)``                fraction of active minicolumns that were not predicted
    ``cells``       ``MultiBinary(column_count * cells)``       active cells (only with ``include_cells=True``)
    ==============  ==========================================  =====================================================

    ``reset`` ends the temporal memory's sequence (the first observation of an episode is never taken as the
    continuation of the previous episode); it does not re-seed the HTM, whose randomness comes from ``seed`` only.
    ``learn=False`` (or setting ``wrapper.learn = False``) freezes the pooler and the memory: the wrapper is then a
    deterministic function of the episode, as Gymnasium's ``check_env`` expects. The HTM state (encoder statistics,
    pooler, memory) saves with :meth:`save_htm` and loads with :meth:`load_htm`; a loaded wrapper resumes exactly.

    Args:
        env: the environment to wrap.
        encoder: an object with ``size`` and ``encode(observation) -> SDR``; ``None`` picks a :class:`SpaceEncoder`
            from the observation space (RDSE per Box element, category for Discrete, pass-through for MultiBinary,
            down-sampling for images).
        column_count: minicolumns of the pooler and the memory.
        cells_per_column: cells per minicolumn (more cells = longer temporal context).
        sp_params: extra ``SpatialPooler`` keyword arguments.
        tm_params: extra ``TemporalMemory`` keyword arguments.
        learn: whether the HTM learns.
        include_cells: also emit the active cells (the temporal context) under ``cells``.
        seed: int, Generator or None (fresh entropy) for the HTM.

    Example:
        >>> env = HTMObservation(gym.make("CartPole-v1"), column_count=512, seed=0)
        >>> obs, info = env.reset(seed=0)
        >>> sorted(obs)
        ['anomaly', 'original', 'predicted', 'sdr']
    """

    def __init__(
        self,
        env: gym.Env,
        encoder: ObservationEncoder | None = None,
        column_count: int = 512,
        cells_per_column: int = 8,
        sp_params: dict | None = None,
        tm_params: dict | None = None,
        learn: bool = True,
        include_cells: bool = False,
        seed: int | np.random.Generator | None = None,
    ):
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}")
        gym.utils.RecordConstructorArgs.__init__(
            self, encoder=encoder, column_count=column_count, cells_per_column=cells_per_column,
            sp_params=sp_params, tm_params=tm_params, learn=learn, include_cells=include_cells, seed=seed,
        )
        gym.ObservationWrapper.__init__(self, env)
        self._learn = _check_bool(learn, "learn")
        self.include_cells = _check_bool(include_cells, "include_cells")
        self.htm = HTMStream(env.observation_space, encoder, column_count, cells_per_column, sp_params, tm_params,
                             seed)
        n = self.htm.column_count
        keys = {
            "original": env.observation_space,
            "sdr": spaces.MultiBinary(n),
            "predicted": spaces.MultiBinary(n),
            "anomaly": spaces.Box(0.0, 1.0, (1,), np.float32),
        }
        if self.include_cells:
            keys["cells"] = spaces.MultiBinary(n * self.htm.cells_per_column)
        self.observation_space = spaces.Dict(keys)

    @property
    def learn(self) -> bool:
        """Whether the pooler and the memory learn on each step."""
        return self._learn

    @learn.setter
    def learn(self, value: bool) -> None:
        self._learn = _check_bool(value, "learn")

    @property
    def anomaly(self) -> float:
        """Anomaly score of the last observation (what :class:`HTMCuriosity` reads)."""
        return self.htm.anomaly

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env and end the temporal memory's sequence; the first observation is processed as usual."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.htm.reset()
        return self.observation(obs), info

    def observation(self, observation: Any) -> dict[str, Any]:
        """Run the HTM on ``observation`` and build the dict observation."""
        self.htm.compute(observation, self._learn)
        n = self.htm.column_count
        sdr = np.zeros(n, dtype=np.int8)
        sdr[self.htm.active_columns.sparse] = 1
        predicted = np.zeros(n, dtype=np.int8)
        predicted[self.htm.predicted_columns.sparse] = 1
        out = {
            "original": observation,
            "sdr": sdr,
            "predicted": predicted,
            "anomaly": np.array([min(max(self.htm.anomaly, 0.0), 1.0)], dtype=np.float32),
        }
        if self.include_cells:
            cells = np.zeros(n * self.htm.cells_per_column, dtype=np.int8)
            cells[self.htm.active_cells.sparse] = 1
            out["cells"] = cells
        return out

    def htm_state_dict(self) -> dict:
        """The HTM's state (see :meth:`HTMStream.state_dict`)."""
        return self.htm.state_dict()

    def load_htm_state_dict(self, state: dict) -> None:
        """Restore :meth:`htm_state_dict` output."""
        self.htm.load_state_dict(state)

    def save_htm(self, path: str | os.PathLike) -> None:
        """Write the HTM's state to ``path`` (``.npz`` + JSON, no pickle)."""
        save_state(path, self.htm_state_dict())

    def load_htm(self, path: str | os.PathLike) -> None:
        """Load a state written by :meth:`save_htm` into this wrapper's HTM (same sizes required)."""
        self.load_htm_state_dict(load_state(path))


def _find_htm_observation(env: gym.Env) -> HTMObservation | None:
    while True:
        if isinstance(env, HTMObservation):
            return env
        if not isinstance(env, gym.Wrapper):
            return None
        env = env.env


class HTMCuriosity(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Add the HTM's surprise to the reward: ``reward = extrinsic + beta * intrinsic``.

    The intrinsic part is the anomaly score of the new observation (``source="anomaly"``), or its anomaly likelihood
    (``source="likelihood"``, a running estimate of how unusual the recent scores are). A prediction error signal
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
        source: ``"anomaly"`` or ``"likelihood"``.
        episodic: pay episodic novelty modulated by surprise instead of surprise alone (see above).
        htm_kwargs: keyword arguments of the private :class:`HTMStream` (only when ``env`` has no
            :class:`HTMObservation`).
        likelihood_params: keyword arguments of ``htmagent.anomaly.AnomalyLikelihood`` (``source="likelihood"``).
        seed: int, Generator or None for the private HTM.

    Example:
        >>> env = HTMCuriosity(gym.make("MountainCar-v0"), beta=0.5, episodic=True, seed=0)
    """

    def __init__(
        self,
        env: gym.Env,
        beta: float = 0.1,
        source: str = "anomaly",
        episodic: bool = False,
        htm_kwargs: dict | None = None,
        likelihood_params: dict | None = None,
        seed: int | np.random.Generator | None = None,
    ):
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}")
        if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, numbers.Real):
            raise TypeError(f"beta must be a real number, got {type(beta).__name__} {beta!r}")
        if not (np.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta}")
        if source not in ("anomaly", "likelihood"):
            raise ValueError(f"source must be 'anomaly' or 'likelihood', got {source!r}")
        episodic = _check_bool(episodic, "episodic")
        for name, value in (("htm_kwargs", htm_kwargs), ("likelihood_params", likelihood_params)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
        inner = _find_htm_observation(env)
        if inner is not None and htm_kwargs:
            raise ValueError("htm_kwargs is only used when env has no HTMObservation inside, which it has")
        gym.utils.RecordConstructorArgs.__init__(
            self, beta=beta, source=source, episodic=episodic, htm_kwargs=htm_kwargs,
            likelihood_params=likelihood_params, seed=seed,
        )
        gym.Wrapper.__init__(self, env)
        self.beta = float(beta)
        self.source = source
        self.episodic = episodic
        self._inner = inner
        self.htm = inner.htm if inner is not None else HTMStream(env.observation_space, seed=seed,
                                                                 **(htm_kwargs or {}))
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
        if self.episodic:
            key = self.htm.active_columns.sparse.tobytes()
            novel = key not in self._seen
            self._seen.add(key)
            intrinsic = (0.5 + 0.5 * intrinsic) if novel else 0.0
        info = dict(info)
        info["extrinsic_reward"] = float(reward)
        info["intrinsic_reward"] = float(intrinsic)
        return obs, float(reward) + self.beta * float(intrinsic), terminated, truncated, info

    def state_dict(self) -> dict:
        """The private HTM (if any), the likelihood model (if any) and this episode's seen SDRs."""
        return {
            "htm": self.htm.state_dict() if self._inner is None else {},
            "likelihood": self.likelihood.state_dict() if self.likelihood is not None else {},
            "seen": sorted(key.hex() for key in self._seen),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (an inner :class:`HTMObservation` loads its own HTM)."""
        seen = {bytes.fromhex(key) for key in state["seen"]}
        if self._inner is None:
            self.htm.load_state_dict(state["htm"])
        if self.likelihood is not None:
            self.likelihood.load_state_dict(state["likelihood"])
        self._seen = seen

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`state_dict` to ``path`` (``.npz`` + JSON)."""
        save_state(path, self.state_dict())

    def load(self, path: str | os.PathLike) -> None:
        """Load a file written by :meth:`save` into this wrapper."""
        self.load_state_dict(load_state(path))
