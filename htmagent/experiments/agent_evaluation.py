"""Train and evaluate HTMAgent on ObjectTouch-v0 and ObjectSaccade-v0 with 1, 3 and 5 sensors.

For every environment and sensor count the agent learns the library once (learning episodes), then plays
``--episodes`` episodes with each motor policy. Beside it, on the same episodes:

- the **ideal observer** (:class:`htmagent.cortex.baselines.IdealObserver`, displacement mode) moved by the same random-jump
  policy with the same per-episode seeds, so its paths are the random-policy agent's paths (one is a prefix of the
  other): it declares as soon as one object is consistent with everything sensed, i.e. the fewest sensations possible
  on those sequences. Two versions: *sensor frames* (``shared_origin=False``) knows each sensor's own path only, as
  each column does - the bound for the agent; *joint frame* also knows where the sensors are relative to each
  other, which the agent never does. Both use empty cells as evidence, which the network does not;
- **random guessing**: declare a uniformly random object at the first step (accuracy ``1 / num_objects``).

Prints a markdown table (accuracy, mean steps to declaration, mean reward, episodes per second) and saves a PNG.

Example:
    python scripts/evaluate_agent.py                       # the full table of docs/results_agent.md
    python scripts/evaluate_agent.py --quick --no-progress # a tiny run (tests)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

import htmagent.envs  # noqa: F401  (registers the ids)
from htmagent._progress import progress
from htmagent.agent import HTMAgent, RandomJumps
from htmagent.cortex.baselines import IdealObserver
from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import pyplot, save_figure, write_json

ENV_IDS = {"touch": "htmagent/ObjectTouch-v0", "saccade": "htmagent/ObjectSaccade-v0"}


__all__ = ["EvaluationArgs", "run", "table", "plot", "main"]


@dataclass
class EvaluationArgs(FigureArgs):
    """Train and evaluate HTMAgent on both sensorimotor environments with 1, 3 and 5 sensors."""

    envs: list[str] = field(default_factory=lambda: ["touch", "saccade"])
    """environments: touch (ObjectTouch-v0: 20 objects, pool of 10 features) and/or saccade (ObjectSaccade-v0)"""
    sensors: list[int] = field(default_factory=lambda: [1, 3, 5])
    """sensor counts (one network column per sensor)"""
    policies: list[str] = field(default_factory=lambda: ["random", "hypothesis"])
    """motor policies of the agent"""
    declare: str = "all"
    """declaration rule: all (every column recognizes the object), majority or any (see HTMAgent)"""
    episodes: int = 200
    """evaluation episodes per (environment, sensors, player)"""
    repetitions: int = 3
    """network time steps per point while learning"""
    seed: int = 0
    """seed of the agents, the learning episodes and (seed + 1) the evaluation episodes"""
    quick: bool = False
    """tiny run for tests: 5 objects, 8 episodes, 1 and 3 sensors"""


def make_env(kind: str, num_sensors: int, quick: bool) -> gym.Env:
    """The registered environment ``kind`` with ``num_sensors`` sensors (5 objects when ``quick``)."""
    if kind not in ENV_IDS:
        raise ValueError(f"envs must be among {sorted(ENV_IDS)}, got {kind!r}")
    kwargs = {"num_objects": 5} if quick else {}
    return gym.make(ENV_IDS[kind], num_sensors=num_sensors, **kwargs)


def ideal_observer(env: gym.Env, extent: tuple[int, int], episodes: int, seed: int, max_steps: int,
                   joint: bool) -> dict:
    """Play ``env`` with random jumps (seeded as :meth:`HTMAgent.evaluate` seeds them) and ideal declarations.

    ``joint=False``: the observer knows each sensor's path only (``shared_origin=False``: each sensor places itself
    on the objects from its own movements, as each column does); ``joint=True``: it also knows where the sensors are
    relative to each other. Positions come from learn-mode ``info``; the learn flag changes nothing else in the
    episode (same objects and starts for the same seed).
    """
    base = env.unwrapped
    objects = base.object_set
    observer = IdealObserver(objects, mode="displacement", shared_origin=joint)
    policy = RandomJumps(extent, base.max_jump, base.num_sensors)
    steps, correct, rewards = [], [], []
    start = time.perf_counter()
    for i in range(episodes):
        observation, info = env.reset(seed=seed if i == 0 else None, options={"learn": True})
        policy.reset(np.random.default_rng([seed, i]))
        observer.reset()
        points = objects[info["label"]].points
        # Each sensor's positions relative to its own start, or (joint) every sensor's relative to sensor 0's start.
        origins = info["sensor_positions"].copy()
        if joint:
            origins[:] = origins[0]
        total, n = 0.0, 0
        while True:
            policy.observe(observation["displacement"], [-1] * base.num_sensors)
            observer.step([((int(x - ox), int(y - oy)), points.get((int(x), int(y))))
                           for (x, y), (ox, oy) in zip(info["sensor_positions"], origins)])
            candidates = observer.candidates
            n += 1
            label = next(iter(candidates)) if len(candidates) == 1 else None
            if label is None and n >= max_steps:
                label = min(candidates) if candidates else 0
            if label is not None:
                action = np.concatenate([np.full(2 * base.num_sensors, base.max_jump), [label + 1]])
            else:
                action = np.concatenate([(policy.next_jumps() + base.max_jump).reshape(-1), [0]])
            observation, reward, terminated, truncated, info = env.step(action.astype(np.int64))
            total += float(reward)
            if terminated or truncated:
                break
        steps.append(n)
        correct.append(bool(info.get("correct", False)))
        rewards.append(total)
    elapsed = max(time.perf_counter() - start, 1e-9)
    return {"accuracy": float(np.mean(correct)), "mean_steps": float(np.mean(steps)),
            "mean_reward": float(np.mean(rewards)), "episodes_per_second": episodes / elapsed}


def run(args: EvaluationArgs) -> dict:
    """Every (environment, sensors) configuration: the agent with each policy, the ideal observer, random guessing."""
    episodes = 8 if args.quick else args.episodes
    sensors = [1, 3] if args.quick else args.sensors
    rows = []
    configs = [(kind, n) for kind in args.envs for n in sensors]
    for kind, n in progress(configs, desc="configurations", enabled=args.progress):
        env = make_env(kind, n, args.quick)
        agent = HTMAgent.for_env(env, declare=args.declare, seed=args.seed)
        start = time.perf_counter()
        agent.learn(env, repetitions=args.repetitions, seed=args.seed)
        learn_s = time.perf_counter() - start
        num_objects = env.unwrapped.num_objects
        common = {"env": kind, "sensors": n, "objects": num_objects, "features": agent.num_features}
        for policy in args.policies:
            agent.policy = policy
            result = agent.evaluate(env, episodes, seed=args.seed + 1)
            rows.append({**common, "player": f"HTMAgent ({policy})", "learn_s": learn_s,
                         **{k: v for k, v in result.as_dict().items() if k not in ("steps", "correct", "labels")}})
        for joint, name in ((False, "ideal observer, sensor frames"), (True, "ideal observer, joint frame")):
            ideal = ideal_observer(env, agent.extent, episodes, args.seed + 1, agent.max_steps, joint)
            rows.append({**common, "player": name, **ideal})
        rows.append({**common, "player": "random guess", "accuracy": 1.0 / num_objects, "mean_steps": 1.0,
                     "mean_reward": 2.0 / num_objects - 1.0, "episodes_per_second": float("nan")})
        env.close()
    return {"args": dict(vars(args)), "episodes": episodes, "rows": rows}


def table(out: dict) -> str:
    """The results as a markdown table."""
    lines = ["| env | sensors | player | accuracy | mean steps | mean reward | episodes/s |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for r in out["rows"]:
        speed = "" if np.isnan(r["episodes_per_second"]) else f"{r['episodes_per_second']:.0f}"
        lines.append(f"| {r['env']} | {r['sensors']} | {r['player']} | {100 * r['accuracy']:.1f}% | "
                     f"{r['mean_steps']:.2f} | {r['mean_reward']:+.3f} | {speed} |")
    return "\n".join(lines)


def plot(out: dict, path: str) -> None:
    """Mean steps to declaration vs sensors, one panel per environment, one line per player."""
    plt = pyplot()
    kinds = list(dict.fromkeys(r["env"] for r in out["rows"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        rows = [r for r in out["rows"] if r["env"] == kind]
        for player in dict.fromkeys(r["player"] for r in rows):
            mine = [r for r in rows if r["player"] == player]
            ax.plot([r["sensors"] for r in mine], [r["mean_steps"] for r in mine], marker="o", label=player)
            for r in mine:
                ax.annotate(f"{100 * r['accuracy']:.0f}%", (r["sensors"], r["mean_steps"]), fontsize=7,
                                textcoords="offset points", xytext=(4, 4))
        ax.set_title(f"{ENV_IDS[kind]} ({rows[0]['objects']} objects)")
        ax.set_xlabel("sensors (columns)")
        ax.set_ylabel("mean steps to declaration")
        ax.set_xticks(sorted({r["sensors"] for r in rows}))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("HTMAgent: steps to declaration (labels: accuracy)")
    save_figure(fig, path)


def main(args: EvaluationArgs) -> int:
    """Run, print the table, save the figure and the JSON."""
    start = time.perf_counter()
    out = run(args)
    out["wall_time_s"] = time.perf_counter() - start
    print(f"HTMAgent evaluation ({out['episodes']} episodes per row, seed {args.seed}, declare {args.declare}, "
          f"{out['wall_time_s']:.0f} s)\n")
    print(table(out))
    path = args.figure_path("agent_results.png")
    plot(out, path)
    print(f"\nfigure saved to {path}")
    if args.json_out:
        write_json(out, args.json_out)
    return 0
