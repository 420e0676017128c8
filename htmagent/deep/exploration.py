"""Learned curiosity baselines for the HTM's bonus: RND, ICM and E3B as Gymnasium reward wrappers (the torch room).

Each wrapper adds ``beta * bonus`` to the env's reward and reports ``extrinsic_reward`` and ``intrinsic_reward`` in
``info`` (the keys :class:`~htmagent.envs.curiosity.HTMCuriosity` uses, so :class:`htmagent.sb3.HTMLogger` logs them
alike). They are written here from the papers, trained online inside the wrapper (so they work under any RL library
and vector env): every ``update_every`` steps, ``epochs`` passes of Adam over minibatches of the last
``buffer_size`` transitions. The networks see observations standardised by running statistics (clipped to +-5, as
RND does).

- :class:`RNDBonus` (Burda et al. 2018): the error of a trained predictor of a fixed random network's output.
- :class:`ICMBonus` (Pathak et al. 2017): the error of a forward model in a feature space learned by inverse
  dynamics (predicting the action from two consecutive observations).
- :class:`E3BBonus` (Henaff et al. 2022): the elliptical bonus ``u^T C^-1 u`` of the inverse-dynamics embedding
  ``u`` against the covariance ``C`` of this episode's embeddings (reset each episode).

``normalize=True`` divides the bonus by the running std of its discounted sum
(:class:`~htmagent.envs.curiosity.IntrinsicNormalizer`), as RND does, so one ``beta`` can serve several tasks.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from htmagent._validation import check_bool, check_int, check_real
from htmagent.deep.layers import seeded_weights
from htmagent.envs.curiosity import IntrinsicNormalizer
from htmagent.envs.wrappers import flat_space, flatten_observation

__all__ = ["E3BBonus", "ICMBonus", "RNDBonus"]


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, outputs))


class _LearnedBonus(gym.Wrapper):
    """Shared machinery: observation vectors and their running statistics, the transition buffer, training."""

    def __init__(self, env: gym.Env, beta: float, hidden: int, embedding: int, lr: float, buffer_size: int,
                 batch_size: int, update_every: int, epochs: int, normalize: bool, intrinsic_gamma: float,
                 seed: int):
        if not isinstance(env, gym.Env):
            raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}")
        super().__init__(env)
        self.beta = check_real(beta, "beta", 0.0)
        self.hidden = check_int(hidden, "hidden", 1)
        self.embedding = check_int(embedding, "embedding", 1)
        self.lr = check_real(lr, "lr", 0.0, low_open=True)
        self.buffer_size = check_int(buffer_size, "buffer_size", 1)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.update_every = check_int(update_every, "update_every", 1)
        self.epochs = check_int(epochs, "epochs", 1)
        self.normalize = check_bool(normalize, "normalize")
        self.seed = check_int(seed, "seed", 0)
        self._normalizer = IntrinsicNormalizer(check_real(intrinsic_gamma, "intrinsic_gamma", 0.0, 1.0,
                                                          high_open=True))
        self.obs_dim = int(flat_space(env.observation_space).shape[0])
        action_space = env.action_space
        if isinstance(action_space, spaces.Discrete):
            self.action_dim, self._discrete = int(action_space.n), True
        elif isinstance(action_space, spaces.Box):
            self.action_dim, self._discrete = int(np.prod(action_space.shape)), False
        else:
            raise TypeError(f"the action space must be Discrete or Box, got {type(action_space).__name__}")
        self._rng = np.random.default_rng(self.seed)
        self._stats = np.zeros((3, self.obs_dim))  # count (row 0, column 0), mean, m2
        n = self.buffer_size
        self._before = np.zeros((n, self.obs_dim), np.float32)
        self._after = np.zeros((n, self.obs_dim), np.float32)
        self._actions = np.zeros((n, self.action_dim), np.float32)
        self._filled = self._next = self._steps = 0
        self._last: np.ndarray | None = None

    # ------------------------------------------------------------------ observations
    def _vector(self, observation: Any) -> np.ndarray:
        return flatten_observation(self.env.observation_space, observation).astype(np.float64)

    def _observe(self, x: np.ndarray) -> None:
        count, mean, m2 = self._stats[0, 0] + 1, self._stats[1], self._stats[2]
        delta = x - mean
        mean += delta / count
        m2 += delta * (x - mean)
        self._stats[0, 0] = count

    def _standard(self, x: np.ndarray) -> np.ndarray:
        count = self._stats[0, 0]
        std = np.sqrt(self._stats[2] / count) if count > 1 else np.ones(self.obs_dim)
        return np.clip((x - self._stats[1]) / np.maximum(std, 1e-6), -5.0, 5.0).astype(np.float32)

    def _action_vector(self, action: Any) -> np.ndarray:
        if self._discrete:
            one_hot = np.zeros(self.action_dim, np.float32)
            one_hot[int(action)] = 1.0
            return one_hot
        return np.asarray(action, dtype=np.float32).ravel()

    # ------------------------------------------------------------------ the gym interface
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env (and the episodic part of the bonus, where there is one)."""
        obs, info = self.env.reset(seed=seed, options=options)
        x = self._vector(obs)
        self._observe(x)
        self._last = self._standard(x)
        self._episode_start(self._last)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env, add ``beta * bonus``, store the transition and train every ``update_every`` steps."""
        if self._last is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        x = self._vector(obs)
        self._observe(x)
        after, act = self._standard(x), self._action_vector(action)
        with torch.no_grad():
            intrinsic = float(self._bonus(self._last, act, after))
        i = self._next
        self._before[i], self._after[i], self._actions[i] = self._last, after, act
        self._next, self._filled = (i + 1) % self.buffer_size, min(self._filled + 1, self.buffer_size)
        self._last = after
        self._steps += 1
        if self._steps % self.update_every == 0:
            self._train()
        info = dict(info, extrinsic_reward=float(reward), intrinsic_reward=intrinsic)
        if self.normalize:
            intrinsic = self._normalizer(intrinsic)
            info["intrinsic_reward_normalized"] = intrinsic
        return obs, float(reward) + self.beta * intrinsic, terminated, truncated, info

    def _train(self) -> None:
        n = self._filled
        for _ in range(self.epochs):
            order = self._rng.permutation(n)
            for start in range(0, n, self.batch_size):
                rows = order[start:start + self.batch_size]
                batch = (torch.from_numpy(self._before[rows]), torch.from_numpy(self._actions[rows]),
                         torch.from_numpy(self._after[rows]))
                self.optimizer.zero_grad()
                self._loss(*batch).backward()
                self.optimizer.step()

    def _inverse_loss(self, phi_before: torch.Tensor, phi_after: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        logits = self.inverse(torch.cat([phi_before, phi_after], dim=1))
        if self._discrete:
            return nn.functional.cross_entropy(logits, actions.argmax(dim=1))
        return nn.functional.mse_loss(logits, actions)

    def _episode_start(self, first: np.ndarray) -> None:
        pass

    def _bonus(self, before: np.ndarray, action: np.ndarray, after: np.ndarray) -> float:
        raise NotImplementedError

    def _loss(self, before: torch.Tensor, actions: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class RNDBonus(_LearnedBonus, gym.utils.RecordConstructorArgs):
    """Random network distillation (Burda et al. 2018): bonus = mean squared error of a predictor trained to match
    a fixed, randomly initialised target network on the new observation; high on observations unlike those seen.

    Args:
        env: the environment (any observation space :func:`~htmagent.envs.wrappers.flat_space` takes).
        beta: weight of the bonus.
        hidden, embedding: widths of the networks' hidden layers and outputs.
        lr: Adam's learning rate.
        buffer_size, batch_size, update_every, epochs: the online training (see the module docstring).
        normalize, intrinsic_gamma: RND's normalisation of the bonus.
        seed: seeds the networks and the minibatches.
    """

    def __init__(self, env: gym.Env, beta: float = 0.1, hidden: int = 64, embedding: int = 64, lr: float = 1e-3,
                 buffer_size: int = 1024, batch_size: int = 64, update_every: int = 32, epochs: int = 1,
                 normalize: bool = False, intrinsic_gamma: float = 0.99, seed: int = 0):
        gym.utils.RecordConstructorArgs.__init__(self, beta=beta, hidden=hidden, embedding=embedding, lr=lr,
                                                 buffer_size=buffer_size, batch_size=batch_size,
                                                 update_every=update_every, epochs=epochs, normalize=normalize,
                                                 intrinsic_gamma=intrinsic_gamma, seed=seed)
        _LearnedBonus.__init__(self, env, beta, hidden, embedding, lr, buffer_size, batch_size, update_every, epochs,
                               normalize, intrinsic_gamma, seed)
        with seeded_weights(self.seed):
            self.target = _mlp(self.obs_dim, self.hidden, self.embedding).requires_grad_(False)
            self.predictor = _mlp(self.obs_dim, self.hidden, self.embedding)
        self.optimizer = torch.optim.Adam(self.predictor.parameters(), lr=self.lr)

    def _bonus(self, before, action, after) -> float:
        x = torch.from_numpy(after)[None]
        return float(((self.predictor(x) - self.target(x)) ** 2).mean())

    def _loss(self, before, actions, after):
        return ((self.predictor(after) - self.target(after)) ** 2).mean()


class ICMBonus(_LearnedBonus, gym.utils.RecordConstructorArgs):
    """Intrinsic curiosity module (Pathak et al. 2017): bonus = error of a forward model predicting the next
    observation's features from the current ones and the action, in a feature space trained by inverse dynamics (so
    it keeps what the agent's actions affect). Loss: ``(1 - forward_weight) * inverse + forward_weight * forward``.

    Args:
        env: the environment (Discrete or Box actions).
        forward_weight: the weight of the forward loss (the paper's 0.2).
        Other arguments as :class:`RNDBonus`.
    """

    def __init__(self, env: gym.Env, beta: float = 0.1, hidden: int = 64, embedding: int = 32, lr: float = 1e-3,
                 buffer_size: int = 1024, batch_size: int = 64, update_every: int = 32, epochs: int = 1,
                 normalize: bool = False, intrinsic_gamma: float = 0.99, forward_weight: float = 0.2, seed: int = 0):
        gym.utils.RecordConstructorArgs.__init__(self, beta=beta, hidden=hidden, embedding=embedding, lr=lr,
                                                 buffer_size=buffer_size, batch_size=batch_size,
                                                 update_every=update_every, epochs=epochs, normalize=normalize,
                                                 intrinsic_gamma=intrinsic_gamma, forward_weight=forward_weight,
                                                 seed=seed)
        _LearnedBonus.__init__(self, env, beta, hidden, embedding, lr, buffer_size, batch_size, update_every, epochs,
                               normalize, intrinsic_gamma, seed)
        self.forward_weight = check_real(forward_weight, "forward_weight", 0.0, 1.0)
        with seeded_weights(self.seed):
            self.features = _mlp(self.obs_dim, self.hidden, self.embedding)
            self.inverse = _mlp(2 * self.embedding, self.hidden, self.action_dim)
            self.forward_model = _mlp(self.embedding + self.action_dim, self.hidden, self.embedding)
        params = [*self.features.parameters(), *self.inverse.parameters(), *self.forward_model.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=self.lr)

    def _forward_error(self, before, actions, after) -> torch.Tensor:
        phi_before, phi_after = self.features(before), self.features(after)
        predicted = self.forward_model(torch.cat([phi_before, actions], dim=1))
        return 0.5 * ((predicted - phi_after.detach()) ** 2).mean(dim=1), phi_before, phi_after

    def _bonus(self, before, action, after) -> float:
        error, _, _ = self._forward_error(torch.from_numpy(before)[None], torch.from_numpy(action)[None],
                                          torch.from_numpy(after)[None])
        return float(error[0])

    def _loss(self, before, actions, after):
        error, phi_before, phi_after = self._forward_error(before, actions, after)
        inverse = self._inverse_loss(phi_before, phi_after, actions)
        return (1 - self.forward_weight) * inverse + self.forward_weight * error.mean()


class E3BBonus(_LearnedBonus, gym.utils.RecordConstructorArgs):
    """Exploration via elliptical episodic bonuses (Henaff et al. 2022): bonus = ``u^T C^-1 u`` where ``u`` is the
    new observation's inverse-dynamics embedding and ``C = ridge * I + sum of u u^T`` over this episode so far
    (kept as its inverse by Sherman-Morrison updates, reset at each ``reset``). A state far from the episode's
    span pays; revisiting pays little.

    Args:
        env: the environment (Discrete or Box actions).
        ridge: the ``ridge`` of ``C`` (the paper's 0.1).
        Other arguments as :class:`RNDBonus`.
    """

    def __init__(self, env: gym.Env, beta: float = 0.1, hidden: int = 64, embedding: int = 32, lr: float = 1e-3,
                 buffer_size: int = 1024, batch_size: int = 64, update_every: int = 32, epochs: int = 1,
                 normalize: bool = False, intrinsic_gamma: float = 0.99, ridge: float = 0.1, seed: int = 0):
        gym.utils.RecordConstructorArgs.__init__(self, beta=beta, hidden=hidden, embedding=embedding, lr=lr,
                                                 buffer_size=buffer_size, batch_size=batch_size,
                                                 update_every=update_every, epochs=epochs, normalize=normalize,
                                                 intrinsic_gamma=intrinsic_gamma, ridge=ridge, seed=seed)
        _LearnedBonus.__init__(self, env, beta, hidden, embedding, lr, buffer_size, batch_size, update_every, epochs,
                               normalize, intrinsic_gamma, seed)
        self.ridge = check_real(ridge, "ridge", 0.0, low_open=True)
        with seeded_weights(self.seed):
            self.features = _mlp(self.obs_dim, self.hidden, self.embedding)
            self.inverse = _mlp(2 * self.embedding, self.hidden, self.action_dim)
        self.optimizer = torch.optim.Adam([*self.features.parameters(), *self.inverse.parameters()], lr=self.lr)
        self._inverse_cov = np.eye(self.embedding) / self.ridge

    def _episode_start(self, first: np.ndarray) -> None:
        self._inverse_cov = np.eye(self.embedding) / self.ridge
        with torch.no_grad():
            self._elliptical(first)

    def _elliptical(self, observation: np.ndarray) -> float:
        u = self.features(torch.from_numpy(observation)[None])[0].double().numpy()
        cu = self._inverse_cov @ u
        bonus = float(u @ cu)
        self._inverse_cov -= np.outer(cu, cu) / (1.0 + bonus)
        return bonus

    def _bonus(self, before, action, after) -> float:
        return self._elliptical(after)

    def _loss(self, before, actions, after):
        return self._inverse_loss(self.features(before), self.features(after), actions)
