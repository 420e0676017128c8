"""PPO on HTM observations in one file, CleanRL style: the whole training loop in plain PyTorch, no SB3.

Each env copy is wrapped in ``HTMObservation``. The agent reads the active minicolumns, the predicted ones, the
anomaly and the env's own observation, flattened. The HTM learns online inside the wrapper. The policy and the
value function are MLPs trained by the clipped PPO loss with GAE. Discrete action spaces only. Needs the ``rl``
extra (PyTorch).

Example:
    python scripts/examples/ppo_htm.py --env-id CartPole-v1 --total-timesteps 50000
    python scripts/examples/ppo_htm.py --env-id Blackjack-v1 --total-timesteps 20000 --num-envs 8
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import htmagent.envs  # noqa: F401  (registers htmagent/ObjectTouch-v0 and htmagent/ObjectSaccade-v0)
from htmagent.envs import HTMObservation
from htmagent.experiments.args import ExperimentArgs, parse_args


@dataclass
class PPOHTMArgs(ExperimentArgs):
    """PPO on HTM observations in one file, CleanRL style (see the module docstring)."""

    env_id: str = "CartPole-v1"
    """a registered Gymnasium id with a Discrete action space"""
    total_timesteps: int = 50_000
    """env steps in all"""
    num_envs: int = 4
    """env copies, each with its own HTM"""
    num_steps: int = 128
    """steps per env per rollout"""
    lr: float = 2.5e-4
    """Adam's learning rate (decays linearly to 0)"""
    gamma: float = 0.99
    """discount"""
    gae_lambda: float = 0.95
    """GAE's lambda"""
    update_epochs: int = 4
    """passes over each rollout"""
    minibatches: int = 4
    """minibatches per pass"""
    clip: float = 0.2
    """PPO's clip range"""
    ent_coef: float = 0.01
    """entropy bonus"""
    columns: int = 256
    """HTM minicolumns"""
    torch_threads: int = 1
    """torch.set_num_threads (more threads than cores slows it several times over)"""

    counts = ("total_timesteps", "num_envs", "num_steps", "update_epochs", "minibatches", "columns", "torch_threads")

    def validate(self) -> None:
        if self.quick:
            self.total_timesteps, self.num_envs, self.num_steps = 256, 2, 64


def make_env(env_id: str, seed: int, columns: int):
    def thunk() -> gym.Env:
        env = gym.wrappers.RecordEpisodeStatistics(gym.make(env_id))  # below the HTM: the env's own returns
        return HTMObservation(env, column_count=columns, cells_per_column=4, seed=seed)
    return thunk


def features(obs: dict) -> np.ndarray:
    """One row per env: sdr bits, predicted bits, anomaly, the flat original observation."""
    return np.concatenate([obs["sdr"], obs["predicted"], obs["anomaly"],
                           np.asarray(obs["original"], dtype=np.float32).reshape(len(obs["sdr"]), -1)],
                          axis=1).astype(np.float32)


class Agent(nn.Module):
    def __init__(self, inputs: int, actions: int):
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(inputs, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
        self.actor = nn.Sequential(nn.Linear(inputs, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                                   nn.Linear(64, actions))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)

    def act(self, x: torch.Tensor, action: torch.Tensor | None = None):
        dist = torch.distributions.Categorical(logits=self.actor(x))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(x)


def main(args: PPOHTMArgs) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.torch_threads)
    envs = gym.vector.SyncVectorEnv([make_env(args.env_id, args.seed, args.columns) for _ in range(args.num_envs)])
    if not isinstance(envs.single_action_space, gym.spaces.Discrete):
        raise SystemExit(f"this example takes Discrete actions, {args.env_id} has {envs.single_action_space}")
    obs, _ = envs.reset(seed=args.seed)
    x = torch.from_numpy(features(obs))
    agent = Agent(x.shape[1], int(envs.single_action_space.n))
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5)
    n, steps = args.num_envs, args.num_steps
    batch = n * steps
    buf_x = torch.zeros((steps, n, x.shape[1]))
    buf_a, buf_logp, buf_r, buf_done, buf_v = (torch.zeros((steps, n)) for _ in range(5))
    done = torch.zeros(n)
    returns_seen: list[float] = []
    start, global_step = time.time(), 0
    for update in range(1, args.total_timesteps // batch + 1):
        for param in optimizer.param_groups:  # linear learning-rate decay
            param["lr"] = args.lr * (1.0 - (update - 1) / max(1, args.total_timesteps // batch))
        for t in range(steps):
            global_step += n
            buf_x[t], buf_done[t] = x, done
            with torch.no_grad():
                action, logp, _, value = agent.act(x)
            buf_a[t], buf_logp[t], buf_v[t] = action, logp, value
            obs, reward, terminated, truncated, info = envs.step(action.numpy())
            buf_r[t] = torch.as_tensor(reward, dtype=torch.float32)
            x, done = torch.from_numpy(features(obs)), torch.as_tensor(terminated | truncated, dtype=torch.float32)
            if "episode" in info:
                returns_seen += [float(r) for r, ended in zip(info["episode"]["r"], info["_episode"]) if ended]
        with torch.no_grad():  # generalised advantage estimation
            advantages = torch.zeros_like(buf_r)
            last, next_value = torch.zeros(n), agent.value(x)
            for t in reversed(range(steps)):
                not_done = 1.0 - (done if t == steps - 1 else buf_done[t + 1])
                following = next_value if t == steps - 1 else buf_v[t + 1]
                delta = buf_r[t] + args.gamma * following * not_done - buf_v[t]
                last = delta + args.gamma * args.gae_lambda * not_done * last
                advantages[t] = last
            targets = advantages + buf_v
        bx, ba, blogp = buf_x.reshape(batch, -1), buf_a.reshape(batch), buf_logp.reshape(batch)
        badv, btarget = advantages.reshape(batch), targets.reshape(batch)
        size = batch // args.minibatches
        for _ in range(args.update_epochs):
            order = torch.randperm(batch)
            for i in range(0, batch, size):
                mb = order[i:i + size]
                _, logp, entropy, value = agent.act(bx[mb], ba[mb].long())
                ratio = (logp - blogp[mb]).exp()
                adv = (badv[mb] - badv[mb].mean()) / (badv[mb].std() + 1e-8)
                policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip, 1 + args.clip)).mean()
                loss = policy_loss + 0.5 * ((value - btarget[mb]) ** 2).mean() - args.ent_coef * entropy.mean()
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
        recent = np.mean(returns_seen[-20:]) if returns_seen else float("nan")
        if not args.progress:
            continue
        print(f"step {global_step:>7}  episodes {len(returns_seen):>4}  mean return (last 20) {recent:8.2f}  "
              f"{global_step / (time.time() - start):6.0f} steps/s", flush=True)
    envs.close()
    final = np.mean(returns_seen[-20:]) if returns_seen else float("nan")
    print(f"{args.env_id}: {global_step} steps, {len(returns_seen)} episodes, mean return of the last 20 {final:.2f}")


if __name__ == "__main__":
    main(parse_args(PPOHTMArgs))
