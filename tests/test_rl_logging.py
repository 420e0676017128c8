"""What an RL engineer logs and tunes: HTMLogger's extrinsic/intrinsic episode returns, anomaly and memory size in
SB3's logger, and RND-style normalisation of the intrinsic reward."""

from __future__ import annotations

import csv
import functools

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402

from htmagent.envs import HTMCuriosity, HTMObservation  # noqa: E402
from htmagent.sb3 import HTMLogger, make_htm_model  # noqa: E402

HTM = dict(column_count=128, cells_per_column=4)


def _logged(model, tmp_path, steps=256):
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(steps, callback=HTMLogger())
    with open(tmp_path / "progress.csv") as handle:
        return list(csv.DictReader(handle))


def test_the_logger_separates_extrinsic_from_intrinsic_returns(tmp_path):
    # Monitor below the bonus (make_htm_model's order): its returns are extrinsic, and so is htm/ep_extrinsic_return.
    model = make_htm_model("PPO", "CartPole-v1", seed=0, htm_kwargs=HTM, model_kwargs=dict(n_steps=256, n_epochs=1),
                           wrapper=functools.partial(HTMCuriosity, beta=1.0, source="count"))
    row = _logged(model, tmp_path)[0]
    episodes = [e["r"] for e in model.ep_info_buffer]  # every episode of the one rollout
    assert float(row["htm/ep_extrinsic_return"]) == pytest.approx(np.mean(episodes))
    assert float(row["htm/ep_intrinsic_return"]) > 0
    assert 0 < float(row["htm/ep_anomaly"]) <= 1
    assert float(row["htm/segments"]) > 0 and float(row["htm/synapses"]) > float(row["htm/segments"])


def test_with_monitor_outside_the_bonus_only_the_logger_gives_the_extrinsic_return(tmp_path):
    env = Monitor(HTMCuriosity(HTMObservation(gym.make("CartPole-v1"), seed=0, **HTM), beta=1.0, source="count"))
    model = PPO("MultiInputPolicy", env, n_steps=256, n_epochs=1, seed=0)
    row = _logged(model, tmp_path)[0]
    lengths = [e["l"] for e in model.ep_info_buffer]
    returns = [e["r"] for e in model.ep_info_buffer]
    # CartPole pays 1 per step: the extrinsic return is the episode length; Monitor's return has the bonus in it.
    assert float(row["htm/ep_extrinsic_return"]) == pytest.approx(np.mean(lengths))
    assert np.mean(returns) > np.mean(lengths)


def test_the_intrinsic_reward_is_divided_by_the_running_std_of_its_discounted_sum(tmp_path):
    env = HTMCuriosity(gym.make("CartPole-v1"), beta=0.5, source="anomaly", normalize=True, intrinsic_gamma=0.9,
                       seed=0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    raw, normed, rewards = [], [], []
    for _ in range(300):
        _, reward, terminated, truncated, info = env.step(int(rng.integers(2)))
        raw.append(info["intrinsic_reward"])
        normed.append(info["intrinsic_reward_normalized"])
        rewards.append(reward - info["extrinsic_reward"])
        if terminated or truncated:
            env.reset()
    # the twin: discounted sum (never reset), its population std so far, the bonus over it
    ret, sums, expected = 0.0, [], []
    for r in raw:
        ret = 0.9 * ret + r
        sums.append(ret)
        std = np.std(sums) if len(sums) > 1 else 0.0
        expected.append(r / std if std > 1e-8 else r)
    np.testing.assert_allclose(normed, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rewards, 0.5 * np.asarray(normed), rtol=1e-9, atol=1e-12)
    # the statistics are saved: a loaded wrapper goes on normalising alike
    env.save(tmp_path / "curiosity.npz")
    copy = HTMCuriosity(gym.make("CartPole-v1"), beta=0.5, source="anomaly", normalize=True, intrinsic_gamma=0.9,
                        seed=0)
    copy.load(tmp_path / "curiosity.npz")
    np.testing.assert_array_equal(copy.state_dict()["normalizer"], env.state_dict()["normalizer"])
    with pytest.raises(ValueError, match="intrinsic_gamma"):
        HTMCuriosity(gym.make("CartPole-v1"), normalize=True, intrinsic_gamma=1.0)
