"""The sensorimotor environments (and an HTMAgent) in worker processes started after numba kernels ran in the parent.

Forking a process whose numba kernels already ran must leave the children able to run them (and to compile new ones),
since Stable-Baselines3's ``SubprocVecEnv`` and ``multiprocessing`` pools fork by default on Linux.
"""

from __future__ import annotations

import multiprocessing as mp
import sys

import gymnasium as gym
import numpy as np
import pytest

import htmagent.envs  # noqa: F401  (registers the ids)
from htmagent.agent import HTMAgent

pytest.importorskip("stable_baselines3")
from stable_baselines3.common.vec_env import SubprocVecEnv

IDS = ["htmagent/ObjectTouch-v0", "htmagent/ObjectSaccade-v0"]
SMALL = {"htmagent/ObjectTouch-v0": {"num_objects": 4, "num_sensors": 2},
         "htmagent/ObjectSaccade-v0": {"num_objects": 4, "image_size": 16, "num_sensors": 2}}
fork_only = pytest.mark.skipif(sys.platform != "linux", reason="the fork start method is Linux's default")

_AGENT: HTMAgent | None = None  # inherited by forked workers


def _learned_agent() -> tuple[gym.Env, HTMAgent]:
    env = gym.make("htmagent/ObjectTouch-v0", num_objects=4, num_sensors=2)
    agent = HTMAgent.for_env(env, seed=0)
    agent.learn(env, seed=0)  # runs the network's numba kernels in this (parent) process
    return env, agent


def _evaluate_inherited_agent(seed: int) -> tuple:
    env = gym.make("htmagent/ObjectTouch-v0", num_objects=4, num_sensors=2)
    result = _AGENT.evaluate(env, episodes=4, seed=seed)
    return result.steps, result.correct, result.labels


def _play(venv: SubprocVecEnv, steps: int, seed: int) -> list[np.ndarray]:
    venv.seed(seed)
    observations = [venv.reset()]
    rng = np.random.default_rng(seed)
    nvec = venv.action_space.nvec
    for _ in range(steps):
        actions = rng.integers(0, nvec[:-1], size=(venv.num_envs, len(nvec) - 1))
        actions = np.concatenate([actions, np.zeros((venv.num_envs, 1), dtype=actions.dtype)], axis=1)
        observation, rewards, dones, _ = venv.step(actions)
        assert rewards.shape == (venv.num_envs,) and not dones.any()  # no declaration, far from the time limit
        observations.append(observation)
    return observations


@fork_only
@pytest.mark.parametrize("env_id", IDS)
def test_subproc_vec_env_forked_after_numba_ran_in_the_parent(env_id):
    _learned_agent()
    venv = SubprocVecEnv([lambda: gym.make(env_id, **SMALL[env_id]) for _ in range(2)], start_method="fork")
    try:
        observations = _play(venv, 6, seed=3)
        key = "features" if "Touch" in env_id else "patch"
        assert observations[-1][key].shape[:2] == (2, 2)
        assert observations[-1]["displacement"].shape == (2, 2, 2)
    finally:
        venv.close()
    # The same seeds in the parent give the same observations: the workers ran the real environments.
    local = gym.make(env_id, **SMALL[env_id])
    first, _ = local.reset(seed=3)
    assert np.array_equal(first["displacement"], observations[0]["displacement"][0])
    key = "features" if "Touch" in env_id else "patch"
    assert np.array_equal(first[key], observations[0][key][0])


def test_subproc_vec_env_spawned_workers():
    # A spawned worker starts a fresh interpreter: "module:id" makes gymnasium import htmagent.envs (registering it).
    kwargs = SMALL["htmagent/ObjectTouch-v0"]
    venv = SubprocVecEnv([lambda: gym.make("htmagent.envs:htmagent/ObjectTouch-v0", **kwargs) for _ in range(2)],
                         start_method="spawn")
    try:
        observations = _play(venv, 3, seed=0)
        assert observations[-1]["features"].shape == (2, 2, 150)
    finally:
        venv.close()


@fork_only
def test_agent_network_runs_in_a_forked_worker_and_matches_the_parent():
    global _AGENT
    _, _AGENT = _learned_agent()
    expected = _evaluate_inherited_agent(seed=5)
    _, _AGENT = _learned_agent()  # the same agent again, untouched by the parent's evaluation
    with mp.get_context("fork").Pool(1) as pool:
        in_worker = pool.apply(_evaluate_inherited_agent, (5,))
    assert in_worker == expected
