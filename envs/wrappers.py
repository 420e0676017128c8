"""Gymnasium wrappers that put an HTM next to any environment: HTM observations (curiosity: :mod:`.curiosity`).

:class:`HTMObservation` runs an encoder, a spatial pooler and a temporal memory online inside ``step`` and hands the
agent the active minicolumns, the minicolumns predicted for the next step and the anomaly score (optionally a
decaying trace of recent minicolumns, the memory's active cells, and an action-conditioned code).
:class:`~htmagent.envs.curiosity.HTMCuriosity` adds ``beta * intrinsic`` to the reward, where the intrinsic part is the HTM's surprise or the
rarity of its current code.

Both are ordinary ``gymnasium`` wrappers: they work under vector envs (each copy has its own HTM) and with
Stable-Baselines3 (see :mod:`htmagent.sb3` for the matching features extractor).
"""

from __future__ import annotations

import numbers
import os
import zlib
from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from htmagent._rng import make_rng
from htmagent._validation import check_bool, check_int, is_real
from htmagent.envs.space_encoder import ObservationEncoder, SpaceEncoder, _seed_int, is_text_space, text_words
from htmagent.sdr import SDR
from htmagent.serialization import StateError, load_state, save_state
from htmagent._state import atomic_load, naming_file

__all__ = [
    "ObservationEncoder",
    "SpaceEncoder",
    "HTMStream",
    "HTMObservation",
    "WrapperState",
    "flat_space",
    "flatten_observation",
    "htm_wrapper_chain",
    "needs_flattening",
]

_STATE_FORMAT = "htmagent.HTMStream/1"
# Default number of active minicolumns (the spatial pooler's k; at most half the columns): enough for the TM's
# default thresholds below.
_ACTIVE_COLUMNS = 20


def _check_trace_decay(trace_decay: Any) -> tuple[float, ...]:
    """``trace_decay`` as a tuple of decays: () for 0, (d,) for one decay in (0, 1), or several in (0, 1)."""
    def real(value: Any) -> bool:
        return is_real(value)

    if real(trace_decay):
        if not 0.0 <= trace_decay < 1.0:
            raise ValueError(f"trace_decay must be in [0, 1), got {trace_decay}")
        return (float(trace_decay),) if trace_decay > 0.0 else ()
    if isinstance(trace_decay, (str, bytes)) or not isinstance(trace_decay, (Sequence, np.ndarray)):
        raise TypeError(
            f"trace_decay must be a real number or a sequence of them, got {type(trace_decay).__name__} {trace_decay!r}"
        )
    decays = list(trace_decay)
    if not decays:
        raise ValueError("trace_decay must not be an empty sequence (use 0 for no trace)")
    for value in decays:
        if not real(value):
            raise TypeError(f"trace_decay entries must be real numbers, got {type(value).__name__} {value!r}")
        if not 0.0 < value < 1.0:
            raise ValueError(f"trace_decay entries must be in (0, 1), got {value} in {decays}")
    return tuple(float(v) for v in decays)


class HTMStream:
    """Encoder -> spatial pooler -> temporal memory, one observation at a time (the classic sequence path).

    Each :meth:`compute` encodes an observation, lets the spatial pooler pick the active minicolumns and lets the
    temporal memory (sequence mode: its basal context is its own previous activity) activate cells and predict the
    next step's minicolumns. The anomaly score is the fraction of this step's active minicolumns that were not
    predicted. :meth:`reset` ends the sequence, so the next observation is not taken as a continuation. The stream
    does not decide when learning happens: the caller passes ``learn``.

    Two optional sensorimotor and pooling extras:

    - ``action_space``: the previous action (the motor command that led to this observation) is encoded too and
      its bits are appended to the observation's before the spatial pooler, so the minicolumns code the pair
      (sensation, last movement) and the memory learns action-conditioned transitions (an efference copy, as a
      sensorimotor sequence memory uses). ``compute(..., action=None)`` (an episode's first step) sends no action bits.
    - ``trace_decay``: a temporal-pooling trace of the active minicolumns, ``trace = trace_decay * trace +
      (1 - trace_decay) * active`` per step (an exponentially weighted union of recent activity, cleared by
      :meth:`reset`). A readout of the trace and the current minicolumns sees where the input came from, i.e. the
      direction and speed of change that a single observation hides. A sequence of decays keeps one trace per
      decay (several time scales: a fast trace sees quick changes, a slow one slow drifts), side by side in
      ``trace`` (block ``i`` of ``column_count`` values belongs to ``trace_decays[i]``).

    Args:
        observation_space: space of the observations (used to build the default encoder).
        encoder: an object with ``size`` and ``encode(observation) -> SDR``; ``None`` builds a :class:`SpaceEncoder`.
        column_count: number of minicolumns.
        cells_per_column: cells per minicolumn.
        sp_params: extra keyword arguments of :class:`~htmagent.spatial_pooler.SpatialPooler` (override defaults:
            global inhibition, 20 active minicolumns, potential pool over half the input).
        tm_params: extra keyword arguments of :class:`~htmagent.temporal_memory.TemporalMemory`.
        encoder_params: keyword arguments of the default :class:`SpaceEncoder` (``num_buckets``, ``resolution``,
            ...); only when ``encoder`` is None.
        action_space: if given, the previous action is encoded (with a :class:`SpaceEncoder`) and joins the input.
        trace_decay: a decay in [0, 1) (0 disables the trace: ``trace`` stays all zeros), or a non-empty sequence of
            decays in (0, 1), one trace each.
        learn_sp: False keeps the spatial pooler's random initial receptive fields even when ``learn`` is True: a
            fixed code of the input (the same in every copy built with the same seed), which a downstream readout
            such as a policy network can learn once instead of tracking its drift; the memory still learns.
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
        encoder_params: dict | None = None,
        action_space: spaces.Space | None = None,
        trace_decay: float | Sequence[float] = 0.0,
        learn_sp: bool = True,
        seed: int | np.random.Generator | None = None,
    ):
        from htmagent.spatial_pooler import SpatialPooler
        from htmagent.temporal_memory import TemporalMemory

        self.column_count = check_int(column_count, "column_count", 1)
        self.cells_per_column = check_int(cells_per_column, "cells_per_column", 1)
        for name, value in (("sp_params", sp_params), ("tm_params", tm_params), ("encoder_params", encoder_params)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
        if encoder is not None and encoder_params:
            raise ValueError("encoder_params configures the default encoder; it cannot be used with encoder=")
        if action_space is not None and not isinstance(action_space, spaces.Space):
            raise TypeError(f"action_space must be a gymnasium.spaces.Space or None, got {type(action_space).__name__}")
        self.trace_decays = _check_trace_decay(trace_decay)
        self.learn_sp = check_bool(learn_sp, "learn_sp")
        rng = make_rng(seed)
        if encoder is None:
            encoder = SpaceEncoder(observation_space, seed=_seed_int(rng), **(encoder_params or {}))
        elif not (hasattr(encoder, "encode") and isinstance(getattr(encoder, "size", None), numbers.Integral)):
            raise TypeError(
                f"encoder must have an int .size and an .encode(observation) -> SDR method, got {type(encoder).__name__}"
            )
        self.encoder = encoder
        self.action_encoder = SpaceEncoder(action_space, seed=_seed_int(rng)) if action_space is not None else None
        n_inputs = int(encoder.size) + (self.action_encoder.size if self.action_encoder is not None else 0)
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
        self.trace = np.zeros(self.trace_size)

    @property
    def trace_decay(self) -> float:
        """The first trace's decay per step (0.0 without a trace); all of them are in ``trace_decays``."""
        return self.trace_decays[0] if self.trace_decays else 0.0

    @property
    def trace_size(self) -> int:
        """Length of ``trace``: ``column_count`` per decay (``column_count`` when there is no trace)."""
        return self.column_count * max(1, len(self.trace_decays))

    def reset(self) -> None:
        """End the current sequence (the next observation starts a new one) and clear the trace."""
        self.tm.reset()
        self.trace = np.zeros(self.trace_size)

    def compute(self, observation: Any, learn: bool, action: Any = None) -> None:
        """Process one observation; sets ``active_columns``, ``predicted_columns``, ``anomaly`` and ``trace``.

        Args:
            observation: an observation of the stream's space.
            learn: whether the encoder statistics, the pooler and the memory learn.
            action: the action that led to ``observation`` (used only with ``action_space``; None = no action bits).
        """
        action_bits = None
        if self.action_encoder is not None and action is not None:
            if not self.action_encoder.space.contains(action):
                raise ValueError(f"action must be in {self.action_encoder.space}, got {action!r}")
            action_bits = self.action_encoder.encode(action, False).sparse
        if isinstance(self.encoder, SpaceEncoder):
            encoded = self.encoder.encode(observation, learn)
        else:
            encoded = self.encoder.encode(observation)
        if encoded.size != self.encoder.size:
            raise ValueError(f"encoder returned an SDR of size {encoded.size}, expected {self.encoder.size}")
        if self.action_encoder is not None:
            bits = encoded.sparse if action_bits is None else np.concatenate(
                [encoded.sparse, action_bits + np.int32(self.encoder.size)]).astype(np.int32)
            encoded = SDR._trusted(self.encoder.size + self.action_encoder.size, bits)
        columns = self.sp.compute(encoded, learn=learn and self.learn_sp)
        self.tm.compute(columns, learn=learn)
        self.active_columns = columns.reshape(self.column_count) if columns.shape != (self.column_count,) else columns
        self.predicted_columns = self.tm.predicted_columns
        self.anomaly = float(self.tm.anomaly)
        for i, decay in enumerate(self.trace_decays):
            block = self.trace[i * self.column_count:(i + 1) * self.column_count]
            block *= decay
            block[self.active_columns.sparse] += 1.0 - decay

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
            "trace": self.trace.copy(),
            "action_encoder": self.action_encoder.state_dict() if self.action_encoder is not None else {},
        }

    @atomic_load
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
        if self.action_encoder is not None:
            self.action_encoder.load_state_dict(state["action_encoder"])
        self.sp.load_state_dict(state["sp"])
        self.tm.load_state_dict(state["tm"])
        self.active_columns = SDR(self.column_count, np.asarray(state["active_columns"], dtype=np.int32))
        self.predicted_columns = SDR(self.column_count, np.asarray(state["predicted_columns"], dtype=np.int32))
        self.anomaly = float(state["anomaly"])
        trace = np.asarray(state["trace"], dtype=np.float64)
        if trace.shape != (self.trace_size,):
            raise ValueError(f"state['trace'] must have shape ({self.trace_size},), got {trace.shape}")
        self.trace = trace.copy()


#: Width of a text observation's part in a flattened ``original``: word counts in this many hashed buckets.
TEXT_BUCKETS = 32


def needs_flattening(space: spaces.Space) -> bool:
    """Whether a policy library cannot take ``space`` as one entry of a Dict observation: a ``Dict`` or ``Tuple``
    (SB3 refuses nested spaces) or a text space."""
    return isinstance(space, (spaces.Dict, spaces.Tuple)) or is_text_space(space)


def flat_space(space: spaces.Space) -> spaces.Box:
    """The flat float32 ``Box`` that :func:`flatten_observation` maps observations of ``space`` into.

    Parts in order (``Dict`` keys in the space's order, ``Tuple`` in position order, nested ones recursively):
    ``Discrete`` and ``MultiDiscrete`` one-hot, ``MultiBinary`` as 0/1, a ``uint8`` ``Box`` (an image or a patch)
    scaled to [0, 1], any other ``Box`` as its values, text as word counts in :data:`TEXT_BUCKETS` hashed buckets.
    """
    lows, highs = [], []
    for sub in _flat_leaves(space):
        if is_text_space(sub):
            lows.append(np.zeros(TEXT_BUCKETS)), highs.append(np.full(TEXT_BUCKETS, np.inf))
        elif isinstance(sub, spaces.Box) and sub.dtype == np.uint8:
            n = int(np.prod(sub.shape))
            lows.append(np.zeros(n)), highs.append(np.ones(n))
        else:
            box = spaces.flatten_space(sub)
            lows.append(np.asarray(box.low, dtype=np.float64)), highs.append(np.asarray(box.high, dtype=np.float64))
    low, high = np.concatenate(lows), np.concatenate(highs)
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), (low.size,), np.float32)


def flatten_observation(space: spaces.Space, observation: Any) -> np.ndarray:
    """``observation`` of ``space`` as one float32 vector of :func:`flat_space` ``(space)``."""
    parts = []
    for sub, value in _flat_pairs(space, observation):
        if is_text_space(sub):
            counts = np.zeros(TEXT_BUCKETS, dtype=np.float32)
            for word in text_words(value):
                counts[zlib.crc32(word.encode("utf-8")) % TEXT_BUCKETS] += 1
            parts.append(counts)
        elif isinstance(sub, spaces.Box) and sub.dtype == np.uint8:
            parts.append(np.asarray(value, dtype=np.float32).ravel() / np.float32(255))
        else:
            parts.append(np.asarray(spaces.flatten(sub, value), dtype=np.float32).ravel())
    return np.concatenate(parts).astype(np.float32)


def _flat_leaves(space: spaces.Space) -> list[spaces.Space]:
    if isinstance(space, spaces.Dict):
        return [leaf for sub in space.spaces.values() for leaf in _flat_leaves(sub)]
    if isinstance(space, spaces.Tuple):
        return [leaf for sub in space.spaces for leaf in _flat_leaves(sub)]
    return [space]


def _flat_pairs(space: spaces.Space, value: Any) -> list[tuple[spaces.Space, Any]]:
    if isinstance(space, spaces.Dict):
        return [pair for key, sub in space.spaces.items() for pair in _flat_pairs(sub, value[key])]
    if isinstance(space, spaces.Tuple):
        return [pair for i, sub in enumerate(space.spaces) for pair in _flat_pairs(sub, value[i])]
    return [(space, value)]


def htm_wrapper_chain(env: gym.Env) -> list[gym.Env]:
    """The htmagent wrappers that carry learned state (:class:`HTMObservation`, ``HTMCuriosity``) in ``env``'s
    wrapper stack, outermost first."""
    chain, layer = [], env
    while True:
        if isinstance(layer, WrapperState):
            chain.append(layer)
        if not isinstance(layer, gym.Wrapper):
            return chain
        layer = layer.env


class WrapperState:
    """Save and restore the learned state of every htmagent wrapper from this one down, as one dict.

    This is what :func:`htmagent.sb3.save_htm_model` stores for each copy of a vector env (it reaches the copies
    through ``env_method``, which works in ``SubprocVecEnv`` workers too). Subclasses give :meth:`_own_state` and
    :meth:`_load_own_state`.
    """

    def _own_state(self) -> dict:
        raise NotImplementedError

    def _load_own_state(self, state: dict) -> None:
        raise NotImplementedError

    def htm_wrapper_states(self) -> dict:
        """``{"0": {"class": name, "state": ...}, "1": ...}``: this wrapper's state and that of every htmagent wrapper
        below it, outermost first."""
        return {str(i): {"class": type(w).__name__, "state": w._own_state()}
                for i, w in enumerate(htm_wrapper_chain(self))}

    def load_htm_wrapper_states(self, states: dict) -> None:
        """Restore :meth:`htm_wrapper_states` output into a stack of the same wrappers; all or nothing.

        Raises:
            StateError: the stack differs (another number or order of wrapper classes) or a state is malformed;
                every wrapper is then left as it was.
        """
        chain = htm_wrapper_chain(self)
        names = [type(w).__name__ for w in chain]
        if not isinstance(states, dict) or sorted(states, key=str) != sorted(str(i) for i in range(len(chain))):
            got = sorted(states) if isinstance(states, dict) else type(states).__name__
            raise StateError(f"the saved wrapper stack does not match: this env has {names}, the state has entries "
                             f"{got}", field="wrappers")
        saved = [states[str(i)].get("class") if isinstance(states[str(i)], dict) else None for i in range(len(chain))]
        if saved != names:
            raise StateError(f"the saved wrapper stack is {saved}, this env's is {names} (outermost first)",
                             field="wrappers")
        done: list[tuple[WrapperState, dict]] = []
        try:
            for i, wrapper in enumerate(chain):
                before = wrapper._own_state()
                wrapper._load_own_state(states[str(i)]["state"])
                done.append((wrapper, before))
        except Exception:
            for wrapper, before in reversed(done):  # each load is atomic; undo the ones that succeeded
                wrapper._load_own_state(before)
            raise

    def try_load_htm_wrapper_states(self, states: dict) -> str | None:
        """:meth:`load_htm_wrapper_states`, returning what was wrong (``None`` when it loaded) instead of raising:
        what a ``SubprocVecEnv`` worker runs, so that a refused state does not kill the worker."""
        try:
            self.load_htm_wrapper_states(states)
        except Exception as error:  # noqa: BLE001 - reported to the caller, who raises it
            return f"{type(error).__name__}: {error}"
        return None


class HTMObservation(WrapperState, gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observe an environment through an HTM that learns online: active minicolumns, predictions, anomaly.

    Every observation (after ``reset`` and after each ``step``) is encoded into an SDR, pooled into active
    minicolumns by a spatial pooler and fed to a sequence temporal memory, which predicts the next step's
    minicolumns from its own previous cells. The agent receives:

    ==============  ==========================================  =====================================================
    key             space                                       meaning
    ==============  ==========================================  =====================================================
    ``original``    the wrapped env's observation space         the observation itself (one float32 vector when the
                                                                space is nested: see ``flatten_original``)
    ``sdr``         ``MultiBinary(column_count)``               active minicolumns now
    ``predicted``   ``MultiBinary(column_count)``               minicolumns predicted for the next step
    ``anomaly``     ``Box(0, 1, (1,), float32)``                fraction of active minicolumns that were not predicted
    ``cells``       ``MultiBinary(column_count * cells)``       active cells (only with ``include_cells=True``)
    ``trace``       ``Box(0, 1, (k * column_count,), float32)`` decaying traces of recent active minicolumns, one
                                                                block per decay (only with ``trace_decay > 0``; see
                                                                :class:`HTMStream`)
    ==============  ==========================================  =====================================================

    With ``include_action=True`` the action passed to ``step`` is encoded with the observation it led to, so the
    minicolumns and the memory's predictions become action-conditioned (see :class:`HTMStream`).

    ``reset`` ends the temporal memory's sequence (the first observation of an episode is never taken as the
    continuation of the previous episode); it does not re-seed the HTM, whose randomness comes from ``seed`` only.
    ``learn=False`` (or setting ``wrapper.learn = False``) freezes the pooler and the memory: the wrapper is then a
    deterministic function of the episode, as Gymnasium's ``check_env`` expects. The HTM state (encoder statistics,
    pooler, memory) saves with :meth:`save_htm` and loads with :meth:`load_htm`; a loaded wrapper resumes exactly.

    For a policy that must infer motion from positions (a partially observed control task), what worked on CartPole
    with its velocities hidden (docs/results_rl.md) was: a trace (``trace_decay=0.8``), the action as input, a fixed
    pooler (``learn_sp=False``), buckets as fine as one step's typical change, and few active bits per element
    (``encoder_params=dict(size_per_dim=512, active_bits=8)``): a one-bucket move then replaces 1/8 of an element's
    code, which the trace makes visible; with 32 active bits it replaced 1/32 and the motion hardly showed.
    Finer codes cost speed: the memory grows more segments.

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
        include_action: encode the last action together with the observation.
        trace_decay: in [0, 1); > 0 emits the ``trace`` key (the decay per step of the minicolumn trace); a
            sequence of decays in (0, 1) emits one trace per decay, side by side.
        encoder_params: keyword arguments of the default :class:`SpaceEncoder` (``num_buckets``, ``resolution``...).
        learn_sp: False freezes the spatial pooler (a fixed code for the policy to read) while the memory learns.
        seed: int, Generator or None (fresh entropy) for the HTM.
        flatten_original: emit ``original`` as one float32 vector (:func:`flatten_observation`: one-hot
            categories, uint8 arrays scaled to [0, 1], text as hashed word counts). ``None`` (the default) flattens
            exactly when a policy library could not take the space as one key of a Dict (a ``Dict``, ``Tuple`` or
            text space: Blackjack, MiniGrid, this library's ObjectTouch and ObjectSaccade); the HTM always sees the
            observation itself.

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
        include_action: bool = False,
        trace_decay: float | Sequence[float] = 0.0,
        encoder_params: dict | None = None,
        learn_sp: bool = True,
        seed: int | np.random.Generator | None = None,
        flatten_original: bool | None = None,
    ):
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}")
        if flatten_original is not None and not isinstance(flatten_original, bool):
            raise TypeError(f"flatten_original must be None or a bool, got {type(flatten_original).__name__}")
        gym.utils.RecordConstructorArgs.__init__(
            self, encoder=encoder, column_count=column_count, cells_per_column=cells_per_column,
            sp_params=sp_params, tm_params=tm_params, learn=learn, include_cells=include_cells,
            include_action=include_action, trace_decay=trace_decay, encoder_params=encoder_params,
            learn_sp=learn_sp, seed=seed, flatten_original=flatten_original,
        )
        gym.ObservationWrapper.__init__(self, env)
        self._learn = check_bool(learn, "learn")
        self.include_cells = check_bool(include_cells, "include_cells")
        self.include_action = check_bool(include_action, "include_action")
        self.htm = HTMStream(
            env.observation_space, encoder, column_count, cells_per_column, sp_params, tm_params,
            encoder_params=encoder_params, action_space=env.action_space if self.include_action else None,
            trace_decay=trace_decay, learn_sp=learn_sp, seed=seed,
        )
        self._last_action: Any = None
        n = self.htm.column_count
        self.flatten_original = (needs_flattening(env.observation_space) if flatten_original is None
                                 else flatten_original)
        keys = {
            "original": flat_space(env.observation_space) if self.flatten_original else env.observation_space,
            "sdr": spaces.MultiBinary(n),
            "predicted": spaces.MultiBinary(n),
            "anomaly": spaces.Box(0.0, 1.0, (1,), np.float32),
        }
        if self.include_cells:
            keys["cells"] = spaces.MultiBinary(n * self.htm.cells_per_column)
        if self.htm.trace_decays:
            keys["trace"] = spaces.Box(0.0, 1.0, (self.htm.trace_size,), np.float32)
        self.observation_space = spaces.Dict(keys)

    @property
    def learn(self) -> bool:
        """Whether the pooler and the memory learn on each step."""
        return self._learn

    @learn.setter
    def learn(self, value: bool) -> None:
        self._learn = check_bool(value, "learn")

    @property
    def anomaly(self) -> float:
        """Anomaly score of the last observation (what :class:`~htmagent.envs.curiosity.HTMCuriosity` reads)."""
        return self.htm.anomaly

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env and end the temporal memory's sequence; the first observation is processed as usual."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.htm.reset()
        self._last_action = None
        return self.observation(obs), info

    def step(self, action: Any) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; with ``include_action`` the action is encoded with the observation it led to."""
        self._last_action = action
        return super().step(action)

    def observation(self, observation: Any) -> dict[str, Any]:
        """Run the HTM on ``observation`` (and the last action, if included) and build the dict observation."""
        self.htm.compute(observation, self._learn, self._last_action if self.include_action else None)
        n = self.htm.column_count
        sdr = np.zeros(n, dtype=np.int8)
        sdr[self.htm.active_columns.sparse] = 1
        predicted = np.zeros(n, dtype=np.int8)
        predicted[self.htm.predicted_columns.sparse] = 1
        out = {
            "original": (flatten_observation(self.env.observation_space, observation) if self.flatten_original
                         else observation),
            "sdr": sdr,
            "predicted": predicted,
            "anomaly": np.array([min(max(self.htm.anomaly, 0.0), 1.0)], dtype=np.float32),
        }
        if self.include_cells:
            cells = np.zeros(n * self.htm.cells_per_column, dtype=np.int8)
            cells[self.htm.active_cells.sparse] = 1
            out["cells"] = cells
        if self.htm.trace_decays:
            out["trace"] = np.clip(self.htm.trace, 0.0, 1.0).astype(np.float32)
        return out

    def htm_state_dict(self) -> dict:
        """The HTM's state (see :meth:`HTMStream.state_dict`)."""
        return self.htm.state_dict()

    def load_htm_state_dict(self, state: dict) -> None:
        """Restore :meth:`htm_state_dict` output."""
        self.htm.load_state_dict(state)

    def htm_stats(self) -> dict[str, float]:
        """The memory's size and the last anomaly: ``segments``, ``synapses``, ``anomaly`` (what
        :class:`htmagent.sb3.HTMLogger` records)."""
        return {"segments": float(self.htm.tm.num_segments()), "synapses": float(self.htm.tm.num_synapses()),
                "anomaly": float(self.htm.anomaly)}

    def _own_state(self) -> dict:
        return self.htm_state_dict()

    def _load_own_state(self, state: dict) -> None:
        self.load_htm_state_dict(state)

    def save_htm(self, path: str | os.PathLike) -> None:
        """Write the HTM's state to ``path`` (``.npz`` + JSON, no pickle)."""
        save_state(path, self.htm_state_dict())

    def load_htm(self, path: str | os.PathLike) -> None:
        """Load a state written by :meth:`save_htm` into this wrapper's HTM (same sizes required); a malformed file
        raises :class:`~htmagent.serialization.StateError` naming it, and leaves the HTM as it was."""
        with naming_file(path):
            self.load_htm_state_dict(load_state(path))
