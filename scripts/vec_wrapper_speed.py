"""How fast the batched HTM is: the vector wrapper alone, PPO on it, and its speed as its memory grows.

Three tables (CartPole-v1, random actions for the first and the last, seed ``--seed``):

1. **Wrapper speed**: wrapped steps per second (wall and CPU) of ``HTMObservation`` in every copy of a
   ``SyncVectorEnv`` (today's way), ``HTMVectorObservation(shared=False)`` (one HTM per copy, batched) and
   ``HTMVectorObservation(shared=True)`` (one HTM for all copies), for each number of copies in ``--copies``, over
   ``--wrapper-steps`` steps after a warm-up.
2. **PPO**: steps per second of SB3's PPO (default hyperparameters, one torch thread) on ``--ppo-copies`` copies,
   plain (``MlpPolicy`` on the raw observation) and with the HTM each way, over ``--ppo-steps`` steps; the last column
   is the ratio to plain PPO.
3. **Speed as memory grows**: the shared HTM on ``--ppo-copies`` copies, steps per CPU-second per window of
   ``--window`` steps out to ``--curve-steps``, without and with a fan-out cap (``--fan-out``).

Example:
    python scripts/vec_wrapper_speed.py --copies 1 4 8 --ppo-steps 32768 --curve-steps 100000
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from htmagent.envs.vector import HTMVectorObservation
from htmagent.envs.wrappers import HTMObservation
from htmagent.experiments.args import ExperimentArgs, parse_args


@dataclass
class Args(ExperimentArgs):
    """How fast the batched HTM is: the vector wrapper alone, PPO on it, and its speed as its memory grows."""

    copies: list[int] = field(default_factory=lambda: [1, 4, 8])
    """numbers of env copies for the wrapper table"""
    wrapper_steps: int = 8000
    """wrapped steps (all copies together) per wrapper-table row"""
    ppo_copies: int = 4
    """env copies for the PPO table and the curve"""
    ppo_steps: int = 32768
    """PPO steps per row (0 skips the PPO table)"""
    curve_steps: int = 100000
    """steps of the growth curve (0 skips it)"""
    window: int = 10000
    """steps per row of the curve"""
    fan_out: int = 128
    """fan-out cap of the curve's second run"""

    counts = ("copies", "wrapper_steps", "ppo_copies", "window", "fan_out")
    non_negative = ("ppo_steps", "curve_steps")

    def validate(self) -> None:
        if self.quick:
            self.copies, self.wrapper_steps, self.ppo_copies = [1, 2], 200, 2
            self.ppo_steps, self.curve_steps, self.window = 256, 400, 200


def _sync(n: int, seed: int):
    return gym.vector.SyncVectorEnv([lambda: HTMObservation(gym.make("CartPole-v1"), seed=seed) for _ in range(n)])


def _batched(n: int, seed: int, shared: bool, **kwargs):
    return HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="sync"), shared=shared,
                                seed=seed, **kwargs)


def _rate(envs, steps: int, seed: int, warmup: int = 400) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    envs.reset(seed=seed)
    for _ in range(max(1, warmup // envs.num_envs)):
        envs.step(rng.integers(2, size=envs.num_envs))
    wall, cpu = time.perf_counter(), time.process_time()
    rounds = max(1, steps // envs.num_envs)
    for _ in range(rounds):
        envs.step(rng.integers(2, size=envs.num_envs))
    done = rounds * envs.num_envs
    return done / max(time.perf_counter() - wall, 1e-9), done / max(time.process_time() - cpu, 1e-9)


def wrapper_table(args: Args) -> None:
    print("| copies | HTM | wrapped steps/s (wall) | per CPU-s |\n|---|---|---|---|")
    for n in args.copies:
        for label, build in (("HTMObservation in each copy", lambda: _sync(n, args.seed)),
                             ("HTMVectorObservation, one per copy", lambda: _batched(n, args.seed, False)),
                             ("HTMVectorObservation, shared", lambda: _batched(n, args.seed, True))):
            wall, cpu = _rate(build(), args.wrapper_steps, args.seed)
            print(f"| {n} | {label} | {wall:,.0f} | {cpu:,.0f} |", flush=True)


def ppo_table(args: Args) -> None:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from htmagent.sb3 import make_htm_ppo

    torch.set_num_threads(1)
    n, steps = args.ppo_copies, args.ppo_steps
    # Compile the kernels and warm torch up before anything is timed.
    make_htm_ppo("CartPole-v1", n_envs=n, seed=args.seed, ppo_kwargs=dict(n_steps=32), vec_wrapper=True).learn(64)
    rows = [("plain PPO (MlpPolicy)", lambda: PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=n, seed=args.seed),
                                                  seed=args.seed)),
            ("HTMObservation in each copy", lambda: make_htm_ppo("CartPole-v1", n_envs=n, seed=args.seed)),
            ("HTMVecWrapper, one per copy", lambda: make_htm_ppo("CartPole-v1", n_envs=n, seed=args.seed,
                                                                 vec_wrapper=True, shared_htm=False)),
            ("HTMVecWrapper, shared", lambda: make_htm_ppo("CartPole-v1", n_envs=n, seed=args.seed,
                                                           vec_wrapper=True)),
            ("HTMVecWrapper, shared, fan-out cap", lambda: make_htm_ppo(
                "CartPole-v1", n_envs=n, seed=args.seed, vec_wrapper=True,
                htm_kwargs=dict(tm_params=dict(max_synapses_per_presynaptic=args.fan_out))))]
    print(f"\n| PPO on {n} CartPole copies, {steps:,} steps | steps/s (wall) | per CPU-s | of plain PPO |\n"
          "|---|---|---|---|")
    plain = None
    for label, build in rows:
        model = build()
        wall, cpu = time.perf_counter(), time.process_time()
        model.learn(steps)
        rate = steps / max(time.perf_counter() - wall, 1e-9)
        plain = plain or rate
        print(f"| {label} | {rate:,.0f} | {steps / max(time.process_time() - cpu, 1e-9):,.0f} | "
              f"{rate / plain:.0%} |", flush=True)
        model.get_env().close()


def curve(args: Args) -> None:
    print(f"\n| shared HTM, {args.ppo_copies} copies | steps | steps/CPU-s | segments | synapses | mean anomaly |\n"
          "|---|---|---|---|---|---|")
    for label, tm_params in (("no cap", None), (f"fan-out {args.fan_out}",
                                                dict(max_synapses_per_presynaptic=args.fan_out))):
        envs = _batched(args.ppo_copies, args.seed, True, tm_params=tm_params)
        rng = np.random.default_rng(args.seed)
        envs.reset(seed=args.seed)
        tm = envs.htm.streams[0].tm
        n = envs.num_envs
        for w in range(args.curve_steps // args.window):
            cpu, anomaly = time.process_time(), 0.0
            for _ in range(args.window // n):
                obs, *_ = envs.step(rng.integers(2, size=n))
                anomaly += float(obs["anomaly"].sum())
            rate = (args.window // n) * n / max(time.process_time() - cpu, 1e-9)
            print(f"| {label} | {(w + 1) * args.window:,} | {rate:,.0f} | {tm.num_segments():,} | "
                  f"{tm.num_synapses():,} | {anomaly / ((args.window // n) * n):.3f} |", flush=True)


def main() -> None:
    args = parse_args(Args)
    wrapper_table(args)
    if args.ppo_steps:
        ppo_table(args)
    if args.curve_steps:
        curve(args)


if __name__ == "__main__":
    main()
