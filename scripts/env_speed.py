"""Raw speed of the sensorimotor environments: environment steps per second, printed as a table.

Each configuration plays random jumps (never declaring) for ``--steps`` steps through ``gymnasium.make`` (so the
registered ``TimeLimit``, order and passive checkers are included, as users run it), resetting on truncation; actions
are drawn up front so that sampling is not timed. ``rgb_array`` rendering is timed separately.

Usage:
    python scripts/env_speed.py            # full run
    python scripts/env_speed.py --quick    # a few hundred steps, for tests
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import htmagent.envs  # noqa: F401  (registers the ids)
from htmagent._validation import check_int
from htmagent.experiments.args import ExperimentArgs, parse_args


@dataclass
class Args(ExperimentArgs):
    """Raw speed of the sensorimotor environments: environment steps per second, printed as a table."""

    steps: int = 20000
    """environment steps per configuration"""
    render_frames: int = 100
    """rgb_array frames per environment"""

    def validate(self) -> None:
        check_int(self.steps, "steps", 1)
        check_int(self.render_frames, "render_frames", 1)
        if self.quick:
            self.steps, self.render_frames = 300, 3


def steps_per_second(env_id: str, num_sensors: int, steps: int, seed: int) -> float:
    env = gym.make(env_id, num_sensors=num_sensors)
    rng = np.random.default_rng(seed)
    jumps = rng.integers(0, env.action_space.nvec[:-1], size=(steps, len(env.action_space.nvec) - 1))
    actions = np.concatenate([jumps, np.zeros((steps, 1), dtype=jumps.dtype)], axis=1)
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def frames_per_second(env_id: str, frames: int, seed: int) -> float:
    env = gym.make(env_id, num_sensors=3, render_mode="rgb_array")
    env.reset(seed=seed)
    env.render()  # the first frame pays for pygame's font set-up
    start = time.perf_counter()
    for _ in range(frames):
        env.render()
    elapsed = time.perf_counter() - start
    env.close()
    return frames / elapsed


def main() -> int:
    args = parse_args(Args)
    rows = []
    for env_id in ("htmagent/ObjectTouch-v0", "htmagent/ObjectSaccade-v0"):
        for num_sensors in (1, 3, 5):
            rows.append((env_id, num_sensors, steps_per_second(env_id, num_sensors, args.steps, args.seed)))
    print(f"{'environment':<28} {'sensors':>7} {'steps/s':>10}")
    for env_id, num_sensors, rate in rows:
        print(f"{env_id:<28} {num_sensors:>7} {rate:>10,.0f}")
    print()
    print(f"{'environment':<28} {'rgb_array frames/s (3 sensors)':>31}")
    for env_id in ("htmagent/ObjectTouch-v0", "htmagent/ObjectSaccade-v0"):
        print(f"{env_id:<28} {frames_per_second(env_id, args.render_frames, args.seed):>31,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
