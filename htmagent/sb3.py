"""Stable-Baselines3 adapter: a features extractor for :class:`~htmagent.envs.wrappers.HTMObservation` and a PPO helper.

The HTM learns inside the environment wrapper, one step at a time. SB3 re-evaluates stored observations in shuffled
minibatches several times per update, so nothing stateful may live in ``forward()``: :class:`HTMFeaturesExtractor`
only embeds the bits that the wrapper already emitted. It needs the ``rl`` extra (``pip install htmagent[rl]``).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from htmagent._state import naming_file
from htmagent._validation import is_int
from htmagent.serialization import StateError, load_state, save_state

try:
    import torch as th
    from stable_baselines3.common.preprocessing import get_flattened_obs_dim
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from stable_baselines3.common.vec_env import VecEnvWrapper, unwrap_vec_normalize
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "htmagent.sb3 needs Stable-Baselines3 and PyTorch: install the 'rl' extra with `pip install htmagent[rl]`"
    ) from exc

__all__ = ["DeepHTMExtractor", "HTMCheckpoint", "HTMFeaturesExtractor", "HTMLogger", "HTMVecWrapper", "load_htm_model",
           "make_htm_model", "make_htm_ppo", "make_htm_vec_env", "save_htm_model"]

_BIT_KEYS = ("sdr", "predicted")


def _check_htm_space(observation_space: Any) -> None:
    if not isinstance(observation_space, spaces.Dict):
        raise TypeError(
            "HTMFeaturesExtractor needs the Dict observation space of an HTMObservation-wrapped env "
            f"(keys 'original', 'sdr', 'predicted', 'anomaly'), got {type(observation_space).__name__}: "
            "did you forget to wrap the env with htmagent.envs.HTMObservation, or use 'MlpPolicy' instead of "
            "'MultiInputPolicy'?"
        )
    missing = [k for k in ("original", "sdr", "predicted", "anomaly") if k not in observation_space.spaces]
    if missing:
        raise ValueError(
            f"observation_space lacks the HTMObservation keys {missing}, got keys {sorted(observation_space.spaces)}"
        )
    for key in _BIT_KEYS + tuple(k for k in ("cells",) if k in observation_space.spaces):
        if not isinstance(observation_space[key], spaces.MultiBinary):
            raise TypeError(
                f"observation_space[{key!r}] must be MultiBinary, got {type(observation_space[key]).__name__}"
            )
    if "trace" in observation_space.spaces:
        trace = observation_space["trace"]
        n = int(observation_space["sdr"].n)
        if not isinstance(trace, spaces.Box) or len(trace.shape) != 1 or trace.shape[0] % n or not trace.shape[0]:
            raise ValueError(
                f"observation_space['trace'] must be a Box of shape (k * {n},), one block of 'sdr''s size per "
                f"trace decay, got {trace}"
            )
    if observation_space["sdr"].n != observation_space["predicted"].n:
        raise ValueError(
            f"'sdr' and 'predicted' must have the same size, got {observation_space['sdr'].n} and "
            f"{observation_space['predicted'].n}"
        )


class HTMFeaturesExtractor(BaseFeaturesExtractor):
    """Features for a policy that observes an HTM: linear embeddings of the SDR bits plus the raw observation.

    The active columns (``sdr``), the columns predicted for the next step (``predicted``) and, if the wrapper emits
    it (``trace_decay > 0``), the decaying ``trace`` (one block per decay) of recent minicolumns are concatenated and
    passed through one linear layer with a ReLU (a learned readout of the minicolumn population, as a downstream area
    would read it; reading the trace next to the current columns is what lets the policy see motion); the optional
    ``cells`` key (active cells, which carry the temporal context) gets its own linear readout. The anomaly score and
    the flattened original observation are appended unchanged (with ``make_htm_ppo(normalize_original=True)`` the
    latter arrives standardized). The module is stateless: the HTM learns in the wrapper, never here.

    Args:
        observation_space: the ``Dict`` space of an :class:`~htmagent.envs.wrappers.HTMObservation` env.
        sdr_embedding_dim: width of the readout of the ``sdr`` and ``predicted`` bits.
        cells_embedding_dim: width of the readout of the ``cells`` bits, if that key is present.
        use_predicted: include the ``predicted`` bits in the readout.
        use_anomaly: append the anomaly score.
        use_original: append the flattened original observation.

    Example:
        >>> model = PPO("MultiInputPolicy", env, policy_kwargs=dict(
        ...     features_extractor_class=HTMFeaturesExtractor, features_extractor_kwargs=dict(sdr_embedding_dim=64)))
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        sdr_embedding_dim: int = 64,
        cells_embedding_dim: int = 64,
        use_predicted: bool = True,
        use_anomaly: bool = True,
        use_original: bool = True,
    ):
        _check_htm_space(observation_space)
        for name, value in (("sdr_embedding_dim", sdr_embedding_dim), ("cells_embedding_dim", cells_embedding_dim)):
            if not is_int(value):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name, value in (("use_predicted", use_predicted), ("use_anomaly", use_anomaly),
                            ("use_original", use_original)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
        n_columns = observation_space["sdr"].n
        self.use_trace = "trace" in observation_space.spaces
        trace_size = int(observation_space["trace"].shape[0]) if self.use_trace else 0
        n_bits = n_columns * (1 + int(use_predicted)) + trace_size
        has_cells = "cells" in observation_space.spaces
        original_dim = get_flattened_obs_dim(observation_space["original"]) if use_original else 0
        features_dim = (
            sdr_embedding_dim + (cells_embedding_dim if has_cells else 0) + (1 if use_anomaly else 0) + original_dim
        )
        super().__init__(observation_space, features_dim)
        self.use_predicted = use_predicted
        self.use_anomaly = use_anomaly
        self.use_original = use_original
        self.sdr_readout = th.nn.Sequential(th.nn.Linear(int(n_bits), int(sdr_embedding_dim)), th.nn.ReLU())
        self.cells_readout = (
            th.nn.Sequential(
                th.nn.Linear(int(observation_space["cells"].n), int(cells_embedding_dim)), th.nn.ReLU()
            )
            if has_cells
            else None
        )

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """Features of a batch of wrapped observations: the readouts of the SDR bits (with the prediction and the
        trace when present) and of the cells, then the anomaly and the flattened original observation."""
        bits = [observations["sdr"]]
        if self.use_predicted:
            bits.append(observations["predicted"])
        if self.use_trace:
            bits.append(observations["trace"])
        parts = [self.sdr_readout(th.cat([b.flatten(start_dim=1).float() for b in bits], dim=1))]
        if self.cells_readout is not None:
            parts.append(self.cells_readout(observations["cells"].flatten(start_dim=1).float()))
        if self.use_anomaly:
            parts.append(observations["anomaly"].flatten(start_dim=1).float())
        if self.use_original:
            parts.append(observations["original"].flatten(start_dim=1).float())
        return th.cat(parts, dim=1)


class DeepHTMExtractor(BaseFeaturesExtractor):
    """A DeepHTM inside the policy: encoder -> k-winner columns -> cells -> a learned readout, trained by the
    policy's own loss (by autograd, or by predictive coding with ``trainer="pc"``).

    The observation (a flat ``Box``) is ``frames`` equal blocks, oldest first, as ``VecFrameStack`` stacks a flat
    observation. Each block goes through the encoder (two ReLU layers) and the differentiable spatial pooler
    (exactly ``k`` winning columns); the differentiable temporal memory picks one cell per winning column from the
    previous block's cells (the first block meets no context), so with ``frames > 1`` the code of the newest frame
    carries its recent past. The features are a ReLU readout of the newest frame's cells. The module keeps no state
    between calls, as SB3 requires (it re-evaluates stored observations in shuffled minibatches).

    With ``trainer="pc"`` the gradient of PPO's loss arriving at the features becomes the output error of a
    predictive-coding inference over the unrolled graph (:class:`~htmagent.deep.pc.PCModule`), and each layer of
    the extractor learns from its own error and input; with the default ``pc_value_lr=1`` and one sweep its updates
    equal autograd's.

    Args:
        observation_space: a flat ``Box`` observation space.
        frames: blocks of the observation, oldest first (``VecFrameStack(n)`` on a flat observation: ``n``).
        hidden: width of the encoder's two ReLU layers.
        columns: columns of the differentiable spatial pooler.
        k: winning columns per frame.
        cells_per_column: cells per column.
        features_dim: width of the readout (the features the policy and value heads see).
        boost_strength: duty-cycle boosting of the columns (0 = none).
        trainer: ``"backprop"`` or ``"pc"``.
        pc_iterations: inference sweeps with ``trainer="pc"``.
        pc_value_lr: value learning rate with ``trainer="pc"``.
        seed: seed of the extractor's weights (the global torch generator is left as it was).

    Example:
        >>> model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(
        ...     features_extractor_class=DeepHTMExtractor, features_extractor_kwargs=dict(trainer="pc")))
    """

    def __init__(self, observation_space: spaces.Box, frames: int = 1, hidden: int = 64, columns: int = 128,
                 k: int = 8, cells_per_column: int = 4, features_dim: int = 64, boost_strength: float = 1.0,
                 trainer: str = "backprop", pc_iterations: int = 1, pc_value_lr: float = 1.0, seed: int = 0):
        from htmagent._validation import check_int, check_real
        from htmagent.deep.layers import DiffSpatialPooler, DiffTemporalMemory, seeded_weights
        from htmagent.deep.model import unrolled_graph
        from htmagent.deep.pc import PCModule

        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
            raise TypeError(f"DeepHTMExtractor needs a flat Box observation space, got {observation_space}")
        for name, value in (("frames", frames), ("hidden", hidden), ("columns", columns), ("k", k),
                            ("cells_per_column", cells_per_column), ("features_dim", features_dim)):
            check_int(value, name, 1)
        check_int(seed, "seed", 0)
        check_real(boost_strength, "boost_strength", 0.0)
        if k > columns:
            raise ValueError(f"k must be <= columns ({columns}), got {k}")
        size = int(observation_space.shape[0])
        if size % frames:
            raise ValueError(f"frames must divide the observation's size {size}, got {frames}")
        if trainer not in ("backprop", "pc"):
            raise ValueError(f"trainer must be 'backprop' or 'pc', got {trainer!r}")
        super().__init__(observation_space, features_dim)
        self.frames, self.frame_size, self.trainer = frames, size // frames, trainer
        with seeded_weights(seed):
            self.encoder = th.nn.Sequential(th.nn.Linear(self.frame_size, hidden), th.nn.ReLU(),
                                            th.nn.Linear(hidden, hidden), th.nn.ReLU())
            self.sp = DiffSpatialPooler(hidden, columns, k, boost_strength=boost_strength)
            self.tm = DiffTemporalMemory(columns, cells_per_column, context_rank=min(64, columns * cells_per_column))
            self.readout = th.nn.Sequential(th.nn.Linear(self.tm.num_cells, features_dim), th.nn.ReLU())
        # Not a registered submodule: its parts are the modules above, and registering them twice would make
        # SB3's initialisation (module.apply) visit them twice.
        pc = None
        if trainer == "pc":
            graph = unrolled_graph(self.encoder, self.sp, self.tm, self.readout, frames)
            pc = PCModule(graph, iterations=pc_iterations, value_lr=pc_value_lr)
        object.__setattr__(self, "pc", pc)

    def _blocks(self, observations: th.Tensor) -> list[th.Tensor]:
        flat = observations.flatten(start_dim=1).float()
        return [flat[:, t * self.frame_size:(t + 1) * self.frame_size] for t in range(self.frames)]

    def codes(self, observations: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """The newest frame's column and cell activity for a batch (exactly ``k`` columns, one cell each)."""
        cells = th.zeros(observations.shape[0], self.tm.num_cells, device=observations.device)
        for block in self._blocks(observations):
            columns = self.sp(self.encoder(block))
            cells = self.tm(columns, cells)
        return columns, cells

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """The features of a batch of observations."""
        if self.pc is not None:
            cells = th.zeros(observations.shape[0], self.tm.num_cells, device=observations.device)
            return self.pc(*self._blocks(observations), cells)
        return self.readout(self.codes(observations)[1])


def _recurrent_policy_class() -> type:
    """Build :class:`DeepHTMRecurrentPolicy` (on first use: sb3-contrib is an optional extra)."""
    try:
        from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("DeepHTMRecurrentPolicy needs sb3-contrib: `pip install htmagent[rl-contrib]`") from exc

    from htmagent.deep.recurrent import RecurrentDeepHTM

    defaults = dict(columns=64, k=4, cells_per_column=4, context_rank=32, hidden=64, boost_strength=1.0)

    class DeepHTMRecurrentPolicy(RecurrentActorCriticPolicy):
        """RecurrentPPO's policy with a recurrent DeepHTM (:class:`~htmagent.deep.recurrent.RecurrentDeepHTM`) in
        place of its LSTM, for the actor and (``enable_critic_lstm``, the default) a second one for the critic.

        The recurrent state is the previous step's cell activity (``columns * cells_per_column`` values, exactly
        ``k`` non-zero); RecurrentPPO holds, resets at episode starts and stores it as it does an LSTM's, and
        trains the encoder, the columns and the context by its own loss through the unrolled sequences.

        Args:
            deep_htm_kwargs: keyword arguments of :class:`~htmagent.deep.recurrent.RecurrentDeepHTM` (``columns``
                64, ``k`` 4, ``cells_per_column`` 4, ``context_rank`` 32, ``hidden`` 64, ``boost_strength`` 1).
            The rest: ``RecurrentActorCriticPolicy``'s (``lstm_hidden_size`` is set to the number of cells;
            ``n_lstm_layers`` must be 1).

        Example:
            >>> model = RecurrentPPO(DeepHTMRecurrentPolicy, env, policy_kwargs=dict(deep_htm_kwargs=dict(columns=32)))
        """

        def __init__(self, observation_space, action_space, lr_schedule, *args, deep_htm_kwargs=None, **kwargs):
            if deep_htm_kwargs is not None and not isinstance(deep_htm_kwargs, dict):
                raise TypeError(f"deep_htm_kwargs must be a dict or None, got {type(deep_htm_kwargs).__name__}")
            unknown = sorted(set(deep_htm_kwargs or {}) - set(defaults))
            if unknown:
                raise ValueError(f"deep_htm_kwargs has unknown keys {unknown}; known: {sorted(defaults)}")
            settings = {**defaults, **(deep_htm_kwargs or {})}
            cells = settings["columns"] * settings["cells_per_column"]
            if kwargs.get("lstm_hidden_size", cells) != cells:
                raise ValueError(f"lstm_hidden_size is the number of cells ({cells}) here, got "
                                 f"{kwargs['lstm_hidden_size']}")
            if kwargs.get("n_lstm_layers", 1) != 1:
                raise ValueError(f"n_lstm_layers must be 1 (one DeepHTM region), got {kwargs['n_lstm_layers']}")
            if kwargs.get("shared_lstm"):
                raise ValueError("shared_lstm is not supported: the actor and the critic get a DeepHTM each, or "
                                 "the critic none (enable_critic_lstm=False)")
            kwargs["lstm_hidden_size"] = cells
            super().__init__(observation_space, action_space, lr_schedule, *args, **kwargs)
            self.deep_htm_kwargs = settings
            self.lstm_actor = RecurrentDeepHTM(self.features_dim, **settings)
            if self.lstm_critic is not None:
                self.lstm_critic = RecurrentDeepHTM(self.features_dim, **settings)
            # the optimiser was built over the LSTMs' parameters: build it again over the DeepHTMs'
            self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

        def _get_constructor_parameters(self) -> dict[str, Any]:
            data = super()._get_constructor_parameters()
            data["deep_htm_kwargs"] = dict(self.deep_htm_kwargs)
            return data

    DeepHTMRecurrentPolicy.__module__ = __name__
    return DeepHTMRecurrentPolicy


def __getattr__(name: str) -> Any:
    if name == "DeepHTMRecurrentPolicy":
        cls = _recurrent_policy_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class HTMVecWrapper(VecEnvWrapper):
    """An SB3 vector env observed through one batched HTM (:class:`~htmagent.envs.vector.HTMBatch`), optionally
    curious: the SB3 face of :class:`~htmagent.envs.vector.HTMVectorObservation`.

    Wrap a ``DummyVecEnv`` / ``SubprocVecEnv`` of the plain environment (``Monitor`` inside, so that logged returns
    stay the environment's own); the observations become :class:`~htmagent.envs.wrappers.HTMObservation`'s dict,
    for :class:`HTMFeaturesExtractor`. With ``shared=True`` (the default) one HTM learns from every copy, each copy
    in its own sequence; with ``shared=False`` each copy has its own. The HTM
    lives in this process, also over a ``SubprocVecEnv`` (the workers only run the environments). A finished
    episode's ``terminal_observation`` ends its copy's sequence (it becomes an HTM dict, for bootstrapping) and the
    reset observation starts the next. With ``curiosity`` the rewards get ``beta * intrinsic`` and the infos
    ``extrinsic_reward`` / ``intrinsic_reward`` (what :class:`HTMLogger` reads).

    :func:`save_htm_model` saves its state with the model; :func:`make_htm_model` builds it with ``vec_wrapper=True``.

    Args:
        venv: the SB3 vector env of the plain environment.
        **batch_kwargs: :class:`~htmagent.envs.vector.HTMBatch`'s keyword arguments (``shared``, ``curiosity``, ``seed``, ``column_count``, ``include_action``, ``trace_decay``...).

    Example:
        >>> from stable_baselines3.common.env_util import make_vec_env
        >>> env = HTMVecWrapper(make_vec_env("CartPole-v1", n_envs=4, seed=0), seed=0)
        >>> model = PPO("MultiInputPolicy", env, policy_kwargs=dict(features_extractor_class=HTMFeaturesExtractor))
    """

    def __init__(self, venv: Any, **batch_kwargs: Any):
        from stable_baselines3.common.vec_env import VecEnv

        from htmagent.envs.vector import HTMBatch

        if not isinstance(venv, VecEnv):
            raise TypeError(f"venv must be a Stable-Baselines3 VecEnv, got {type(venv).__name__}")
        self.htm = HTMBatch(venv.observation_space, venv.action_space, venv.num_envs, **batch_kwargs)
        super().__init__(venv, observation_space=self.htm.single_observation_space)
        self._actions: Any = None

    def reset(self):
        """Reset every copy; each copy's sequence starts anew."""
        from htmagent.envs.vector import batch_row

        obs = self.venv.reset()
        space = self.venv.observation_space
        self.htm.run([(i, [(batch_row(space, obs, i), None, True)]) for i in range(self.num_envs)])
        return self.htm.observation(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self):
        """Step every copy and its HTM (and add the intrinsic reward with ``curiosity``)."""
        from htmagent.envs.vector import batch_row

        obs, rewards, dones, infos = self.venv.step_wait()
        space = self.venv.observation_space
        actions = self._actions
        work = []
        # A finished copy without its terminal observation (a VecEnv that does not keep it) only starts anew.
        final = [bool(dones[i]) and infos[i].get("terminal_observation") is not None for i in range(self.num_envs)]
        for i in range(self.num_envs):
            action = batch_row(self.venv.action_space, actions, i) if actions is not None else None
            if final[i]:
                work.append((i, [(infos[i]["terminal_observation"], action, False)]))
            else:
                work.append((i, [(batch_row(space, obs, i), action, bool(dones[i]))]))
        self.htm.run(work)
        rewards = np.asarray(rewards, dtype=np.float32).copy()
        curiosity = self.htm.curiosity
        for i in range(self.num_envs):
            if curiosity is not None and (final[i] or not dones[i]):
                intrinsic, paid = self.htm.bonus(i)
                infos[i]["extrinsic_reward"] = float(rewards[i])
                infos[i]["intrinsic_reward"] = intrinsic
                if curiosity.normalize:
                    infos[i]["intrinsic_reward_normalized"] = paid
                rewards[i] += np.float32(curiosity.beta * paid)
        restart = []
        for i in np.flatnonzero(final):
            i = int(i)
            infos[i]["terminal_observation"] = self.htm.row(i, infos[i]["terminal_observation"])
            restart.append((i, [(batch_row(space, obs, i), None, True)]))
        self.htm.run(restart)
        return self.htm.observation(obs), rewards, dones, infos

    def htm_stats(self) -> dict[str, float]:
        """The memory's size and the mean anomaly (see :meth:`HTMBatch.htm_stats`)."""
        return self.htm.htm_stats()


def _find_vec_wrapper(env: Any) -> HTMVecWrapper | None:
    while env is not None:
        if isinstance(env, HTMVecWrapper):
            return env
        env = getattr(env, "venv", None)
    return None


def make_htm_vec_env(
    env_id_or_env: str | gym.Env | Callable[[], gym.Env],
    n_envs: int = 1,
    seed: int | None = None,
    htm_kwargs: dict | None = None,
    vec_env_cls: type | None = None,
    env_kwargs: dict | None = None,
    same_htm_seed: bool = True,
    normalize_original: bool = False,
    wrapper: Callable[[gym.Env], gym.Env] | None = None,
    vec_wrapper: bool = False,
    shared_htm: bool = True,
):
    """The vector env of :func:`make_htm_model`: every copy is ``Monitor`` then ``HTMObservation`` (then ``wrapper``),
    or, with ``vec_wrapper``, every copy is ``Monitor`` and one :class:`HTMVecWrapper` observes them all.

    Build the same env again to load a saved model into it (:func:`load_htm_model`). The arguments are those of
    :func:`make_htm_model`; ``wrapper`` (a picklable callable, e.g. ``functools.partial(HTMCuriosity, beta=0.1)``)
    wraps each copy above the HTM (not with ``vec_wrapper``: give ``htm_kwargs["curiosity"]`` instead).

    Returns:
        A ``DummyVecEnv`` or ``SubprocVecEnv`` (inside an :class:`HTMVecWrapper` with ``vec_wrapper``, inside a
        ``VecNormalize`` with ``normalize_original``).
    """
    from stable_baselines3.common.vec_env import DummyVecEnv

    if not is_int(n_envs) or n_envs < 1:
        raise ValueError(f"n_envs must be an int >= 1, got {n_envs!r}")
    for name, flag in (("same_htm_seed", same_htm_seed), ("normalize_original", normalize_original)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
    if wrapper is not None and not callable(wrapper):
        raise TypeError(f"wrapper must be a callable env -> env or None, got {type(wrapper).__name__}")
    for name, flag in (("vec_wrapper", vec_wrapper), ("shared_htm", shared_htm)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
    if vec_wrapper and wrapper is not None:
        raise ValueError("wrapper wraps each copy above its HTMObservation, which vec_wrapper=True does not build; "
                         "give the curiosity settings as htm_kwargs['curiosity'] instead")
    htm_kwargs = dict(htm_kwargs or {})
    if "seed" in htm_kwargs:
        raise ValueError("give the HTM seed through the seed argument, not htm_kwargs['seed']")
    if isinstance(env_id_or_env, gym.Env):
        if n_envs != 1:
            raise ValueError(f"an env instance can only make n_envs=1, got n_envs={n_envs}; pass an id or a factory")
        instance = env_id_or_env
        base_factories = [lambda: instance]
    elif isinstance(env_id_or_env, str):
        env_id, make_kwargs = env_id_or_env, dict(env_kwargs or {})
        base_factories = [lambda: gym.make(env_id, **make_kwargs)] * n_envs
    elif callable(env_id_or_env):
        base_factories = [env_id_or_env] * n_envs
    else:
        raise TypeError(
            f"env_id_or_env must be a Gymnasium id, an env or an env factory, got {type(env_id_or_env).__name__}"
        )
    if vec_wrapper:
        vec_env = (vec_env_cls or DummyVecEnv)([_HTMEnvFactory(factory, None, None) for factory in base_factories])
        if seed is not None:
            vec_env.seed(seed)
        vec_env = HTMVecWrapper(vec_env, shared=shared_htm, seed=seed,
                                same_seed=same_htm_seed, **htm_kwargs)
    else:
        vec_env = (vec_env_cls or DummyVecEnv)(
            [_HTMEnvFactory(factory, None if seed is None else seed + (0 if same_htm_seed else i), htm_kwargs,
                            wrapper) for i, factory in enumerate(base_factories)]
        )
        if seed is not None:
            vec_env.seed(seed)
    if normalize_original:
        from stable_baselines3.common.vec_env import VecNormalize

        vec_env = VecNormalize(vec_env, norm_obs=True, norm_reward=False, norm_obs_keys=["original"])
    return vec_env


def make_htm_model(
    algorithm: type | str,
    env_id_or_env: str | gym.Env | Callable[[], gym.Env],
    n_envs: int = 1,
    seed: int | None = None,
    htm_kwargs: dict | None = None,
    extractor_kwargs: dict | None = None,
    model_kwargs: dict | None = None,
    vec_env_cls: type | None = None,
    env_kwargs: dict | None = None,
    same_htm_seed: bool = True,
    normalize_original: bool = False,
    wrapper: Callable[[gym.Env], gym.Env] | None = None,
    vec_wrapper: bool = False,
    shared_htm: bool = True,
):
    """Build any Stable-Baselines3 (or sb3-contrib) algorithm on ``HTMObservation`` envs with the extractor.

    Args:
        algorithm: the algorithm class (``PPO``, ``A2C``, ``DQN``, ``SAC``, ``TD3``, ``RecurrentPPO``, ``QRDQN``,
            ``TQC``...) or its name in ``stable_baselines3`` / ``sb3_contrib``.
        env_id_or_env: a registered Gymnasium id, an env factory (callable returning an env), or one env instance
            (then ``n_envs`` must be 1; it is wrapped with ``Monitor`` and ``HTMObservation`` here).
        n_envs: number of parallel envs, each with its own HTM.
        seed: seeds the envs, the HTMs and the algorithm; ``None`` for fresh entropy.
        htm_kwargs: keyword arguments of ``HTMObservation`` (``column_count``, ``cells_per_column``, ...).
        extractor_kwargs: keyword arguments of :class:`HTMFeaturesExtractor`.
        model_kwargs: keyword arguments of the algorithm (``n_steps``, ``learning_rate``, ``verbose``, ...); a
            ``policy_kwargs`` entry is merged with the extractor settings.
        vec_env_cls: ``DummyVecEnv`` (default) or ``SubprocVecEnv``.
        env_kwargs: keyword arguments passed to ``gym.make`` when ``env_id_or_env`` is an id.
        same_htm_seed: build every env's HTM from ``seed`` (True: the copies start with the same encoder and
            pooler, so one observation gets one code whichever env it comes from, and the one policy reading them
            learns one code, not ``n_envs``), or from ``seed + env index`` (False: independent HTMs). Each copy
            still learns from its own stream; ``learn_sp=False`` in ``htm_kwargs`` keeps the codes identical.
        normalize_original: wrap the vector env in ``VecNormalize`` for the ``original`` key only (running mean and
            variance; the SDR bits, the trace and the anomaly are left as they are): useful when the raw
            observation's elements have very different scales. The HTM always sees the raw observation.
            :func:`save_htm_model` saves the statistics with the model.
        wrapper: a picklable callable applied to each copy above the HTM (e.g. ``functools.partial(HTMCuriosity,
            beta=0.1)``).
        vec_wrapper: observe all copies through one :class:`HTMVecWrapper` instead of an ``HTMObservation`` per
            copy; ``htm_kwargs`` then go to :class:`~htmagent.envs.vector.HTMBatch` (``curiosity=dict(beta=...,
            source=...)`` adds the shared intrinsic reward).
        shared_htm: with ``vec_wrapper``: one HTM learning from every copy (True) or one per copy (False).

    Returns:
        The model with ``MultiInputPolicy`` (``MultiInputLstmPolicy`` for a recurrent algorithm); call
        ``.learn(total_timesteps)``, and save it with :func:`save_htm_model` so that the HTMs travel with it.
    """
    algorithm = _algorithm_class(algorithm)
    model_kwargs = dict(model_kwargs or {})
    policy_kwargs = dict(model_kwargs.pop("policy_kwargs", {}) or {})
    policy_kwargs.setdefault("features_extractor_class", HTMFeaturesExtractor)
    policy_kwargs.setdefault("features_extractor_kwargs", dict(extractor_kwargs or {}))
    vec_env = make_htm_vec_env(env_id_or_env, n_envs, seed, htm_kwargs, vec_env_cls, env_kwargs, same_htm_seed,
                               normalize_original, wrapper, vec_wrapper, shared_htm)
    aliases = getattr(algorithm, "policy_aliases", {})
    policy = "MultiInputLstmPolicy" if "MultiInputLstmPolicy" in aliases else "MultiInputPolicy"
    return algorithm(policy, vec_env, seed=seed, policy_kwargs=policy_kwargs, **model_kwargs)


def make_htm_ppo(
    env_id_or_env: str | gym.Env | Callable[[], gym.Env],
    n_envs: int = 1,
    seed: int | None = None,
    htm_kwargs: dict | None = None,
    extractor_kwargs: dict | None = None,
    ppo_kwargs: dict | None = None,
    vec_env_cls: type | None = None,
    env_kwargs: dict | None = None,
    same_htm_seed: bool = True,
    normalize_original: bool = False,
    vec_wrapper: bool = False,
    shared_htm: bool = True,
):
    """Build a ready ``PPO`` whose envs are wrapped with ``HTMObservation`` and whose policy uses the extractor.

    :func:`make_htm_model` with ``PPO``; ``ppo_kwargs`` are its ``model_kwargs``. Save the result with
    :func:`save_htm_model` (``model.save`` alone does not keep the HTMs, and a policy read back onto fresh HTMs sees
    codes it was not trained on).

    Returns:
        A ``stable_baselines3.PPO`` with ``MultiInputPolicy``; call ``.learn(total_timesteps)``.
    """
    from stable_baselines3 import PPO

    return make_htm_model(PPO, env_id_or_env, n_envs, seed, htm_kwargs, extractor_kwargs, ppo_kwargs, vec_env_cls,
                          env_kwargs, same_htm_seed, normalize_original, vec_wrapper=vec_wrapper,
                          shared_htm=shared_htm)


def _algorithm_class(algorithm: type | str) -> type:
    if isinstance(algorithm, str):
        import importlib

        for package in ("stable_baselines3", "sb3_contrib"):
            try:
                found = getattr(importlib.import_module(package), algorithm, None)
            except ImportError:
                found = None
            if isinstance(found, type):
                return found
        raise ValueError(f"algorithm {algorithm!r} is neither in stable_baselines3 nor in sb3_contrib")
    from stable_baselines3.common.base_class import BaseAlgorithm

    if not (isinstance(algorithm, type) and issubclass(algorithm, BaseAlgorithm)):
        raise TypeError(f"algorithm must be a Stable-Baselines3 algorithm class or its name, got {algorithm!r}")
    return algorithm


class HTMLogger(BaseCallback):
    """Record what the HTM adds to SB3's logger (and so to TensorBoard when it is configured).

    Per finished episode (averaged over the episodes of each logging interval):

    - ``htm/ep_extrinsic_return`` and ``htm/ep_intrinsic_return``: the env's own return and the sum of the bonus
      (before ``beta``), from the ``extrinsic_reward`` / ``intrinsic_reward`` info keys of an
      :class:`~htmagent.envs.curiosity.HTMCuriosity` (whichever side of it ``Monitor`` sits, so ``ep_rew_mean``'s
      mix of both is no longer the only number);
    - ``htm/ep_anomaly``: the mean anomaly over the episode (the ``anomaly`` observation key).

    At the end of each rollout: ``htm/segments`` and ``htm/synapses``, the mean memory size over the env copies.

    Example:
        >>> model.learn(100_000, callback=HTMLogger())
    """

    def __init__(self, verbose: int = 0):
        super().__init__(verbose)
        self._sums: np.ndarray | None = None

    def _on_training_start(self) -> None:
        self._sums = np.zeros((self.training_env.num_envs, 4))  # extrinsic, intrinsic, anomaly, steps

    def _on_step(self) -> bool:
        infos, dones = self.locals.get("infos", ()), self.locals.get("dones")
        obs = self.locals.get("new_obs")
        anomaly = obs.get("anomaly") if isinstance(obs, dict) else None
        sums = self._sums
        for i, info in enumerate(infos):
            curious = "intrinsic_reward" in info
            if curious:
                sums[i, 0] += float(info["extrinsic_reward"])
                sums[i, 1] += float(info["intrinsic_reward"])
            if anomaly is not None:
                sums[i, 2] += float(np.asarray(anomaly[i]).ravel()[0])
            sums[i, 3] += 1
            if dones is not None and dones[i]:
                if curious:
                    self.logger.record_mean("htm/ep_extrinsic_return", sums[i, 0])
                    self.logger.record_mean("htm/ep_intrinsic_return", sums[i, 1])
                if anomaly is not None:
                    self.logger.record_mean("htm/ep_anomaly", sums[i, 2] / sums[i, 3])
                sums[i] = 0.0
        return True

    def _on_rollout_end(self) -> None:
        batched = _find_vec_wrapper(self.training_env)
        if batched is not None:
            stats = [batched.htm_stats()]
        else:
            try:
                stats = self.training_env.env_method("htm_stats")
            except AttributeError:  # no HTMObservation in the envs (curiosity on its private HTM only)
                return
        for key in ("segments", "synapses"):
            self.logger.record(f"htm/{key}", float(np.mean([s[key] for s in stats])))


class HTMCheckpoint(BaseCallback):
    """Save the model with its HTMs (:func:`save_htm_model`) at the end of training, and every ``save_freq`` calls.

    For trainers that save only the model (RL Zoo: ``callback: [{htmagent.sb3.HTMCheckpoint: {path: logs/agent}}]``
    in the hyperparameter YAML), so that :func:`load_htm_model` can put the agent back together.

    Args:
        path: where :func:`save_htm_model` writes (``<path>.zip`` and ``<path>.htm.npz``); periodic saves add
            ``_<timesteps>`` to it.
        save_freq: callback calls (steps of the vector env) between periodic saves; 0 saves at the end only.
    """

    def __init__(self, path: str | os.PathLike, save_freq: int = 0, verbose: int = 0):
        super().__init__(verbose)
        if not is_int(save_freq) or save_freq < 0:
            raise ValueError(f"save_freq must be an int >= 0, got {save_freq!r}")
        self.path = os.fspath(path)
        self.save_freq = int(save_freq)

    def _on_step(self) -> bool:
        if self.save_freq and self.n_calls % self.save_freq == 0:
            save_htm_model(self.model, f"{self.path}_{self.num_timesteps}")
        return True

    def _on_training_end(self) -> None:
        save_htm_model(self.model, self.path)


# ---------------------------------------------------------------------------------------------- saving with the HTM
_MODEL_FORMAT = "htmagent.sb3.HTMModel/1"


def _paths(path: str | os.PathLike) -> tuple[str, str]:
    base = os.fspath(path)
    if base.endswith(".zip"):
        base = base[:-4]
    return base + ".zip", base + ".htm.npz"


def _rms_state(rms: Any) -> dict:
    return {"mean": np.asarray(rms.mean, dtype=np.float64).copy(), "var": np.asarray(rms.var, dtype=np.float64).copy(),
            "count": float(rms.count)}


def _vec_normalize_state(norm: Any) -> dict:
    obs = norm.obs_rms
    return {
        "norm_obs": bool(norm.norm_obs), "norm_reward": bool(norm.norm_reward), "training": bool(norm.training),
        "norm_obs_keys": list(norm.norm_obs_keys) if norm.norm_obs_keys is not None else None,
        "clip_obs": float(norm.clip_obs), "clip_reward": float(norm.clip_reward), "gamma": float(norm.gamma),
        "epsilon": float(norm.epsilon),
        "obs_rms": {k: _rms_state(v) for k, v in obs.items()} if isinstance(obs, dict) else {"": _rms_state(obs)},
        "ret_rms": _rms_state(norm.ret_rms),
    }


def save_htm_model(model: Any, path: str | os.PathLike) -> tuple[str, str]:
    """Save a Stable-Baselines3 model together with the learned state of its env's HTMs.

    ``model.save`` keeps the policy but not the HTMs that live in the env's wrappers, and a policy put back on fresh
    HTMs reads codes it was never trained on (a CartPole agent fell from 270 to 89). This writes ``<path>.zip``
    (``model.save``) and ``<path>.htm.npz``: for every copy of the vector env the state of each htmagent wrapper in it
    (``HTMObservation``, ``HTMCuriosity``), reached through ``env_method`` so ``SubprocVecEnv`` works, and the
    statistics of a ``VecNormalize`` around the env (as arrays, not a pickle). Load both with :func:`load_htm_model`.

    Args:
        model: a trained SB3 model whose env holds htmagent wrappers.
        path: where to write; ``.zip`` is added (or kept) for the model, ``.htm.npz`` for the HTMs.

    Returns:
        The two paths written: ``(model zip, HTM file)``.
    """
    from stable_baselines3.common.base_class import BaseAlgorithm

    if not isinstance(model, BaseAlgorithm):
        raise TypeError(f"model must be a Stable-Baselines3 model, got {type(model).__name__}")
    env = model.get_env()
    if env is None:
        raise ValueError("model has no env: load it with an env (or use model.save, there is no HTM to keep)")
    batched = _find_vec_wrapper(env)
    if batched is not None:
        copies = []
    else:
        try:
            copies = env.env_method("htm_wrapper_states")
        except AttributeError as error:
            raise ValueError("the model's env has no HTMObservation, HTMCuriosity or HTMVecWrapper: use model.save"
                             ) from error
    norm = unwrap_vec_normalize(env)
    state = {
        "format": _MODEL_FORMAT,
        "algorithm": f"{type(model).__module__.split('.')[0]}.{type(model).__name__}",
        "num_envs": env.num_envs,
        "envs": {str(i): c for i, c in enumerate(copies)},
        "vec_wrapper": batched.htm.state_dict() if batched is not None else {},
        "vec_normalize": _vec_normalize_state(norm) if norm is not None else {},
    }
    zip_path, htm_path = _paths(path)
    model.save(zip_path)
    save_state(htm_path, state)
    return zip_path, htm_path


def load_htm_model(path: str | os.PathLike, env: Any, algorithm: type | str | None = None,
                   htm_copy: int | None = None, **load_kwargs: Any):
    """Load a model written by :func:`save_htm_model` onto ``env`` and restore its HTMs into ``env``'s copies.

    Args:
        path: the path given to :func:`save_htm_model` (with or without ``.zip``).
        env: a vector env built as the saved one was (same wrappers and sizes; :func:`make_htm_vec_env` with the
            same arguments), or a single env (wrapped in a ``DummyVecEnv``). If the saved env had a ``VecNormalize``
            and ``env`` has none, one is put around ``env`` with the saved settings and statistics.
        algorithm: the algorithm class or name; ``None`` takes the one recorded in the file.
        htm_copy: ``None`` loads copy ``i`` of the saved env into copy ``i`` of ``env`` (the counts must match);
            an int loads that saved copy into every copy of ``env`` (e.g. one env for evaluation).
        **load_kwargs: passed to the algorithm's ``load`` (``device``, ``custom_objects``...).

    Returns:
        The model, whose ``get_env()`` is ``env`` (or the ``VecNormalize`` put around it).

    Raises:
        StateError: the HTM file is malformed or does not fit ``env``; ``env``'s HTMs are then left as they were.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

    from htmagent._state import check_format, get, get_int, get_str

    zip_path, htm_path = _paths(path)
    with naming_file(htm_path):
        state = load_state(htm_path)
        check_format(state, _MODEL_FORMAT)
        count = get_int(state, "num_envs", 1)
        envs = get(state, "envs")
        # files from before HTMVecWrapper existed have no 'vec_wrapper' (their HTMs live in the copies)
        batch_state = state.get("vec_wrapper", {})
        if not isinstance(batch_state, dict):
            raise StateError("'vec_wrapper' must be a mapping", field="vec_wrapper")
        expected = [] if batch_state else [str(i) for i in range(count)]
        if not isinstance(envs, dict) or sorted(envs) != sorted(expected):
            raise StateError(f"'envs' must hold the {len(expected)} copies' wrapper states" +
                             (" (none: the HTM is in 'vec_wrapper')" if batch_state else ""), field="envs")
        recorded = get_str(state, "algorithm")
        norm_state = get(state, "vec_normalize")
        if not isinstance(norm_state, dict):
            raise StateError("'vec_normalize' must be a mapping", field="vec_normalize")
    if htm_copy is not None and (not is_int(htm_copy) or not 0 <= htm_copy < count):
        raise ValueError(f"htm_copy must be None or an int in [0, {count}), got {htm_copy!r}")
    if isinstance(env, gym.Env):
        single = env
        env = DummyVecEnv([lambda: single])
    if not isinstance(env, VecEnv):
        raise TypeError(f"env must be a Gymnasium env or an SB3 VecEnv, got {type(env).__name__}")
    batched = _find_vec_wrapper(env)
    if bool(batch_state) != (batched is not None):
        raise ValueError(f"{htm_path} was saved from an env " + ("with" if batch_state else "without") +
                         " an HTMVecWrapper and env has " + ("one" if batched is not None else "none") +
                         ": build the env as the saved one was")
    if batched is not None and htm_copy is not None:
        raise ValueError("htm_copy selects a copy's own HTM; an HTMVecWrapper's state loads whole (htm_copy=None)")
    if htm_copy is None and env.num_envs != count:
        raise ValueError(f"{htm_path} holds {count} HTM copies and env has {env.num_envs}: build the env with "
                         f"n_envs={count}, or pass htm_copy=k to load saved copy k into every copy")
    algorithm = _algorithm_class(recorded.split(".")[-1] if algorithm is None else algorithm)
    norm = unwrap_vec_normalize(env)
    with naming_file(htm_path):
        if norm_state:
            if norm is None:
                keys = get(norm_state, "norm_obs_keys")
                norm = VecNormalize(env, training=bool(get(norm_state, "training")),
                                    norm_obs=bool(get(norm_state, "norm_obs")),
                                    norm_reward=bool(get(norm_state, "norm_reward")),
                                    norm_obs_keys=None if keys is None else [str(k) for k in keys],
                                    clip_obs=float(get(norm_state, "clip_obs")),
                                    clip_reward=float(get(norm_state, "clip_reward")),
                                    gamma=float(get(norm_state, "gamma")), epsilon=float(get(norm_state, "epsilon")))
            _check_vec_normalize(norm, norm_state)
        if batched is not None:
            batched.htm.load_state_dict(batch_state)
        sources = [] if batched is not None else [envs[str(i if htm_copy is None else htm_copy)]
                                                  for i in range(env.num_envs)]
        before = env.env_method("htm_wrapper_states") if sources else []
        for i, source in enumerate(sources):
            # The wrappers report a refusal instead of raising it, so that a SubprocVecEnv worker survives it.
            problem = env.env_method("try_load_htm_wrapper_states", source, indices=[i])[0]
            if problem is not None:
                for j in range(i):
                    env.env_method("try_load_htm_wrapper_states", before[j], indices=[j])
                raise StateError(f"env copy {i}: {problem}", field=f"envs/{i if htm_copy is None else htm_copy}")
    if norm_state:
        _load_vec_normalize(norm, norm_state)
        env = norm if unwrap_vec_normalize(env) is None else env
    return algorithm.load(zip_path, env=env, **load_kwargs)


def _check_vec_normalize(norm: Any, state: dict) -> None:
    obs = norm.obs_rms if isinstance(norm.obs_rms, dict) else {"": norm.obs_rms}
    saved = state.get("obs_rms")
    if not isinstance(saved, dict) or sorted(saved) != sorted(obs):
        raise StateError(f"the saved VecNormalize normalises keys {sorted(saved or {})}, this one {sorted(obs)}",
                         field="vec_normalize")
    for key, rms in list(obs.items()) + [("return", norm.ret_rms)]:
        entry = state["ret_rms"] if key == "return" else saved[key]
        for part in ("mean", "var"):
            value = np.asarray(entry.get(part) if isinstance(entry, dict) else None)
            if value.shape != np.shape(rms.mean) or not np.issubdtype(value.dtype, np.floating):
                raise StateError(f"VecNormalize statistics {key!r}.{part}: expected floats of shape "
                                 f"{np.shape(rms.mean)}, got {value.dtype} {value.shape}", field="vec_normalize")


def _load_vec_normalize(norm: Any, state: dict) -> None:
    obs = norm.obs_rms if isinstance(norm.obs_rms, dict) else {"": norm.obs_rms}
    for key, rms in list(obs.items()) + [("return", norm.ret_rms)]:
        entry = state["ret_rms"] if key == "return" else state["obs_rms"][key]
        rms.mean = np.asarray(entry["mean"], dtype=np.float64).copy()
        rms.var = np.asarray(entry["var"], dtype=np.float64).copy()
        rms.count = float(entry["count"])


class _HTMEnvFactory:
    """Picklable env factory (for ``SubprocVecEnv``): base env, then ``Monitor``, then ``HTMObservation``.

    ``Monitor`` sits below the HTM wrapper so that logged episode returns are the environment's own.
    """

    def __init__(self, factory: Callable[[], gym.Env], seed: int | None, htm_kwargs: dict | None,
                 wrapper: Callable[[gym.Env], gym.Env] | None = None):
        self.factory = factory
        self.seed = seed
        self.htm_kwargs = htm_kwargs
        self.wrapper = wrapper

    def __call__(self) -> gym.Env:
        from stable_baselines3.common.monitor import Monitor

        from htmagent.envs.wrappers import HTMObservation

        if self.htm_kwargs is None:  # the copies of an HTMVecWrapper: the HTM runs outside them
            return Monitor(self.factory())
        env = HTMObservation(Monitor(self.factory()), seed=self.seed, **self.htm_kwargs)
        return env if self.wrapper is None else self.wrapper(env)
