"""What the fan-out cap trades: wrapper speed against prediction, on CartPole under random actions.

For each cap (``none`` = no cap), a default ``HTMObservation`` on CartPole-v1 runs ``--steps`` random-action steps;
per window it prints steps per CPU-second, segments, synapses and the mean anomaly (the fraction of active
minicolumns the memory did not predict: lower = it predicts better).

Example:
    python scripts/fan_out_tradeoff.py --caps none 256 128 64 --steps 30000
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym

from htmagent import HTMObservation
from htmagent._validation import check_int
from htmagent.experiments.args import ExperimentArgs, parse_args


@dataclass
class Args(ExperimentArgs):
    """What the fan-out cap trades: wrapper speed against prediction, on CartPole under random actions."""

    caps: list[str] = field(default_factory=lambda: ["none", "256", "128", "64"])
    """fan-out caps to run ('none' = no cap)"""
    steps: int = 30000
    """wrapped steps per cap"""
    window: int = 5000
    """steps per table row"""
    seed: int = 42
    """seed of the wrapper and the actions"""

    def validate(self) -> None:
        check_int(self.steps, "steps", 1)
        check_int(self.window, "window", 1)
        for cap in self.caps:
            if cap != "none":
                check_int(int(cap) if cap.isdigit() else cap, "caps", 1)
        if self.quick:
            self.caps, self.steps, self.window = ["none", "64"], 600, 300


def run(cap: int | None, steps: int, window: int, seed: int) -> None:
    env = HTMObservation(gym.make("CartPole-v1"), seed=seed,
                         tm_params=None if cap is None else {"max_synapses_per_presynaptic": cap})
    env.reset(seed=seed)
    env.action_space.seed(seed)
    tm = env.htm.tm
    for w in range(steps // window):
        cpu, anomaly = time.process_time(), 0.0
        for _ in range(window):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            anomaly += float(obs["anomaly"][0])
            if terminated or truncated:
                env.reset()
        rate = window / max(time.process_time() - cpu, 1e-9)
        print(f"| {cap if cap else 'none'} | {(w + 1) * window:,} | {rate:,.0f} | {tm.num_segments():,} | "
              f"{tm.num_synapses():,} | {anomaly / window:.3f} |", flush=True)


def main() -> None:
    args = parse_args(Args)
    print("| cap | steps | steps/CPU-s | segments | synapses | mean anomaly |\n|---|---|---|---|---|---|")
    for cap in args.caps:
        run(None if cap == "none" else int(cap), args.steps, args.window, args.seed)


if __name__ == "__main__":
    main()
