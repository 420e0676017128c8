"""How much of masked CartPole's hidden velocity can a linear readout recover from each observation variant?

Before spending PPO runs, this measures what an agent *could* read: CartPole-v1 is run with its velocities masked
(observation ``(x, theta)``), through ``HTMObservation`` with several settings, under a behaviour policy that uses the
masked observation only (``action = theta > 0`` half of the time, a random action otherwise: no hidden-state leak
through the action). A ridge regression is fitted on the first 70% of the recorded steps (after an HTM warm-up) and
scored on the rest: held-out R² of the cart velocity and of the pole's angular velocity. Stacked raw frames are the
reference (they solve the POMDP in principle).

Example:
    python scripts/rl_diagnostics.py --warmup-steps 4000 --steps 8000
    python scripts/rl_diagnostics.py --policy balance --steps 30000 --variants "2 stacked raw frames + previous action" \
        "htm topology, 8 of 512 bits + trace 0.8 + action"
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from htmagent._validation import check_int, check_real
from htmagent.experiments.args import ExperimentArgs
from htmagent.experiments.report import write_json
from htmagent.experiments.rl import TOPOLOGY_POTENTIAL_PCT, MaskVelocity


@dataclass
class DiagnosticsArgs(ExperimentArgs):
    """How much of masked CartPole's hidden velocity can a linear readout recover from each observation variant?"""

    warmup_steps: int = 4000
    """HTM learning steps before recording"""
    steps: int = 8000
    """recorded steps (70% fit, 30% held out)"""
    ridge: float = 1.0
    """ridge penalty"""
    policy: str = "theta"
    """behaviour policy: 'theta' (theta > 0 half of the time, else random: uses the masked observation only) or
    'balance' (a full-state balancing controller with 20% random actions: the near-upright states a trained agent
    visits; its actions depend on the hidden velocities)"""
    variants: list[str] = field(default_factory=list)
    """subset of variant names (default: all)"""

    def validate(self) -> None:
        check_int(self.warmup_steps, "warmup_steps", 0)
        check_int(self.steps, "steps", 10)
        check_real(self.ridge, "ridge", 0.0)
        if self.policy not in ("theta", "balance"):
            raise ValueError(f"policy must be 'theta' or 'balance', got {self.policy!r}")
        unknown = [n for n in self.variants if n not in VARIANTS]
        if unknown:
            raise ValueError(f"variants must be among {list(VARIANTS)}, got {unknown}")
        if self.quick:  # a tiny run for the tests
            self.warmup_steps, self.steps = min(self.warmup_steps, 20), min(self.steps, 400)


TRACE_KEYS = ("sdr", "predicted", "anomaly", "trace")


def _topology(x_resolution: float, active_bits: int) -> dict:
    """``HTMObservation`` arguments of the RL experiment's (htmagent.experiments.rl) htm-trace arm with ``--potential-radius 256 --size-per-dim
    512``: each minicolumn samples 80% of a 513-bit window of the input, about one element's block."""
    return dict(trace_decay=0.8, include_action=True, learn_sp=False,
                sp_params=dict(potential_radius=256, potential_pct=TOPOLOGY_POTENTIAL_PCT),
                encoder_params=dict(resolution=[x_resolution, 0.004], size_per_dim=512, active_bits=active_bits))


# name -> HTMObservation keyword arguments (None = raw frames only); "keys" says which observation keys are read.
VARIANTS: dict[str, dict] = {
    "raw (x, theta)": dict(htm=None, stack=1),
    "2 stacked raw frames": dict(htm=None, stack=2),
    "4 stacked raw frames": dict(htm=None, stack=4),
    "2 stacked raw frames + previous action": dict(htm=None, stack=2, action=True),
    "htm default (sdr, predicted, anomaly)": dict(htm={}, keys=("sdr", "predicted", "anomaly")),
    "htm + prediction error": dict(htm={}, keys=("sdr", "predicted", "anomaly", "error")),
    "htm + action": dict(htm=dict(include_action=True), keys=("sdr", "predicted", "anomaly")),
    "htm, 256 buckets": dict(htm=dict(encoder_params=dict(num_buckets=256)), keys=("sdr", "predicted", "anomaly")),
    "htm + trace 0.5": dict(htm=dict(trace_decay=0.5), keys=TRACE_KEYS),
    "htm + trace 0.8": dict(htm=dict(trace_decay=0.8), keys=TRACE_KEYS),
    "htm + trace 0.5, fixed SP": dict(htm=dict(trace_decay=0.5, learn_sp=False), keys=TRACE_KEYS),
    "htm, fine (x 0.02, theta 0.004) + trace 0.5": dict(
        htm=dict(trace_decay=0.5, encoder_params=dict(resolution=[0.02, 0.004])), keys=TRACE_KEYS),
    "htm, fine + trace 0.5 + action, fixed SP": dict(
        htm=dict(trace_decay=0.5, include_action=True, learn_sp=False, encoder_params=dict(resolution=[0.02, 0.004])),
        keys=TRACE_KEYS),
    # The settings of the RL experiment's (htmagent.experiments.rl) htm-trace arm on masked CartPole (docs/results_rl.md), with the previous action
    # in the readout as the policy has it through the efference copy.
    "htm topology (x 0.005, 32 of 512 bits, radius 256) + trace 0.8 + action": dict(
        htm=_topology(0.005, 32), keys=TRACE_KEYS, action=True),
    "htm topology, 8 of 512 bits + trace 0.8 + action": dict(htm=_topology(0.005, 8), keys=TRACE_KEYS, action=True),
    "htm topology, x 0.002, 8 of 512 bits + trace 0.8 + action": dict(
        htm=_topology(0.002, 8), keys=TRACE_KEYS, action=True),
}


def record(variant: dict, warmup: int, steps: int, seed: int, policy: str = "theta") -> tuple[np.ndarray, np.ndarray]:
    """Run the behaviour policy; return per-step features (with the raw masked observation) and hidden velocities."""
    from htmagent.envs.wrappers import HTMObservation

    base = gym.make("CartPole-v1")
    env: gym.Env = MaskVelocity(base)
    if variant["htm"] is not None:
        env = HTMObservation(env, seed=seed, **variant["htm"])
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    history: list[np.ndarray] = []
    prev_predicted = None
    prev_action = 0.0  # the previous step's action; 0 after a reset
    feats, targets = [], []
    for t in range(warmup + steps):
        raw = obs["original"] if isinstance(obs, dict) else obs
        history = (history + [np.asarray(raw, dtype=np.float64)])[-variant.get("stack", 1):]
        if t >= warmup:
            if isinstance(obs, dict):
                parts = [np.asarray(raw, dtype=np.float64)]
                for key in variant["keys"]:
                    if key == "error":  # active minicolumns the previous step did not predict
                        pred = prev_predicted if prev_predicted is not None else np.zeros_like(obs["sdr"])
                        parts.append((obs["sdr"] & (1 - pred)).astype(np.float64))
                    else:
                        parts.append(np.asarray(obs[key], dtype=np.float64).ravel())
            else:
                parts = [history[0]] * (variant["stack"] - len(history)) + history
            if variant.get("action"):
                parts.append(np.array([prev_action]))
            feats.append(np.concatenate(parts))
            state = base.unwrapped.state
            targets.append([state[1], state[3]])
        if isinstance(obs, dict):
            prev_predicted = obs["predicted"]
        if policy == "balance":
            x, x_dot, theta, theta_dot = base.unwrapped.state
            greedy = int(theta + 0.5 * theta_dot + 0.05 * x + 0.1 * x_dot > 0)
            action = greedy if rng.random() < 0.8 else int(rng.integers(2))
        else:
            action = int(raw[1] > 0) if rng.random() < 0.5 else int(rng.integers(2))
        obs, _, terminated, truncated, _ = env.step(action)
        prev_action = float(action)
        if terminated or truncated:
            obs, _ = env.reset()
            history, prev_predicted, prev_action = [], None, 0.0
    return np.array(feats), np.array(targets)


def held_out_r2(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Ridge regression fitted on the first 70% of rows; R² per target column on the last 30%."""
    split = int(0.7 * len(x))
    mean, std = x[:split].mean(0), x[:split].std(0) + 1e-8
    xs = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    a, b = xs[:split], y[:split]
    w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ b)
    pred = xs[split:] @ w
    resid = ((y[split:] - pred) ** 2).sum(0)
    total = ((y[split:] - y[split:].mean(0)) ** 2).sum(0)
    return 1.0 - resid / total


def main(args: DiagnosticsArgs) -> int:
    """Record every variant, print the table of held-out R² (and write it as JSON when asked)."""
    names = list(args.variants) or list(VARIANTS)
    lines = ["| features | inputs | R² cart velocity | R² angular velocity | seconds |", "|---|---|---|---|---|"]
    rows = []
    for name in names:
        start = time.perf_counter()
        x, y = record(VARIANTS[name], args.warmup_steps, args.steps, args.seed, args.policy)
        r2 = held_out_r2(x, y, args.ridge)
        rows.append({"variant": name, "inputs": int(x.shape[1]), "r2_cart_velocity": float(r2[0]),
                     "r2_angular_velocity": float(r2[1])})
        lines.append(f"| {name} | {x.shape[1]} | {r2[0]:.3f} | {r2[1]:.3f} | {time.perf_counter() - start:.0f} |")
        print(lines[-1], flush=True)
    print("\n".join(lines))
    if args.json_out:
        write_json({"args": vars(args), "rows": rows}, args.json_out)
    return 0
