"""Stable-Baselines3 adapter: a features extractor for :class:`~htmagent.envs.wrappers.HTMObservation` and a PPO helper.

The HTM learns inside the environment wrapper, one step at a time. SB3 re-evaluates stored observations in shuffled
minibatches several times per update, so nothing stateful may live in ``forward()``: :class:`HTMFeaturesExtractor`
only embeds the bits that the wrapper already emitted. It needs the ``rl`` extra (``pip install htmagent[rl]``).
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
from gymnasium import spaces

from htmagent._validation import is_int

try:
    import torch as th
    from stable_baselines3.common.preprocessing import get_flattened_obs_dim
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "htmagent.sb3 needs Stable-Baselines3 and PyTorch: install the 'rl' extra with `pip install htmagent[rl]`"
    ) from exc

__all__ = ["DeepHTMExtractor", "HTMFeaturesExtractor", "make_htm_ppo"]

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
):
    """Build a ready ``PPO`` whose envs are wrapped with ``HTMObservation`` and whose policy uses the extractor.

    Args:
        env_id_or_env: a registered Gymnasium id, an env factory (callable returning an env), or one env instance
            (then ``n_envs`` must be 1; it is wrapped with ``Monitor`` and ``HTMObservation`` here).
        n_envs: number of parallel envs, each with its own HTM.
        seed: seeds the envs, the HTMs and PPO; ``None`` for fresh entropy.
        htm_kwargs: keyword arguments of ``HTMObservation`` (``column_count``, ``cells_per_column``, ...).
        extractor_kwargs: keyword arguments of :class:`HTMFeaturesExtractor`.
        ppo_kwargs: keyword arguments of ``PPO`` (``n_steps``, ``learning_rate``, ``verbose``, ...); a
            ``policy_kwargs`` entry is merged with the extractor settings.
        vec_env_cls: ``DummyVecEnv`` (default) or ``SubprocVecEnv``.
        env_kwargs: keyword arguments passed to ``gym.make`` when ``env_id_or_env`` is an id.
        same_htm_seed: build every env's HTM from ``seed`` (True: the copies start with the same encoder and
            pooler, so one observation gets one code whichever env it comes from, and the one policy reading them
            learns one code, not ``n_envs``), or from ``seed + env index`` (False: independent HTMs). Each copy
            still learns from its own stream; ``learn_sp=False`` in ``htm_kwargs`` keeps the codes identical.
        normalize_original: wrap the vector env in ``VecNormalize`` for the ``original`` key only (running mean and
            variance; the SDR bits, the trace and the anomaly are left as they are): useful when the raw
            observation's elements have very different scales. The HTM always sees the raw observation. Save the
            ``VecNormalize`` statistics with the model (``model.get_env().save(path)``) to reuse the policy.

    Returns:
        A ``stable_baselines3.PPO`` with ``MultiInputPolicy``; call ``.learn(total_timesteps)``.
    """
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    if not is_int(n_envs) or n_envs < 1:
        raise ValueError(f"n_envs must be an int >= 1, got {n_envs!r}")
    for name, flag in (("same_htm_seed", same_htm_seed), ("normalize_original", normalize_original)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
    htm_kwargs = dict(htm_kwargs or {})
    if "seed" in htm_kwargs:
        raise ValueError("give the HTM seed through make_htm_ppo's seed argument, not htm_kwargs['seed']")
    ppo_kwargs = dict(ppo_kwargs or {})
    policy_kwargs = dict(ppo_kwargs.pop("policy_kwargs", {}) or {})
    policy_kwargs.setdefault("features_extractor_class", HTMFeaturesExtractor)
    policy_kwargs.setdefault("features_extractor_kwargs", dict(extractor_kwargs or {}))

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
    vec_env = (vec_env_cls or DummyVecEnv)(
        [_HTMEnvFactory(factory, None if seed is None else seed + (0 if same_htm_seed else i), htm_kwargs)
         for i, factory in enumerate(base_factories)]
    )
    if seed is not None:
        vec_env.seed(seed)
    if normalize_original:
        from stable_baselines3.common.vec_env import VecNormalize

        vec_env = VecNormalize(vec_env, norm_obs=True, norm_reward=False, norm_obs_keys=["original"])
    return PPO("MultiInputPolicy", vec_env, seed=seed, policy_kwargs=policy_kwargs, **ppo_kwargs)


class _HTMEnvFactory:
    """Picklable env factory (for ``SubprocVecEnv``): base env, then ``Monitor``, then ``HTMObservation``.

    ``Monitor`` sits below the HTM wrapper so that logged episode returns are the environment's own.
    """

    def __init__(self, factory: Callable[[], gym.Env], seed: int | None, htm_kwargs: dict):
        self.factory = factory
        self.seed = seed
        self.htm_kwargs = htm_kwargs

    def __call__(self) -> gym.Env:
        from stable_baselines3.common.monitor import Monitor

        from htmagent.envs.wrappers import HTMObservation

        return HTMObservation(Monitor(self.factory()), seed=self.seed, **self.htm_kwargs)
