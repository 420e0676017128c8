"""The HTM wrappers inside RLlib's env runners (htmagent.experiments.rllib; the 'rllib' extra)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from htmagent.envs import HTMCuriosity, HTMObservation
from htmagent.experiments.rllib import HTMEnvCreator, HTMRLlibEnv
from htmagent.serialization import StateError, flatten_state, load_state, save_state


def _tm_arrays(env):
    return flatten_state(env.htm_wrapper_states())[0]


def test_creator_wraps_and_seeds_the_copies():
    same = HTMEnvCreator("CartPole-v1", htm_kwargs=dict(column_count=64), seed=3)
    a, b = same({}), same({})
    assert isinstance(a, HTMObservation)
    assert sorted(a.observation_space.spaces) == ["anomaly", "original", "predicted", "sdr"]
    first, second = _tm_arrays(a), _tm_arrays(b)
    assert all(np.array_equal(first[k], second[k]) for k in first)  # the same seed in every copy

    own = HTMEnvCreator("CartPole-v1", htm_kwargs=dict(column_count=64), seed=3, same_htm_seed=False)
    assert [own.htm_seed(1, 0), own.htm_seed(1, 1), own.htm_seed(2, 0)] == [1003, 1004, 2003]
    c, d = own({}), own({})
    tie_c, tie_d = (_tm_arrays(e)["0/state/sp/tie_breaker"] for e in (c, d))
    assert not np.array_equal(tie_c, tie_d)


def test_creator_adds_curiosity_and_a_raw_env_wrapper():
    from htmagent.experiments.rl import MaskVelocity

    creator = HTMEnvCreator("CartPole-v1", htm_kwargs=dict(column_count=64), curiosity=dict(beta=0.1), seed=0,
                            wrapper=MaskVelocity)
    env = creator({})
    assert isinstance(env, HTMCuriosity)
    assert env.observation_space["original"].shape == (2,)  # the velocities are gone before the HTM sees it
    env.reset(seed=0)
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(info["extrinsic_reward"] + 0.1 * info["intrinsic_reward"])


@pytest.mark.parametrize("kwargs, error", [
    (dict(env=3), TypeError),
    (dict(env="CartPole-v1", htm_kwargs=dict(seed=1)), ValueError),
    (dict(env="CartPole-v1", curiosity=dict(seed=1)), ValueError),
    (dict(env="CartPole-v1", htm_kwargs=[1]), TypeError),
    (dict(env=lambda: gym.make("CartPole-v1"), env_kwargs=dict(max_episode_steps=5)), ValueError),
    (dict(env="CartPole-v1", seed=-1), ValueError),
    (dict(env="CartPole-v1", same_htm_seed=1), TypeError),
])
def test_creator_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error):
        HTMEnvCreator(**kwargs)


def test_env_class_needs_a_creator():
    with pytest.raises(TypeError, match="htm_creator"):
        HTMRLlibEnv({})


# ------------------------------------------------------------------------------------------------------ on Ray
@pytest.fixture(scope="module")
def local_ray():
    pytest.importorskip("ray.rllib", reason="needs the rllib extra")
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def _states_equal(a, b) -> bool:
    (arrays_a, values_a), (arrays_b, values_b) = flatten_state(a), flatten_state(b)
    return (sorted(arrays_a) == sorted(arrays_b) and values_a == values_b
            and all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a))


def test_ppo_trains_with_an_htm_learning_in_each_of_two_env_runners(local_ray, tmp_path):
    from htmagent.experiments.rllib import htm_ppo_config, htm_runner_states, load_htm_algorithm, save_htm_algorithm

    config = htm_ppo_config("CartPole-v1", num_env_runners=2, seed=0, htm_kwargs=dict(column_count=128),
                            curiosity=dict(beta=0.05))
    config = config.training(train_batch_size_per_learner=256, minibatch_size=64, num_epochs=2)
    algo = config.build_algo()
    try:
        results = [algo.train() for _ in range(2)]
        runners = results[-1]["env_runners"]
        assert runners["num_env_steps_sampled_lifetime"] >= 512
        assert 0.0 <= runners["htm/ep_anomaly"] <= 1.0
        assert runners["htm/segments"] > 0 and runners["htm/synapses"] > 0
        # RLlib's return is extrinsic + beta * intrinsic; the callback reports the parts
        assert runners["episode_return_mean"] > runners["htm/ep_extrinsic_return"] > 0

        states = htm_runner_states(algo)
        assert sorted(states) == ["1", "2"] and all(len(copies) == 1 for copies in states.values())
        one, two = (flatten_state(states[k][0])[0] for k in ("1", "2"))
        # the same seed in both runners (the seeded tie-breaker), each HTM learning from its own episodes
        assert np.array_equal(one["1/state/sp/tie_breaker"], two["1/state/sp/tie_breaker"])
        assert not np.array_equal(one["1/state/sp/perm"], two["1/state/sp/perm"])

        path = save_htm_algorithm(algo, tmp_path / "checkpoint")
    finally:
        algo.stop()

    restored = load_htm_algorithm(path)
    try:
        back = htm_runner_states(restored)
        assert sorted(back) == ["1", "2"]
        assert all(_states_equal(back[k][0], states[k][0]) for k in back)
        restored.train()  # and it trains on from there
    finally:
        restored.stop()


def test_a_malformed_htm_file_is_refused_before_rllib_builds_anything(local_ray, tmp_path):
    from htmagent.experiments.rllib import HTM_STATES_FILE, load_htm_algorithm

    folder = tmp_path / "checkpoint"
    folder.mkdir()
    save_state(folder / HTM_STATES_FILE, {"format": "htmagent.rllib/1", "runners": {"1": [1, 2]}})
    with pytest.raises(StateError, match=HTM_STATES_FILE):
        load_htm_algorithm(folder)
    save_state(folder / HTM_STATES_FILE, {"format": "something else", "runners": {}})
    with pytest.raises(StateError, match="format"):
        load_htm_algorithm(folder)
    assert load_state(folder / HTM_STATES_FILE)["format"] == "something else"


def test_the_command_trains_and_saves(local_ray, tmp_path, capsys):
    from htmagent.cli import main

    out_json = tmp_path / "rows.json"
    assert main(["rllib", "--quick", "--env-runners", "2", "--save", str(tmp_path / "ck"), "--no-progress",
                 "--json-out", str(out_json)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit() and "steps/s" not in line]
    assert [int(r[0]) for r in rows] == [1, 2]
    assert int(rows[-1][1]) >= 512
    assert (tmp_path / "ck" / "htm_states.npz").exists()
    import json

    assert [r["steps"] for r in json.loads(out_json.read_text())["rows"]] == [int(r[1]) for r in rows]


def test_the_command_runs_the_baseline_without_the_htm(local_ray, capsys):
    from htmagent.cli import main

    assert main(["rllib", "--quick", "--no-htm", "--env-runners", "1", "--no-progress"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit() and "steps/s" not in line]
    assert len(rows) == 2 and rows[-1][3] == "-"
