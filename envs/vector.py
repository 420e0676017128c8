"""One HTM for all the copies of a vector env: :class:`HTMBatch` and the Gymnasium wrapper :class:`HTMVectorObservation`.

:class:`~htmagent.envs.wrappers.HTMObservation` puts one HTM inside every copy of a vector env: ``n`` memories that
each learn from ``1/n`` of the experience, ``n`` sets of curiosity counts, and a policy that reads ``n`` drifting
codes. :class:`HTMBatch` runs the HTM *outside* the copies, over the whole batch of observations:

- ``shared=True`` (the default): one encoder, one spatial pooler and one temporal memory learn from every copy.
  Each copy keeps its own sequence (its active and predicted cells, its trace), swapped into the memory for its
  step (:meth:`~htmagent.temporal_memory.TemporalMemory.activity`), so copies never read each other's context,
  while every copy's transitions teach the one memory. The copies are stepped in a fixed order (copy 0 first), so a
  run is reproducible.
- ``shared=False``: one HTM per copy, as ``HTMObservation`` gives, stepped together.
- ``curiosity``: an intrinsic reward read from the HTM with statistics shared by all copies (one table of pattern
  counts, one anomaly-likelihood model, one running scale for normalisation); the episodic memory of seen codes
  stays per copy, as episodes are.

The SB3 face is :class:`htmagent.sb3.HTMVecWrapper` (an SB3 ``VecEnvWrapper`` on the same engine).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from htmagent._rng import make_rng
from htmagent._state import StateError, atomic_load, check_format, get, get_array, get_bool, get_int, naming_file
from htmagent._validation import check_bool, check_int, is_int, is_real
from htmagent.envs.curiosity import IntrinsicNormalizer
from htmagent.envs.wrappers import HTMStream, flat_space, flatten_observation, needs_flattening
from htmagent.serialization import load_state, save_state

__all__ = ["HTMBatch", "HTMVectorObservation", "batch_row"]

_FORMAT = "htmagent.HTMBatch/1"
_SOURCES = ("anomaly", "likelihood", "count")


def batch_row(space: spaces.Space, batch: Any, index: int) -> Any:
    """Copy ``index``'s observation out of a batch of observations of ``space`` (a vector env's stacked output:
    arrays for Box/Discrete/MultiBinary, a dict of batches for Dict, a tuple of batches for Tuple)."""
    if isinstance(space, spaces.Dict):
        return {key: batch_row(sub, batch[key], index) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(batch_row(sub, part, index) for sub, part in zip(space.spaces, batch))
    return batch[index]


class _SharedCuriosity:
    """The intrinsic reward of :class:`HTMBatch`: per-copy episodes, statistics shared by every copy."""

    def __init__(self, column_count: int, num_envs: int, beta: float = 0.1, source: str = "anomaly",
                 episodic: bool = False, normalize: bool = False, intrinsic_gamma: float = 0.99,
                 count_table_size: int = 2**16, likelihood_params: dict | None = None,
                 seed: int | np.random.Generator | None = None):
        if not is_real(beta):
            raise TypeError(f"curiosity beta must be a real number, got {type(beta).__name__} {beta!r}")
        if not (np.isfinite(beta) and beta >= 0):
            raise ValueError(f"curiosity beta must be a finite number >= 0, got {beta}")
        if source not in _SOURCES:
            raise ValueError(f"curiosity source must be one of {_SOURCES}, got {source!r}")
        self.beta = float(beta)
        self.source = source
        self.episodic = check_bool(episodic, "curiosity episodic")
        self.normalize = check_bool(normalize, "curiosity normalize")
        self.gamma = IntrinsicNormalizer(intrinsic_gamma).gamma  # checks the discount
        self.horizon = 10_000
        count_table_size = check_int(count_table_size, "curiosity count_table_size", 1)
        if likelihood_params is not None and not isinstance(likelihood_params, dict):
            raise TypeError(f"curiosity likelihood_params must be a dict or None, got {type(likelihood_params).__name__}")
        if source != "likelihood" and likelihood_params:
            raise ValueError("curiosity likelihood_params is only used with source='likelihood'")
        rng = make_rng(seed)
        self.column_keys = rng.integers(0, 2**63, size=column_count, dtype=np.int64).astype(np.uint64)
        self.counts = np.zeros(count_table_size if source == "count" else 0, dtype=np.int64)
        self.likelihood = None
        if source == "likelihood":
            from htmagent.anomaly import AnomalyLikelihood

            self.likelihood = AnomalyLikelihood(**(likelihood_params or {}))
        # Normalisation as RND does it over a batch: one discounted return per copy, one running scale for all.
        self.returns = np.zeros(num_envs)
        self.stats = np.zeros(3)  # count, mean, variance of the returns
        self.seen: list[set[bytes]] = [set() for _ in range(num_envs)]

    def start(self, i: int, columns: np.ndarray) -> None:
        self.seen[i] = {columns.tobytes()}

    def bonus(self, i: int, columns: np.ndarray, anomaly: float) -> tuple[float, float]:
        """``(intrinsic, scaled)``: the raw bonus of copy ``i``'s step and the one paid (normalised or not)."""
        intrinsic = float(anomaly)
        if self.likelihood is not None:
            intrinsic = float(self.likelihood.compute(intrinsic))
        elif self.source == "count":
            slot = int(np.bitwise_xor.reduce(self.column_keys[columns], initial=np.uint64(0))
                       % np.uint64(self.counts.size))
            self.counts[slot] += 1
            intrinsic = 1.0 / float(np.sqrt(self.counts[slot]))
        if self.episodic:
            key = columns.tobytes()
            novel = key not in self.seen[i]
            self.seen[i].add(key)
            intrinsic = (0.5 + 0.5 * intrinsic) if novel else 0.0
        if not self.normalize:
            return intrinsic, intrinsic
        ret = self.returns[i] = self.returns[i] * self.gamma + intrinsic
        count, mean, var = self.stats
        count += 1
        alpha = 1.0 / min(count, self.horizon)
        delta = ret - mean
        mean += alpha * delta
        var = (1.0 - alpha) * (var + alpha * delta * delta)
        self.stats[:] = (count, mean, var)
        std = np.sqrt(var) if count > 1 else 0.0
        return intrinsic, (intrinsic / float(std) if std > 1e-8 else intrinsic)

    def state_dict(self) -> dict:
        return {
            "column_keys": self.column_keys.copy(), "counts": self.counts.copy(), "returns": self.returns.copy(),
            "stats": self.stats.copy(), "seen": [sorted(key.hex() for key in s) for s in self.seen],
            "likelihood": self.likelihood.state_dict() if self.likelihood is not None else {},
        }

    def load_state_dict(self, state: dict, where: str = "curiosity/") -> None:
        keys = get_array(state, "column_keys", np.uint64, self.column_keys.shape, where=where)
        counts = get_array(state, "counts", np.int64, self.counts.shape, 0, None, where=where)
        returns = get_array(state, "returns", np.float64, self.returns.shape, -1e300, 1e300, where=where)
        stats = get_array(state, "stats", np.float64, (3,), -1e300, 1e300, where=where)
        if stats[0] < 0 or stats[2] < 0:
            raise StateError(f"{where}stats' count and variance must be >= 0", field=f"{where}stats")
        seen = get(state, "seen", where)
        if not isinstance(seen, (list, tuple)) or len(seen) != len(self.seen):
            raise StateError(f"{where}seen must hold one list per copy ({len(self.seen)})", field=f"{where}seen")
        try:
            seen_sets = [{bytes.fromhex(key) for key in s} for s in seen]
        except (TypeError, ValueError) as error:
            raise StateError(f"{where}seen must hold hex strings: {error}", field=f"{where}seen") from None
        if self.likelihood is not None:
            self.likelihood.load_state_dict(get(state, "likelihood", where))
        self.column_keys, self.counts, self.returns, self.stats, self.seen = keys, counts, returns, stats, seen_sets


class HTMBatch:
    """Encoder -> spatial pooler -> temporal memory over the copies of a vector env, shared or one per copy.

    The outputs of each copy's last step are kept in batched arrays (``sdr``, ``predicted``, ``anomaly``, and
    ``cells`` / ``trace`` when asked for), the same keys and meanings as :class:`HTMObservation`'s; :meth:`observation`
    puts them together with the originals. The wrappers (:class:`HTMVectorObservation`,
    :class:`htmagent.sb3.HTMVecWrapper`) decide when an episode starts; this class only computes.

    Args:
        observation_space: one copy's observation space.
        action_space: one copy's action space (used with ``include_action``).
        num_envs: number of copies.
        shared: one HTM learning from every copy (True) or one per copy (False).
        learn: whether the HTM learns.
        include_cells, include_action, trace_decay, flatten_original, column_count, cells_per_column, sp_params,
            tm_params, encoder_params, learn_sp: as in :class:`~htmagent.envs.wrappers.HTMObservation`.
        curiosity: keyword arguments of the shared intrinsic reward (``beta``, ``source`` = ``"anomaly"``,
            ``"likelihood"`` or ``"count"``, ``episodic``, ``normalize``, ``intrinsic_gamma``,
            ``count_table_size``, ``likelihood_params``), as in :class:`~htmagent.envs.curiosity.HTMCuriosity`;
            ``None`` for none.
        seed: int or None. The shared HTM is built from it; per-copy HTMs from it too (``same_seed``) or from
            ``seed + i``.
        same_seed: per-copy HTMs start identical (True: one observation gets one code whichever copy it comes from,
            as :func:`htmagent.sb3.make_htm_vec_env` does by default) or independent (False).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        num_envs: int,
        *,
        shared: bool = True,
        learn: bool = True,
        include_cells: bool = False,
        include_action: bool = False,
        trace_decay: float | Sequence[float] = 0.0,
        flatten_original: bool | None = None,
        column_count: int = 512,
        cells_per_column: int = 8,
        sp_params: dict | None = None,
        tm_params: dict | None = None,
        encoder_params: dict | None = None,
        learn_sp: bool = True,
        curiosity: dict | None = None,
        seed: int | None = None,
        same_seed: bool = True,
    ):
        if not isinstance(observation_space, spaces.Space):
            raise TypeError(f"observation_space must be a gymnasium.spaces.Space, got {type(observation_space).__name__}")
        if not isinstance(action_space, spaces.Space):
            raise TypeError(f"action_space must be a gymnasium.spaces.Space, got {type(action_space).__name__}")
        self.num_envs = check_int(num_envs, "num_envs", 1)
        self.shared = check_bool(shared, "shared")
        self.learn = check_bool(learn, "learn")
        self.include_cells = check_bool(include_cells, "include_cells")
        self.include_action = check_bool(include_action, "include_action")
        if flatten_original is not None and not isinstance(flatten_original, bool):
            raise TypeError(f"flatten_original must be None or a bool, got {type(flatten_original).__name__}")
        if seed is not None and not is_int(seed):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        same_seed = check_bool(same_seed, "same_seed")
        if curiosity is not None and not isinstance(curiosity, dict):
            raise TypeError(f"curiosity must be a dict of keyword arguments or None, got {type(curiosity).__name__}")
        self.observation_space_in = observation_space
        self.action_space = action_space
        self.flatten_original = needs_flattening(observation_space) if flatten_original is None else flatten_original

        def stream(stream_seed):
            return HTMStream(observation_space, None, column_count, cells_per_column, sp_params, tm_params,
                             encoder_params=encoder_params, action_space=action_space if self.include_action else None,
                             trace_decay=trace_decay, learn_sp=learn_sp, seed=stream_seed)

        if self.shared:
            self.streams = [stream(seed)]
        else:
            entropy = make_rng(None) if seed is None else None
            self.streams = [stream(int(entropy.integers(2**63)) if seed is None else seed + (0 if same_seed else i))
                            for i in range(self.num_envs)]
        first = self.streams[0]
        n, cells = first.column_count, first.column_count * first.cells_per_column
        self.column_count = n
        self.cells_per_column = first.cells_per_column
        self.trace_decays = first.trace_decays
        self.sdr = np.zeros((self.num_envs, n), dtype=np.int8)
        self.predicted = np.zeros((self.num_envs, n), dtype=np.int8)
        self.anomaly = np.zeros((self.num_envs, 1), dtype=np.float32)
        self.cells = np.zeros((self.num_envs, cells), dtype=np.int8) if self.include_cells else None
        self.traces = np.zeros((self.num_envs, first.trace_size))
        self.active_columns: list[np.ndarray] = [np.zeros(0, dtype=np.int32)] * self.num_envs
        self._empty_activity = first.tm.activity()
        self.activities = [self._empty_activity] * self.num_envs if self.shared else None
        self.curiosity = None
        if curiosity is not None:
            self.curiosity = _SharedCuriosity(n, self.num_envs, seed=None if seed is None else seed + 7_919,
                                              **curiosity)
        keys = {
            "original": flat_space(observation_space) if self.flatten_original else observation_space,
            "sdr": spaces.MultiBinary(n),
            "predicted": spaces.MultiBinary(n),
            "anomaly": spaces.Box(0.0, 1.0, (1,), np.float32),
        }
        if self.include_cells:
            keys["cells"] = spaces.MultiBinary(cells)
        if self.trace_decays:
            keys["trace"] = spaces.Box(0.0, 1.0, (first.trace_size,), np.float32)
        self.single_observation_space = spaces.Dict(keys)

    # ------------------------------------------------------------------ stepping
    def stream(self, i: int) -> HTMStream:
        """The HTM that copy ``i`` runs on (the shared one, or its own)."""
        return self.streams[0 if self.shared else i]

    def compute_copy(self, i: int, observation: Any, action: Any = None, start: bool = False) -> None:
        """Process copy ``i``'s ``observation`` (``start``: the first of an episode, so its sequence begins anew and
        no action led to it; otherwise ``action`` is the one that did) and store its outputs in row ``i``."""
        stream = self.stream(i)
        tm = stream.tm
        if start:
            tm.reset()
            self.traces[i] = 0.0
        elif self.shared:
            tm._swap_activity(self.activities[i])
        stream.trace = self.traces[i]  # a view: the stream's trace update writes into row i
        stream.compute(observation, self.learn, None if start or not self.include_action else action)
        if self.shared:
            self.activities[i] = tm.activity()
        columns = stream.active_columns.sparse
        self.active_columns[i] = columns
        row = self.sdr[i]
        row[:] = 0
        row[columns] = 1
        row = self.predicted[i]
        row[:] = 0
        row[stream.predicted_columns.sparse] = 1
        self.anomaly[i, 0] = min(max(stream.anomaly, 0.0), 1.0)
        if self.cells is not None:
            row = self.cells[i]
            row[:] = 0
            row[tm.active_cells.sparse] = 1
        if self.curiosity is not None and start:
            self.curiosity.start(i, columns)

    def run(self, work: Sequence[tuple[int, Sequence[tuple[Any, Any, bool]]]]) -> None:
        """Run ``[(copy, [(observation, action, start), ...]), ...]``: the copies in the order given, each copy's
        steps in order (a shared memory sees them one after another, so a run is reproducible)."""
        for i, steps in work:
            for observation, action, start in steps:
                self.compute_copy(i, observation, action, start)

    def bonus(self, i: int) -> tuple[float, float]:
        """Copy ``i``'s intrinsic reward for its last step: ``(raw, paid before beta)``; needs ``curiosity``."""
        return self.curiosity.bonus(i, self.active_columns[i], float(self.anomaly[i, 0]))

    def row(self, i: int, original: Any) -> dict[str, np.ndarray]:
        """Copy ``i``'s last outputs as one observation dict (copies of the arrays), with ``original``."""
        out = {"original": flatten_observation(self.observation_space_in, original) if self.flatten_original
               else original, "sdr": self.sdr[i].copy(), "predicted": self.predicted[i].copy(),
               "anomaly": self.anomaly[i].copy()}
        if self.cells is not None:
            out["cells"] = self.cells[i].copy()
        if self.trace_decays:
            out["trace"] = np.clip(self.traces[i], 0.0, 1.0).astype(np.float32)
        return out

    def observation(self, originals: Any) -> dict[str, Any]:
        """The batched observation: the last outputs of every copy, with ``originals`` (the vector env's batch)."""
        if self.flatten_original:
            space = self.observation_space_in
            originals = np.stack([flatten_observation(space, batch_row(space, originals, i))
                                  for i in range(self.num_envs)])
        out = {"original": originals, "sdr": self.sdr.copy(), "predicted": self.predicted.copy(),
               "anomaly": self.anomaly.copy()}
        if self.cells is not None:
            out["cells"] = self.cells.copy()
        if self.trace_decays:
            out["trace"] = np.clip(self.traces, 0.0, 1.0).astype(np.float32)
        return out

    def htm_stats(self) -> dict[str, float]:
        """Memory size (mean over the HTMs: one when shared) and the mean anomaly of the copies' last steps."""
        return {"segments": float(np.mean([s.tm.num_segments() for s in self.streams])),
                "synapses": float(np.mean([s.tm.num_synapses() for s in self.streams])),
                "anomaly": float(self.anomaly.mean())}

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """Everything needed to resume every copy exactly: the HTMs, each copy's sequence and trace, the curiosity
        statistics."""
        activities = {}
        if self.shared:
            for i, activity in enumerate(self.activities):
                activities[str(i)] = {key: (np.array(value) if isinstance(value, np.ndarray) else value)
                                      for key, value in activity.items()}
        return {
            "format": _FORMAT,
            "shared": self.shared,
            "num_envs": self.num_envs,
            "streams": {str(i): s.state_dict() for i, s in enumerate(self.streams)},
            "activities": activities,
            "traces": self.traces.copy(),
            "active_columns": {str(i): c.copy() for i, c in enumerate(self.active_columns)},
            "outputs": {"sdr": self.sdr.copy(), "predicted": self.predicted.copy(), "anomaly": self.anomaly.copy(),
                        "cells": self.cells.copy() if self.cells is not None else np.zeros((0, 0), np.int8)},
            "curiosity": self.curiosity.state_dict() if self.curiosity is not None else {},
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output into a batch built the same way; all or nothing.

        Raises:
            StateError: malformed, or built differently (shared or not, number of copies, sizes); the batch is then
                unchanged.
        """
        check_format(state, _FORMAT)
        if get_bool(state, "shared") != self.shared or get_int(state, "num_envs", 1) != self.num_envs:
            raise StateError(f"the state is of a batch with shared={state.get('shared')} and num_envs="
                             f"{state.get('num_envs')}; this one has shared={self.shared} and num_envs={self.num_envs}",
                             field="shared")
        streams = get(state, "streams")
        if not isinstance(streams, dict) or sorted(streams) != sorted(str(i) for i in range(len(self.streams))):
            raise StateError(f"streams must hold the {len(self.streams)} HTMs '0'..", field="streams")
        traces = get_array(state, "traces", np.float64, self.traces.shape, 0.0, 1.0)
        outputs = get(state, "outputs")
        n = self.column_count
        sdr = get_array(outputs, "sdr", np.int8, self.sdr.shape, 0, 1, "outputs/")
        predicted = get_array(outputs, "predicted", np.int8, self.predicted.shape, 0, 1, "outputs/")
        anomaly = get_array(outputs, "anomaly", np.float32, self.anomaly.shape, 0.0, 1.0, "outputs/")
        cells = get_array(outputs, "cells", np.int8, self.cells.shape if self.cells is not None else (0, 0), 0, 1,
                          "outputs/")
        saved_columns = get(state, "active_columns")
        columns = [get_array(saved_columns, str(i), np.int32, (None,), 0, n, "active_columns/", high_open=True,
                             sorted_unique=True) for i in range(self.num_envs)]
        # The streams sit in a list, which atomic_load's snapshot does not reach: back them up here.
        backups = [stream.state_dict() for stream in self.streams]
        activities = None
        try:
            for i, stream in enumerate(self.streams):
                stream.load_state_dict(streams[str(i)])
            if self.shared:
                saved = get(state, "activities")
                tm = self.streams[0].tm
                current = tm.activity()
                activities = []
                for i in range(self.num_envs):
                    tm.set_activity(get(saved, str(i), "activities/"))  # checked; segments gone since are dropped
                    activities.append(tm.activity())
                tm._swap_activity(current)
            if self.curiosity is not None:
                self.curiosity.load_state_dict(get(state, "curiosity"))
        except BaseException:
            for stream, backup in zip(self.streams, backups):
                stream.load_state_dict(backup)
            raise
        self.traces[:] = traces
        self.sdr[:], self.predicted[:], self.anomaly[:] = sdr, predicted, anomaly
        if self.cells is not None:
            self.cells[:] = cells
        self.active_columns = columns
        if activities is not None:
            self.activities = activities

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`state_dict` to ``path`` (``.npz`` + JSON, no pickle)."""
        save_state(path, self.state_dict())

    def load(self, path: str | os.PathLike) -> None:
        """Load a file written by :meth:`save` (a malformed file raises a StateError naming it; nothing changes)."""
        with naming_file(path):
            self.load_state_dict(load_state(path))


class HTMVectorObservation(gym.vector.VectorWrapper):
    """A Gymnasium vector env observed through one batched HTM (:class:`HTMBatch`), optionally curious.

    The observations are :class:`~htmagent.envs.wrappers.HTMObservation`'s dict (``original``, ``sdr``,
    ``predicted``, ``anomaly``, and ``cells`` / ``trace`` when asked for), batched. Episode boundaries follow the
    vector env's autoreset mode: in ``NEXT_STEP`` mode (Gymnasium's default) the observation after a finished
    episode starts a new sequence; in ``SAME_STEP`` mode the final observation ends the old sequence (its HTM dict
    replaces ``infos["final_obs"]``) and the reset observation starts the new one.

    With ``curiosity`` the reward becomes ``extrinsic + beta * intrinsic``; ``infos`` get ``extrinsic_reward`` and
    ``intrinsic_reward`` arrays (and ``intrinsic_reward_normalized`` with ``normalize``).

    Args:
        env: a Gymnasium ``VectorEnv`` (``SyncVectorEnv``, ``AsyncVectorEnv``, ``gym.make_vec``...).
        shared, curiosity, seed, same_seed, learn and the rest: :class:`HTMBatch`'s arguments.

    Example:
        >>> envs = HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=4), seed=0)
        >>> obs, info = envs.reset(seed=0)
        >>> obs["sdr"].shape
        (4, 512)
    """

    def __init__(self, env: gym.vector.VectorEnv, **batch_kwargs: Any):
        if not isinstance(env, gym.vector.VectorEnv):
            raise TypeError(f"env must be a gymnasium.vector.VectorEnv, got {type(env).__name__}")
        mode = env.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
        mode = getattr(mode, "value", mode)
        if mode not in ("NextStep", "SameStep"):
            raise ValueError(f"env's autoreset_mode must be NEXT_STEP or SAME_STEP, got {mode!r} (with DISABLED the "
                             f"wrapper cannot tell which observations start an episode)")
        super().__init__(env)
        self.same_step = mode == "SameStep"
        self.htm = HTMBatch(env.single_observation_space, env.single_action_space, env.num_envs, **batch_kwargs)
        self.single_observation_space = self.htm.single_observation_space
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, env.num_envs)
        self._done = np.zeros(env.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        """Reset every copy; each copy's sequence starts anew."""
        obs, info = self.env.reset(seed=seed, options=options)
        space = self.env.single_observation_space
        self.htm.run([(i, [(batch_row(space, obs, i), None, True)]) for i in range(self.num_envs)])
        self._done[:] = False
        return self.htm.observation(obs), info

    def step(self, actions: Any):
        """Step every copy and its HTM (and add the intrinsic reward with ``curiosity``)."""
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        space = self.env.single_observation_space
        done = np.logical_or(terminations, truncations)
        work = []
        for i in range(self.num_envs):
            action = batch_row(self.env.single_action_space, actions, i)
            if self.same_step and done[i]:
                final = infos["final_obs"][i]
                work.append((i, [(final, action, False)]))
            elif not self.same_step and self._done[i]:
                work.append((i, [(batch_row(space, obs, i), None, True)]))
            else:
                work.append((i, [(batch_row(space, obs, i), action, False)]))
        self.htm.run(work)
        rewards = np.asarray(rewards, dtype=np.float64)
        curious = self.htm.curiosity is not None
        if curious:
            extrinsic = rewards.copy()
            intrinsic = np.zeros(self.num_envs)
            paid = np.zeros(self.num_envs)
            for i in range(self.num_envs):
                if not self.same_step and self._done[i]:
                    continue  # the reset step of NEXT_STEP mode: no transition, no bonus
                intrinsic[i], paid[i] = self.htm.bonus(i)
            rewards = rewards + self.htm.curiosity.beta * paid
        if self.same_step and done.any():
            infos = dict(infos)
            final_obs = np.array(infos["final_obs"], dtype=object)
            restart = []
            for i in np.flatnonzero(done):
                final_obs[i] = self.htm.row(int(i), infos["final_obs"][i])
                restart.append((int(i), [(batch_row(space, obs, int(i)), None, True)]))
            infos["final_obs"] = final_obs
            self.htm.run(restart)
        if curious:
            infos = dict(infos)
            infos["extrinsic_reward"] = extrinsic
            infos["intrinsic_reward"] = intrinsic
            if self.htm.curiosity.normalize:
                infos["intrinsic_reward_normalized"] = paid
        self._done = done
        return self.htm.observation(obs), rewards, terminations, truncations, infos

    def save_htm(self, path: str | os.PathLike) -> None:
        """Write the batch's HTM state (every copy's sequence, the curiosity statistics) to ``path``."""
        save_state(path, {"batch": self.htm.state_dict(), "done": self._done.copy()})

    def load_htm(self, path: str | os.PathLike) -> None:
        """Load a file written by :meth:`save_htm` (a wrapper built the same way); a malformed file raises a
        StateError naming it and changes nothing."""
        with naming_file(path):
            state = load_state(path)
            done = get_array(state, "done", np.bool_, self._done.shape)
            self.htm.load_state_dict(get(state, "batch"))
        self._done = done
