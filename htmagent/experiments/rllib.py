"""The HTM wrappers inside RLlib: PPO (or any RLlib algorithm) whose env runners each observe through an HTM.

RLlib runs its environments in *env runners*, Ray actors on the cores of this machine or of a cluster; each runner
makes its own copies of the env, so each copy's :class:`~htmagent.envs.HTMObservation` (and
:class:`~htmagent.envs.HTMCuriosity`) learns inside the runner that steps it, as each copy's HTM does in an SB3
vector env. What this module adds to RLlib:

- :class:`HTMEnvCreator` and :class:`HTMRLlibEnv`: the env RLlib builds in every runner
  (``config.environment(HTMRLlibEnv, env_config={"htm_creator": HTMEnvCreator(...)})``), the wrapped env, with the same HTM seed in every copy by default (as :func:`htmagent.sb3.make_htm_ppo`
  does), or one seed per copy;
- :func:`htm_ppo_config`: a ``PPOConfig`` with that creator, RLlib's ``FlattenObservations`` connector (the HTM's
  Dict observation becomes one vector for the default model) and :class:`HTMCallback`;
- :class:`HTMCallback`: the HTM's numbers in RLlib's metrics (``htm/ep_anomaly``, ``htm/ep_extrinsic_return``,
  ``htm/ep_intrinsic_return``, ``htm/segments``, ``htm/synapses``), so that a curious agent's return can be read
  without its bonus;
- :func:`save_htm_algorithm` / :func:`load_htm_algorithm`: an RLlib checkpoint keeps the policy but not the HTMs
  that live in the runners' envs; these write and restore both (``htm_states.npz`` inside the checkpoint folder);
- ``htmagent rllib``: PPO on a Gymnasium id with the HTM wrapper, locally or on a cluster (``--address``).

Example:
    >>> config = htm_ppo_config("CartPole-v1", num_env_runners=2, seed=0, htm_kwargs=dict(column_count=256))
    >>> algo = config.build_algo()
    >>> result = algo.train()

Needs the ``rllib`` extra (``ray[rllib]``, which pins its own gymnasium version). Nothing here is imported by the
core library; only this room imports Ray.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from htmagent._validation import check_bool, check_int
from htmagent.experiments.args import ExperimentArgs, add_experiment_parser
from htmagent.serialization import StateError, load_state, save_state

__all__ = [
    "HTMCallback",
    "HTMEnvCreator",
    "HTMRLlibEnv",
    "HTM_STATES_FILE",
    "RLlibArgs",
    "htm_copies",
    "htm_ppo_config",
    "htm_runner_states",
    "load_htm_algorithm",
    "load_htm_runner_states",
    "run",
    "save_htm_algorithm",
]

#: The HTM file :func:`save_htm_algorithm` writes inside an RLlib checkpoint folder.
HTM_STATES_FILE = "htm_states.npz"
_FORMAT = "htmagent.rllib/1"


class HTMEnvCreator:
    """Build ``env`` wrapped in :class:`~htmagent.envs.HTMObservation` (then :class:`~htmagent.envs.HTMCuriosity`)
    in each RLlib env runner.

    RLlib calls the creator once per env copy with its ``EnvContext`` (``worker_index`` 1, 2, ... for the remote
    runners). The creator is pickled with the algorithm's config, so it travels to the runners of a cluster and into
    checkpoints: give ``env`` as a Gymnasium id or a picklable factory.

    Args:
        env: a registered Gymnasium id (``"CartPole-v1"``) or a callable returning a fresh ``gym.Env``.
        htm_kwargs: keyword arguments of :class:`~htmagent.envs.HTMObservation` (``column_count``,
            ``trace_decay``...), without ``seed``.
        curiosity: ``None`` (no bonus) or keyword arguments of :class:`~htmagent.envs.HTMCuriosity` (``beta``,
            ``source``, ``normalize``...), which then wraps each copy and reads its HTM.
        env_kwargs: keyword arguments of ``gym.make`` (only when ``env`` is an id).
        seed: the HTMs' seed (``None``: fresh entropy in every copy).
        same_htm_seed: True gives every copy in every runner the same HTM seed, so all HTMs start alike (the
            default, as in :func:`htmagent.sb3.make_htm_ppo`); False gives copy ``k`` of runner ``w`` the seed
            ``seed + 1000 * w + k``.
        wrapper: an optional picklable callable ``env -> env`` applied to the raw env before the HTM (a
            ``MaskVelocity``, a ``TimeLimit``...).

    Example:
        >>> creator = HTMEnvCreator("CartPole-v1", htm_kwargs=dict(column_count=256), seed=0)
        >>> env = creator({})
        >>> sorted(env.observation_space.spaces)
        ['anomaly', 'original', 'predicted', 'sdr']
    """

    def __init__(self, env: str | Callable[[], gym.Env], htm_kwargs: dict | None = None, curiosity: dict | None = None,
                 env_kwargs: dict | None = None, seed: int | None = 0, same_htm_seed: bool = True,
                 wrapper: Callable[[gym.Env], gym.Env] | None = None):
        if not (isinstance(env, str) or callable(env)):
            raise TypeError(f"env must be a Gymnasium id or a callable returning an env, got {type(env).__name__}")
        for name, value in (("htm_kwargs", htm_kwargs), ("curiosity", curiosity), ("env_kwargs", env_kwargs)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
        if htm_kwargs and "seed" in htm_kwargs:
            raise ValueError("htm_kwargs may not hold 'seed': give seed= (and same_htm_seed) to the creator")
        if curiosity and "seed" in curiosity:
            raise ValueError("curiosity may not hold 'seed': the curiosity wrapper takes the copy's HTM seed")
        if env_kwargs and not isinstance(env, str):
            raise ValueError("env_kwargs are gym.make's arguments: give them only with an env id")
        if seed is not None:
            seed = check_int(seed, "seed", 0)
        if wrapper is not None and not callable(wrapper):
            raise TypeError(f"wrapper must be a callable env -> env or None, got {type(wrapper).__name__}")
        self.env = env
        self.htm_kwargs = dict(htm_kwargs or {})
        self.curiosity = None if curiosity is None else dict(curiosity)
        self.env_kwargs = dict(env_kwargs or {})
        self.seed = seed
        self.same_htm_seed = check_bool(same_htm_seed, "same_htm_seed")
        self.wrapper = wrapper
        self._made = 0  # copies made in this process (each runner holds its own unpickled creator)

    def htm_seed(self, worker_index: int, copy: int) -> int | None:
        """The HTM seed of copy ``copy`` of runner ``worker_index``."""
        if self.seed is None:
            return None
        return self.seed if self.same_htm_seed else self.seed + 1000 * int(worker_index) + int(copy)

    def __call__(self, env_config: Any = None) -> gym.Env:
        from htmagent.envs import HTMCuriosity, HTMObservation

        worker = int(getattr(env_config, "worker_index", 0) or 0)
        seed = self.htm_seed(worker, self._made)
        self._made += 1
        env = gym.make(self.env, **self.env_kwargs) if isinstance(self.env, str) else self.env()
        if not isinstance(env, gym.Env):
            raise TypeError(f"env factory must return a gymnasium.Env, got {type(env).__name__}")
        if self.wrapper is not None:
            env = self.wrapper(env)
        env = HTMObservation(env, seed=seed, **self.htm_kwargs)
        if self.curiosity is not None:
            env = HTMCuriosity(env, seed=seed, **self.curiosity)
        return env


class HTMRLlibEnv(gym.Wrapper):
    """The env class RLlib builds in each runner: ``env_config["htm_creator"]`` (an :class:`HTMEnvCreator`) called
    with the runner's ``EnvContext``.

    RLlib takes a custom env as a class or a registered name; a class keeps checkpoints self-contained (the creator
    travels in ``env_config``, no registration needed before :func:`load_htm_algorithm`).
    """

    def __init__(self, env_config: Any):
        creator = env_config.get("htm_creator") if hasattr(env_config, "get") else None
        if not isinstance(creator, HTMEnvCreator):
            raise TypeError("env_config['htm_creator'] must be an HTMEnvCreator, got "
                            f"{type(creator).__name__}: build the config with htm_ppo_config or "
                            "config.environment(HTMRLlibEnv, env_config={'htm_creator': HTMEnvCreator(...)})")
        super().__init__(creator(env_config))


def _flatten_connector(env: Any = None, spaces: Any = None, device: Any = None):
    """RLlib's ``FlattenObservations``: the HTM's Dict observation as one float vector for the default model."""
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations()


def htm_copies(vector_env: Any) -> list[Any]:
    """The outermost htmagent wrapper of each copy of an env runner's (synchronous) vector env.

    Raises:
        ValueError: the vector env is not synchronous (its copies live in other processes) or a copy has no
            htmagent wrapper.
    """
    from htmagent.envs.wrappers import htm_wrapper_chain

    base = getattr(vector_env, "unwrapped", vector_env)
    copies = getattr(base, "envs", None)
    if copies is None:
        raise ValueError(f"the env runner's vector env is {type(base).__name__}, whose copies live in other processes:"
                         " use config.env_runners(gym_env_vectorize_mode='SYNC') (RLlib's default) to reach the HTMs")
    found = []
    for i, env in enumerate(copies):
        chain = htm_wrapper_chain(env)
        if not chain:
            raise ValueError(f"copy {i} of the env runner has no HTMObservation or HTMCuriosity")
        found.append(chain[0])
    return found


def _inner_observation(wrapper: Any) -> Any:
    from htmagent.envs.curiosity import _find_htm_observation

    return _find_htm_observation(wrapper)


def _callback_base() -> type:
    from ray.rllib.callbacks.callbacks import RLlibCallback

    return RLlibCallback


class _LazyCallback(type):
    """Subclass RLlib's callback class on first use, so that importing this module does not import Ray."""

    _built: type | None = None

    def __call__(cls, *args: Any, **kwargs: Any):
        if cls._built is None:
            methods = {k: v for k, v in vars(_HTMCallbackMethods).items() if k not in ("__dict__", "__weakref__")}
            cls._built = type("HTMCallback", (_callback_base(),), methods)
        return cls._built(*args, **kwargs)


class _HTMCallbackMethods:
    def on_episode_step(self, *, episode: Any, env: Any = None, env_index: int = 0, **kwargs: Any) -> None:
        data = episode.custom_data
        if env is not None:
            try:
                inner = _inner_observation(htm_copies(env)[env_index])
            except (ValueError, IndexError):
                inner = None
            if inner is not None:
                data["htm_anomaly"] = data.get("htm_anomaly", 0.0) + float(inner.htm.anomaly)
                data["htm_steps"] = data.get("htm_steps", 0) + 1
        info = episode.get_infos(-1)
        if isinstance(info, dict) and "intrinsic_reward" in info:
            data["htm_extrinsic"] = data.get("htm_extrinsic", 0.0) + float(info.get("extrinsic_reward", 0.0))
            data["htm_intrinsic"] = data.get("htm_intrinsic", 0.0) + float(info["intrinsic_reward"])

    def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
        if metrics_logger is None:
            return
        data = episode.custom_data
        if data.get("htm_steps"):
            metrics_logger.log_value("htm/ep_anomaly", data["htm_anomaly"] / data["htm_steps"], reduce="mean")
        if "htm_intrinsic" in data:
            metrics_logger.log_value("htm/ep_extrinsic_return", data["htm_extrinsic"], reduce="mean")
            metrics_logger.log_value("htm/ep_intrinsic_return", data["htm_intrinsic"], reduce="mean")

    def on_sample_end(self, *, env_runner: Any = None, metrics_logger: Any = None, **kwargs: Any) -> None:
        if metrics_logger is None or env_runner is None or getattr(env_runner, "env", None) is None:
            return
        try:
            streams = [_inner_observation(c) for c in htm_copies(env_runner.env)]
        except ValueError:
            return
        streams = [s for s in streams if s is not None]
        if streams:
            metrics_logger.log_value("htm/segments", float(np.mean([s.htm.tm.num_segments() for s in streams])),
                                     reduce="mean", window=1)
            metrics_logger.log_value("htm/synapses", float(np.mean([s.htm.tm.num_synapses() for s in streams])),
                                     reduce="mean", window=1)


class HTMCallback(metaclass=_LazyCallback):
    """RLlib callback recording what the HTM adds (RLlib's counterpart of :class:`htmagent.sb3.HTMLogger`).

    Per finished episode (means over the episodes of each iteration), under ``result["env_runners"]``:

    - ``htm/ep_anomaly``: the mean anomaly over the episode;
    - ``htm/ep_extrinsic_return`` and ``htm/ep_intrinsic_return``: the env's own return and the sum of the bonus
      (before ``beta``) when an :class:`~htmagent.envs.HTMCuriosity` wraps the copies; RLlib's
      ``episode_return_mean`` then holds extrinsic + ``beta`` x intrinsic.

    After each runner's sample: ``htm/segments`` and ``htm/synapses``, the mean memory size over its copies.

    An RLlib ``RLlibCallback`` (built on first use, so that importing htmagent does not import Ray):
    ``config.callbacks(HTMCallback)``.
    """


def htm_ppo_config(env: str | Callable[[], gym.Env] = "CartPole-v1", *, num_env_runners: int = 2,
                   num_envs_per_env_runner: int = 1, seed: int | None = 0, htm_kwargs: dict | None = None,
                   curiosity: dict | None = None, env_kwargs: dict | None = None, same_htm_seed: bool = True,
                   wrapper: Callable[[gym.Env], gym.Env] | None = None):
    """An RLlib ``PPOConfig`` whose env runners observe ``env`` through the HTM (see :class:`HTMEnvCreator`).

    The config has the env creator, RLlib's ``FlattenObservations`` connector, :class:`HTMCallback` and the seed
    (``debugging(seed=...)``). Change anything else on it as on any ``PPOConfig`` (``.training(lr=...)``,
    ``.resources(...)``) and build it with ``.build_algo()``.

    Args:
        env: a Gymnasium id or a picklable factory.
        num_env_runners: Ray actors that step the env (0: the driver steps it).
        num_envs_per_env_runner: env copies per runner (each with its own HTM).
        seed: the seed of RLlib (policy, env resets) and of the HTMs.
        htm_kwargs, curiosity, env_kwargs, same_htm_seed, wrapper: as in :class:`HTMEnvCreator`.

    Returns:
        ``ray.rllib.algorithms.ppo.PPOConfig``.
    """
    from ray.rllib.algorithms.ppo import PPOConfig

    check_int(num_env_runners, "num_env_runners", 0)
    check_int(num_envs_per_env_runner, "num_envs_per_env_runner", 1)
    creator = HTMEnvCreator(env, htm_kwargs, curiosity, env_kwargs, seed, same_htm_seed, wrapper)
    config = (PPOConfig()
              .environment(env=HTMRLlibEnv, env_config={"htm_creator": creator})
              .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=num_envs_per_env_runner,
                           env_to_module_connector=_flatten_connector)
              .callbacks(HTMCallback))
    if seed is not None:
        config = config.debugging(seed=seed)
    return config


def _runner_states(runner: Any) -> tuple[int, list[dict]]:
    if getattr(runner, "env", None) is None:
        return int(runner.worker_index), []
    return int(runner.worker_index), [c.htm_wrapper_states() for c in htm_copies(runner.env)]


def _runner_copy_count(runner: Any) -> tuple[int, int]:
    return int(runner.worker_index), 0 if getattr(runner, "env", None) is None else len(htm_copies(runner.env))


def htm_runner_states(algo: Any) -> dict[str, list[dict]]:
    """Every env runner's HTM wrapper states: ``{str(worker_index): [copy 0's states, ...]}``.

    Runners without an env (the driver's own runner when there are remote ones) are left out.
    """
    group = algo.env_runner_group
    remote = group.num_remote_env_runners() > 0
    results = group.foreach_env_runner(_runner_states, local_env_runner=not remote)
    return {str(index): states for index, states in results if states}


def _load_runner(runner: Any, states: dict[str, list[dict]]) -> str | None:
    key = str(int(runner.worker_index))
    if getattr(runner, "env", None) is None:
        return None
    copies = htm_copies(runner.env)
    saved = states.get(key)
    if saved is None or len(saved) != len(copies):
        return (f"env runner {key} has {len(copies)} HTM copies and the file holds "
                f"{'none' if saved is None else len(saved)} for it")
    errors = [c.try_load_htm_wrapper_states(s) for c, s in zip(copies, saved)]
    return next((f"copy {i} of env runner {key}: {e}" for i, e in enumerate(errors) if e), None)


def load_htm_runner_states(algo: Any, states: dict[str, list[dict]]) -> None:
    """Restore :func:`htm_runner_states` output into ``algo``'s env runners (same runners and copies).

    Raises:
        StateError: the runners or their copies differ from the saved ones, or a state is malformed (the message
            says which runner and copy).
    """
    if not isinstance(states, dict) or not all(isinstance(v, list) for v in states.values()):
        raise StateError("'runners' must map each env runner's index to the list of its copies' states",
                         field="runners")
    group = algo.env_runner_group
    remote = group.num_remote_env_runners() > 0
    have = sorted(str(i) for i, n in group.foreach_env_runner(_runner_copy_count, local_env_runner=not remote) if n)
    if have != sorted(states):
        raise StateError(f"the algorithm's env runners with HTMs are {have}, the saved ones {sorted(states)}",
                         field="runners")
    problems = [p for p in group.foreach_env_runner(lambda r: _load_runner(r, states), local_env_runner=not remote)
                if p]
    if problems:
        raise StateError("; ".join(problems), field="runners")


def save_htm_algorithm(algo: Any, path: str | os.PathLike) -> str:
    """Save an RLlib algorithm (``algo.save_to_path``) and the HTMs of its env runners beside it.

    Returns:
        The checkpoint folder; it holds RLlib's checkpoint and :data:`HTM_STATES_FILE`.
    """
    path = os.path.abspath(os.fspath(path))
    states = htm_runner_states(algo)
    if not states:
        raise ValueError("the algorithm's env runners hold no HTMObservation or HTMCuriosity: use algo.save_to_path")
    algo.save_to_path(path)
    runners = {key: {str(i): copy for i, copy in enumerate(copies)} for key, copies in states.items()}
    save_state(os.path.join(path, HTM_STATES_FILE), {"format": _FORMAT, "runners": runners})
    return path


def load_htm_algorithm(path: str | os.PathLike):
    """Restore an algorithm written by :func:`save_htm_algorithm`, with the HTMs of its env runners.

    The HTM file is read and checked before RLlib builds the algorithm; if its states do not fit the rebuilt
    runners, the algorithm is stopped and :class:`~htmagent.serialization.StateError` names the file.
    """
    from ray.rllib.algorithms.algorithm import Algorithm

    from htmagent._state import check_format, get, naming_file

    path = os.path.abspath(os.fspath(path))
    htm_path = os.path.join(path, HTM_STATES_FILE)
    with naming_file(htm_path):
        state = load_state(htm_path)
        check_format(state, _FORMAT)
        saved = get(state, "runners")
        if not isinstance(saved, dict) or not all(isinstance(v, dict) and sorted(v) == sorted(map(str, range(len(v))))
                                                  for v in saved.values()):
            raise StateError("'runners' must map each env runner to its copies '0', '1', ...", field="runners")
    runners = {key: [copies[str(i)] for i in range(len(copies))] for key, copies in saved.items()}
    algo = Algorithm.from_checkpoint(path)
    try:
        with naming_file(htm_path):
            load_htm_runner_states(algo, runners)
    except StateError:
        algo.stop()
        raise
    return algo


# ----------------------------------------------------------------------------------------------- command line
@dataclasses.dataclass
class RLlibArgs(ExperimentArgs):
    """PPO on RLlib with the HTM wrapper in every env runner (locally, or on a Ray cluster with --address)."""

    env: str = "CartPole-v1"
    """the Gymnasium id to wrap"""
    iterations: int = 10
    """training iterations (each samples --batch steps)"""
    env_runners: int = 2
    """Ray actors stepping the env, each with its own HTM copies"""
    envs_per_runner: int = 1
    """env copies per runner"""
    batch: int = 2000
    """env steps per iteration (train_batch_size_per_learner)"""
    column_count: int = 512
    """minicolumns of each copy's HTM"""
    curiosity: float = 0.0
    """beta of an HTMCuriosity bonus (0: none)"""
    address: str = ""
    """a Ray cluster (auto, ray://HEAD:10001); empty: a local Ray on this machine's cores"""
    save: str = ""
    """a folder for the checkpoint with the runners' HTMs (save_htm_algorithm)"""
    htm: bool = True
    """--no-htm: the same PPO on the raw env, the baseline"""

    counts = ("iterations", "envs_per_runner", "batch", "column_count")
    non_negative = ("env_runners",)

    def validate(self) -> None:
        if not (self.curiosity >= 0 and np.isfinite(self.curiosity)):
            raise ValueError(f"curiosity must be a finite number >= 0, got {self.curiosity}")
        if not self.htm and (self.curiosity or self.save):
            raise ValueError("--no-htm runs PPO without the HTM: it takes no --curiosity and no --save")
        if self.quick:
            self.iterations, self.batch, self.column_count = min(self.iterations, 2), min(self.batch, 256), 128


def run(args: RLlibArgs) -> int:
    """Train, print one row per iteration, optionally save; returns the exit code."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(**(dict(address=args.address, log_to_driver=False) if args.address else
                    dict(num_cpus=max(1, args.env_runners + 1), include_dashboard=False, log_to_driver=False)))
    try:
        if args.htm:
            config = htm_ppo_config(args.env, num_env_runners=args.env_runners,
                                    num_envs_per_env_runner=args.envs_per_runner, seed=args.seed,
                                    htm_kwargs=dict(column_count=args.column_count),
                                    curiosity=dict(beta=args.curiosity) if args.curiosity > 0 else None)
        else:
            from ray.rllib.algorithms.ppo import PPOConfig

            config = (PPOConfig().environment(args.env).debugging(seed=args.seed)
                      .env_runners(num_env_runners=args.env_runners, num_envs_per_env_runner=args.envs_per_runner))
        minibatch = max(32, args.batch // 4)
        config = config.training(train_batch_size_per_learner=args.batch, minibatch_size=minibatch,
                                 num_epochs=4 if args.quick else 10)
        algo = config.build_algo()
        print(f"{'iter':>4} {'env steps':>9} {'return':>8} {'anomaly':>7} {'segments':>9} {'s':>6}"
              + (f" {'extrinsic':>9}" if args.curiosity else ""), flush=True)
        rows = []
        for i in range(args.iterations):
            start = time.perf_counter()
            result = algo.train()
            runners = result.get("env_runners", {})
            row = dict(iteration=i + 1, steps=int(runners.get("num_env_steps_sampled_lifetime", 0)),
                       ret=float(runners.get("episode_return_mean", float("nan"))),
                       anomaly=float(runners.get("htm/ep_anomaly", float("nan"))),
                       segments=float(runners.get("htm/segments", float("nan"))),
                       seconds=time.perf_counter() - start,
                       extrinsic=float(runners.get("htm/ep_extrinsic_return", float("nan"))))
            rows.append(row)
            htm = f"{row['anomaly']:>7.3f} {row['segments']:>9.0f}" if args.htm else f"{'-':>7} {'-':>9}"
            print(f"{row['iteration']:>4} {row['steps']:>9} {row['ret']:>8.1f} {htm} {row['seconds']:>6.1f}"
                  + (f" {row['extrinsic']:>9.1f}" if args.curiosity else ""), flush=True)
        seconds = sum(r["seconds"] for r in rows)
        print(f"{rows[-1]['steps']} env steps in {seconds:.1f} s of training: {rows[-1]['steps'] / seconds:,.0f} "
              "steps/s", flush=True)
        if args.save:
            print(f"saved to {save_htm_algorithm(algo, args.save)}")
        if args.json_out:
            from htmagent.experiments.report import write_json

            write_json(dict(args=dataclasses.asdict(args), rows=rows), args.json_out)
        algo.stop()
    finally:
        if started:
            ray.shutdown()
    return 0


def register(subparsers: Any) -> None:
    """Add ``htmagent rllib``."""
    add_experiment_parser(subparsers, "rllib", RLlibArgs, run)

