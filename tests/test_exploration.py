"""The curiosity baselines (RND, ICM, E3B and a raw-state count) behave as their papers say: the bonus falls on
what was seen, stays high on what was not, E3B's resets each episode; seeded runs repeat exactly."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

torch = pytest.importorskip("torch")

from htmagent.deep.exploration import E3BBonus, ICMBonus, RNDBonus  # noqa: E402
from htmagent.envs.curiosity import RawCountBonus  # noqa: E402


class Chain(gym.Env):
    """Positions 0..9 on a line; action 1 moves right, 0 left; the observation is (position / 9, 1 - position / 9)."""

    observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = 0
        return self._obs(), {}

    def _obs(self):
        return np.array([self.pos / 9, 1 - self.pos / 9], np.float32)

    def step(self, action):
        self.pos = int(np.clip(self.pos + (1 if action else -1), 0, 9))
        return self._obs(), 0.0, False, False, {}


def _bonuses(env, actions):
    env.reset(seed=0)
    return [env.step(a)[4]["intrinsic_reward"] for a in actions]


def test_rnd_forgets_nothing_it_has_not_seen():
    env = RNDBonus(Chain(), beta=1.0, update_every=8, seed=0)
    familiar = _bonuses(env, [1, 0] * 300)  # shuttles between positions 0 and 1
    assert np.mean(familiar[-50:]) < 0.2 * np.mean(familiar[:50])
    env.step(1)
    novel = env.step(1)[4]["intrinsic_reward"]  # position 2, seen little
    for _ in range(6):
        far = env.step(1)[4]["intrinsic_reward"]  # position 8, never seen
    assert far > 5 * np.mean(familiar[-50:]) and novel > np.mean(familiar[-50:])


def test_icm_learns_the_dynamics_it_is_shown():
    env = ICMBonus(Chain(), beta=1.0, update_every=8, seed=0)
    rng = np.random.default_rng(0)
    bonus = _bonuses(env, rng.integers(0, 2, 1500).tolist())
    # the feature space moves as the inverse model trains, so compare typical (median) errors
    assert np.median(bonus[-200:]) < 0.5 * np.median(bonus[:200])


def test_e3b_pays_for_new_directions_within_an_episode_and_resets():
    env = E3BBonus(Chain(), beta=1.0, seed=0)
    first = _bonuses(env, [1, 0] * 20)
    assert np.mean(first[-10:]) < 0.2 * first[0]  # the same two states again and again
    again = _bonuses(env, [1])[0]  # a new episode: its covariance starts over
    assert again > 5 * np.mean(first[-10:])


def test_raw_count_is_one_over_the_root_of_visits():
    env = RawCountBonus(Chain(), beta=0.5, num_buckets=9)
    bonus = _bonuses(env, [1, 0] * 4)  # positions 1, 0, 1, 0, ...
    np.testing.assert_allclose(bonus, [1 / np.sqrt(n) for n in (1, 1, 2, 2, 3, 3, 4, 4)])
    env.reset(seed=0)
    _, reward, _, _, info = env.step(1)
    assert reward == pytest.approx(0.5 / np.sqrt(5)) and info["extrinsic_reward"] == 0.0


@pytest.mark.parametrize("cls", [RNDBonus, ICMBonus, E3BBonus])
def test_seeded_runs_repeat_and_normalisation_applies(cls):
    actions = np.random.default_rng(1).integers(0, 2, 200).tolist()
    a = _bonuses(cls(Chain(), seed=3, update_every=16), actions)
    b = _bonuses(cls(Chain(), seed=3, update_every=16), actions)
    c = _bonuses(cls(Chain(), seed=4, update_every=16), actions)
    assert a == b and a != c
    env = cls(Chain(), beta=2.0, normalize=True, seed=3, update_every=16)
    env.reset(seed=0)
    for action in actions[:50]:
        _, reward, _, _, info = env.step(action)
    assert reward == pytest.approx(2.0 * info["intrinsic_reward_normalized"])
    assert info["intrinsic_reward_normalized"] != info["intrinsic_reward"]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="beta"):
        RNDBonus(Chain(), beta=-1.0)
    with pytest.raises(ValueError, match="ridge"):
        E3BBonus(Chain(), ridge=0.0)
    with pytest.raises(TypeError, match="action space"):
        ICMBonus(_MultiBinaryActions())
    with pytest.raises(ValueError, match="num_buckets"):
        RawCountBonus(Chain(), num_buckets=0)
    with pytest.raises(ValueError, match="intrinsic_gamma"):
        RawCountBonus(Chain(), normalize=True, intrinsic_gamma=1.5)
    with pytest.raises(RuntimeError, match="reset"):
        RNDBonus(Chain()).step(0)


class _MultiBinaryActions(Chain):
    action_space = spaces.MultiBinary(2)
