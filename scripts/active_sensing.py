"""Active sensing (issue 8, experiment 3): PPO learns where to jump the sensor so that the column network recognizes
the object of ``ObjectTouch-v0`` in few sensations; compared with random jumps, the hypothesis-testing policy and the
ideal observer on the same episodes.

Arms, all on :class:`htmagent.experiments.active_sensing.ActiveSensingEnv` (one pretrained ``Network(location="grid")``, the same
for every arm; the network declares for every policy):

- ``random``      uniformly random jumps.
- ``hypothesis``  the jump whose sensation should leave the network the fewest candidates (its own overlaps decide).
- ``ppo``         SB3 PPO (MlpPolicy) on the network's state, one run per seed, the same step budget per seed;
                  evaluated with sampled and with greedy (deterministic) actions.
- ``ppo, k frames``  the same, the policy seeing the last k observations (``VecFrameStack``): a short memory of
                  where it jumped and what it sensed.

Every arm is evaluated on the same episode seeds (object and starting point); on each episode the ideal observer
(per-sensor origins, the network's information) is run on the sensations that episode produced.

Example:
    python scripts/active_sensing.py --seeds 0 1 2 --total-timesteps 100000
    python scripts/active_sensing.py --quick          # a tiny run (tests)
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from htmagent._progress import progress
from htmagent.experiments.active_sensing import (
    ActiveSensingEnv,
    EvaluationSummary,
    HypothesisJumpPolicy,
    RandomJumpPolicy,
    evaluate,
)
from htmagent.cortex.network import Network
from htmagent.experiments.args import parse_args


@dataclass
class Args:
    """Active sensing on ObjectTouch-v0: PPO vs random and hypothesis-testing jumps vs the ideal observer."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """one PPO run per seed (PPO weights, its sampling and the training episodes)"""
    total_timesteps: int = 100_000
    """environment steps per PPO run"""
    n_envs: int = 4
    """parallel training environments (DummyVecEnv), each with its own copy of the pretrained network"""
    eval_episodes: int = 300
    """evaluation episodes per arm (episode seeds eval_seed, eval_seed + 1, ...: the same for every arm)"""
    eval_seed: int = 1_000_000
    """first evaluation episode seed (far from the training seeds)"""
    num_objects: int = 20
    """objects in the library"""
    num_features: int = 10
    """feature pool"""
    num_sensors: int = 1
    """sensors (= columns)"""
    library_seed: int = 0
    """seed of the object library"""
    network_seed: int = 0
    """seed of the network (the same pretrained network for every arm and seed)"""
    max_steps: int = 20
    """jumps per episode before the best guess is declared (max_steps + 1 sensations)"""
    move_cost: float = 0.01
    """reward cost per jump (ObjectTouch's default)"""
    frame_stacks: list[int] = field(default_factory=lambda: [1, 4])
    """one PPO arm per entry: the policy sees the last k observations (VecFrameStack; 1 = the current one only)"""
    n_steps: int = 128
    """PPO rollout length per environment"""
    batch_size: int = 64
    """PPO minibatch size"""
    learning_rate: float = 3e-4
    """PPO learning rate"""
    gamma: float = 0.95
    """PPO discount (with the small move cost, discounting is what rewards a fast declaration most)"""
    ent_coef: float = 0.0
    """PPO entropy bonus"""
    quick: bool = False
    """tiny run for tests: 5 objects, one seed, 512 steps, 10 evaluation episodes (frame stacks kept)"""
    json_out: str = ""
    """optional path for the results (JSON)"""
    plot: str = "docs/img/active_sensing.png"
    """PNG of the learning curves and the bars ('' = none)"""
    progress: bool = True
    """draw progress bars on stderr"""


def quick_args(args: Args) -> Args:
    """The tiny configuration of ``--quick`` (other fields kept)."""
    args.seeds = args.seeds[:1]
    args.total_timesteps = 512
    args.n_envs = 2
    args.n_steps = 64
    args.batch_size = 32
    args.eval_episodes = 10
    args.num_objects = 5
    return args


def make_env(args: Args, network: Network) -> ActiveSensingEnv:
    """An environment on its own copy of the pretrained ``network`` (environments must not share episode state)."""
    return ActiveSensingEnv(network=copy.deepcopy(network), num_sensors=args.num_sensors, max_steps=args.max_steps,
                            num_objects=args.num_objects, num_features=args.num_features,
                            library_seed=args.library_seed, move_cost=args.move_cost)


def pretrain(args: Args) -> tuple[Network, float]:
    """Supervised pretraining: the network learns the library with the locations given (``Network.learn``)."""
    start = time.perf_counter()
    probe = ActiveSensingEnv(num_sensors=args.num_sensors, max_steps=args.max_steps, num_objects=args.num_objects,
                             num_features=args.num_features, library_seed=args.library_seed,
                             network_seed=args.network_seed)
    return probe.network, time.perf_counter() - start


class SB3Policy:
    """A trained SB3 model as a :class:`~htmagent.experiments.active_sensing.MotorPolicy`, stacking the last ``frames``
    observations the way ``VecFrameStack`` did in training (zeros before the episode's first observation)."""

    def __init__(self, model, frames: int, deterministic: bool):
        self.model, self.frames, self.deterministic = model, frames, deterministic
        self._stack: np.ndarray | None = None

    def reset(self, env: ActiveSensingEnv, rng: np.random.Generator) -> None:
        self._stack = np.zeros(self.frames * env.observation_space.shape[0], dtype=np.float32)

    def act(self, env: ActiveSensingEnv, observation: np.ndarray) -> np.ndarray:
        size = observation.shape[0]
        self._stack = np.concatenate([self._stack[size:], observation]).astype(np.float32)
        return self.model.predict(self._stack, deterministic=self.deterministic)[0]


def train_ppo(args: Args, network: Network, seed: int,
              frames: int) -> tuple[object, list[tuple[int, int, bool]], float]:
    """Train PPO with ``seed`` on ``frames`` stacked observations; return the model, its training episodes
    ``(timestep, sensations, correct)`` and the wall time."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

    torch.set_num_threads(1)
    episodes: list[tuple[int, int, bool]] = []

    class Recorder(BaseCallback):
        """Keeps every finished training episode and advances the progress bar."""

        def __init__(self, bar):
            super().__init__()
            self.bar = bar

        def _on_step(self) -> bool:
            for info, done in zip(self.locals["infos"], self.locals["dones"]):
                if done:
                    episodes.append((int(self.num_timesteps), int(info["sensations"]), bool(info.get("correct"))))
            next(self.bar, None)
            return True

    start = time.perf_counter()
    venv = DummyVecEnv([lambda: make_env(args, network) for _ in range(args.n_envs)])
    venv.seed(seed)
    if frames > 1:
        venv = VecFrameStack(venv, frames)
    model = PPO("MlpPolicy", venv, n_steps=args.n_steps, batch_size=args.batch_size,
                learning_rate=args.learning_rate, gamma=args.gamma, ent_coef=args.ent_coef, seed=seed, verbose=0,
                device="cpu")
    calls = math.ceil(args.total_timesteps / args.n_envs)
    bar = iter(progress(range(calls), desc=f"ppo k={frames} seed {seed}", enabled=args.progress))
    model.learn(total_timesteps=args.total_timesteps, callback=Recorder(bar))
    for _ in bar:  # close the bar when learn() stopped early (the budget is rounded to whole rollouts)
        pass
    venv.close()
    return model, episodes, time.perf_counter() - start


def row(name: str, seeds: str, steps: str, summaries: Sequence[EvaluationSummary], wall: float) -> dict:
    """One results row: mean (and std across runs when there are several) of each aggregate."""
    out = {"policy": name, "seeds": seeds, "training_steps": steps, "runs": len(summaries), "wall_s": wall}
    for key in ("accuracy", "mean_sensations", "mean_sensations_correct", "ideal_mean_sensations", "mean_return",
                "ideal_resolved"):
        values = np.array([getattr(s, key) for s in summaries], dtype=np.float64)
        out[key] = float(np.mean(values))
        out[key + "_std"] = float(np.std(values)) if len(values) > 1 else 0.0
    return out


def _fmt(r: dict, key: str, digits: int = 2) -> str:
    if r["runs"] > 1:
        return f"{r[key]:.{digits}f} ± {r[key + '_std']:.{digits}f}"
    return f"{r[key]:.{digits}f}"


def table(rows: Sequence[dict]) -> str:
    """The markdown results table."""
    header = ("| policy | seeds | PPO steps/run | accuracy | sensations to declaration | sensations (correct) "
              "| ideal observer, same sensations | return | wall s |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['policy']} | {r['seeds']} | {r['training_steps']} | {_fmt(r, 'accuracy', 3)} "
                     f"| {_fmt(r, 'mean_sensations')} | {_fmt(r, 'mean_sensations_correct')} "
                     f"| {_fmt(r, 'ideal_mean_sensations')} | {_fmt(r, 'mean_return', 3)} | {r['wall_s']:.0f} |")
    return "\n".join(lines)


def rolling(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` values (shorter at the start)."""
    cumulative = np.cumsum(np.concatenate([[0.0], values]))
    index = np.arange(1, len(values) + 1)
    low = np.maximum(index - window, 0)
    return (cumulative[index] - cumulative[low]) / (index - low)


def draw(path: str, curves: dict[str, list[tuple[int, int, bool]]], rows: Sequence[dict], title: str) -> None:
    """Left: PPO's training sensations per episode (rolling mean) with the baselines; right: bars per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for name, episodes in curves.items():
        if episodes:
            data = np.array(episodes, dtype=np.float64)
            left.plot(data[:, 0], rolling(data[:, 1], 500), label=name)
    colors = {"random": "tab:gray", "hypothesis": "tab:green"}
    for r in rows:
        if r["policy"] in colors:
            left.axhline(r["mean_sensations"], color=colors[r["policy"]], linestyle="--", label=r["policy"])
    left.set_xlabel("training steps")
    left.set_ylabel("sensations per episode (rolling mean, 500 episodes)")
    left.set_title("PPO learning curve")
    left.legend(fontsize=7)
    names = [r["policy"] for r in rows]
    x = np.arange(len(rows))
    right.bar(x - 0.2, [r["mean_sensations"] for r in rows], 0.4,
              yerr=[r["mean_sensations_std"] for r in rows], label="network declares")
    right.bar(x + 0.2, [r["ideal_mean_sensations"] for r in rows], 0.4,
              yerr=[r["ideal_mean_sensations_std"] for r in rows], label="ideal observer, same sensations")
    right.set_xticks(x, names, rotation=15)
    right.set_ylabel("mean sensations to declaration")
    right.set_title("evaluation")
    right.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(Args, argv)
    if args.quick:
        args = quick_args(args)
    if not args.seeds:
        raise SystemExit("--seeds needs at least one seed")
    network, pretrain_s = pretrain(args)
    print(f"pretrained Network(location='grid') on {args.num_objects} objects in {pretrain_s:.1f} s", flush=True)
    env = make_env(args, network)
    rows, results = [], {}
    for name, policy in (("random", RandomJumpPolicy()), ("hypothesis", HypothesisJumpPolicy())):
        start = time.perf_counter()
        summary = evaluate(env, policy, args.eval_episodes, seed=args.eval_seed)
        rows.append(row(name, "-", "-", [summary], time.perf_counter() - start))
        results[name] = summary.as_dict()
        print(f"{name}: {summary.as_dict()}", flush=True)
    import torch

    curves = {}
    seeds = ",".join(str(s) for s in args.seeds)
    for frames in args.frame_stacks:
        arm = "ppo" if frames == 1 else f"ppo, {frames} frames"
        ppo, ppo_wall = {"sampled": [], "greedy": []}, 0.0
        for seed in args.seeds:
            model, episodes, wall = train_ppo(args, network, seed, frames)
            curves[f"{arm}, seed {seed}"] = episodes
            ppo_wall += wall
            key = f"ppo_k{frames}_seed{seed}"
            results[key] = {"wall_s": wall, "training_episodes": episodes}
            for mode, summaries in ppo.items():
                # A memoryless policy acting greedily can loop (the same state, the same jump): sampling is how it
                # was trained, greedy is shown too. torch's RNG is seeded so that sampled actions are reproducible.
                torch.manual_seed(seed)
                summary = evaluate(env, SB3Policy(model, frames, mode == "greedy"), args.eval_episodes,
                                   seed=args.eval_seed)
                summaries.append(summary)
                results[key][mode] = summary.as_dict()
                print(f"{arm} seed {seed} ({mode}): {summary.as_dict()} (training {wall:.0f} s)", flush=True)
        for mode, summaries in ppo.items():
            rows.append(row(f"{arm} ({mode})", seeds, str(args.total_timesteps), summaries,
                            ppo_wall / len(args.seeds)))
    print()
    print(f"ObjectTouch-v0, {args.num_objects} objects, {args.num_features} features, {args.num_sensors} sensor(s), "
          f"max {args.max_steps} jumps, {args.eval_episodes} evaluation episodes per arm "
          f"(seeds {args.eval_seed}..{args.eval_seed + args.eval_episodes - 1}); PPO: mean ± std over seeds; "
          f"wall s = evaluation, or training per PPO run")
    print(table(rows))
    if args.plot:
        draw(args.plot, curves, rows, f"Active sensing on ObjectTouch-v0 ({args.num_objects} objects, "
                                      f"{args.num_sensors} sensor(s))")
        print(f"figure: {args.plot}")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"args": asdict(args), "pretrain_s": pretrain_s, "rows": rows,
                                                   "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
