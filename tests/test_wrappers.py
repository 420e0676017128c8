"""HTMObservation and HTMCuriosity on tiny hand-written fake environments."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from htmagent.envs.curiosity import HTMCuriosity
from htmagent.envs.wrappers import HTMObservation, HTMStream, SpaceEncoder
from htmagent.sdr import SDR

SMALL = dict(column_count=128, cells_per_column=4)


class SequenceEnv(gym.Env):
    """Plays a fixed list of observations in a loop, whatever the action; reward 1 per step.

    ``reset`` starts at a random position of the loop (from ``np_random``), so seeding matters.
    """

    metadata = {"render_modes": []}

    def __init__(self, observation_space: spaces.Space, observations: list, episode_length: int = 50,
                 random_start: bool = False):
        self.observation_space = observation_space
        self.action_space = spaces.Discrete(2)
        self.observations = observations
        self.episode_length = episode_length
        self.random_start = random_start
        self._i = 0
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._i = int(self.np_random.integers(len(self.observations))) if self.random_start else 0
        self._t = 0
        return copy.deepcopy(self.observations[self._i]), {}

    def step(self, action):
        self._i = (self._i + 1) % len(self.observations)
        self._t += 1
        return copy.deepcopy(self.observations[self._i]), 1.0, False, self._t >= self.episode_length, {}


def box_cycle(**kwargs) -> SequenceEnv:
    space = spaces.Box(0.0, 1.0, (1,), np.float32)
    values = [np.array([v], np.float32) for v in (0.05, 0.35, 0.65, 0.95)]
    return SequenceEnv(space, values, **kwargs)


def unbounded_cycle(**kwargs) -> SequenceEnv:
    space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    values = [np.array([10.0 * np.sin(k), -3.0 * k], np.float32) for k in range(6)]
    return SequenceEnv(space, values, **kwargs)


def run(env: gym.Env, steps: int, seed: int = 0) -> list:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(0)
        out.append(obs)
        if terminated or truncated:
            obs, _ = env.reset()
            out.append(obs)
    return out


def assert_obs_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ----------------------------------------------------------------------------------------------- HTMObservation


def test_observation_space_and_values():
    env = HTMObservation(box_cycle(), seed=0, **SMALL)
    space = env.observation_space
    assert isinstance(space, spaces.Dict)
    assert set(space.spaces) == {"original", "sdr", "predicted", "anomaly"}
    assert space["sdr"] == spaces.MultiBinary(128) and space["predicted"] == spaces.MultiBinary(128)
    assert space["anomaly"] == spaces.Box(0.0, 1.0, (1,), np.float32)
    for obs in run(env, 30):
        assert space.contains(obs)
        assert obs["sdr"].sum() == 20
        assert obs["original"] in env.env.observation_space


def test_the_memory_learns_a_repeating_sequence():
    env = HTMObservation(box_cycle(episode_length=8), seed=1, **SMALL)
    observations = run(env, 40 * 9)
    assert np.mean([o["anomaly"][0] for o in observations[1:5]]) > 0.9
    obs, _ = env.reset()
    episode = [obs] + [env.step(0)[0] for _ in range(8)]
    assert [o["anomaly"][0] for o in episode[1:]] == [0.0] * 8
    # "predicted" is exactly the next step's active minicolumns.
    for now, nxt in zip(episode[:-1], episode[1:]):
        np.testing.assert_array_equal(now["predicted"], nxt["sdr"])


def test_reset_ends_the_sequence():
    env = HTMObservation(box_cycle(episode_length=8), seed=2, **SMALL)
    run(env, 40 * 9)
    first, _ = env.reset()
    assert first["anomaly"][0] == 1.0  # no context after a reset: nothing was predicted
    episode = [env.step(0) for _ in range(8)]
    assert [step[0]["anomaly"][0] for step in episode] == [0.0] * 8  # the learned episode is predicted
    assert episode[-1][3]  # truncated
    # Without the reset, the loop would go on; with it, the next step again starts a sequence.
    assert env.reset()[0]["anomaly"][0] == 1.0


def test_learn_false_freezes_the_htm():
    env = HTMObservation(unbounded_cycle(), seed=3, learn=False, **SMALL)
    before = env.htm_state_dict()
    first = run(env, 40, seed=5)
    after = env.htm_state_dict()
    np.testing.assert_array_equal(before["sp"]["perm"], after["sp"]["perm"])
    assert env.htm.tm.num_segments() == 0
    assert after["encoder"]["count"] == 0
    second = run(env, 40, seed=5)
    for a, b in zip(first, second):
        assert_obs_equal(a, b)
    env.learn = True
    run(env, 40)
    assert env.htm.tm.num_segments() > 0
    with pytest.raises(TypeError, match="learn"):
        env.learn = 1


def test_save_and_load_resume_exactly(tmp_path):
    actions_before, actions_after = 37, 25
    a = HTMObservation(unbounded_cycle(episode_length=20, random_start=True), seed=4, **SMALL)
    run(a, actions_before, seed=9)
    path = tmp_path / "htm.npz"
    a.save_htm(path)
    continued = [a.step(0)[0] for _ in range(actions_after)]

    b = HTMObservation(unbounded_cycle(episode_length=20, random_start=True), seed=123, **SMALL)
    inner = b.env  # bring the plain env to the same point, then load the HTM
    inner.reset(seed=9)
    for _ in range(actions_before):
        if inner.step(0)[3]:
            inner.reset()
    b.load_htm(path)
    resumed = [b.step(0)[0] for _ in range(actions_after)]
    for x, y in zip(continued, resumed):
        assert_obs_equal(x, y)
    assert a.htm.tm.num_segments() == b.htm.tm.num_segments()


def test_load_rejects_a_state_of_another_size():
    a = HTMObservation(box_cycle(), seed=0, **SMALL)
    b = HTMObservation(box_cycle(), seed=0, column_count=64, cells_per_column=4)
    with pytest.raises(ValueError, match="column_count"):
        b.load_htm_state_dict(a.htm_state_dict())
    with pytest.raises(ValueError, match="format"):
        b.load_htm_state_dict({"format": "something else"})


def test_same_seed_same_observations_different_seed_different_columns():
    obs_a = run(HTMObservation(unbounded_cycle(), seed=7, **SMALL), 30)
    obs_b = run(HTMObservation(unbounded_cycle(), seed=7, **SMALL), 30)
    obs_c = run(HTMObservation(unbounded_cycle(), seed=8, **SMALL), 30)
    for a, b in zip(obs_a, obs_b):
        assert_obs_equal(a, b)
    assert any(not np.array_equal(a["sdr"], c["sdr"]) for a, c in zip(obs_a, obs_c))


@pytest.mark.parametrize("space, observations", [
    (spaces.Discrete(3, start=1), [1, 2, 3]),
    (spaces.MultiBinary(40), [np.eye(40, dtype=np.int8)[i] + np.eye(40, dtype=np.int8)[i + 20] for i in range(3)]),
    (spaces.MultiDiscrete([3, 4]), [np.array([0, 1]), np.array([2, 3]), np.array([1, 0])]),
    (spaces.Box(0, 255, (16, 16, 3), np.uint8), [np.full((16, 16, 3), v, np.uint8) for v in (0, 120, 250)]),
    (spaces.Dict({"a": spaces.Discrete(3), "b": spaces.Box(-1.0, 1.0, (2,), np.float32)}),
     [{"a": i, "b": np.array([0.5 * i - 0.5, 0.0], np.float32)} for i in range(3)]),
])
def test_default_encoder_for_every_space_kind(space, observations):
    env = HTMObservation(SequenceEnv(space, observations), seed=0, **SMALL)
    seen = run(env, 9)
    for obs in seen:
        assert env.observation_space.contains(obs)
    # Distinct observations drive distinct minicolumns.
    assert len({o["sdr"].tobytes() for o in seen[:3]}) == 3


def test_multidiscrete_codes_are_each_elements_category_code():
    space = spaces.MultiDiscrete([3, 5, 2, 4], start=[1, 0, 0, -2])
    enc = SpaceEncoder(space, size_per_dim=40, active_bits=4, seed=3)
    value = np.array([3, 0, 1, 1])
    expected = np.concatenate([c.encode(int(v)).sparse + 40 * i for i, (c, v) in
                               enumerate(zip(enc._categories, value - space.start))])
    assert enc.encode(value) == SDR(160, expected)
    assert enc.encode(value).num_active == 16
    for bad, match in ((np.array([0, 0, 0, 0]), "element 0 must be in"), (np.array([1, 5, 0, 0]), "element 1"),
                       (np.array([1, 0, 0]), "4 elements"), (np.array([1.0, 0, 0, 0]), "integers")):
        with pytest.raises(ValueError, match=match):
            enc.encode(bad)


def test_space_encoder_codes():
    enc = SpaceEncoder(spaces.MultiBinary(10), seed=0)
    assert enc.encode(np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1])) == SDR(10, [1, 4, 9])
    box = SpaceEncoder(spaces.Box(0.0, 1.0, (3,), np.float32), size_per_dim=50, active_bits=5, num_buckets=10, seed=1)
    code = box.encode(np.array([0.1, 0.5, 0.9]))
    assert box.size == 150 and code.num_active == 15
    assert all(np.sum((code.sparse >= 50 * d) & (code.sparse < 50 * (d + 1))) == 5 for d in range(3))
    near = box.encode(np.array([0.1, 0.5, 0.93]))
    far = box.encode(np.array([0.1, 0.5, 0.1]))
    assert code.overlap(near) > code.overlap(far)
    image = SpaceEncoder(spaces.Box(0, 255, (32, 32), np.uint8), image_grid=4, image_levels=4, seed=0)
    dark = image.encode(np.zeros((32, 32), np.uint8))
    assert image.size == 64 and dark == SDR(64, np.arange(16) * 4)


def test_unbounded_statistics_are_deterministic_and_freeze():
    space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    rng = np.random.default_rng(0)
    data = rng.normal([0.0, 100.0], [1.0, 20.0], size=(80, 2))
    a = SpaceEncoder(space, stats_warmup=64, seed=3)
    b = SpaceEncoder(space, stats_warmup=64, seed=3)
    codes_a = [a.encode(x) for x in data]
    codes_b = [b.encode(x) for x in data]
    assert codes_a == codes_b
    state = a.state_dict()
    assert state["count"] == 64
    np.testing.assert_allclose(state["resolution"], 4 * data[:64].std(axis=0, ddof=1) / a.num_buckets)
    frozen = state["resolution"].copy()
    a.encode(np.array([1e3, -1e3]))
    np.testing.assert_array_equal(a.state_dict()["resolution"], frozen)


def test_user_encoder_is_used():
    class Parity:
        size = 64

        def encode(self, value):
            return SDR(64, np.arange(32) if int(value[0] * 100) % 2 else np.arange(32, 64))

    env = HTMObservation(box_cycle(), encoder=Parity(), seed=0, **SMALL)
    assert env.htm.encoder.size == 64
    assert env.observation_space.contains(run(env, 3)[-1])


def test_include_cells():
    env = HTMObservation(box_cycle(), include_cells=True, seed=0, **SMALL)
    assert env.observation_space["cells"] == spaces.MultiBinary(512)
    obs = run(env, 3)[-1]
    active = np.flatnonzero(obs["cells"]) // 4
    assert set(active) == set(np.flatnonzero(obs["sdr"]))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(column_count=0), ValueError, "column_count"),
    (dict(column_count=64.0), TypeError, "column_count"),
    (dict(cells_per_column=0), ValueError, "cells_per_column"),
    (dict(learn="yes"), TypeError, "learn"),
    (dict(include_cells=1), TypeError, "include_cells"),
    (dict(sp_params=[1]), TypeError, "sp_params"),
    (dict(encoder=object()), TypeError, "encoder"),
    (dict(seed=-1), ValueError, "seed"),
])
def test_constructor_checks(kwargs, error, match):
    with pytest.raises(error, match=match):
        HTMObservation(box_cycle(), **{**SMALL, **kwargs})


def test_rejects_non_env_and_unsupported_space():
    with pytest.raises(TypeError, match="env"):
        HTMObservation("CartPole-v1")
    with pytest.raises(TypeError, match="encoder="):  # variable-length sequences have no default code
        HTMObservation(SequenceEnv(spaces.Sequence(spaces.Discrete(3)), [(1, 2)]), **SMALL)
    text = HTMObservation(SequenceEnv(spaces.Text(5), ["abc"]), **SMALL)  # text is a bag of words
    assert text.reset(seed=0)[0]["sdr"].sum() > 0


def test_bad_observation_leaves_the_htm_unchanged():
    env = HTMObservation(box_cycle(), seed=0, **SMALL)
    run(env, 5)
    before = env.htm_state_dict()
    with pytest.raises(ValueError, match="finite"):
        env.observation(np.array([np.nan], np.float32))
    after = env.htm_state_dict()
    np.testing.assert_array_equal(before["sp"]["perm"], after["sp"]["perm"])
    assert before["sp"]["iteration"] == after["sp"]["iteration"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_gymnasium_and_sb3_check_env_pass_with_learn_false():
    check_env(HTMObservation(unbounded_cycle(random_start=True), learn=False, seed=0, **SMALL),
              skip_render_check=True)
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    sb3_checker.check_env(HTMObservation(unbounded_cycle(random_start=True), learn=False, seed=0, **SMALL),
                          warn=False)
    extras = dict(trace_decay=0.5, include_action=True, learn=False, seed=0, **SMALL)
    check_env(HTMObservation(unbounded_cycle(random_start=True), **extras), skip_render_check=True)
    sb3_checker.check_env(HTMObservation(unbounded_cycle(random_start=True), **extras), warn=False)


def test_records_constructor_args_in_the_spec():
    env = HTMObservation(gym.make("CartPole-v1"), seed=0, column_count=64, cells_per_column=2)
    wrapper_spec = env.spec.additional_wrappers[-1]
    assert wrapper_spec.name == "HTMObservation"
    assert wrapper_spec.kwargs["column_count"] == 64


def test_vector_env_gives_each_copy_its_own_htm():
    envs = gym.vector.SyncVectorEnv([lambda i=i: HTMObservation(box_cycle(), seed=i, **SMALL) for i in range(3)])
    obs, _ = envs.reset(seed=0)
    assert obs["sdr"].shape == (3, 128) and obs["anomaly"].shape == (3, 1)
    for _ in range(5):
        obs, reward, *_ = envs.step(np.zeros(3, dtype=np.int64))
    # Same observation stream, different seeds: different minicolumns per copy.
    assert not np.array_equal(obs["sdr"][0], obs["sdr"][1])
    envs.close()


# ----------------------------------------------------------------------------------------------- HTMCuriosity


def test_curiosity_reads_the_inner_htm_anomaly():
    inner = HTMObservation(box_cycle(), seed=0, **SMALL)
    env = HTMCuriosity(inner, beta=0.5)
    assert env.htm is inner.htm
    env.reset(seed=0)
    for _ in range(30):
        obs, reward, _, _, info = env.step(0)
        assert info["extrinsic_reward"] == 1.0
        assert info["intrinsic_reward"] == pytest.approx(float(obs["anomaly"][0]))
        assert reward == pytest.approx(1.0 + 0.5 * info["intrinsic_reward"])
    assert env.observation_space is inner.observation_space


def test_curiosity_without_htm_observation_runs_a_private_htm_and_fades():
    env = HTMCuriosity(box_cycle(episode_length=500), beta=1.0, seed=0, htm_kwargs=SMALL)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (1,)  # the observation is left as it is
    bonuses = [env.step(0)[4]["intrinsic_reward"] for _ in range(450)]
    assert np.mean(bonuses[:4]) > 0.9
    assert np.mean(bonuses[-40:]) < 0.1


def test_episodic_novelty_pays_once_per_episode():
    # A 2-cycle: every SDR repeats within the episode after two steps.
    space = spaces.Box(0.0, 1.0, (1,), np.float32)
    env = HTMCuriosity(SequenceEnv(space, [np.array([0.1], np.float32), np.array([0.9], np.float32)], 6),
                       beta=1.0, episodic=True, seed=0, htm_kwargs=SMALL)
    env.reset(seed=0)
    first_episode = [env.step(0)[4]["intrinsic_reward"] for _ in range(6)]
    assert first_episode[0] == 1.0  # 0.9 is new this episode (and unpredicted)
    assert first_episode[1:] == [0.0] * 5  # 0.1 was seen at reset; 0.9 at step 1
    env.reset()
    plain = HTMCuriosity(SequenceEnv(space, [np.array([0.1], np.float32), np.array([0.9], np.float32)], 6),
                         beta=1.0, episodic=False, seed=0, htm_kwargs=SMALL)
    plain.reset(seed=0)
    assert sum(plain.step(0)[4]["intrinsic_reward"] for _ in range(6)) > 1.0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(beta=-0.1), ValueError, "beta"),
    (dict(beta=float("nan")), ValueError, "beta"),
    (dict(beta="1"), TypeError, "beta"),
    (dict(source="surprise"), ValueError, "source"),
    (dict(episodic="no"), TypeError, "episodic"),
    (dict(htm_kwargs=3), TypeError, "htm_kwargs"),
    (dict(likelihood_params={"x": 1}), ValueError, "likelihood_params"),
])
def test_curiosity_constructor_checks(kwargs, error, match):
    with pytest.raises(error, match=match):
        HTMCuriosity(box_cycle(), **kwargs)


def test_curiosity_from_the_anomaly_likelihood():
    params = dict(learning_period=5, estimation_samples=5, reestimation_period=5, historic_window_size=50)
    env = HTMCuriosity(box_cycle(episode_length=30), source="likelihood", likelihood_params=params, seed=0,
                       htm_kwargs=SMALL)
    env.reset(seed=0)
    values = [env.step(0)[4]["intrinsic_reward"] for _ in range(29)]
    assert values[:10] == [0.5] * 10  # probation: the likelihood model is still learning
    assert all(0.0 <= v <= 1.0 for v in values)
    assert len(set(values[10:])) > 1


def test_curiosity_save_and_load_resume_exactly(tmp_path):
    params = dict(learning_period=5, estimation_samples=5, reestimation_period=5, historic_window_size=50)

    def make(seed):
        return HTMCuriosity(unbounded_cycle(episode_length=15), beta=1.0, source="likelihood", episodic=True,
                            likelihood_params=params, htm_kwargs=SMALL, seed=seed)

    _assert_curiosity_resumes(make, tmp_path, 8)


def _assert_curiosity_resumes(make, tmp_path, steps: int) -> HTMCuriosity:
    """Run a curiosity wrapper, save it, load it into a differently seeded one whose env is at the same point, and
    check the rewards that follow are identical; returns the saved wrapper."""
    a = make(0)
    a.reset(seed=0)
    for _ in range(20):
        if a.step(0)[3]:
            a.reset()
    a.save(tmp_path / "curiosity.npz")
    continued = [a.step(0)[1] for _ in range(steps)]
    b = make(99)
    b.env.reset(seed=0)
    for _ in range(20):
        if b.env.step(0)[3]:
            b.env.reset()
    b.load(tmp_path / "curiosity.npz")
    assert [b.step(0)[1] for _ in range(steps)] == continued
    return a


def test_curiosity_rejects_htm_kwargs_when_an_htm_is_inside():
    with pytest.raises(ValueError, match="htm_kwargs"):
        HTMCuriosity(HTMObservation(box_cycle(), seed=0, **SMALL), htm_kwargs=SMALL)


def test_make_vec_env_logs_the_extrinsic_return():
    env_util = pytest.importorskip("stable_baselines3.common.env_util")
    vec = env_util.make_vec_env(lambda: box_cycle(episode_length=5), n_envs=1, seed=0,
                                wrapper_class=HTMCuriosity, wrapper_kwargs=dict(beta=10.0, htm_kwargs=SMALL, seed=0))
    vec.reset()
    total = 0.0
    for _ in range(5):
        _, reward, done, infos = vec.step(np.zeros(1, dtype=np.int64))
        total += float(reward[0])
    assert done[0]
    assert infos[0]["episode"]["r"] == pytest.approx(5.0)  # Monitor sits inside: extrinsic only
    assert total > 5.0  # while the agent was trained on the bonus too
    vec.close()


def test_stream_rejects_an_encoder_of_the_wrong_size():
    class Liar:
        size = 64

        def encode(self, value):
            return SDR(32, [1, 2])

    stream = HTMStream(spaces.Box(0.0, 1.0, (1,)), encoder=Liar(), seed=0, **SMALL)
    with pytest.raises(ValueError, match="size"):
        stream.compute(np.array([0.5]), learn=True)


# ------------------------------------------------------------------------ encoder resolution, trace, action, count


def test_space_encoder_explicit_resolution():
    space = spaces.Box(np.array([-1.0, -1.0]), np.array([1.0, 1.0]), dtype=np.float64)
    fine = SpaceEncoder(space, size_per_dim=64, active_bits=8, resolution=[0.01, 0.5], seed=0)
    a = fine.encode(np.array([0.0, 0.0])).dense
    b = fine.encode(np.array([0.025, 0.2])).dense  # 2 fine buckets along dim 0, same coarse bucket along dim 1
    assert (a[:64] & b[:64]).sum() <= 7 and np.array_equal(a[64:], b[64:])
    # One number applies to every element; an unbounded Box needs no statistics with an explicit width.
    unbounded = SpaceEncoder(spaces.Box(-np.inf, np.inf, (2,)), resolution=0.1, seed=0)
    unbounded.encode(np.array([1.0, 2.0]))
    assert unbounded.state_dict()["count"] == 0
    np.testing.assert_array_equal(unbounded.state_dict()["resolution"], [0.1, 0.1])
    for bad in (0.0, -1.0, [0.1, 0.1, 0.1], float("nan")):
        with pytest.raises(ValueError, match="resolution"):
            SpaceEncoder(space, resolution=bad)
    with pytest.raises(ValueError, match="resolution"):
        SpaceEncoder(spaces.Discrete(3), resolution=0.1)


def test_encoder_params_reach_the_default_encoder():
    env = HTMObservation(box_cycle(), encoder_params=dict(num_buckets=8, resolution=0.5), seed=0, **SMALL)
    assert env.htm.encoder.num_buckets == 8
    np.testing.assert_array_equal(env.htm.encoder.state_dict()["resolution"], [0.5])
    with pytest.raises(ValueError, match="encoder_params"):
        HTMStream(spaces.Box(0.0, 1.0, (1,)), encoder=SpaceEncoder(spaces.Box(0.0, 1.0, (1,))),
                  encoder_params=dict(num_buckets=8))
    with pytest.raises(TypeError, match="encoder_params"):
        HTMStream(spaces.Box(0.0, 1.0, (1,)), encoder_params=8)


def test_trace_is_a_decaying_union_of_recent_minicolumns():
    env = HTMObservation(box_cycle(episode_length=6), trace_decay=0.5, seed=0, **SMALL)
    assert env.observation_space["trace"] == spaces.Box(0.0, 1.0, (128,), np.float32)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs["trace"], 0.5 * obs["sdr"])
    expected = 0.5 * obs["sdr"].astype(np.float64)
    for _ in range(5):
        obs = env.step(0)[0]
        expected = 0.5 * expected + 0.5 * obs["sdr"]
        np.testing.assert_allclose(obs["trace"], expected, rtol=1e-6)
        assert env.observation_space.contains(obs)
    # The trace holds the past: two different histories ending in the same observation differ in it.
    assert (obs["trace"] > 0).sum() > obs["sdr"].sum()
    # reset clears it: the first trace of an episode only holds the first observation.
    first, _ = env.reset()
    np.testing.assert_allclose(first["trace"], 0.5 * first["sdr"])
    assert "trace" not in HTMObservation(box_cycle(), seed=0, **SMALL).observation_space.spaces


def test_several_trace_decays_keep_one_trace_per_time_scale(tmp_path):
    env = HTMObservation(box_cycle(episode_length=6), trace_decay=(0.5, 0.9), seed=0, **SMALL)
    assert env.observation_space["trace"] == spaces.Box(0.0, 1.0, (256,), np.float32)
    assert env.htm.trace_decays == (0.5, 0.9) and env.htm.trace_decay == 0.5
    single = HTMObservation(box_cycle(episode_length=6), trace_decay=0.9, seed=0, **SMALL)
    obs, _ = env.reset(seed=0)
    other, _ = single.reset(seed=0)
    fast, slow = 0.5 * obs["sdr"].astype(np.float64), 0.1 * obs["sdr"].astype(np.float64)
    for t in range(5):
        obs, other = env.step(t % 2)[0], single.step(t % 2)[0]
        fast = 0.5 * fast + 0.5 * obs["sdr"]
        slow = 0.9 * slow + 0.1 * obs["sdr"]
        np.testing.assert_allclose(obs["trace"][:128], fast, rtol=1e-6)
        np.testing.assert_allclose(obs["trace"][128:], slow, rtol=1e-6)
        # The slow block is exactly what a wrapper with that one decay emits.
        np.testing.assert_allclose(obs["trace"][128:], other["trace"], rtol=1e-6)
    # The slow trace remembers longer: it still holds columns the fast one has all but forgotten.
    assert (obs["trace"][128:] > 0.05).sum() >= (obs["trace"][:128] > 0.05).sum()
    env.save_htm(tmp_path / "htm.npz")
    copy = HTMObservation(box_cycle(episode_length=6), trace_decay=(0.5, 0.9), seed=1, **SMALL)
    copy.load_htm(tmp_path / "htm.npz")
    np.testing.assert_array_equal(copy.htm.trace, env.htm.trace)
    wrong = HTMObservation(box_cycle(episode_length=6), trace_decay=0.5, seed=1, **SMALL)
    with pytest.raises(ValueError, match="trace"):
        wrong.load_htm(tmp_path / "htm.npz")


@pytest.mark.parametrize("decay, error", [(1.0, ValueError), (-0.1, ValueError), ("0.5", TypeError),
                                          (True, TypeError), ((), ValueError), ((0.5, 1.0), ValueError),
                                          ((0.0,), ValueError), ((0.5, "0.9"), TypeError), ((False,), TypeError)])
def test_trace_decay_is_checked(decay, error):
    with pytest.raises(error, match="trace_decay"):
        HTMObservation(box_cycle(), trace_decay=decay, seed=0, **SMALL)


class ConstantEnv(gym.Env):
    """Always observes 0.5, whatever the action; 20-step episodes."""

    metadata = {"render_modes": []}
    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return np.array([0.5], np.float32), {}

    def step(self, action):
        self._t += 1
        return np.array([0.5], np.float32), 0.0, False, self._t >= 20, {}


def test_include_action_makes_the_code_action_conditioned():
    env = HTMObservation(ConstantEnv(), include_action=True, learn=False, seed=0, **SMALL)
    first, _ = env.reset(seed=0)
    by_action = {a: env.step(a)[0]["sdr"] for a in (0, 1, 2, 0)}
    assert not np.array_equal(by_action[0], by_action[1]) and not np.array_equal(by_action[1], by_action[2])
    # Same observation, same action: same code; the first step of an episode carries no action.
    np.testing.assert_array_equal(by_action[0], env.step(0)[0]["sdr"])
    env.reset()
    np.testing.assert_array_equal(env.observation(np.array([0.5], np.float32))["sdr"], first["sdr"])
    # Without the option the action is not seen.
    plain = HTMObservation(ConstantEnv(), learn=False, seed=0, **SMALL)
    plain.reset(seed=0)
    assert all(np.array_equal(plain.step(a)[0]["sdr"], plain.step(0)[0]["sdr"]) for a in (1, 2))


def test_include_action_rejects_an_action_outside_the_space():
    stream = HTMStream(spaces.Box(0.0, 1.0, (1,)), action_space=spaces.Discrete(2), seed=0, **SMALL)
    stream.compute(np.array([0.5]), learn=True, action=1)
    before = stream.state_dict()
    with pytest.raises(ValueError, match="action"):
        stream.compute(np.array([0.5]), learn=True, action=5)
    after = stream.state_dict()
    np.testing.assert_array_equal(before["sp"]["perm"], after["sp"]["perm"])
    assert before["tm"].keys() == after["tm"].keys()


def test_trace_and_action_save_and_load_resume_exactly(tmp_path):
    def make(seed):
        return HTMObservation(unbounded_cycle(episode_length=20, random_start=True), trace_decay=0.7,
                              include_action=True, seed=seed, **SMALL)

    a = make(4)
    a.reset(seed=9)
    for t in range(37):
        if a.step(t % 2)[3]:
            a.reset()
    a.save_htm(tmp_path / "htm.npz")
    continued = [a.step(t % 2)[0] for t in range(25)]
    b = make(123)
    b.env.reset(seed=9)
    for t in range(37):
        if b.env.step(t % 2)[3]:
            b.env.reset()
    b.load_htm(tmp_path / "htm.npz")
    resumed = [b.step(t % 2)[0] for t in range(25)]
    for x, y in zip(continued, resumed):
        assert_obs_equal(x, y)


def test_count_curiosity_pays_one_over_sqrt_visits_for_life():
    inner = HTMObservation(box_cycle(episode_length=8), learn=False, seed=0, **SMALL)
    env = HTMCuriosity(inner, beta=1.0, source="count", seed=0)
    env.reset(seed=0)
    first = [env.step(0)[4]["intrinsic_reward"] for _ in range(8)]
    # The 4-cycle's codes: the first lap is new, the second lap pays 1/sqrt(2).
    np.testing.assert_allclose(first, [1, 1, 1, 1] + [2 ** -0.5] * 4)
    env.reset()
    again = [env.step(0)[4]["intrinsic_reward"] for _ in range(4)]
    np.testing.assert_allclose(again, [3 ** -0.5] * 4)  # lifelong: a reset does not forget the counts
    assert env.state_dict()["counts"].sum() == 12
    with pytest.raises(ValueError, match="count_table_size"):
        HTMCuriosity(box_cycle(), source="count", count_table_size=0, htm_kwargs=SMALL)


def test_count_curiosity_save_and_load_resume_exactly(tmp_path):
    def make(seed):
        return HTMCuriosity(unbounded_cycle(episode_length=15), beta=1.0, source="count", count_table_size=64,
                            htm_kwargs=SMALL, seed=seed)

    a = _assert_curiosity_resumes(make, tmp_path, 12)
    with pytest.raises(ValueError, match="counters"):
        HTMCuriosity(unbounded_cycle(), source="count", count_table_size=32, htm_kwargs=SMALL,
                     seed=0).load_state_dict(a.state_dict())


def test_learn_sp_false_freezes_only_the_pooler():
    env = HTMObservation(box_cycle(episode_length=8), learn_sp=False, seed=1, **SMALL)
    perm = env.htm.sp.state_dict()["perm"].copy()
    codes = [o["sdr"] for o in run(env, 4)]
    run(env, 40 * 9)
    np.testing.assert_array_equal(env.htm.sp.state_dict()["perm"], perm)
    env.reset()
    assert [env.step(0)[0]["anomaly"][0] for _ in range(7)] == [0.0] * 7  # the memory learned the loop
    np.testing.assert_array_equal([o["sdr"] for o in run(env, 4)], codes)  # the code did not move
    with pytest.raises(TypeError, match="learn_sp"):
        HTMObservation(box_cycle(), learn_sp=0, **SMALL)
