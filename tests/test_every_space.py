"""Every Gymnasium observation space reaches an SB3 policy through HTMObservation: nested Dict/Tuple originals (and
text, MiniGrid's mission) are flattened into one float32 vector by default, and the library's own envs, Blackjack and
MiniGrid's raw Dict train under PPO out of the box."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import htmagent.envs  # noqa: F401  (registers the library's envs)
from htmagent.envs import HTMObservation, SpaceEncoder
from htmagent.envs.wrappers import flat_space, flatten_observation, needs_flattening

HTM = dict(column_count=128, cells_per_column=4)


def test_flattening_codes_each_kind_of_space():
    space = spaces.Dict({"pos": spaces.Box(-2.0, 2.0, (2,)), "kind": spaces.Discrete(3, start=1),
                         "bits": spaces.MultiBinary(2), "patch": spaces.Box(0, 255, (2, 2), np.uint8),
                         "pair": spaces.Tuple((spaces.Discrete(2), spaces.MultiDiscrete([2, 3]))),
                         "text": spaces.Text(40)})
    box = flat_space(space)
    assert box.dtype == np.float32 and box.shape == (2 + 3 + 2 + 4 + 2 + 5 + 32,)
    obs = {"pos": np.array([0.5, -1.0], np.float32), "kind": 2, "bits": np.array([1, 0], np.int8),
           "patch": np.array([[0, 255], [51, 102]], np.uint8), "pair": (1, np.array([0, 2])), "text": "go go left"}
    flat = flatten_observation(space, obs)
    assert flat.dtype == np.float32 and box.contains(flat)
    # gymnasium orders a Dict's keys: bits, kind (start 1), pair, patch (/255), pos, text
    np.testing.assert_allclose(flat[:18], [1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0.2, 0.4, 0.5, -1])
    words = flat[18:]
    assert words.sum() == 3 and words.max() == 2  # "go" twice, "left" once
    assert needs_flattening(space) and needs_flattening(spaces.Tuple((spaces.Discrete(2),)))
    assert not needs_flattening(spaces.Box(0, 1, (3, 4))) and not needs_flattening(spaces.Discrete(4))


def test_text_is_a_bag_of_words_code():
    enc = SpaceEncoder(spaces.Text(60), size_per_dim=256, active_bits=8, seed=1)
    code = {t: set(enc.encode(t).sparse.tolist()) for t in ("open the red door", "open the blue door", "red")}
    a, b = code["open the red door"], code["open the blue door"]
    words = [set(enc.encode(w).sparse.tolist()) for w in ("open", "the", "red", "door")]
    assert all(len(w) == 8 for w in words) and a == set().union(*words)  # the union of its words' codes
    assert set(enc.encode("open the door").sparse.tolist()) <= a & b  # shared words, shared bits
    assert code["red"] <= a and not code["red"] <= b
    assert set(enc.encode("Open, the red DOOR!").sparse) == a
    assert enc.encode("").sparse.size == 0
    with pytest.raises(TypeError, match="str"):
        enc.encode(3)
    again = SpaceEncoder(spaces.Text(60), size_per_dim=256, active_bits=8, seed=1)
    assert set(again.encode("open the red door").sparse) == a  # the codes are a function of the seed


def test_nested_originals_are_flattened_unless_asked_not_to():
    env = HTMObservation(gym.make("Blackjack-v1"), seed=0, **HTM)
    assert env.observation_space["original"] == flat_space(gym.make("Blackjack-v1").observation_space)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs) and obs["original"].sum() == 3  # three one-hot parts
    kept = HTMObservation(gym.make("Blackjack-v1"), seed=0, flatten_original=False, **HTM)
    assert isinstance(kept.observation_space["original"], spaces.Tuple)
    # The HTM sees the observation itself either way: same codes.
    assert np.array_equal(kept.reset(seed=0)[0]["sdr"], obs["sdr"])
    plain = HTMObservation(gym.make("CartPole-v1"), seed=0, **HTM)  # a Box stays as it is
    assert plain.observation_space["original"] == gym.make("CartPole-v1").observation_space
    with pytest.raises(TypeError, match="flatten_original"):
        HTMObservation(gym.make("CartPole-v1"), flatten_original="yes")


ENVS = ["Blackjack-v1", "htmagent/ObjectTouch-v0", "htmagent/ObjectSaccade-v0", "MiniGrid-DoorKey-5x5-v0"]


@pytest.mark.parametrize("env_id", ENVS)
def test_ppo_trains_on_the_wrapped_env(env_id):
    pytest.importorskip("stable_baselines3")
    if env_id.startswith("MiniGrid"):
        pytest.importorskip("minigrid")
    from htmagent.sb3 import make_htm_ppo

    model = make_htm_ppo(env_id, seed=0, htm_kwargs=HTM, ppo_kwargs=dict(n_steps=64, batch_size=32, n_epochs=1))
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(128)
    assert model.num_timesteps >= 128
    assert any(not np.array_equal(b.numpy(), p.detach().numpy()) for b, p in zip(before, model.policy.parameters()))
    obs = model.get_env().reset()
    assert obs["original"].dtype == np.float32 and obs["original"].ndim == 2  # (n_envs, flat size)
