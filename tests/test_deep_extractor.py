"""DeepHTMExtractor: a DeepHTM inside an SB3 policy, trained by PPO's loss through autograd or predictive coding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
import gymnasium as gym  # noqa: E402
from gymnasium import spaces  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack  # noqa: E402

from htmagent.sb3 import DeepHTMExtractor  # noqa: E402

BOX = spaces.Box(-np.inf, np.inf, (8,), np.float32)


def _ppo(trainer: str, seed: int = 1) -> PPO:
    env = VecFrameStack(DummyVecEnv([lambda: gym.make("CartPole-v1")]), 2)
    return PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=2, seed=seed, device="cpu",
               policy_kwargs=dict(features_extractor_class=DeepHTMExtractor,
                                  features_extractor_kwargs=dict(frames=2, columns=32, k=4, hidden=32,
                                                                 trainer=trainer)))


def test_ppo_trains_the_extractor_and_predictive_coding_matches_autograd():
    runs = {}
    for trainer in ("backprop", "pc"):
        model = _ppo(trainer)
        before = [p.detach().clone() for p in model.policy.features_extractor.parameters()]
        model.learn(256)
        after = [p.detach().clone() for p in model.policy.features_extractor.parameters()]
        assert any(not torch.equal(a, b) for a, b in zip(before, after)), trainer  # the policy loss trained it
        runs[trainer] = [p.detach().clone() for p in model.policy.parameters()]
    for a, b in zip(runs["backprop"], runs["pc"]):
        assert torch.allclose(a, b, atol=1e-5)


def test_codes_are_exactly_k_columns_with_one_cell_each_and_carry_the_older_frame():
    extractor = DeepHTMExtractor(BOX, frames=2, columns=32, k=4, cells_per_column=4).eval()  # duty cycles fixed
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(32, 8, generator=g)
    columns, cells = extractor.codes(obs)
    assert ((columns > 0).sum(1) == 4).all()
    per_column = (cells != 0).reshape(32, 32, 4).sum(-1)
    assert torch.equal(per_column, (columns > 0).long())
    other = obs.clone()
    other[:, :4] = torch.randn(32, 4, generator=g)  # the same newest frame after another older one
    assert not torch.equal(extractor.codes(other)[1], cells)
    assert torch.equal(extractor.codes(other)[0], columns)
    assert extractor(obs).shape == (32, extractor.features_dim)


def test_a_saved_ppo_with_the_pc_extractor_acts_the_same_after_loading(tmp_path):
    model = _ppo("pc")
    model.learn(128)
    obs = np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)
    actions, _ = model.predict(obs, deterministic=True)
    model.save(tmp_path / "ppo.zip")
    loaded = PPO.load(tmp_path / "ppo.zip", device="cpu")
    assert loaded.policy.features_extractor.trainer == "pc"
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], actions)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="flat Box"):
        DeepHTMExtractor(spaces.Dict({"a": BOX}))
    with pytest.raises(ValueError, match="frames must divide the observation's size 8, got 3"):
        DeepHTMExtractor(BOX, frames=3)
    with pytest.raises(ValueError, match="trainer must be 'backprop' or 'pc'"):
        DeepHTMExtractor(BOX, trainer="adam")
    with pytest.raises(ValueError, match="k must be <= columns"):
        DeepHTMExtractor(BOX, columns=4, k=5)
