"""PPO on RLlib with an HTM learning inside each env runner, in one file.

Every env runner (a Ray actor) builds its own copies of the env, each wrapped in ``HTMObservation``, so the HTMs
learn where the env is stepped, on this machine's cores or on a cluster's. The policy reads the HTM's Dict
observation flattened (RLlib's ``FlattenObservations``). The checkpoint keeps the runners' HTMs beside the policy
(``save_htm_algorithm``); the restored algorithm's runners hold exactly the saved HTMs. Needs the ``rllib`` extra.

Example:
    python scripts/examples/rllib_htm.py --iterations 20
    python scripts/examples/rllib_htm.py --env MountainCar-v0 --curiosity 0.5 --iterations 30
    python scripts/examples/rllib_htm.py --address auto    # on a running Ray cluster (ray start --head ...)
"""

from __future__ import annotations

from dataclasses import dataclass

import ray

from htmagent.experiments.args import ExperimentArgs, parse_args
from htmagent.experiments.rllib import htm_ppo_config, htm_runner_states, load_htm_algorithm, save_htm_algorithm


@dataclass
class RLlibHTMArgs(ExperimentArgs):
    """PPO on RLlib with the HTM wrapper in every env runner (see the module docstring)."""

    env: str = "CartPole-v1"
    """a registered Gymnasium id"""
    iterations: int = 20
    """training iterations of 2,000 env steps (--quick: 2 of 256)"""
    env_runners: int = 2
    """Ray actors stepping the env"""
    curiosity: float = 0.0
    """beta of the HTM's curiosity bonus (0: none)"""
    address: str = ""
    """a Ray cluster's address (auto, ray://HEAD:10001); empty: a local Ray"""
    checkpoint: str = "htmagent_out/rllib_htm"
    """where the checkpoint (policy + the runners' HTMs) goes"""

    counts = ("iterations",)
    non_negative = ("env_runners",)

    def validate(self) -> None:
        if self.quick:  # the tests' form: 2 small iterations
            self.iterations = min(self.iterations, 2)


def main() -> None:
    args = parse_args(RLlibHTMArgs)
    ray.init(address=args.address or None, include_dashboard=False, log_to_driver=False)
    config = htm_ppo_config(args.env, num_env_runners=args.env_runners, seed=args.seed,
                            htm_kwargs=dict(column_count=128 if args.quick else 512, cells_per_column=8),
                            curiosity=dict(beta=args.curiosity, normalize=True) if args.curiosity else None)
    batch = 256 if args.quick else 2000
    algo = config.training(train_batch_size_per_learner=batch, minibatch_size=batch // 8, num_epochs=10).build_algo()
    for i in range(args.iterations):
        runners = algo.train()["env_runners"]
        extrinsic = runners.get("htm/ep_extrinsic_return", runners.get("episode_return_mean", float("nan")))
        print(f"iteration {i + 1:3d}: return {extrinsic:8.2f}  anomaly {runners.get('htm/ep_anomaly', 0):.3f}  "
              f"segments {runners.get('htm/segments', 0):8.0f}", flush=True)
    path = save_htm_algorithm(algo, args.checkpoint)
    saved = htm_runner_states(algo)
    algo.stop()
    restored = load_htm_algorithm(path)
    print(f"checkpoint {path}: restored {len(htm_runner_states(restored))} of {len(saved)} runners' HTMs")
    restored.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()
