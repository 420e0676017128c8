"""HTMAgent: learns a library through the environment, recognizes objects, evaluates, saves/loads, validates."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import htmagent.envs  # noqa: F401  (registers the ids)
from htmagent.agent import HTMAgent, HypothesisJumps, RandomJumps
from htmagent.envs import ObjectTouchEnv
from htmagent.cortex.objects import ObjectSet

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TOUCH = "htmagent/ObjectTouch-v0"


def _touch(num_sensors: int = 1, **kwargs) -> gym.Env:
    return gym.make(TOUCH, num_objects=6, num_sensors=num_sensors, **kwargs)


@pytest.fixture(scope="module")
def learned_pair():
    """A 2-sensor touch environment and an agent that learned its 6 objects (shared by read-only tests)."""
    env = _touch(num_sensors=2)
    agent = HTMAgent.for_env(env, seed=3)
    agent.learn(env, seed=0)
    return env, agent


def test_agent_learns_a_small_touch_library_and_recognizes_its_objects():
    env = _touch()
    agent = HTMAgent.for_env(env, seed=0)
    agent.learn(env, seed=0)
    assert agent.extent == (4, 4)  # found by bumping into the edges
    assert sorted(agent.learned_labels) == list(range(6))
    # Its vocabulary holds exactly the feature codes it met: at most the pool's 10 codes, all of them real codes.
    codes = {code.sparse.tobytes() for code in env.unwrapped.feature_codes}
    assert 1 <= agent.num_features <= 10
    for key in agent._vocab:
        assert np.flatnonzero(np.frombuffer(key, dtype=np.int8)).astype(np.int32).tobytes() in codes
    result = agent.evaluate(env, episodes=30, seed=1)
    assert result.accuracy >= 0.9  # chance is 1/6
    assert result.recognized >= 0.9


def test_saccade_agent_recognizes_glyphs():
    env = gym.make("htmagent/ObjectSaccade-v0", num_objects=5, image_size=24)
    agent = HTMAgent.for_env(env, policy="hypothesis", seed=0)
    agent.learn(env, seed=0)
    assert agent.extent == (6, 6)
    result = agent.evaluate(env, episodes=15, seed=2)
    assert result.accuracy >= 0.8  # chance is 1/5


def test_evaluation_numbers_are_consistent(learned_pair):
    env, agent = learned_pair
    result = agent.evaluate(env, episodes=12, seed=4)
    steps, correct = np.array(result.steps), np.array(result.correct)
    assert result.episodes == len(steps) == len(correct) == len(result.labels) == 12
    assert result.accuracy == pytest.approx(correct.mean())
    assert result.mean_steps == pytest.approx(steps.mean())
    assert ((steps >= 1) & (steps <= agent.max_steps)).all()
    # +1 / -1 for the declaration, -move_cost for every step before it.
    move_cost = env.unwrapped.move_cost
    expected = np.where(correct, 1.0, -1.0) - move_cost * (steps - 1)
    assert result.mean_reward == pytest.approx(expected.mean())
    assert 0.0 <= result.recognized <= 1.0 and result.episodes_per_second > 0
    assert set(result.labels) <= set(range(6))
    assert agent.max_steps == 50  # from the registered time limit


def test_seeds_reproduce_and_episode_paths_do_not_depend_on_earlier_episodes():
    results = []
    for _ in range(2):
        env = _touch()
        agent = HTMAgent.for_env(env, seed=7)
        agent.learn(env, seed=0)
        results.append(agent.evaluate(env, episodes=8, seed=5))
    first, second = (dict(r.as_dict(), episodes_per_second=0) for r in results)
    assert first == second
    env = _touch()
    agent = HTMAgent.for_env(env, seed=7)
    agent.learn(env, seed=0)
    other = agent.evaluate(env, episodes=8, seed=6)
    assert (other.steps, other.labels) != (results[0].steps, results[0].labels)


def _play(agent: HTMAgent, env: gym.Env, observation, steps: int) -> tuple[list[np.ndarray], object]:
    actions = []
    for _ in range(steps):
        action = agent.act(observation)
        actions.append(action)
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    return actions, observation


def test_save_and_load_mid_episode_resumes_with_the_same_actions(tmp_path, learned_pair):
    _, learned = learned_pair
    path = tmp_path / "agent.npz"
    learned.save(path)
    agent = HTMAgent.load(path)  # a private copy, so the shared fixture stays untouched
    agent.policy = "hypothesis"
    env_a, env_b = _touch(num_sensors=2), _touch(num_sensors=2)
    obs_a, _ = env_a.reset(seed=11)
    obs_b, _ = env_b.reset(seed=11)
    agent.reset(obs_a)
    first = agent.act(obs_a)
    obs_a, *_ = env_a.step(first)
    obs_b, *_ = env_b.step(first)
    agent.save(path)
    clone = HTMAgent.load(path)
    assert repr(clone) == repr(agent)
    for _ in range(4):
        actions_a, _ = _play(agent, env_a, obs_a, 60)
        actions_b, _ = _play(clone, env_b, obs_b, 60)
        assert len(actions_a) == len(actions_b)
        assert all(np.array_equal(a, b) for a, b in zip(actions_a, actions_b))
        assert agent.declared_by == clone.declared_by
        obs_a, _ = env_a.reset()
        obs_b, _ = env_b.reset()
        agent.reset(obs_a)
        clone.reset(obs_b)
    assert clone.network.state_dict()["rng"] == agent.network.state_dict()["rng"]


def test_bad_inputs_raise_clear_errors_and_change_nothing(learned_pair):
    env, agent = learned_pair
    with pytest.raises(TypeError, match="htmagent's sensorimotor environments"):
        HTMAgent.for_env(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="policy must be one of"):
        HTMAgent.for_env(env, policy="greedy")
    with pytest.raises(ValueError, match="location must be 'grid'"):
        HTMAgent.for_env(env, location="random")
    with pytest.raises(ValueError, match=r"network_kwargs must not set \['num_columns'\]"):
        HTMAgent.for_env(env, num_columns=3)
    with pytest.raises(ValueError, match="policy must be one of"):
        agent.policy = "greedy"
    with pytest.raises(ValueError, match="num_sensors must be 2, got 1"):
        agent.evaluate(_touch(num_sensors=1), episodes=1)
    with pytest.raises(ValueError, match="episodes must be an int >= 1, got 0"):
        agent.evaluate(env, episodes=0)
    fresh = HTMAgent.for_env(env, seed=0)
    observation, _ = env.reset(seed=0)
    with pytest.raises(RuntimeError, match="learn"):
        fresh.reset(observation)
    with pytest.raises(ValueError, match="repetitions must be an int >= 2, got 1"):
        fresh.learn(env, repetitions=1)
    twin = HTMAgent.from_state_dict(agent.state_dict())
    with pytest.raises(RuntimeError, match="reset"):
        twin.act(observation)
    twin.reset(observation, seed=0)
    copy = HTMAgent.from_state_dict(twin.state_dict())
    bad_shape = dict(observation, features=observation["features"][:1])
    with pytest.raises(ValueError, match=r"observation\['features'\] must have shape \(2, 150\), got \(1, 150\)"):
        twin.act(bad_shape)
    with pytest.raises(ValueError, match=r"must hold integers in \[0, 1\]"):
        twin.act(dict(observation, features=observation["features"] * 3))
    with pytest.raises(ValueError, match="displacement"):
        twin.act(dict(observation, displacement=np.full((2, 2), 0.5, dtype=np.float32)))
    with pytest.raises(TypeError, match="must be a dict with keys 'features' and 'displacement'"):
        twin.act(observation["features"])
    # The rejected calls changed nothing: the twin acts as its untouched copy does.
    assert np.array_equal(twin.act(observation), copy.act(observation))
    with pytest.raises(ValueError, match="format"):
        HTMAgent.from_state_dict({"format": "something else"})


def test_act_after_a_declaration_needs_a_reset(learned_pair):
    env, learned = learned_pair
    agent = HTMAgent.from_state_dict(learned.state_dict())
    observation, _ = env.reset(seed=3)
    agent.reset(observation, seed=0)
    actions, observation = _play(agent, env, observation, 60)
    assert actions[-1][-1] > 0  # the episode ended with a declaration
    with pytest.raises(RuntimeError, match="declared"):
        agent.act(observation)


def test_learning_reads_only_what_the_sensors_sense():
    # A 3 x 1 grid and a time limit shorter than the learning sweep: learning restarts episodes as needed, and the
    # objects learned are exactly what the sensor touched, at the cells learn-mode info gave.
    objects = ObjectSet.from_dicts([{(0, 0): 0, (1, 0): 1}, {(1, 0): 0, (2, 0): 1}, {(0, 0): 1, (2, 0): 0}],
                                   num_features=2)
    env = gym.wrappers.TimeLimit(ObjectTouchEnv(objects), max_episode_steps=5)
    agent = HTMAgent.for_env(env, seed=0)
    agent.learn(env, seed=0)
    assert agent.extent == (3, 1) and agent.num_features == 2
    # The agent numbers features in its own vocabulary; decoded through the environment's code book they match.
    decode = {fid: env.unwrapped.feature_id(np.frombuffer(key, dtype=np.int8)) for key, fid in agent._vocab.items()}
    learned = [{p: decode[f] for p, f in o.points.items()} for o in agent.network.learned_objects]
    assert learned == objects.to_dicts()
    result = agent.evaluate(env, episodes=10, seed=0)
    assert result.episodes == 10 and max(result.steps) <= 5


def test_random_jumps_depend_only_on_displacements_and_keep_the_true_origin():
    env = _touch(num_sensors=2, max_jump=2)
    base = env.unwrapped
    a, b = RandomJumps((4, 4), 2, 2), RandomJumps((4, 4), 2, 2)
    observation, info = env.reset(seed=1, options={"learn": True})
    a.reset(np.random.default_rng(9))
    b.reset(np.random.default_rng(9))
    start = info["sensor_positions"].copy()
    for _ in range(30):
        a.observe(observation["displacement"], [0, 1])
        b.observe(observation["displacement"], [-1, 5])
        for s in range(2):  # the belief always holds the sensor's true origin
            assert a.origins[s, start[s, 0] - base.grid_bounds[0], start[s, 1] - base.grid_bounds[1]]
        jumps_a, jumps_b = a.next_jumps(), b.next_jumps()
        assert np.array_equal(jumps_a, jumps_b) and np.abs(jumps_a).max() <= 2
        action = np.concatenate([(jumps_a + 2).reshape(-1), [0]])
        observation, _, _, _, info = env.step(action)
    assert a.origins.sum() < 2 * 16  # bumping into edges narrowed where the sensors could be


def test_hypothesis_jumps_go_where_candidates_differ():
    # Two 2 x 1 objects that share feature 0 on the left and differ on the right.
    objects = np.array([[[0], [1]], [[0], [2]]])
    policy = HypothesisJumps((2, 1), 1, 1, objects)
    policy.reset(np.random.default_rng(0))
    policy.observe(np.zeros((1, 2)), [0])
    assert np.array_equal(policy.next_jumps(), [[1, 0]])
    with pytest.raises(ValueError, match="objects must be an integer array of shape"):
        HypothesisJumps((2, 1), 1, 1, np.zeros((2, 3, 3), dtype=np.int64))


def test_evaluate_agent_script_quick_run(tmp_path, monkeypatch, capsys):
    png, raw = tmp_path / "agent.png", tmp_path / "agent.json"
    argv = ["evaluate_agent.py", "--quick", "--no-progress", "--envs", "touch", "--out", str(png),
            "--json-out", str(raw)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(SCRIPTS / "evaluate_agent.py"), run_name="__main__")
    assert done.value.code == 0
    printed = capsys.readouterr().out
    for player in ("HTMAgent (random)", "HTMAgent (hypothesis)", "ideal observer, sensor frames", "random guess"):
        assert player in printed
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "rows" in raw.read_text()


def test_cli_hook_learns_evaluates_and_saves(tmp_path, capsys):
    import argparse

    from htmagent import agent as agent_module

    parser = argparse.ArgumentParser(prog="htmagent")
    agent_module.register(parser.add_subparsers(dest="command"))
    path = tmp_path / "cli_agent.npz"
    args = parser.parse_args(["agent", "--sensors", "2", "--policy", "hypothesis", "--episodes", "3",
                              "--no-progress", "--save", str(path)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "episodes/s" in printed
    assert HTMAgent.load(path).num_sensors == 2


def test_unknown_sensations_and_empty_space_are_sensed_as_nothing(learned_pair):
    env, learned = learned_pair
    agent = HTMAgent.from_state_dict(learned.state_dict())
    observation, _ = env.reset(seed=8)
    agent.reset(observation, seed=0)
    novel = np.zeros_like(observation["features"])
    novel[0, :20] = 1  # a code the agent never met while learning
    strange = dict(observation, features=novel)  # sensor 0: unknown; sensor 1: empty space
    vocabulary = agent.num_features
    action = agent.act(strange)
    assert env.action_space.contains(action)
    assert agent.num_features == vocabulary  # playing never grows the vocabulary
    assert agent._policy.features[-1].tolist() == [-2, -1]
    assert agent.declared_by == ""  # nothing sensed: nothing to recognize yet


def test_looser_declaration_rules_never_declare_later(learned_pair):
    # With random jumps, equal seeds give equal paths, and "every column recognizes k" implies "a majority does" and
    # "one does": per episode, any <= majority <= all.
    env, learned = learned_pair
    agent = HTMAgent.from_state_dict(learned.state_dict())
    steps = {}
    for rule in ("all", "majority", "any"):
        agent.declare = rule
        result = agent.evaluate(env, episodes=10, seed=9)
        assert result.accuracy >= 0.8
        steps[rule] = np.array(result.steps)
    assert (steps["any"] <= steps["majority"]).all() and (steps["majority"] <= steps["all"]).all()
    with pytest.raises(ValueError, match="declare must be one of"):
        agent.declare = "most"
