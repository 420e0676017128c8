"""The sensorimotor Gymnasium environments: API conformance, game rules, rendering, vectorization, glyphs."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import htmagent.envs  # noqa: F401  (registers the ids)
from htmagent._numba import kernel
from htmagent.cortex.baselines import IdealObserver
from htmagent.envs import ObjectSaccadeEnv, ObjectTouchEnv
from htmagent.envs.shapes import GlyphLibrary, anchor_lattice, draw_strokes
from htmagent.cortex.objects import ObjectSet

IDS = ["htmagent/ObjectTouch-v0", "htmagent/ObjectSaccade-v0"]
SMALL = {
    "htmagent/ObjectTouch-v0": dict(num_objects=6),
    "htmagent/ObjectSaccade-v0": dict(num_objects=6, image_size=24),
}


@kernel
def _count_active(bits):
    total = 0
    for b in bits:
        total += b
    return total


def _stay(env, declare=0):
    """An action that keeps every sensor in place (and declares ``declare``)."""
    unwrapped = env.unwrapped
    return np.array([unwrapped.max_jump] * (2 * unwrapped.num_sensors) + [declare])


def _jump(env, moves, declare=0):
    unwrapped = env.unwrapped
    flat = (np.asarray(moves).reshape(-1) + unwrapped.max_jump).tolist()
    return np.array(flat + [declare])


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("extra", [{}, {"num_sensors": 3, "observe_step": True}])
def test_check_env_passes(env_id, extra):
    env = gym.make(env_id, render_mode="rgb_array", **SMALL[env_id], **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


def test_check_env_passes_with_a_hawkins2017_library():
    env = ObjectTouchEnv(object_set=ObjectSet.hawkins2017(5, num_points=6, seed=0), num_sensors=2)
    assert env.grid_bounds == (0, 0, 9, 0) and env.action_space.nvec.tolist() == [19, 19, 19, 19, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)  # a direct instance has no spec to remake it with


@pytest.mark.parametrize("env_id", IDS)
def test_seeded_episodes_repeat(env_id):
    def rollout(seed):
        env = gym.make(env_id, num_sensors=2, **SMALL[env_id])
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        trace = [obs]
        for _ in range(5):
            action = env.action_space.sample()
            action[-1] = 0
            trace.append(env.step(action)[0])
        return trace

    first, second, other = rollout(3), rollout(3), rollout(4)
    assert all(all(np.array_equal(a[k], b[k]) for k in a) for a, b in zip(first, second))
    assert not all(all(np.array_equal(a[k], b[k]) for k in a) for a, b in zip(first, other))


def test_touch_observation_is_the_feature_code_under_each_sensor():
    env = ObjectTouchEnv(num_objects=8, num_sensors=3)
    obs, info = env.reset(seed=0, options={"learn": True})
    assert set(obs) == {"features", "displacement"}  # never the location or the label
    for step in range(6):
        obj = env.object_set[info["label"]]
        for s, (x, y) in enumerate(info["sensor_positions"]):
            expected = obj.points.get((int(x), int(y)))
            assert env.feature_id(obs["features"][s]) == expected
            if expected is not None:
                assert np.array_equal(np.flatnonzero(obs["features"][s]), env.feature_codes[expected].sparse)
            else:
                assert obs["features"][s].sum() == 0
        obs, _, _, _, info = env.step(_jump(env, [(1, 0), (0, -1), (-1, 1)]))
    assert obs["features"].dtype == np.int8 and obs["features"].sum(axis=1).max() == 10


def test_sensors_start_on_distinct_points_of_the_object():
    env = ObjectTouchEnv(num_objects=10, num_sensors=4)
    for seed in range(10):
        _, info = env.reset(seed=seed, options={"learn": True})
        starts = {tuple(p) for p in info["sensor_positions"].tolist()}
        assert len(starts) == 4 and starts <= set(env.object_set[info["label"]].locations)
    tiny = ObjectTouchEnv(object_set=ObjectSet.from_dicts([{(0, 0): 1, (1, 0): 2}], num_features=3), num_sensors=3)
    _, info = tiny.reset(seed=0, options={"learn": True})
    assert {tuple(p) for p in info["sensor_positions"].tolist()} == {(0, 0), (1, 0)}


def test_moves_are_clamped_at_the_grid_edge_and_displacement_is_the_move_made():
    env = ObjectTouchEnv(num_objects=5, grid_size=4)
    env.reset(seed=1, options={"learn": True})
    obs, _, _, _, info = env.step(_jump(env, [(-3, -3)]))
    assert info["sensor_positions"].tolist() == [[0, 0]]
    obs, _, _, _, info = env.step(_jump(env, [(3, 2)]))
    assert info["sensor_positions"].tolist() == [[3, 2]]
    assert obs["displacement"].tolist() == [[3.0, 2.0]]
    obs, _, _, _, info = env.step(_jump(env, [(3, 3)]))
    assert info["sensor_positions"].tolist() == [[3, 3]] and obs["displacement"].tolist() == [[0.0, 1.0]]


def test_rewards_termination_and_truncation():
    env = gym.make("htmagent/ObjectTouch-v0", num_objects=5, move_cost=0.05)
    _, info = env.reset(seed=2, options={"learn": True})
    label = info["label"]
    _, reward, terminated, truncated, info = env.step(_stay(env))
    assert reward == pytest.approx(-0.05) and not terminated and not truncated
    _, reward, terminated, _, info = env.step(_stay(env, declare=label + 1))
    assert reward == 1.0 and terminated and info["correct"] and info["declared"] == label
    env.reset(seed=2, options={"label": 0})
    _, reward, terminated, _, info = env.step(_stay(env, declare=2))
    assert reward == -1.0 and terminated and not info["correct"] and info["label"] == 0
    env.reset(seed=3)
    for step in range(50):
        _, _, terminated, truncated, _ = env.step(_stay(env))
    assert truncated and not terminated and step == 49


def test_learn_mode_info_and_options():
    env = ObjectTouchEnv(num_objects=5, num_sensors=2)
    _, info = env.reset(seed=0)
    assert info == {}
    assert env.step(_stay(env))[-1] == {}
    for label in range(5):
        _, info = env.reset(seed=0, options={"learn": True, "label": label})
        assert info["label"] == label and info["sensor_positions"].shape == (2, 2)
        assert env.step(_stay(env))[-1]["label"] == label
    with pytest.raises(ValueError, match=r"options\['label'\] must be an object label in \[0, 5\), got 5"):
        env.reset(options={"label": 5})
    with pytest.raises(ValueError, match="unknown key"):
        env.reset(options={"lern": True})
    with pytest.raises(TypeError, match=r"options\['learn'\] must be a bool"):
        env.reset(options={"learn": "yes"})


@pytest.mark.parametrize("env_id", IDS)
def test_invalid_use_raises_clear_errors(env_id):
    env = gym.make(env_id, **SMALL[env_id]).unwrapped
    with pytest.raises(gym.error.ResetNeeded, match="before reset"):
        env.step(env.action_space.sample())
    env.reset(seed=0)
    bad = _stay(env)
    bad[0] = 2 * env.max_jump + 1
    with pytest.raises(ValueError, match="action out of range: expected an integer array of shape"):
        env.step(bad)
    with pytest.raises(ValueError, match=r"action must be an integer array of shape \(3,\)"):
        env.step(np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match="action must be an integer array"):
        env.step(_stay(env).astype(np.float64) + 0.5)
    with pytest.raises(ValueError, match=r"declaration in \[0, 6\]"):
        env.step(_stay(env, declare=7))
    env.step(_stay(env, declare=1))
    with pytest.raises(gym.error.ResetNeeded, match="ended with a declaration"):
        env.step(_stay(env))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"feature at point \(1, 0\) must lie in \[0, 10\), got 12"):
        ObjectTouchEnv(object_set=[{(0, 0): 1, (1, 0): 12}], num_features=10)
    with pytest.raises(ValueError, match="num_sensors must be >= 1, got 0"):
        ObjectTouchEnv(num_sensors=0)
    with pytest.raises(ValueError, match="move_cost must be a finite number >= 0"):
        ObjectTouchEnv(move_cost=float("nan"))
    with pytest.raises(ValueError, match="render_mode must be None or one of"):
        ObjectTouchEnv(render_mode="ansi")
    with pytest.raises(ValueError, match="patch_size must be odd"):
        ObjectSaccadeEnv(num_objects=3, patch_size=6)
    with pytest.raises(TypeError, match="glyphs must be uint8 images, got dtype float64"):
        ObjectSaccadeEnv(glyphs=np.zeros((2, 16, 16)))
    with pytest.raises(ValueError, match=r"glyphs must be images of shape \(num_objects, size, size\)"):
        ObjectSaccadeEnv(glyphs=np.zeros((16, 16), dtype=np.uint8))


def test_saccade_patch_is_the_image_under_the_sensor():
    env = ObjectSaccadeEnv(num_objects=5, image_size=32, patch_size=7, fixation_spacing=4, num_sensors=2)
    obs, info = env.reset(seed=5, options={"learn": True})
    padded = np.pad(env.images[info["label"]], 3)
    for _ in range(6):
        for s, (fx, fy) in enumerate(info["sensor_positions"]):
            cx, cy = env.fixations[fx], env.fixations[fy]
            assert np.array_equal(obs["patch"][s], padded[cy:cy + 7, cx:cx + 7])
        obs, _, _, _, info = env.step(_jump(env, [(2, -1), (-3, 1)]))
    assert obs["patch"].dtype == np.uint8
    for seed in range(8):
        obs, _ = env.reset(seed=seed)
        assert np.all(obs["patch"].max(axis=(1, 2)) > 0)  # every sensor starts on ink


@pytest.mark.parametrize("env_id", IDS)
def test_rgb_array_frames(env_id):
    env = gym.make(env_id, render_mode="rgb_array", num_sensors=2, **SMALL[env_id])
    env.reset(seed=0)
    first = env.render()
    assert first.shape == (480, 760, 3) and first.dtype == np.uint8
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 20  # not blank
    env.step(_jump(env, [(1, 1), (-1, 0)]))
    assert not np.array_equal(env.render(), first)
    env.close()


def test_human_mode_opens_a_window_headless():
    env = gym.make("htmagent/ObjectTouch-v0", render_mode="human", num_objects=4)
    env.reset(seed=0)  # reset and step draw the window themselves in human mode
    env.step(_stay(env))
    assert env.render() is None
    env.close()
    # A pygame.quit() elsewhere (a demo closing) must not break later off-screen frames.
    import pygame

    pygame.quit()
    frames = gym.make("htmagent/ObjectTouch-v0", render_mode="rgb_array", num_objects=4)
    frames.reset(seed=0)
    assert frames.render().shape == (480, 760, 3)


@pytest.mark.parametrize("env_id", IDS)
def test_vector_envs(env_id):
    kwargs = dict(num_sensors=2, **SMALL[env_id])
    sync = gym.vector.SyncVectorEnv([lambda: gym.make(env_id, **kwargs) for _ in range(2)])
    obs, _ = sync.reset(seed=0)
    obs, reward, _, _, _ = sync.step(sync.action_space.sample())
    assert reward.shape == (2,) and all(v.shape[0] == 2 for v in obs.values())
    sync.close()
    # Workers forked after numba has compiled and run a kernel in the parent must still work.
    assert _count_active(obs["features" if "features" in obs else "patch"].reshape(-1)[:64].astype(np.int64)) >= 0
    forked = gym.vector.AsyncVectorEnv([lambda: gym.make(env_id, **kwargs) for _ in range(2)], context="fork")
    obs, _ = forked.reset(seed=0)
    for _ in range(3):
        obs, reward, terminated, truncated, _ = forked.step(forked.action_space.sample())
    assert reward.shape == (2,) and obs["displacement"].shape == (2, 2, 2)
    forked.close()


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_dummy_vec_env(env_id):
    from stable_baselines3.common.vec_env import DummyVecEnv

    vec = DummyVecEnv([lambda: gym.make(env_id, **SMALL[env_id]) for _ in range(2)])
    vec.seed(0)
    obs = vec.reset()
    for _ in range(3):
        obs, rewards, dones, infos = vec.step(np.stack([vec.action_space.sample() for _ in range(2)]))
    assert rewards.shape == (2,) and dones.shape == (2,) and set(obs) == set(vec.observation_space.spaces)
    vec.close()


def test_ideal_observer_recognizes_touch_episodes():
    """Decoding the observations and integrating displacements is enough to name the object: the game is solvable."""
    env = ObjectTouchEnv(num_objects=20, num_sensors=1)
    observer = IdealObserver(env.object_set, mode="displacement")
    rng = np.random.default_rng(0)
    for episode in range(10):
        obs, _ = env.reset(seed=episode)
        observer.reset()
        position = np.zeros(2, dtype=np.int64)
        recognized = observer.step([(tuple(position), env.feature_id(obs["features"][0]))])
        steps = 0
        while recognized is None and steps < 40:
            obs, _, _, _, _ = env.step(_jump(env, [rng.integers(-2, 3, size=2)]))
            position += obs["displacement"][0].astype(np.int64)
            recognized = observer.step([(tuple(position), env.feature_id(obs["features"][0]))])
            steps += 1
        assert recognized == env.label


def test_saccade_object_set_describes_the_patches():
    env = ObjectSaccadeEnv(num_objects=8, num_sensors=2)
    observer = IdealObserver(env.object_set, mode="displacement")
    rng = np.random.default_rng(1)
    for episode in range(6):
        obs, info = env.reset(seed=episode, options={"learn": True})
        observer.reset()
        origin = info["sensor_positions"][0].copy()
        recognized = None
        for _ in range(30):
            obj = env.object_set[info["label"]]
            observations = []
            for s, cell in enumerate(info["sensor_positions"]):
                feature = env.feature_id(obs["patch"][s])
                assert feature == obj.points.get(tuple(int(c) for c in cell))
                observations.append((tuple(int(c) for c in cell - origin), feature))
            recognized = observer.step(observations)
            if recognized is not None:
                break
            obs, _, _, _, info = env.step(_jump(env, rng.integers(-2, 3, size=(2, 2))))
        assert recognized == info["label"]
    with pytest.raises(ValueError, match="not a patch of this environment's library"):
        env.feature_id(np.full((7, 7), 3, dtype=np.uint8))


def test_glyph_library_is_seeded_distinct_and_shares_parts():
    library = GlyphLibrary.generate(12, size=32, seed=0)
    assert library.images.shape == (12, 32, 32) and library.images.dtype == np.uint8
    assert np.array_equal(GlyphLibrary.generate(12, size=32, seed=0).images, library.images)
    assert not np.array_equal(GlyphLibrary.generate(12, size=32, seed=1).images, library.images)
    masks = library.images >= 128
    for i in range(12):
        assert masks[i].mean() >= 0.08
        for j in range(i):
            assert (masks[i] & masks[j]).sum() / (masks[i] | masks[j]).sum() <= 0.7
    # Shared local parts: some inked 7x7 patch (on the 4-pixel fixation grid) occurs in two different glyphs.
    seen: dict[bytes, int] = {}
    shared = False
    for g, image in enumerate(np.pad(library.images, ((0, 0), (3, 3), (3, 3)))):
        for cy in range(2, 32, 4):
            for cx in range(2, 32, 4):
                patch = image[cy:cy + 7, cx:cx + 7]
                if patch.max() == 255:
                    owner = seen.setdefault(patch.tobytes(), g)
                    shared |= owner != g
    assert shared
    # Anchors are 8 pixels (two fixations) apart on pixel centres, so repeated parts give identical patches.
    assert np.allclose(anchor_lattice(4, 32)[0, :, 0] * 32, [4.5, 12.5, 20.5, 28.5])
    with pytest.raises(ValueError, match="anchors must be an integer >= 2, got 1"):
        anchor_lattice(1, 32)


def test_draw_strokes_rasterizes_a_line():
    image = draw_strokes([np.array([[0.25, 0.5], [0.75, 0.5]])], size=16, width=2.0)
    assert image[8, 4:12].min() == 255 and image[7, 4:12].min() == 255  # the two rows straddling y = 8
    assert image[:5].max() == 0 and image[12:].max() == 0
    assert draw_strokes([], size=8).max() == 0


def test_env_speed_script_runs_quick(capsys, monkeypatch):
    import runpy
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "env_speed.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--quick"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
    table = capsys.readouterr().out
    assert table.count("htmagent/ObjectTouch-v0") == 4 and "steps/s" in table
