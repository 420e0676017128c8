"""HTMFeaturesExtractor and make_htm_ppo: shapes, statelessness, space checks, a tiny PPO and SubprocVecEnv run."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

th = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.preprocessing import preprocess_obs  # noqa: E402
from stable_baselines3.common.vec_env import SubprocVecEnv  # noqa: E402

from htmagent.sb3 import HTMFeaturesExtractor, make_htm_ppo  # noqa: E402


def htm_space(columns: int = 32, original: spaces.Space | None = None, cells: int | None = None,
              trace: bool = False) -> spaces.Dict:
    keys = {
        "original": original if original is not None else spaces.Box(-1.0, 1.0, (3,), np.float32),
        "sdr": spaces.MultiBinary(columns),
        "predicted": spaces.MultiBinary(columns),
        "anomaly": spaces.Box(0.0, 1.0, (1,), np.float32),
    }
    if cells is not None:
        keys["cells"] = spaces.MultiBinary(cells)
    if trace:
        keys["trace"] = spaces.Box(0.0, 1.0, (columns,), np.float32)
    return spaces.Dict(keys)


def batch(space: spaces.Dict, n: int, seed: int) -> dict[str, th.Tensor]:
    space.seed(seed)
    samples = [space.sample() for _ in range(n)]
    obs = {k: np.stack([s[k] for s in samples]) for k in space.spaces}
    tensors = {k: th.as_tensor(v) for k, v in obs.items()}
    return preprocess_obs(tensors, space)


class TinyEnv(gym.Env):
    """A 2-state chain: action 1 moves right; reward 1 at the right end; 10-step episodes."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Discrete(2)
        self._pos = 0
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._pos = int(self.np_random.integers(0, 2))
        self._t = 0
        return np.array([self._pos], np.float32), {}

    def step(self, action):
        self._pos = int(action)
        self._t += 1
        return np.array([self._pos], np.float32), float(self._pos), False, self._t >= 10, {}


def test_features_dim_and_forward_shapes():
    space = htm_space(32)
    ext = HTMFeaturesExtractor(space, sdr_embedding_dim=16)
    assert ext.features_dim == 16 + 1 + 3
    out = ext(batch(space, 5, seed=0))
    assert out.shape == (5, 20)
    # The original observation and the anomaly pass through unchanged at the end of the feature vector.
    obs = batch(space, 5, seed=0)
    assert th.allclose(out[:, -3:], obs["original"].float())
    assert th.allclose(out[:, 16:17], obs["anomaly"].float())


def test_optional_parts_change_the_width():
    space = htm_space(32, cells=64)
    assert HTMFeaturesExtractor(space, sdr_embedding_dim=8, cells_embedding_dim=4).features_dim == 8 + 4 + 1 + 3
    ext = HTMFeaturesExtractor(space, sdr_embedding_dim=8, use_anomaly=False, use_original=False,
                               use_predicted=False, cells_embedding_dim=4)
    assert ext.features_dim == 12
    assert ext(batch(space, 3, seed=1)).shape == (3, 12)


def test_discrete_original_is_one_hot_flattened():
    space = htm_space(16, original=spaces.Discrete(4))
    ext = HTMFeaturesExtractor(space, sdr_embedding_dim=8)
    assert ext.features_dim == 8 + 1 + 4
    assert ext(batch(space, 2, seed=2)).shape == (2, 13)


def test_forward_is_stateless_and_order_independent():
    space = htm_space(32)
    ext = HTMFeaturesExtractor(space, sdr_embedding_dim=8)
    obs = batch(space, 6, seed=3)
    first = ext(obs)
    again = ext(obs)
    perm = th.tensor([5, 3, 1, 0, 2, 4])
    shuffled = ext({k: v[perm] for k, v in obs.items()})
    assert th.equal(first, again)
    assert th.allclose(shuffled, first[perm])


def test_readout_sees_the_sdr_bits():
    space = htm_space(32)
    ext = HTMFeaturesExtractor(space, sdr_embedding_dim=8)
    obs = batch(space, 1, seed=4)
    flipped = dict(obs)
    flipped["sdr"] = 1.0 - obs["sdr"]
    assert not th.allclose(ext(obs)[:, :8], ext(flipped)[:, :8])


def test_readout_sees_the_trace():
    space = htm_space(32, trace=True)
    ext = HTMFeaturesExtractor(space, sdr_embedding_dim=8)
    assert ext.features_dim == 8 + 1 + 3 and ext.sdr_readout[0].in_features == 3 * 32
    obs = batch(space, 2, seed=5)
    moved = dict(obs)
    moved["trace"] = th.flip(obs["trace"], dims=[1])
    assert not th.allclose(ext(obs)[:, :8], ext(moved)[:, :8])
    assert th.allclose(ext(obs)[:, 8:], ext(moved)[:, 8:])
    bad = spaces.Dict({**htm_space(32).spaces, "trace": spaces.Box(0.0, 1.0, (31,), np.float32)})
    with pytest.raises(ValueError, match="trace"):
        HTMFeaturesExtractor(bad)


def test_readout_sees_every_trace_of_several_decays():
    space = spaces.Dict({**htm_space(32).spaces, "trace": spaces.Box(0.0, 1.0, (3 * 32,), np.float32)})
    ext = HTMFeaturesExtractor(space, sdr_embedding_dim=8)
    assert ext.sdr_readout[0].in_features == 2 * 32 + 3 * 32
    obs = batch(space, 2, seed=6)
    for block in range(3):
        changed = dict(obs)
        changed["trace"] = obs["trace"].clone()
        changed["trace"][:, block * 32:(block + 1) * 32] = 1.0 - changed["trace"][:, block * 32:(block + 1) * 32]
        assert not th.allclose(ext(obs)[:, :8], ext(changed)[:, :8])


def test_make_htm_ppo_with_trace_and_action_learns_a_step():
    model = make_htm_ppo(lambda: TinyEnv(), n_envs=2, seed=0,
                         htm_kwargs=dict(column_count=32, cells_per_column=2, trace_decay=0.5, include_action=True,
                                         learn_sp=False),
                         ppo_kwargs=dict(n_steps=16, batch_size=16, n_epochs=1))
    assert "trace" in model.observation_space.spaces
    before = model.env.get_attr("htm")[0].sp.state_dict()["perm"].copy()
    model.learn(32)
    assert model.num_timesteps == 32
    streams = model.env.get_attr("htm")
    # A frozen pooler keeps the very same code in every env; the memories learned.
    for stream in streams:
        np.testing.assert_array_equal(stream.sp.state_dict()["perm"], before)
        assert stream.tm.num_segments() > 0


def test_make_htm_ppo_can_normalize_the_original_observation_only():
    from stable_baselines3.common.vec_env import VecNormalize

    model = make_htm_ppo(lambda: TinyEnv(), n_envs=2, seed=0, normalize_original=True,
                         htm_kwargs=dict(column_count=32, cells_per_column=2, trace_decay=0.5),
                         ppo_kwargs=dict(n_steps=16, batch_size=16, n_epochs=1))
    env = model.get_env()
    assert isinstance(env, VecNormalize) and sorted(env.obs_rms) == ["original"]
    model.learn(64)
    obs = env.reset()
    raw = env.get_original_obs()
    # The bits reach the policy untouched; only the raw observation is standardized.
    for key in ("sdr", "predicted", "trace", "anomaly"):
        np.testing.assert_array_equal(obs[key], raw[key])
    assert env.obs_rms["original"].count > 64
    with pytest.raises(TypeError, match="normalize_original"):
        make_htm_ppo(lambda: TinyEnv(), normalize_original=1)


def test_wrong_space_type_names_the_likely_mistake():
    with pytest.raises(TypeError, match="HTMObservation"):
        HTMFeaturesExtractor(spaces.Box(0, 1, (4,), np.float32))
    with pytest.raises(ValueError, match="predicted"):
        HTMFeaturesExtractor(spaces.Dict({"original": spaces.Box(0, 1, (2,)), "sdr": spaces.MultiBinary(4),
                                          "anomaly": spaces.Box(0, 1, (1,))}))
    bad = htm_space(8)
    bad.spaces["sdr"] = spaces.Box(0, 1, (8,))
    with pytest.raises(TypeError, match="sdr"):
        HTMFeaturesExtractor(bad)


@pytest.mark.parametrize("kwargs, error", [
    (dict(sdr_embedding_dim=0), ValueError),
    (dict(sdr_embedding_dim=2.5), TypeError),
    (dict(use_anomaly="yes"), TypeError),
])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        HTMFeaturesExtractor(htm_space(8), **kwargs)


def test_extractor_plugs_into_ppo_through_policy_kwargs():
    from htmagent.envs.wrappers import HTMObservation

    env = HTMObservation(TinyEnv(), column_count=32, cells_per_column=2, seed=0)
    model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0,
                policy_kwargs=dict(features_extractor_class=HTMFeaturesExtractor,
                                   features_extractor_kwargs=dict(sdr_embedding_dim=8)))
    model.learn(64)
    assert isinstance(model.policy.features_extractor, HTMFeaturesExtractor)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))


def test_make_htm_ppo_builds_a_seeded_ppo():
    model = make_htm_ppo(TinyEnv, n_envs=2, seed=3, htm_kwargs=dict(column_count=32, cells_per_column=2),
                         extractor_kwargs=dict(sdr_embedding_dim=8), ppo_kwargs=dict(n_steps=16, batch_size=16,
                                                                                     n_epochs=1))
    assert model.env.num_envs == 2
    assert isinstance(model.policy.features_extractor, HTMFeaturesExtractor)
    # Each env has its own HTM, built from the same seed: one observation, one code, whichever env it is in.
    streams = model.env.get_attr("htm")
    assert streams[0] is not streams[1]
    np.testing.assert_array_equal(streams[0].sp.state_dict()["perm"], streams[1].sp.state_dict()["perm"])
    model.learn(64)
    independent = make_htm_ppo(TinyEnv, n_envs=2, seed=3, htm_kwargs=dict(column_count=32, cells_per_column=2),
                               ppo_kwargs=dict(n_steps=16, batch_size=16, n_epochs=1), same_htm_seed=False)
    streams = independent.env.get_attr("htm")
    assert not np.array_equal(streams[0].sp.state_dict()["perm"], streams[1].sp.state_dict()["perm"])
    with pytest.raises(TypeError, match="same_htm_seed"):
        make_htm_ppo(TinyEnv, seed=3, same_htm_seed=1)


def test_make_htm_ppo_rejects_bad_input():
    with pytest.raises(TypeError, match="env_id_or_env"):
        make_htm_ppo(42)
    with pytest.raises(ValueError, match="n_envs"):
        make_htm_ppo(TinyEnv(), n_envs=2)
    with pytest.raises(ValueError, match="n_envs"):
        make_htm_ppo("CartPole-v1", n_envs=0)


def test_subproc_vec_env_run_completes():
    model = make_htm_ppo("CartPole-v1", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv,
                         htm_kwargs=dict(column_count=64, cells_per_column=4),
                         ppo_kwargs=dict(n_steps=32, batch_size=32, n_epochs=1))
    try:
        model.learn(128)
        assert model.num_timesteps >= 128
        anomalies = model.env.get_attr("anomaly")
        assert len(anomalies) == 2 and all(0.0 <= a <= 1.0 for a in anomalies)
    finally:
        model.env.close()
