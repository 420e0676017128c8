"""An SB3 agent saved with its HTMs (save_htm_model / load_htm_model) plays as it did before saving, under PPO and
RecurrentPPO, in DummyVecEnv and SubprocVecEnv, with VecNormalize; a file that does not fit is refused cleanly."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize  # noqa: E402

from htmagent.envs import HTMCuriosity  # noqa: E402
from htmagent.sb3 import HTMCheckpoint, load_htm_model, make_htm_model, make_htm_vec_env, save_htm_model  # noqa: E402
from htmagent.serialization import StateError  # noqa: E402

HTM = dict(column_count=128, cells_per_column=4)
SMALL = dict(n_steps=64, batch_size=64, n_epochs=1)


def _play(model, seed: int, steps: int = 150) -> list:
    """Deterministic actions over a fixed number of steps from a seeded reset; the HTMs keep learning (as a
    deployed agent's do), so every action depends on the HTM state the model was loaded with."""
    env = model.get_env()
    env.seed(seed)
    obs = env.reset()
    state, starts, actions = None, np.ones(env.num_envs, dtype=bool), []
    for _ in range(steps):
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        obs, _, done, _ = env.step(action)
        starts = done
        actions.append(action.copy())
    return np.concatenate(actions).tolist()


@pytest.mark.parametrize("vec_env_cls", [DummyVecEnv, SubprocVecEnv])
@pytest.mark.parametrize("algorithm", ["PPO", "RecurrentPPO"])
def test_a_loaded_agent_acts_as_before_saving(tmp_path, algorithm, vec_env_cls):
    if algorithm == "RecurrentPPO":
        pytest.importorskip("sb3_contrib")
    build = dict(n_envs=2, seed=3, htm_kwargs=HTM, vec_env_cls=vec_env_cls)
    model = make_htm_model(algorithm, "CartPole-v1", model_kwargs=SMALL, **build)
    model.learn(256)
    save_htm_model(model, tmp_path / "agent")
    before = _play(model, seed=11)
    loaded = load_htm_model(tmp_path / "agent", make_htm_vec_env("CartPole-v1", **build))
    assert type(loaded).__name__ == algorithm
    assert _play(loaded, seed=11) == before
    # The same policy on fresh HTMs (what model.save alone gives back) acts differently.
    bare = type(model).load(tmp_path / "agent.zip", env=make_htm_vec_env("CartPole-v1", **build))
    assert _play(bare, seed=11) != before
    for m in (model, loaded, bare):
        m.get_env().close()


def test_subproc_and_vec_normalize_and_curiosity_travel_too(tmp_path):
    build = dict(n_envs=2, seed=5, htm_kwargs=HTM, vec_env_cls=SubprocVecEnv, normalize_original=True,
                 wrapper=functools.partial(HTMCuriosity, beta=0.1, source="count"))
    model = make_htm_model("PPO", "CartPole-v1", model_kwargs=SMALL, **build)
    model.learn(256)
    save_htm_model(model, tmp_path / "agent")
    stats = model.get_env().obs_rms["original"].mean.copy()
    before = _play(model, seed=2)
    model.get_env().close()
    # A fresh env without VecNormalize: the saved one is put around it, statistics included.
    plain = dict(build, normalize_original=False)
    loaded = load_htm_model(tmp_path / "agent.zip", make_htm_vec_env("CartPole-v1", **plain))
    norm = loaded.get_env()
    assert isinstance(norm, VecNormalize) and norm.norm_obs_keys == ["original"]
    np.testing.assert_array_equal(norm.obs_rms["original"].mean, stats)
    assert _play(loaded, seed=2) == before
    loaded.get_env().close()


def test_one_saved_copy_into_an_evaluation_env(tmp_path):
    build = dict(n_envs=2, seed=3, htm_kwargs=HTM)
    model = make_htm_model("PPO", "CartPole-v1", model_kwargs=SMALL, **build)
    model.learn(128)
    save_htm_model(model, tmp_path / "agent")
    saved = model.get_env().env_method("htm_wrapper_states")
    with pytest.raises(ValueError, match="holds 2 HTM copies and env has 1"):
        load_htm_model(tmp_path / "agent", make_htm_vec_env("CartPole-v1", 1, 3, HTM))
    one = load_htm_model(tmp_path / "agent", make_htm_vec_env("CartPole-v1", 1, 3, HTM), htm_copy=1)
    mine = one.get_env().env_method("htm_wrapper_states")[0]
    theirs = saved[1]["0"]["state"]
    np.testing.assert_array_equal(mine["0"]["state"]["tm"]["basal_connections"]["syn_perm"],
                                  theirs["tm"]["basal_connections"]["syn_perm"])


def test_a_file_that_does_not_fit_is_refused_and_changes_nothing(tmp_path):
    model = make_htm_model("PPO", "CartPole-v1", n_envs=1, seed=0, htm_kwargs=HTM, model_kwargs=SMALL)
    model.learn(64)
    save_htm_model(model, tmp_path / "agent")
    other = make_htm_vec_env("CartPole-v1", 1, 0, dict(HTM, column_count=64))  # other sizes
    state = other.env_method("htm_wrapper_states")[0]
    with pytest.raises(StateError, match="agent.htm.npz"):
        load_htm_model(tmp_path / "agent", other)
    after = other.env_method("htm_wrapper_states")[0]
    np.testing.assert_array_equal(after["0"]["state"]["sp"]["perm"], state["0"]["state"]["sp"]["perm"])
    curious = make_htm_vec_env("CartPole-v1", 1, 0, HTM, wrapper=HTMCuriosity)  # another wrapper stack
    with pytest.raises(StateError, match="wrapper stack"):
        load_htm_model(tmp_path / "agent", curious)
    (tmp_path / "broken.htm.npz").write_bytes(b"not a file")
    with pytest.raises(StateError, match="broken.htm.npz"):
        load_htm_model(tmp_path / "broken", make_htm_vec_env("CartPole-v1", 1, 0, HTM))
    with pytest.raises(ValueError, match="htm_copy"):
        load_htm_model(tmp_path / "agent", make_htm_vec_env("CartPole-v1", 1, 0, HTM), htm_copy=3)
    with pytest.raises(ValueError, match="no HTMObservation"):
        save_htm_model(PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=64), tmp_path / "plain")


def test_a_checkpoint_callback_saves_the_htms_too(tmp_path):
    build = dict(n_envs=1, seed=4, htm_kwargs=HTM)
    model = make_htm_model("PPO", "CartPole-v1", model_kwargs=SMALL, **build)
    model.learn(128, callback=HTMCheckpoint(tmp_path / "run", save_freq=64))
    assert (tmp_path / "run_64.htm.npz").exists() and (tmp_path / "run_64.zip").exists()
    before = _play(model, seed=1)
    loaded = load_htm_model(tmp_path / "run", make_htm_vec_env("CartPole-v1", **build))
    assert _play(loaded, seed=1) == before
    with pytest.raises(ValueError, match="save_freq"):
        HTMCheckpoint(tmp_path / "x", save_freq=-1)
