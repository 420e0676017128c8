"""Train PPO with and without the HTM plugin on one task; print a results table and draw learning curves.

Arms (same step budget each):

- ``ppo``        plain PPO on the (possibly masked) observation.
- ``stack``      PPO on the last 4 observations stacked (``VecFrameStack``), the classic memory baseline.
- ``recurrent``  RecurrentPPO (sb3-contrib, LSTM policy, RL Zoo's CartPoleNoVel settings: 64 LSTM units for actor and
                 critic, ReLU, observations normalized with ``VecNormalize``): the recurrent reference.
- ``deephtm``    PPO on the last 4 observations stacked, read by :class:`htmagent.sb3.DeepHTMExtractor` (encoder ->
                 k-winner columns -> cells chosen by the previous frame's cells, trained by PPO's loss; 128 columns,
                 8 winners, 4 cells per column): the DeepHTM as a feature extractor.
- ``recurrent-deephtm``  the same RecurrentPPO with a recurrent DeepHTM in place of each LSTM
                 (:class:`htmagent.sb3.DeepHTMRecurrentPolicy`: 64 columns, 4 winners, 4 cells per column = 256 cells
                 of recurrent state), trained end to end by PPO's loss.
- ``htm``        PPO on ``HTMObservation`` dicts through ``HTMFeaturesExtractor`` (``htmagent.sb3.make_htm_ppo``).
- ``htm-cells``  as ``htm``, plus the temporal memory's active cells (its temporal context) as an observation.
- ``htm-trace``  as ``htm``, plus the decaying trace of recent active minicolumns (``HTMObservation(trace_decay=...)``,
                 temporal pooling), which carries the motion that one observation hides.
- ``curiosity``  plain PPO, reward + ``beta`` x HTM intrinsic reward (``HTMCuriosity`` with a private HTM; surprise,
                 its likelihood, or the rarity of the minicolumn code with ``--source count``).
- ``raw-count``  the count baseline: reward + ``beta`` / sqrt(visits) of the raw observation's bucket tuple
                 (``RawCountBonus``, ``--raw-buckets`` per bounded element).
- ``rnd``, ``icm``, ``e3b``  the learned baselines of :mod:`htmagent.deep.exploration` (RND, ICM, E3B), the same way.
  ``--normalize-bonus`` divides every bonus by the running std of its discounted sum (as RND does), so one
  ``--beta`` can serve every method and task.

Tasks: ``masked-cartpole`` (CartPole-v1 with the two velocities removed: a POMDP), ``cartpole``, ``mountaincar``
(MountainCar-v0, sparse reward), ``doorkey`` (MiniGrid-DoorKey-8x8-v0, sparse reward; needs the ``minigrid`` package:
``pip install htmagent[minigrid]``; the egocentric 7x7 view is given as symbols, see :class:`MiniGridSymbols`),
``multiroom`` (MiniGrid-MultiRoom-N4-S5-v0: four rooms joined by doors) and ``keycorridor``
(MiniGrid-KeyCorridorS3R2-v0: find a key, open a locked room, pick up the ball there), the same way,
``object-saccade`` (ObjectSaccade-v0 with its 20 glyphs: one 7x7 patch and the last saccade per step, the
glyph must be named; the policy arms see the flattened patch and displacement, the HTM arms the original dict).

Each (arm, seed) run writes ``<out_dir>/<task>__<arm>__seed<seed>.json``; the table and the figure are built from
every JSON file of the task in ``out_dir``, so arms and seeds can run in separate processes (``--report-only``
rebuilds them).

Examples (the settings of docs/results_rl.md):
    python scripts/train_ppo.py --task masked-cartpole --arms ppo stack recurrent --trials 5 --normalize-obs
    python scripts/train_ppo.py --task masked-cartpole --arms htm-trace --label "htm-trace, 8 active bits" --trials 2 \
        --trace-decay 0.8 --include-action --resolution 0.005 0.004 --size-per-dim 512 --active-bits 8 \
        --potential-radius 256 --no-learn-sp --normalize-obs
    python scripts/train_ppo.py --task doorkey --arms curiosity --trials 1 --total-timesteps 300000 --source count \
        --no-episodic --beta 0.002 --no-learn-sp
    python scripts/train_ppo.py --task mountaincar --arms curiosity ppo --trials 3 --source count \
        --no-episodic --beta 0.5 --resolution 0.05 0.005 --normalize-obs
"""

from __future__ import annotations

import dataclasses
import functools

import glob
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import gymnasium as gym
import numpy as np

from htmagent._validation import check_int
from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import pyplot, save_figure, write_json

ARMS = ("ppo", "stack", "recurrent", "deephtm", "recurrent-deephtm", "htm", "htm-cells", "htm-trace", "curiosity", "raw-count", "rnd", "icm", "e3b")
BONUS_ARMS = ("curiosity", "raw-count", "rnd", "icm", "e3b")
TASKS = ("masked-cartpole", "cartpole", "mountaincar", "doorkey", "multiroom", "keycorridor", "object-saccade")
# With --potential-radius, each minicolumn samples this share of its window of the input (rl_diagnostics.py reuses it).
TOPOLOGY_POTENTIAL_PCT = 0.8


@dataclass
class RLArgs(FigureArgs):
    """Train PPO with and without the HTM plugin on one task; print a results table and draw learning curves."""

    task: str = "masked-cartpole"
    """one of masked-cartpole, cartpole, mountaincar, doorkey, multiroom, keycorridor, object-saccade"""
    arms: list[str] = field(default_factory=lambda: ["ppo", "stack", "htm"])
    """arms among ppo, stack, recurrent, deephtm, recurrent-deephtm, htm, htm-cells, htm-trace, curiosity, raw-count, rnd, icm, e3b"""
    trials: int = 3
    """runs per arm, run t with seed + t"""
    total_timesteps: int = 200_000
    """env steps per run (same for every arm)"""
    n_envs: int = 8
    """parallel envs (DummyVecEnv) per run"""
    eval_episodes: int = 10
    """deterministic episodes at the end of each run"""
    column_count: int = 512
    """HTM minicolumns (htm arms and curiosity)"""
    cells_per_column: int = 8
    """HTM cells per minicolumn"""
    beta: float = 0.5
    """curiosity weight of the intrinsic reward"""
    source: str = "anomaly"
    """curiosity signal: anomaly, likelihood or count"""
    episodic: bool = True
    """gate curiosity by episodic novelty"""
    normalize_bonus: bool = False
    """bonus arms: divide the bonus by the running std of its discounted sum (RND's normalisation)"""
    raw_buckets: int = 20
    """raw-count arm: buckets across each bounded observation element"""
    trace_decay: list[float] = field(default_factory=lambda: [0.5])
    """htm-trace arm: decay of the minicolumn trace (several values: one trace per decay)"""
    include_action: bool = False
    """htm arms: encode the last action too"""
    learn_sp: bool = True
    """htm arms: let the spatial pooler learn (--no-learn-sp: a fixed code the policy reads; the TM still learns)"""
    size_per_dim: int = 0
    """HTM encoder bits per element (0: the encoder's 128)"""
    active_bits: int = 0
    """HTM encoder active bits per element (0: the encoder's 8)"""
    potential_radius: int = 0
    """spatial pooler potential radius in input bits (0: the whole input; smaller: columns with topology, each
    sampling 80% of a window of the input, e.g. one element's block)"""
    resolution: list[float] = field(default_factory=list)
    """HTM encoder bucket width per observation element (default: from the bounds)"""
    gamma: float = 0.0
    """discount; 0 = the task's default"""
    normalize_obs: bool = False
    """the policy sees running-normalized observations (VecNormalize; htm arms: the 'original' key only; the HTM
    still sees the raw ones; the recurrent arm always normalizes)"""
    label: str = ""
    """name of this setting in tables, figures and file names (default: the arm); lets variants of one arm sit side
    by side in one out_dir"""
    out_dir: str = "runs/train_ppo"
    """where run JSONs, the table and the figure go"""
    report_only: bool = False
    """only rebuild the table and figure from out_dir"""
    calibrate_steps: int = 0
    """if > 0, first print each bonus arm's typical normalised bonus under a random policy over this many steps
    (median of the last fifth, over the steps that pay a bonus) and the beta that scales it to --calibrate-target"""
    calibrate_target: float = 0.05
    """the per-step bonus (beta x median normalised bonus) that --calibrate-steps aims each arm's beta at"""
    deep_columns: int = 64
    """recurrent-deephtm arm: columns of the recurrent DeepHTM"""
    deep_winners: int = 4
    """recurrent-deephtm arm: winning columns per step (k)"""
    deep_cells: int = 4
    """recurrent-deephtm arm: cells per column"""
    overhead_steps: int = 0
    """if > 0, first time CartPole with/without HTMObservation"""
    torch_threads: int = 1
    """torch.set_num_threads"""

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        bad = [a for a in self.arms if a not in ARMS]
        if bad or not self.arms:
            raise ValueError(f"arms must be among {ARMS}, got {self.arms}")
        if not self.trace_decay:
            raise ValueError("trace_decay needs at least one value")
        if self.label and len(self.arms) != 1:
            raise ValueError(f"label names one arm's setting: give one arm, got {list(self.arms)}")
        for name in ("trials", "total_timesteps", "n_envs", "eval_episodes", "column_count", "cells_per_column",
                     "torch_threads", "raw_buckets", "deep_columns", "deep_winners", "deep_cells"):
            check_int(getattr(self, name), name, 1)
        if self.deep_winners > self.deep_columns:
            raise ValueError(f"deep_winners must be at most deep_columns ({self.deep_columns}), "
                             f"got {self.deep_winners}")
        for name in ("size_per_dim", "active_bits", "potential_radius", "overhead_steps", "calibrate_steps"):
            check_int(getattr(self, name), name, 0)
        if self.quick:  # a tiny run for the tests: one seed, 256 steps, a small HTM
            self.trials, self.total_timesteps, self.n_envs, self.eval_episodes = 1, 256, 2, 1
            self.column_count, self.cells_per_column = 64, 2
            self.overhead_steps = min(self.overhead_steps, 50)
            self.calibrate_steps = min(self.calibrate_steps, 200)

    @property
    def seeds(self) -> list[int]:
        """The runs' seeds."""
        return [self.seed + t for t in range(self.trials)]


class MaskVelocity(gym.ObservationWrapper):
    """CartPole with the cart velocity and the pole's angular velocity removed: observation ``(x, theta)``."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        box = env.observation_space
        self.observation_space = gym.spaces.Box(box.low[[0, 2]], box.high[[0, 2]], dtype=box.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[[0, 2]]


class CartPoleEndReason(gym.Wrapper):
    """Adds ``info["end_reason"]`` at an episode's end: ``"cart"`` (left the track), ``"pole"`` (fell) or ``"time"``.

    Sits directly on CartPole (it reads the unwrapped state), so the masked observation does not matter.
    """

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            base = self.env.unwrapped
            x = float(base.state[0])
            info = dict(info, end_reason="cart" if terminated and abs(x) > base.x_threshold
                        else "pole" if terminated else "time")
        return observation, reward, terminated, truncated, info


class MiniGridSymbols(gym.ObservationWrapper):
    """MiniGrid's egocentric view as a ``MultiDiscrete`` vector of symbols: what policies and the HTM can read.

    Each cell of the agent's view contributes its object type, colour and state (MiniGrid's own symbolic encoding;
    the agent's own cell shows what it carries), followed by the agent's direction. The mission string is dropped
    (fixed in DoorKey and MultiRoom; in KeyCorridor it names the ball's colour, which the only ball in the grid
    shows anyway). SB3 one-hot encodes the vector for ``MlpPolicy``; the HTM encodes each element as a category.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX, STATE_TO_IDX

        height, width, channels = env.observation_space["image"].shape
        cells = height * width
        sizes = [len(OBJECT_TO_IDX)] * cells + [len(COLOR_TO_IDX)] * cells + [len(STATE_TO_IDX)] * cells
        self.observation_space = gym.spaces.MultiDiscrete(sizes + [env.observation_space["direction"].n])

    def observation(self, observation: dict) -> np.ndarray:
        image = np.asarray(observation["image"], dtype=np.int64)
        return np.concatenate([image[..., 0].ravel(), image[..., 1].ravel(), image[..., 2].ravel(),
                               [int(observation["direction"])]])


#: The MiniGrid tasks: task name -> MiniGrid id (all three use RL Zoo's MiniGrid PPO settings and the symbols view).
MINIGRID_TASKS = {"doorkey": "MiniGrid-DoorKey-8x8-v0", "multiroom": "MiniGrid-MultiRoom-N4-S5-v0",
                  "keycorridor": "MiniGrid-KeyCorridorS3R2-v0"}


def _make_minigrid(task_name: str) -> gym.Env:
    try:
        import minigrid  # noqa: F401  (registers the MiniGrid ids)
    except ImportError as exc:
        raise SystemExit(f"task {task_name!r} needs the minigrid package: pip install htmagent[minigrid]") from exc
    return MiniGridSymbols(gym.make(MINIGRID_TASKS[task_name]))


@dataclass(frozen=True)
class Task:
    """A task: env factory, PPO hyperparameters, and what counts as a success."""

    make: Callable[[], gym.Env]
    ppo: dict
    success_return: float
    solved_mean: float | None = None  # a run is solved when a 20-episode mean return reaches this (default: success)

    @property
    def solved_goal(self) -> float:
        """The mean training return that counts a run as solved."""
        return self.success_return if self.solved_mean is None else self.solved_mean


def _cartpole_ppo() -> dict:
    # RL Zoo's tuned CartPole-v1 settings (linear schedules written as callables).
    return dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                learning_rate=lambda p: 1e-3 * p, clip_range=lambda p: 0.2 * p)


def make_task(name: str) -> Task:
    """Return the :class:`Task` called ``name``."""
    if name == "masked-cartpole":
        return Task(lambda: MaskVelocity(CartPoleEndReason(gym.make("CartPole-v1"))), _cartpole_ppo(), 475.0)
    if name == "cartpole":
        return Task(lambda: CartPoleEndReason(gym.make("CartPole-v1")), _cartpole_ppo(), 475.0)
    if name == "mountaincar":
        # Success = reaching the flag before the 200-step limit (return > -200).
        return Task(lambda: gym.make("MountainCar-v0"),
                    dict(n_steps=256, batch_size=256, gae_lambda=0.98, gamma=0.99, n_epochs=4, ent_coef=0.01),
                    -199.5)
    if name in MINIGRID_TASKS:
        # RL Zoo's MiniGrid PPO defaults. Success = reaching the goal, or picking up the ball in KeyCorridor (reward
        # 1 - 0.9 * steps / max_steps > 0; max_steps is 640 in DoorKey-8x8, 120 in MultiRoom-N4-S5, 270 in
        # KeyCorridorS3R2); solved = a 20-episode mean return of 0.5 (most episodes succeed, well within the limit).
        return Task(functools.partial(_make_minigrid, name),
                    dict(n_steps=128, batch_size=64, gae_lambda=0.95, gamma=0.99, n_epochs=10, ent_coef=0.0,
                         learning_rate=2.5e-4, clip_range=0.2), 1e-9, solved_mean=0.5)
    if name == "object-saccade":
        # Success = naming the glyph (return 1 - 0.01 x steps > 0); solved = a 20-episode mean return of 0.5, which
        # needs about three in four glyphs named right (a guess is right one time in 20: mean about -0.9).
        return Task(_make_object_saccade,
                    dict(n_steps=128, batch_size=256, gae_lambda=0.95, gamma=0.99, n_epochs=10, ent_coef=0.01,
                         learning_rate=3e-4, clip_range=0.2), 1e-9, solved_mean=0.5)
    raise ValueError(f"task must be one of {TASKS}, got {name!r}")


SACCADE_GLYPHS = 20


def _make_object_saccade(flat: bool = True) -> gym.Env:
    """ObjectSaccade-v0 with :data:`SACCADE_GLYPHS` glyphs; ``flat``: the dict observation flattened for MLPs."""
    import htmagent.envs  # noqa: F401  (registers the htmagent ids)

    env = gym.make("htmagent/ObjectSaccade-v0", num_objects=SACCADE_GLYPHS)
    return gym.wrappers.FlattenObservation(env) if flat else env


def _htm_env_factory(task_name: str, task: Task) -> Callable[[], gym.Env]:
    """What the HTM arms wrap: the task's env, except that ObjectSaccade keeps its dict (patch, displacement)."""
    if task_name == "object-saccade":
        return lambda: _make_object_saccade(flat=False)
    return task.make


def build_model(args: RLArgs, task: Task, arm: str, seed: int):
    """Build the PPO model of one arm (envs: base env -> Monitor -> arm wrappers)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    from htmagent.sb3 import make_htm_ppo

    htm: dict = dict(column_count=args.column_count, cells_per_column=args.cells_per_column)
    encoder_params = dict(resolution=list(args.resolution)) if args.resolution else {}
    if args.size_per_dim:
        encoder_params["size_per_dim"] = args.size_per_dim
    if args.active_bits:
        encoder_params["active_bits"] = args.active_bits
    if encoder_params:
        htm["encoder_params"] = encoder_params
    if args.potential_radius:
        htm["sp_params"] = dict(potential_radius=args.potential_radius, potential_pct=TOPOLOGY_POTENTIAL_PCT)
    ppo = dict(task.ppo)
    if args.gamma > 0:
        ppo["gamma"] = args.gamma
    # A minibatch cannot be larger than one rollout (matters only for tiny test runs with few envs).
    ppo["batch_size"] = min(ppo["batch_size"], ppo["n_steps"] * args.n_envs)
    if arm in ("htm", "htm-cells", "htm-trace"):
        return make_htm_ppo(_htm_env_factory(args.task, task), n_envs=args.n_envs, seed=seed,
                            htm_kwargs=dict(htm, include_cells=arm == "htm-cells", include_action=args.include_action,
                                            learn_sp=args.learn_sp,
                                            trace_decay=_trace_decay(args) if arm == "htm-trace" else 0.0),
                            ppo_kwargs=ppo, normalize_original=args.normalize_obs)
    if arm == "recurrent":
        import torch
        from sb3_contrib import RecurrentPPO

        env = VecNormalize(make_vec_env(task.make, n_envs=args.n_envs, seed=seed), norm_obs=True, norm_reward=False)
        policy_kwargs = dict(ortho_init=False, activation_fn=torch.nn.ReLU, lstm_hidden_size=64,
                             enable_critic_lstm=True, net_arch=dict(pi=[64], vf=[64]))
        return RecurrentPPO("MlpLstmPolicy", env, seed=seed, policy_kwargs=policy_kwargs, **ppo)
    if arm == "recurrent-deephtm":
        import torch
        from sb3_contrib import RecurrentPPO

        from htmagent.sb3 import DeepHTMRecurrentPolicy

        env = VecNormalize(make_vec_env(task.make, n_envs=args.n_envs, seed=seed), norm_obs=True, norm_reward=False)
        deep = dict(columns=args.deep_columns, k=args.deep_winners, cells_per_column=args.deep_cells)
        policy_kwargs = dict(ortho_init=False, activation_fn=torch.nn.ReLU, enable_critic_lstm=True,
                             net_arch=dict(pi=[64], vf=[64]), lstm_hidden_size=args.deep_columns * args.deep_cells,
                             deep_htm_kwargs=deep)
        return RecurrentPPO(DeepHTMRecurrentPolicy, env, seed=seed, policy_kwargs=policy_kwargs, **ppo)
    if arm == "curiosity":
        env = make_vec_env(task.make, n_envs=args.n_envs, seed=seed,
                           wrapper_class=_CuriosityFactory(args, dict(htm, learn_sp=args.learn_sp), seed))
    elif arm in BONUS_ARMS:
        env = make_vec_env(task.make, n_envs=args.n_envs, seed=seed, wrapper_class=_BonusFactory(args, arm, seed))
    else:
        env = make_vec_env(task.make, n_envs=args.n_envs, seed=seed)
    if args.normalize_obs:
        env = VecNormalize(env, norm_obs=True, norm_reward=False)
    if arm in ("stack", "deephtm"):
        env = VecFrameStack(env, n_stack=4)
    if arm == "deephtm":
        from htmagent.sb3 import DeepHTMExtractor

        extractor = dict(frames=4, hidden=64, columns=128, k=8, cells_per_column=4, features_dim=64, seed=seed)
        return PPO("MlpPolicy", env, seed=seed, **ppo, policy_kwargs=dict(
            features_extractor_class=DeepHTMExtractor, features_extractor_kwargs=extractor,
            net_arch=dict(pi=[64], vf=[64])))
    return PPO("MlpPolicy", env, seed=seed, **ppo)


def _trace_decay(args: RLArgs) -> float | tuple[float, ...]:
    """``--trace-decay`` as ``HTMObservation`` takes it: one float, or a tuple for several traces."""
    return args.trace_decay[0] if len(args.trace_decay) == 1 else tuple(args.trace_decay)


class _CuriosityFactory:
    """``wrapper_class`` for ``make_vec_env``: one HTMCuriosity per env, each HTM with its own seed."""

    def __init__(self, args: RLArgs, htm: dict, seed: int):
        self.kwargs = dict(beta=args.beta, source=args.source, episodic=args.episodic, htm_kwargs=htm,
                           normalize=args.normalize_bonus)
        self.seed = seed
        self.count = 0

    def __call__(self, env: gym.Env) -> gym.Env:
        from htmagent.envs.curiosity import HTMCuriosity

        self.count += 1
        return HTMCuriosity(env, seed=self.seed * 1000 + self.count, **self.kwargs)


class _BonusFactory:
    """``wrapper_class`` for ``make_vec_env``: one baseline bonus wrapper per env, each with its own seed."""

    def __init__(self, args: RLArgs, arm: str, seed: int):
        self.arm, self.seed, self.count = arm, seed, 0
        self.kwargs = dict(beta=args.beta, normalize=args.normalize_bonus)
        self.raw_buckets = args.raw_buckets

    def __call__(self, env: gym.Env) -> gym.Env:
        self.count += 1
        if self.arm == "raw-count":
            from htmagent.envs.curiosity import RawCountBonus

            return RawCountBonus(env, num_buckets=self.raw_buckets, **self.kwargs)
        from htmagent.deep import exploration

        cls = {"rnd": exploration.RNDBonus, "icm": exploration.ICMBonus, "e3b": exploration.E3BBonus}[self.arm]
        return cls(env, seed=self.seed * 1000 + self.count, **self.kwargs)


def run_one(args: RLArgs, arm: str, seed: int) -> dict:
    """Train one arm with one seed; return its learning curve and final scores."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import unwrap_vec_normalize

    from htmagent._progress import progress

    torch.set_num_threads(args.torch_threads)
    task = make_task(args.task)
    model = build_model(args, task, arm, seed)
    episodes: list[tuple[int, float]] = []
    end_reasons: list[str] = []
    bar = iter(progress(range(-(-args.total_timesteps // args.n_envs)), desc=f"{args.task} {arm} s{seed}",
                        enabled=args.progress))

    class Record(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    episodes.append((int(self.num_timesteps), float(info["episode"]["r"])))
                    end_reasons.append(str(info.get("end_reason", "")))
            next(bar, None)
            return True

    start = time.perf_counter()
    model.learn(args.total_timesteps, callback=Record())
    train_seconds = time.perf_counter() - start
    for _ in bar:
        pass
    env = model.get_env()
    normalizer = unwrap_vec_normalize(env)
    if normalizer is not None:
        normalizer.training = False  # evaluate with the normalization statistics frozen
    eval_returns, _ = evaluate_policy(model, env, n_eval_episodes=args.eval_episodes,
                                      deterministic=True, return_episode_rewards=True)
    returns = np.array([r for _, r in episodes])
    tail = returns[-max(1, len(returns) // 10):] if returns.size else np.array([np.nan])
    solved_at = first_mean_at(episodes, 20, task.solved_goal)
    return {
        "task": args.task, "arm": arm, "label": args.label or arm, "seed": seed,
        "total_timesteps": args.total_timesteps,
        "n_envs": args.n_envs, "column_count": args.column_count, "cells_per_column": args.cells_per_column,
        "beta": args.beta, "episodic": args.episodic, "source": args.source,
        "normalize_bonus": args.normalize_bonus, "raw_buckets": args.raw_buckets, "trace_decay": list(args.trace_decay),
        "include_action": args.include_action, "resolution": list(args.resolution), "gamma": args.gamma,
        "size_per_dim": args.size_per_dim, "active_bits": args.active_bits, "potential_radius": args.potential_radius,
        "normalize_obs": args.normalize_obs or arm in ("recurrent", "recurrent-deephtm"), "learn_sp": args.learn_sp,
        "deep_columns": args.deep_columns, "deep_winners": args.deep_winners, "deep_cells": args.deep_cells,
        "episodes": episodes, "end_reasons": end_reasons, "train_seconds": train_seconds,
        "final_return": float(np.mean(tail)),
        "final_success": float(np.mean(tail >= task.success_return)),
        "eval_return": float(np.mean(eval_returns)),
        "eval_success": float(np.mean(np.asarray(eval_returns) >= task.success_return)),
        "solved_at": solved_at,
    }


def first_mean_at(episodes: list[tuple[int, float]], window: int, goal: float) -> int | None:
    """The env step at which the mean return of ``window`` consecutive training episodes first reaches ``goal``
    (``None`` if it never does). ``episodes`` holds (env step at the episode's end, return) in order."""
    returns = np.array([r for _, r in episodes], dtype=np.float64)
    if returns.size < window:
        return None
    sums = np.concatenate([[0.0], np.cumsum(returns)])
    hits = np.flatnonzero(sums[window:] - sums[:-window] >= goal * window - 1e-6)
    return int(episodes[hits[0] + window - 1][0]) if hits.size else None


def load_runs(out_dir: str, task: str) -> list[dict]:
    """Every run JSON of ``task`` in ``out_dir``."""
    runs = []
    for path in sorted(glob.glob(os.path.join(out_dir, f"{task}__*.json"))):
        with open(path) as handle:
            runs.append(json.load(handle))
    return runs


def results_table(runs: list[dict]) -> str:
    """Markdown table: one row per arm, mean +- std over seeds."""
    with_ends = any(any(r.get("end_reasons") or ()) for r in runs)  # CartPole tasks only
    lines = [
        "| arm | seeds | steps/run | final return (last 10% of episodes) | final success | eval return (det.) "
        "| eval success | runs solved (20-ep mean >= goal) | median steps to solve | runs solved (100-ep mean) "
        "| wall s/run |" + (" last 10% ended by cart / pole / time |" if with_ends else ""),
        "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if with_ends else ""),
    ]
    for arm, rows in _groups(runs):
        fin = np.array([r["final_return"] for r in rows])
        ev = np.array([r["eval_return"] for r in rows])
        solved = [r["solved_at"] for r in rows if r["solved_at"] is not None]
        # The stricter reading (Gymnasium's CartPole threshold is a 100-episode mean), from the stored episodes.
        strict = [first_mean_at(r["episodes"], 100, make_task(r["task"]).solved_goal) for r in rows]
        budgets = sorted({r["total_timesteps"] for r in rows})
        lines.append(
            f"| {arm} | {','.join(str(r['seed']) for r in rows)} | {'/'.join(map(str, budgets))} "
            f"| {_mean_std(fin)} | {np.mean([r['final_success'] for r in rows]):.2f} "
            f"| {_mean_std(ev)} | {np.mean([r['eval_success'] for r in rows]):.2f} "
            f"| {len(solved)}/{len(rows)} | {int(np.median(solved)) if solved else '-'} "
            f"| {sum(a is not None for a in strict)}/{len(rows)} | {np.mean([r['train_seconds'] for r in rows]):.0f} |"
            + (f" {_end_fractions(rows)} |" if with_ends else "")
        )
    return "\n".join(lines)


def _mean_std(values: np.ndarray) -> str:
    """'mean ± std': one decimal for returns like CartPole's (hundreds), three for returns below 10 (MiniGrid's)."""
    digits = 1 if abs(values.mean()) >= 10 else 3
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def _groups(runs: list[dict]) -> list[tuple[str, list[dict]]]:
    """Runs grouped by label (the arm's name unless ``--label`` was given), in arm order, then label order."""
    labels = sorted({r.get("label") or r["arm"] for r in runs},
                    key=lambda lab: (min(ARMS.index(r["arm"]) for r in runs if (r.get("label") or r["arm"]) == lab),
                                     lab))
    return [(lab, [r for r in runs if (r.get("label") or r["arm"]) == lab]) for lab in labels]


def _end_fractions(rows: list[dict]) -> str:
    """How the last 10% of each run's training episodes ended, pooled over runs: 'cart / pole / time' fractions."""
    tails = [r["end_reasons"][-max(1, len(r["end_reasons"]) // 10):] for r in rows if r.get("end_reasons")]
    ends = [e for tail in tails for e in tail]
    if not ends:
        return "-"
    return " / ".join(f"{ends.count(k) / len(ends):.2f}" for k in ("cart", "pole", "time"))


def plot_curves(runs: list[dict], path: str, title: str) -> None:
    """Mean (over seeds) of the 20-episode moving average of training returns, against env steps."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 4.2))
    groups = [(arm, [r for r in rows if r["episodes"]]) for arm, rows in _groups(runs)]
    groups = [(arm, rows) for arm, rows in groups if rows]
    # Matplotlib's default cycle has 10 colours: with more curves, two would share one (a task's folder of runs
    # can hold a dozen labels), so take 20 distinct ones and then vary the dash.
    many = len(groups) > 10
    palette = plt.get_cmap("tab20").colors
    for i, (arm, rows) in enumerate(groups):
        budget = max(r["total_timesteps"] for r in rows)
        grid = np.linspace(0, budget, 101)[1:]
        curves = []
        for r in rows:
            steps = np.array([s for s, _ in r["episodes"]], dtype=float)
            rets = np.array([v for _, v in r["episodes"]], dtype=float)
            smooth = np.convolve(rets, np.ones(20) / 20, mode="full")[: len(rets)]
            counts = np.minimum(np.arange(1, len(rets) + 1), 20)
            smooth = smooth * 20 / counts
            idx = np.searchsorted(steps, grid, side="right") - 1
            curves.append(np.where(idx >= 0, smooth[np.maximum(idx, 0)], np.nan))
        curves = np.array(curves)
        with warnings.catch_warnings():  # grid points before any finished episode are NaN in every run
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(curves, axis=0)
            low, high = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
        style = dict(color=palette[i % 20], linestyle=("-", "--", ":")[i // 20 % 3]) if many else {}
        (line,) = ax.plot(grid, mean, label=f"{arm} (n={len(rows)})", **style)
        if len(rows) > 1:  # the band in its line's colour (fill_between keeps a colour cycle of its own)
            ax.fill_between(grid, low, high, alpha=0.15, color=line.get_color())
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return (20-episode moving average)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.lines:  # runs too short to finish an episode draw no curve
        ax.legend(fontsize="small" if many else None)
    save_figure(fig, path)


def measure_overhead(steps: int, column_count: int, cells_per_column: int) -> str:
    """Steps per second of CartPole-v1 with random actions, raw and wrapped (learning HTM), as a table.

    The last row is masked CartPole wrapped with the settings that solve it in docs/results_rl.md (8 active bits
    per element, pooler topology, trace, action input): its memory grows more segments, so its rate falls as
    ``steps`` grows. Both wall-clock and CPU time (``time.process_time``) are reported: on a shared machine the
    CPU-time figure is what the process would reach on one free core.
    """
    from htmagent.envs.wrappers import HTMObservation

    rows = []
    solving = dict(trace_decay=0.8, include_action=True, learn_sp=False,
                   sp_params=dict(potential_radius=256, potential_pct=TOPOLOGY_POTENTIAL_PCT),
                   encoder_params=dict(resolution=[0.005, 0.004], size_per_dim=512, active_bits=8))
    variants = (("CartPole-v1", False, None), ("HTMObservation(CartPole-v1)", False, {}),
                ("HTMObservation(CartPole-v1, trace_decay=0.5)", False, dict(trace_decay=0.5)),
                ("HTMObservation(masked CartPole, 8 active bits, topology, trace 0.8, action)", True, solving))
    for label, masked, extra in variants:
        env = gym.make("CartPole-v1")
        if masked:
            env = MaskVelocity(env)
        if extra is not None:
            env = HTMObservation(env, column_count=column_count, cells_per_column=cells_per_column, seed=0, **extra)
        env.action_space.seed(0)
        env.reset(seed=0)
        for _ in range(200):  # warm-up: numba compilation / cache load
            if any(env.step(env.action_space.sample())[2:4]):
                env.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            if any(env.step(env.action_space.sample())[2:4]):
                env.reset()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append((label, steps / wall, steps / max(cpu, 1e-9)))
    lines = ["| env | steps/s (wall) | steps per CPU-second |", "|---|---|---|"]
    lines += [f"| {label} | {wall:,.0f} | {cpu:,.0f} |" for label, wall, cpu in rows]
    return "\n".join(lines)


def _last_fifth(values: Sequence[float]) -> np.ndarray:
    """The steps the calibration reads: the last fifth of a random policy's normalised bonuses (at least one)."""
    tail = np.asarray(values, dtype=np.float64)
    return tail[-max(1, tail.size // 5):]


def calibrated_beta(values: Sequence[float], target: float) -> tuple[float, float, float | None]:
    """The calibration rule on one arm's normalised bonuses, in step order: over their last fifth, the fraction of
    steps that pay a bonus (> 0), the median over those steps, and ``beta = target / median`` (``None`` when no
    step paid). For a bonus paid on every step this is the plain median of the last fifth."""
    tail = _last_fifth(values)
    paying = tail[tail > 0]
    if not paying.size:
        return 0.0, 0.0, None
    median = float(np.median(paying))
    return paying.size / tail.size, median, target / median


def calibrate(args: RLArgs) -> str:
    """Per bonus arm: the median normalised bonus of a random policy over the steps that pay one (last fifth of
    ``calibrate_steps`` steps of one env, seed ``args.seed``) and the beta that makes ``beta * median =
    calibrate_target``: one rule that sets every method's beta from its own scale, without looking at the task's
    reward.

    A bonus that pays on every step (the counts, RND, ICM, E3B) gets the median of all its steps, as before. A
    sparse one (the episodic anomaly pays only on surprising steps of new codes) would have a median of 0 and no
    beta; the median of its paying steps gives it one by the same rule, and the table prints the paying fraction."""
    lines = ["| arm | paying steps | median normalised bonus, paying steps (random policy) | beta for a per-step "
             f"bonus of {args.calibrate_target:g} | mean normalised bonus, every step | beta by the mean |",
             "|---|---|---|---|---|---|"]
    task = make_task(args.task)
    for arm in args.arms:
        if arm not in BONUS_ARMS:
            continue
        scaled = dataclasses.replace(args, normalize_bonus=True, beta=1.0)
        if arm == "curiosity":
            factory = _CuriosityFactory(scaled, dict(column_count=args.column_count,
                                                     cells_per_column=args.cells_per_column, learn_sp=args.learn_sp,
                                                     **({"encoder_params": dict(resolution=list(args.resolution))}
                                                        if args.resolution else {})), args.seed)
        else:
            factory = _BonusFactory(scaled, arm, args.seed)
        env = factory(task.make())
        env.reset(seed=args.seed)
        env.action_space.seed(args.seed)
        values = []
        for _ in range(args.calibrate_steps):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            values.append(info["intrinsic_reward_normalized"])
            if terminated or truncated:
                env.reset()
        paying, median, beta = calibrated_beta(values, args.calibrate_target)
        shown = "none (no step paid a bonus)" if beta is None else f"{beta:.3g}"
        # For comparison only: the scale an episode's summed bonus follows (mean x length), which the median rule
        # does not use.
        mean = float(np.mean(_last_fifth(values)))
        by_mean = f"{args.calibrate_target / mean:.3g}" if mean > 0 else "none"
        lines.append(f"| {arm} | {paying:.1%} | {median:.3g} | {shown} | {mean:.3g} | {by_mean} |")
    return "\n".join(lines)


def main(args: RLArgs) -> int:
    """Run every (arm, seed) not yet reported, then print the table and draw the curves of every run in out_dir."""
    os.makedirs(args.out_dir, exist_ok=True)
    if args.calibrate_steps > 0:
        print(calibrate(args))
    if args.overhead_steps > 0:
        print(f"wrapper overhead ({args.column_count} columns x {args.cells_per_column} cells, one process):")
        print(measure_overhead(args.overhead_steps, args.column_count, args.cells_per_column))
    if not args.report_only:
        for arm in args.arms:
            for seed in args.seeds:
                result = run_one(args, arm, seed)
                name = "".join(c if c.isalnum() or c in "-_." else "_" for c in (args.label or arm))
                path = os.path.join(args.out_dir, f"{args.task}__{name}__seed{seed}.json")
                with open(path, "w") as handle:
                    json.dump(result, handle)
                print(f"{arm} seed {seed}: final return {result['final_return']:.1f}, "
                      f"eval {result['eval_return']:.1f}, solved at {result['solved_at']}", flush=True)
    runs = load_runs(args.out_dir, args.task)
    if not runs:
        print(f"no runs of task {args.task!r} in {args.out_dir}", file=sys.stderr)
        return 1
    print(results_table(runs))
    figure = args.out or os.path.join(args.out_dir, f"{args.task}.png")
    plot_curves(runs, figure, f"PPO on {args.task}")
    print(f"learning curves: {figure}")
    if args.json_out:
        write_json({"task": args.task, "runs": runs}, args.json_out)
    return 0
