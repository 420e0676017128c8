"""``htmagent agent``: learn one sensorimotor environment's object library with HTMAgent, then evaluate it."""

from __future__ import annotations

import sys
import time
from typing import Any

import gymnasium as gym

from htmagent.agent.htm_agent import _DECLARE, _POLICIES, HTMAgent
from htmagent.experiments.args import int_at_least

__all__ = ["register"]


# ------------------------------------------------------------------------------------------------- command line
_ENV_IDS = {"touch": "htmagent/ObjectTouch-v0", "saccade": "htmagent/ObjectSaccade-v0"}


def register(subparsers: Any) -> None:
    """Add the ``agent`` subcommand to the ``htmagent`` command line: learn one environment's library, evaluate."""
    parser = subparsers.add_parser("agent", help="learn ObjectTouch-v0 / ObjectSaccade-v0 with HTMAgent, evaluate it",
                                   description="Learn an environment's object library with HTMAgent (learning "
                                               "episodes), then evaluate it; scripts/evaluate_agent.py runs the full "
                                               "table.")
    parser.add_argument("--env", choices=sorted(_ENV_IDS), default="touch", help="environment (default: touch)")
    parser.add_argument("--sensors", type=int_at_least(1, 8), default=1,
                        help="sensors = network columns, 1-8 (default: 1)")
    parser.add_argument("--policy", choices=_POLICIES, default="random", help="motor policy (default: random)")
    parser.add_argument("--declare", choices=_DECLARE, default="all",
                        help="columns that must recognize the object before declaring (default: all)")
    parser.add_argument("--episodes", type=int_at_least(1), default=100, help="evaluation episodes (default: 100)")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the agent and the episodes (default: 0)")
    parser.add_argument("--save", default="", help="write the learned agent to this .npz file")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.set_defaults(func=_run_cli)


def _run_cli(args: Any) -> int:
    import htmagent.envs  # noqa: F401  (registers the ids)

    try:
        env = gym.make(_ENV_IDS[args.env], num_sensors=args.sensors)
        agent = HTMAgent.for_env(env, policy=args.policy, declare=args.declare, seed=args.seed)
    except (TypeError, ValueError) as error:
        print(f"htmagent agent: error: {error}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    agent.learn(env, seed=args.seed)
    learn_s = time.perf_counter() - start
    result = agent.evaluate(env, args.episodes, seed=args.seed + 1, show_progress=args.progress)
    print(f"{agent!r} learned in {learn_s:.1f} s")
    print(f"accuracy {100 * result.accuracy:.1f}%  mean steps {result.mean_steps:.2f}  "
          f"mean reward {result.mean_reward:+.3f}  recognized by the network {100 * result.recognized:.0f}%  "
          f"{result.episodes_per_second:.0f} episodes/s ({result.episodes} episodes)")
    if args.save:
        agent.save(args.save)
        print(f"agent saved to {args.save}")
    return 0
