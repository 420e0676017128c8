"""HTMVecWrapper under Stable-Baselines3: PPO trains on it, terminal observations become HTM dicts, the logger and
the curiosity keys work, and the batched HTM travels with the model (Dummy and Subproc)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv  # noqa: E402

from htmagent.sb3 import (HTMLogger, HTMVecWrapper, load_htm_model, make_htm_model, make_htm_vec_env,  # noqa: E402
                          save_htm_model)
from htmagent.serialization import StateError  # noqa: E402

HTM = dict(column_count=128, cells_per_column=4)
SMALL = dict(n_steps=64, batch_size=64, n_epochs=1)


def _play(model, seed: int, steps: int = 150) -> list:
    env = model.get_env()
    env.seed(seed)
    obs = env.reset()
    actions = []
    for _ in range(steps):
        action, _ = model.predict(obs, deterministic=True)
        obs, _, _, _ = env.step(action)
        actions.append(action.copy())
    return np.concatenate(actions).tolist()


def test_terminal_observations_become_htm_dicts_and_the_next_episode_starts_a_new_sequence():
    env = HTMVecWrapper(make_vec_env("CartPole-v1", n_envs=2, seed=0), seed=0, **HTM)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs, _, dones, infos = env.step(rng.integers(2, size=2))
        if dones.any():
            i = int(np.flatnonzero(dones)[0])
            final = infos[i]["terminal_observation"]
            assert sorted(final) == ["anomaly", "original", "predicted", "sdr"] and final["sdr"].sum() == 20
            assert obs["anomaly"][i, 0] == 1.0  # nothing predicted the first observation of the new episode
            return
    pytest.fail("no episode ended in 300 random CartPole steps")


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("vec_env_cls", [DummyVecEnv, SubprocVecEnv])
def test_a_loaded_agent_on_the_batched_htm_acts_as_before_saving(tmp_path, shared, vec_env_cls):
    build = dict(n_envs=2, seed=3, htm_kwargs=HTM, vec_env_cls=vec_env_cls, vec_wrapper=True, shared_htm=shared)
    model = make_htm_model("PPO", "CartPole-v1", model_kwargs=SMALL, **build)
    model.learn(256)
    assert len(model.get_env().htm.streams) == (1 if shared else 2)
    save_htm_model(model, tmp_path / "agent")
    before = _play(model, seed=11)
    loaded = load_htm_model(tmp_path / "agent", make_htm_vec_env("CartPole-v1", **build))
    assert _play(loaded, seed=11) == before
    bare = type(model).load(tmp_path / "agent.zip", env=make_htm_vec_env("CartPole-v1", **build))
    assert _play(bare, seed=11) != before  # fresh HTM: other codes, other actions
    for m in (model, loaded, bare):
        m.get_env().close()


def test_a_batched_file_does_not_load_into_per_copy_wrappers(tmp_path):
    model = make_htm_model("PPO", "CartPole-v1", n_envs=2, seed=0, htm_kwargs=HTM, model_kwargs=SMALL,
                           vec_wrapper=True)
    model.learn(64)
    save_htm_model(model, tmp_path / "agent")
    with pytest.raises(ValueError, match="HTMVecWrapper"):
        load_htm_model(tmp_path / "agent", make_htm_vec_env("CartPole-v1", 2, 0, HTM))
    other = make_htm_vec_env("CartPole-v1", 2, 0, dict(HTM, column_count=64), vec_wrapper=True)
    before = other.htm.state_dict()
    with pytest.raises(StateError, match="agent.htm.npz"):
        load_htm_model(tmp_path / "agent", other)
    after = other.htm.state_dict()
    np.testing.assert_array_equal(before["streams"]["0"]["sp"]["perm"], after["streams"]["0"]["sp"]["perm"])
    with pytest.raises(ValueError, match="htm_copy"):
        load_htm_model(tmp_path / "agent", make_htm_vec_env("CartPole-v1", 2, 0, HTM, vec_wrapper=True),
                       htm_copy=0)


def test_the_logger_reads_the_batched_htm_and_its_shared_curiosity(tmp_path):
    model = make_htm_model("PPO", "CartPole-v1", n_envs=2, seed=0, model_kwargs=dict(n_steps=128, n_epochs=1),
                           htm_kwargs=dict(HTM, curiosity=dict(beta=1.0, source="count")), vec_wrapper=True)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(256, callback=HTMLogger())
    with open(tmp_path / "progress.csv") as handle:
        row = list(csv.DictReader(handle))[0]
    assert float(row["htm/ep_intrinsic_return"]) > 0
    # Monitor sits inside the copies, below the bonus: the logged returns are the env's own
    episodes = [e["r"] for e in model.ep_info_buffer]  # every episode of the one rollout
    assert float(row["htm/ep_extrinsic_return"]) == pytest.approx(np.mean(episodes))
    assert float(row["htm/segments"]) > 0
    with pytest.raises(ValueError, match="wrapper"):
        make_htm_vec_env("CartPole-v1", 2, 0, HTM, wrapper=lambda env: env, vec_wrapper=True)
    with pytest.raises(TypeError, match="VecEnv"):
        HTMVecWrapper("CartPole-v1")


def test_the_speed_script_prints_every_table_in_its_quick_form(capsys, monkeypatch):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "vec_wrapper_speed.py"
    spec = importlib.util.spec_from_file_location("vec_wrapper_speed", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # a dataclass looks its module up while it is built
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["vec_wrapper_speed.py", "--quick"])
    module.main()
    out = capsys.readouterr().out
    for row in ("| 2 | HTMVectorObservation, shared |", "| plain PPO (MlpPolicy) |", "| HTMVecWrapper, shared |",
                "| fan-out 128 | 400 |"):
        assert row in out
    assert "| plain PPO (MlpPolicy) | " in out and "100% |" in out
