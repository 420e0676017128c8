"""The active-sensing study: motor policies moving the sensors for a pretrained network, against the ideal observer.

:func:`evaluate` plays any motor policy of :mod:`htmagent.agent.motor` (``env.motor_policy("random")``,
``env.motor_policy("hypothesis")``), or any function ``observation -> action`` such as a trained PPO model's
``predict``, on fixed episode seeds of an :class:`~htmagent.envs.active_sensing.ActiveSensingEnv`, and runs the ideal
observer (:class:`~htmagent.cortex.baselines.IdealObserver`, per-sensor origins: exactly the network's information) on
the very sensations each episode produced.

The study (:func:`main`, ``scripts/active_sensing.py``): PPO learns where to jump the sensor so that the network
recognizes the object in few sensations, compared with random jumps, the hypothesis-testing policy and the ideal
observer on the same episodes. Arms, all on one pretrained ``Network(location="grid")``, the network declaring for
every policy:

- ``random``      uniformly random jumps (``env.motor_policy("random")``).
- ``hypothesis``  the jump whose sensation should leave the network the fewest candidates
                  (``env.motor_policy("hypothesis")``).
- ``ppo``         SB3 PPO (MlpPolicy) on the network's state, one run per seed, the same step budget per seed;
                  evaluated with sampled and with greedy (deterministic) actions.
- ``ppo, k frames``  the same, the policy seeing the last k observations (``VecFrameStack``): a short memory of
                  where it jumped and what it sensed.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from htmagent._progress import progress
from htmagent._validation import check_int, is_int
from htmagent.agent.motor import MotorPolicy
from htmagent.cortex.baselines import IdealObserver
from htmagent.cortex.network import Network
from htmagent.envs.active_sensing import ActiveSensingEnv
from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import pyplot, save_figure, write_json

__all__ = ["EpisodeRecord", "EvaluationSummary", "SB3Policy", "StudyArgs", "evaluate", "main"]


# ------------------------------------------------------------------------------------------------------ evaluation
@dataclass(frozen=True)
class EpisodeRecord:
    """One evaluated episode.

    Attributes:
        seed: the episode's ``reset`` seed.
        label: the object presented.
        declared: the object declared (``None`` if truncated without a declaration).
        correct: the declaration was right.
        sensations: sensations the network took in before the episode ended.
        declared_by: ``"network"``, ``"limit"`` or ``""`` (no declaration).
        episode_return: sum of rewards.
        ideal_sensations: sensations after which the ideal observer (per-sensor origins) had one object left on the
            same sensations (``None`` if never within the episode).
    """

    seed: int
    label: int
    declared: int | None
    correct: bool
    sensations: int
    declared_by: str
    episode_return: float
    ideal_sensations: int | None


@dataclass(frozen=True)
class EvaluationSummary:
    """Aggregates of :func:`evaluate` over its episodes.

    Attributes:
        episodes: the per-episode records.
        accuracy: fraction of episodes ending with a correct declaration.
        mean_sensations: mean sensations per episode (every episode).
        mean_sensations_correct: mean sensations of the correctly declared episodes (``nan`` if none).
        mean_return: mean episode return.
        ideal_mean_sensations: mean sensations the ideal observer needed on the same sensations, counting an episode
            it never resolved as its full length.
        ideal_resolved: fraction of episodes the ideal observer resolved within the episode.
    """

    episodes: tuple[EpisodeRecord, ...]
    accuracy: float
    mean_sensations: float
    mean_sensations_correct: float
    mean_return: float
    ideal_mean_sensations: float
    ideal_resolved: float

    def as_dict(self) -> dict[str, float]:
        """The aggregates (no per-episode records), for JSON."""
        return {"accuracy": self.accuracy, "mean_sensations": self.mean_sensations,
                "mean_sensations_correct": self.mean_sensations_correct, "mean_return": self.mean_return,
                "ideal_mean_sensations": self.ideal_mean_sensations, "ideal_resolved": self.ideal_resolved,
                "episodes": len(self.episodes)}


def evaluate(env: ActiveSensingEnv, policy: MotorPolicy | Callable[[np.ndarray], np.ndarray], episodes: int,
             seed: int = 0) -> EvaluationSummary:
    """Play ``episodes`` episodes with ``policy`` and compare each with the ideal observer on its own sensations.

    Episode ``i`` is reset with seed ``seed + i`` (the same objects and starting points for every policy), and the
    policy gets ``np.random.default_rng([seed, i])`` as its RNG.

    Args:
        env: the environment.
        policy: a :class:`~htmagent.agent.motor.MotorPolicy` (``env.motor_policy(...)``), or a function
            ``observation -> action`` (e.g. a trained SB3 model's deterministic ``predict``); if that function has a
            ``reset()`` method it is called at each episode's start.
        episodes: number of episodes (>= 1).
        seed: first episode seed (>= 0).

    Raises:
        TypeError / ValueError: bad arguments.
    """
    if not isinstance(env, ActiveSensingEnv):
        raise TypeError(f"env must be an ActiveSensingEnv, got {type(env).__name__}")
    if not isinstance(policy, MotorPolicy) and not callable(policy):
        raise TypeError(f"policy must be a MotorPolicy (reset, observe, next_jumps) or a function "
                        f"observation -> action, got {type(policy).__name__}")
    if not is_int(episodes) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    observer = IdealObserver(env.object_set, mode="displacement", shared_origin=False)
    records = []
    for i in range(int(episodes)):
        observation, _ = env.reset(seed=int(seed) + i)
        motor = isinstance(policy, MotorPolicy)
        if motor:
            policy.reset(np.random.default_rng([int(seed), i]))
            policy.observe(env.last_move, env.sensed_features[-1])
        elif callable(getattr(policy, "reset", None)):
            policy.reset()
        total, info, done = 0.0, {}, False
        while not done:
            if motor:
                action = (policy.next_jumps(env.backed()) + env.max_jump).reshape(-1)
            else:
                action = np.asarray(policy(observation), dtype=np.int64)
            observation, reward, terminated, truncated, info = env.step(action)
            total += reward
            done = terminated or truncated
            if motor and not done:
                policy.observe(env.last_move, env.sensed_features[-1])
        history = env.history
        records.append(EpisodeRecord(
            seed=int(seed) + i, label=int(env.env.unwrapped.label), declared=info.get("declared"),
            correct=bool(info.get("correct", False)), sensations=len(history),
            declared_by=info.get("declared_by", ""), episode_return=float(total),
            ideal_sensations=observer.sensations_to_recognize(history)))
    correct = [r.sensations for r in records if r.correct]
    ideal = [r.ideal_sensations if r.ideal_sensations is not None else r.sensations for r in records]
    return EvaluationSummary(
        episodes=tuple(records),
        accuracy=float(np.mean([r.correct for r in records])),
        mean_sensations=float(np.mean([r.sensations for r in records])),
        mean_sensations_correct=float(np.mean(correct)) if correct else float("nan"),
        mean_return=float(np.mean([r.episode_return for r in records])),
        ideal_mean_sensations=float(np.mean(ideal)),
        ideal_resolved=float(np.mean([r.ideal_sensations is not None for r in records])))


# ----------------------------------------------------------------------------------------------------- the study
@dataclass
class StudyArgs(FigureArgs):
    """Active sensing on ObjectTouch-v0: PPO vs random and hypothesis-testing jumps vs the ideal observer."""

    trials: int = 3
    """PPO runs; run t uses seed + t (PPO weights, its sampling and the training episodes)"""
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

    def validate(self) -> None:
        for name in ("trials", "total_timesteps", "n_envs", "eval_episodes", "num_objects", "num_features",
                     "num_sensors", "max_steps", "n_steps", "batch_size"):
            check_int(getattr(self, name), name, 1)
        if not self.frame_stacks or min(self.frame_stacks) < 1:
            raise ValueError(f"frame_stacks must hold ints >= 1, got {self.frame_stacks}")

    @property
    def seeds(self) -> list[int]:
        """The PPO runs' seeds."""
        return [self.seed + t for t in range(self.trials)]


def quick_args(args: StudyArgs) -> StudyArgs:
    """The tiny configuration of ``--quick``: 5 objects, one run, 512 steps, 10 evaluation episodes (frame stacks
    kept; other fields too)."""
    args.trials = 1
    args.total_timesteps = 512
    args.n_envs = 2
    args.n_steps = 64
    args.batch_size = 32
    args.eval_episodes = 10
    args.num_objects = 5
    return args


def make_env(args: StudyArgs, network: Network) -> ActiveSensingEnv:
    """An environment on its own copy of the pretrained ``network`` (environments must not share episode state)."""
    return ActiveSensingEnv(network=copy.deepcopy(network), num_sensors=args.num_sensors, max_steps=args.max_steps,
                            num_objects=args.num_objects, num_features=args.num_features,
                            library_seed=args.library_seed, move_cost=args.move_cost)


def pretrain(args: StudyArgs) -> tuple[Network, float]:
    """Supervised pretraining: the network learns the library with the locations given (``Network.learn``)."""
    start = time.perf_counter()
    probe = ActiveSensingEnv(num_sensors=args.num_sensors, max_steps=args.max_steps, num_objects=args.num_objects,
                             num_features=args.num_features, library_seed=args.library_seed,
                             network_seed=args.network_seed)
    return probe.network, time.perf_counter() - start


class SB3Policy:
    """A trained SB3 model as an observation policy of :func:`evaluate`, stacking the last ``frames`` observations
    the way ``VecFrameStack`` did in training (zeros before the episode's first observation)."""

    def __init__(self, model, frames: int, deterministic: bool):
        self.model, self.frames, self.deterministic = model, frames, deterministic
        self._stack: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the last episode's observations."""
        self._stack = None

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        size = observation.shape[0]
        if self._stack is None:
            self._stack = np.zeros(self.frames * size, dtype=np.float32)
        self._stack = np.concatenate([self._stack[size:], observation]).astype(np.float32)
        return self.model.predict(self._stack, deterministic=self.deterministic)[0]


def train_ppo(args: StudyArgs, network: Network, seed: int,
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
    plt = pyplot()
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
    save_figure(fig, path, dpi=100)


def main(args: StudyArgs) -> int:
    """Run the study: print the table, draw the figure, write the JSON."""
    if args.quick:
        args = quick_args(args)
    network, pretrain_s = pretrain(args)
    print(f"pretrained Network(location='grid') on {args.num_objects} objects in {pretrain_s:.1f} s", flush=True)
    env = make_env(args, network)
    rows, results = [], {}
    for name in ("random", "hypothesis"):
        policy = env.motor_policy(name)
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
    path = args.figure_path("active_sensing.png")
    draw(path, curves, rows, f"Active sensing on ObjectTouch-v0 ({args.num_objects} objects, "
                             f"{args.num_sensors} sensor(s))")
    print(f"figure: {path}")
    if args.json_out:
        write_json({"args": asdict(args), "pretrain_s": pretrain_s, "rows": rows, "results": results}, args.json_out)
    return 0
