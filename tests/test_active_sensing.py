"""ActiveSensingEnv: a Gymnasium env whose policy only jumps the sensors; the pretrained network declares."""

from __future__ import annotations

import copy

import gymnasium as gym
import htmagent.envs  # noqa: F401  (registers the ids)
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from htmagent.envs.active_sensing import ActiveSensingEnv
from htmagent.experiments.active_sensing import evaluate
from htmagent.cortex.network import Network

LIBRARY = dict(num_objects=5, num_features=5, library_seed=3)


@pytest.fixture(scope="module")
def pretrained() -> Network:
    """One small pretrained network (5 objects); tests take deep copies."""
    return ActiveSensingEnv(network_seed=0, **LIBRARY).network


def make(network: Network, **kwargs) -> ActiveSensingEnv:
    return ActiveSensingEnv(network=copy.deepcopy(network), **LIBRARY, **kwargs)


def play(env: ActiveSensingEnv, seed: int, actions_seed: int):
    """One episode with random actions; returns the list of (observation, reward, terminated, truncated, info)."""
    rng = np.random.default_rng(actions_seed)
    observation, info = env.reset(seed=seed)
    steps = [(observation, 0.0, False, False, info)]
    done = False
    while not done:
        observation, reward, terminated, truncated, info = env.step(rng.integers(0, env.action_space.nvec))
        steps.append((observation, reward, terminated, truncated, info))
        done = terminated or truncated
    return steps


def test_gymnasium_and_sb3_env_checkers_pass(pretrained):
    env = make(pretrained)
    check_env(env, skip_render_check=True)
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(make(pretrained), warn=True)


def test_spaces_hide_location_and_label(pretrained):
    env = make(pretrained)
    assert env.action_space == gym.spaces.MultiDiscrete([2 * env.max_jump + 1] * 2)
    # overlaps (5) + candidates (1) + feature one-hot (5 + 1) + displacement (2) + steps (1)
    assert env.observation_space.shape == (5 + 1 + 6 + 2 + 1,)
    observation, info = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    assert set(info) == {"sensations", "candidates"} and info["sensations"] == 1
    overlaps = observation[:5]
    assert overlaps.max() > 0  # the first sensation already backs the objects that have this feature
    assert observation[5 + 1:5 + 1 + 6].sum() == 1.0  # one feature sensed, one-hot
    assert np.allclose(observation[-3:-1], 0.5)  # no move yet


def test_random_episode_runs_to_a_declaration_with_the_envs_rewards(pretrained):
    env = make(pretrained, max_steps=30)
    for seed in range(5):
        steps = play(env, seed, seed)
        *middle, last = steps
        _, reward, terminated, truncated, info = last
        assert terminated and not truncated
        assert info["declared_by"] in ("network", "limit")
        assert info["label"] == env.env.unwrapped.label
        assert info["correct"] == (info["declared"] == info["label"])
        moves = len(steps) - 1 if info["sensations"] > 1 else 0
        assert info["sensations"] == len(env.history) == 1 + moves
        for _, r, term, trunc, _ in middle[1:]:
            assert r == pytest.approx(-env.env.unwrapped.move_cost) and not term and not trunc
        expected = (1.0 if info["correct"] else -1.0) - env.env.unwrapped.move_cost * (1 if moves else 0)
        assert reward == pytest.approx(expected)
        for observation, *_ in steps:
            assert env.observation_space.contains(observation)
        with pytest.raises(gym.error.ResetNeeded):
            env.step(env.action_space.sample())


def test_truncation_without_guess_and_forced_guess_at_the_limit(pretrained):
    env = make(pretrained, max_steps=1, guess_at_limit=False)
    stay = np.full(2, env.max_jump)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(stay)
    if "declared" not in info:  # the network did not recognize the object from one point sensed twice
        assert truncated and not terminated and reward == pytest.approx(-env.env.unwrapped.move_cost)
        assert info["sensations"] == 2
    guessing = make(pretrained, max_steps=1)
    guessing.reset(seed=0)
    _, _, terminated, truncated, info = guessing.step(stay)
    assert terminated and not truncated and info["declared_by"] in ("network", "limit")


def test_reproducible_with_a_seed_and_independent_of_earlier_episodes(pretrained):
    first = [play(make(pretrained), seed, 7) for seed in (11, 12)]
    env = make(pretrained)
    play(env, 99, 1)  # another episode before: must not change what seed 11 gives
    second = [play(env, seed, 7) for seed in (11, 12)]
    for a_run, b_run in zip(first, second):
        assert len(a_run) == len(b_run)
        for (obs_a, r_a, te_a, tr_a, info_a), (obs_b, r_b, te_b, tr_b, info_b) in zip(a_run, b_run):
            np.testing.assert_array_equal(obs_a, obs_b)
            assert (r_a, te_a, tr_a, info_a) == (r_b, te_b, tr_b, info_b)
    # Unseeded resets continue the seeded stream: reproducible too.
    envs = [make(pretrained) for _ in range(2)]
    for e in envs:
        e.reset(seed=5)
    np.testing.assert_array_equal(envs[0].reset()[0], envs[1].reset()[0])


def test_policies_and_evaluation_against_the_ideal_observer(pretrained):
    env = make(pretrained)
    random_summary = evaluate(env, env.motor_policy("random"), episodes=12, seed=100)
    hypothesis = evaluate(env, env.motor_policy("hypothesis"), episodes=12, seed=100)
    assert [r.label for r in random_summary.episodes] == [r.label for r in hypothesis.episodes]
    assert hypothesis.accuracy == 1.0
    assert hypothesis.mean_sensations < random_summary.mean_sensations
    for summary in (random_summary, hypothesis):
        for record in summary.episodes:
            if record.correct and record.declared_by == "network":
                # the network cannot be sure of an object before the ideal observer has one left
                assert record.ideal_sensations is not None and record.ideal_sensations <= record.sensations
    again = evaluate(make(pretrained), env.motor_policy("hypothesis"), episodes=12, seed=100)
    assert again == hypothesis
    stay = evaluate(env, lambda obs: np.full(2, env.max_jump), episodes=2, seed=0)
    assert all(r.sensations >= 1 for r in stay.episodes)


def test_bad_inputs_raise_clear_errors_and_change_nothing(pretrained):
    env = make(pretrained)
    with pytest.raises(gym.error.ResetNeeded, match="before reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset(seed=0)
    before = (env.ego_path.copy(), env.overlap_matrix.copy())
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(2, dtype=np.float32))
    with pytest.raises(ValueError, match="out of range"):
        env.step(np.array([0, 2 * env.max_jump + 1]))
    with pytest.raises(ValueError, match="learn"):
        env.reset(options={"learn": True})
    np.testing.assert_array_equal(env.ego_path, before[0])
    np.testing.assert_array_equal(env.overlap_matrix, before[1])
    env.step(np.full(2, env.max_jump))  # still usable
    with pytest.raises(ValueError, match="max_steps"):
        make(pretrained, max_steps=0)
    with pytest.raises(ValueError, match="candidate_threshold"):
        make(pretrained, candidate_threshold=10_000)
    with pytest.raises(TypeError, match="guess_at_limit"):
        make(pretrained, guess_at_limit="yes")
    with pytest.raises(TypeError, match="network"):
        ActiveSensingEnv(network="net", **LIBRARY)
    with pytest.raises(ValueError, match="location='grid'"):
        ActiveSensingEnv(network=Network(location="random", l2_cell_count=256, l2_sdr_size=20,
                                         recognition_threshold=15, seed=0), **LIBRARY)
    with pytest.raises(ValueError, match="one column per sensor"):
        ActiveSensingEnv(network=copy.deepcopy(pretrained), num_sensors=2, **LIBRARY)
    with pytest.raises(ValueError, match="not the env's object"):
        ActiveSensingEnv(network=copy.deepcopy(pretrained), num_objects=5, num_features=5, library_seed=4)
    with pytest.raises(TypeError, match="ObjectTouch-v0"):
        ActiveSensingEnv(env=gym.make("CartPole-v1"), network=copy.deepcopy(pretrained))
    short = gym.make("htmagent/ObjectTouch-v0", max_episode_steps=5, **LIBRARY)
    with pytest.raises(ValueError, match="max_episode_steps"):
        ActiveSensingEnv(env=short, network=copy.deepcopy(pretrained), max_steps=20)
    with pytest.raises(ValueError, match="episodes"):
        evaluate(env, env.motor_policy("random"), episodes=0)
    with pytest.raises(TypeError, match="policy"):
        evaluate(env, "random", episodes=1)


def test_render_passes_through(pretrained):
    env = make(pretrained, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8


def test_script_quick_run_prints_the_table(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("matplotlib")
    from htmagent.experiments import active_sensing
    from htmagent.experiments.args import parse_args

    figure, results = tmp_path / "curve.png", tmp_path / "results.json"
    args = parse_args(active_sensing.StudyArgs, ["--quick", "--no-progress", "--frame-stacks", "1", "2", "--out",
                                                 str(figure), "--json-out", str(results)])
    assert active_sensing.main(args) == 0
    printed = capsys.readouterr().out
    assert "| policy | seeds | PPO steps/run | accuracy |" in printed
    for name in ("| random |", "| hypothesis |", "| ppo (sampled) | 0 | 512 |", "| ppo, 2 frames (greedy) | 0 | 512 |"):
        assert name in printed
    assert figure.stat().st_size > 1000
    import json

    data = json.loads(results.read_text())
    assert [r["policy"] for r in data["rows"]] == ["random", "hypothesis", "ppo (sampled)", "ppo (greedy)",
                                                   "ppo, 2 frames (sampled)", "ppo, 2 frames (greedy)"]
    assert data["results"]["ppo_k2_seed0"]["training_episodes"]
    assert 0.0 <= data["results"]["ppo_k1_seed0"]["sampled"]["accuracy"] <= 1.0


def test_two_sensors_vote_and_the_hypothesis_policy_moves_both():
    env = ActiveSensingEnv(num_sensors=2, network_seed=0, **LIBRARY)
    assert env.network.num_columns == 2
    assert env.action_space.shape == (4,)
    assert env.observation_space.shape == (2 * 5 + 1 + 2 * 6 + 4 + 1,)
    check_env(env, skip_render_check=True)
    summary = evaluate(env, env.motor_policy("hypothesis"), episodes=6, seed=0)
    assert summary.accuracy == 1.0
    assert all(len(sensation) == 2 for sensation in env.history)
