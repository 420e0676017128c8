"""The pygame demos (headless): frames, episodes, key handlers, the optional grid-cell panel, the sequence demo."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pygame
import pytest

from htmagent.cortex.column import RandomLocationCodes
from htmagent.demo.app import display_available, run_window
from htmagent.demo.cli import main, register
from htmagent.demo.recognition import (FRAME_SIZE, DemoApp, DemoConfig, RecognitionDemo, find_grid_layer, format_summary,
                                       render_recognition, run_headless)
from htmagent.demo.sequence import SIZE as SEQUENCE_SIZE
from htmagent.demo.sequence import SequenceApp, SequenceDemo, run_sequence_headless
from htmagent.envs import rendering as R
from htmagent.gridcells import LocationLayer
from htmagent.cortex.network import Network

SMALL = dict(num_objects=6, num_features=4, seed=3)


def _small_network(num_columns: int, seed: int) -> Network:
    return Network(num_columns=num_columns, l2_cell_count=1024, l2_sdr_size=40, seed=seed)


@pytest.fixture(scope="module")
def learned_demo():
    demo = RecognitionDemo(DemoConfig(num_columns=2, **SMALL), make_network=_small_network)
    demo.learn_all()
    return demo


def _key(key: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0)


def _frame(app_or_demo) -> np.ndarray:
    surface = app_or_demo.render() if hasattr(app_or_demo, "render") else render_recognition(app_or_demo.scene())
    return R.surface_to_array(surface)


def test_headless_run_writes_frames_of_the_right_size(tmp_path):
    demo = RecognitionDemo(DemoConfig(num_columns=2, **SMALL), make_network=_small_network)
    lines = []
    frames = run_headless(demo, 2, tmp_path, log=lines.append)
    assert len(demo.summaries) == 2
    assert len(frames) == sum(s.sensations for s in demo.summaries)  # one per sensation: no blank frames
    for path in frames:
        assert path.exists() and pygame.image.load(str(path)).get_size() == FRAME_SIZE
    assert (tmp_path / "demo.gif").exists()
    assert "recognized" in lines[-1] and len(lines[-1].splitlines()) == 2 + 2 + 1


def test_frame_is_not_blank_and_changes_with_each_sensation(learned_demo):
    learned_demo.restart()
    before = _frame(learned_demo)
    assert before.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)
    assert len(np.unique(before.reshape(-1, 3), axis=0)) > 20
    assert learned_demo.sense()
    after = _frame(learned_demo)
    assert (np.abs(after.astype(int) - before).sum(axis=2) > 0).mean() > 0.01
    if learned_demo.sense():
        assert not np.array_equal(_frame(learned_demo), after)


def test_episodes_follow_network_infer_and_never_beat_the_ideal_observer(learned_demo):
    net = learned_demo.network
    for _ in range(4):
        learned_demo.next_object()
        while learned_demo.sense():
            pass
        result = net.infer(learned_demo.obj, policy=learned_demo.policy_name,
                           max_sensations=learned_demo.config.max_sensations, seed=learned_demo.episode_seed)
        k = learned_demo.sensation
        assert result.recognized[:k] == learned_demo.recognized_history
        assert [tuple(p) for p in result.points[:k]] == [tuple(path[i] for path in learned_demo.paths)
                                                         for i in range(k)]
        summary = learned_demo.summaries[-1]
        if summary.correct:
            assert summary.ideal_sensation is not None and summary.ideal_sensation <= summary.sensation


def test_keys_change_state_as_documented(tmp_path):
    demo = RecognitionDemo(DemoConfig(num_columns=1, **SMALL), make_network=_small_network)
    app = DemoApp(demo, out_dir=tmp_path, interval=0.0)
    while not demo.ready:  # learning happens in small steps between frames
        assert app.update(0.0)
    assert app.playing
    assert app.handle_event(_key(pygame.K_SPACE))
    assert demo.sensation == 1 and not app.playing
    app.handle_event(_key(pygame.K_RETURN))
    assert app.playing
    app.handle_event(_key(pygame.K_RETURN))
    assert not app.playing
    first = demo.target
    app.handle_event(_key(pygame.K_r))
    assert demo.target != first and demo.sensation == 0
    app.handle_event(_key(pygame.K_p))
    assert demo.policy_name == "hypothesis" and demo.sensation == 0
    app.handle_event(_key(pygame.K_p))
    assert demo.policy_name == "random"
    app.handle_event(_key(pygame.K_3))
    assert demo.num_columns == 3 and not demo.ready
    steps = 0
    while not demo.ready:
        assert app.update(0.0)
        steps += 1
    assert steps == len(demo.objects) and demo.network.num_columns == 3
    app.handle_event(_key(pygame.K_SPACE))
    assert len(demo.paths) == 3 and all(len(p) == 1 for p in demo.paths)
    app.handle_event(_key(pygame.K_s))
    assert len(app.screenshots) == 1 and app.screenshots[0].exists()
    assert pygame.image.load(str(app.screenshots[0])).get_size() == FRAME_SIZE
    while not demo.finished:
        app.handle_event(_key(pygame.K_SPACE))
    target = demo.target
    app.handle_event(_key(pygame.K_SPACE))  # space on a finished episode: the next object
    assert demo.target != target and demo.sensation == 0
    assert not app.handle_event(_key(pygame.K_q))
    assert not app.handle_event(_key(pygame.K_ESCAPE))
    assert not app.handle_event(pygame.event.Event(pygame.QUIT))
    assert app.handle_event(pygame.event.Event(pygame.MOUSEMOTION, pos=(1, 1), rel=(0, 0), buttons=(0, 0, 0)))


def test_playing_advances_on_its_own_after_the_interval(learned_demo):
    app = DemoApp(learned_demo, interval=10.0)
    learned_demo.restart()
    assert app.update(100.0) and learned_demo.sensation == 1
    assert not app.update(105.0) and learned_demo.sensation == 1  # not due yet
    app.playing = False
    assert not app.update(1000.0) and learned_demo.sensation == 1


class _GridFake:
    """A location source with a grid-cell layer that path-integrates the sensor's moves (codes from a lookup)."""

    def __init__(self, seed: int):
        self.codes = RandomLocationCodes(2400, 20, seed=seed)
        self.size = self.codes.size
        self.layer = LocationLayer(num_modules=3, cells_per_axis=6, anchor_input_size=2400, seed=seed)
        self._last = None

    def add_points(self, points):
        self.codes.add_points(points)

    def reset(self):
        self.layer.activate_random_location()
        self._last = None

    def locate(self, point, learn):
        if self._last is not None:
            self.layer.movement_compute(10.0 * np.subtract(point, self._last))
        self._last = point
        return self.codes.locate(point, learn)

    def anchor(self, l4_active_cells, learn, l4_winner_cells=None):
        pass


def test_grid_panel_appears_when_the_columns_have_grid_cells():
    def make(n, seed):
        return Network(num_columns=n, l2_cell_count=1024, location_sources=[_GridFake(seed + i) for i in range(n)],
                       seed=seed)

    demo = RecognitionDemo(DemoConfig(num_columns=2, **SMALL), make_network=make)
    demo.learn_all()
    assert all(find_grid_layer(s) is s.layer for s in demo.network.location_sources)
    assert demo.ideal.mode == "displacement"
    demo.sense()
    demo.sense()
    scene = demo.scene()
    for view, source in zip(scene.columns, demo.network.location_sources):
        assert len(view.grid_modules) == 3
        active, bumps = view.grid_modules[0]
        assert active.shape == (6, 6) and active.sum() == source.layer.active_cells.dense[:36].sum() > 0
        i0, i1 = np.floor(bumps[0] * 6).astype(int)
        assert active[i1, i0]  # the cell under the bump's centre is lit where the dot is drawn
        assert np.allclose(bumps, source.layer.bump_phases(0))
    plain = RecognitionDemo(DemoConfig(num_columns=2, **SMALL), make_network=_small_network)
    assert find_grid_layer(plain.network.location_sources[0]) is None
    assert all(view.grid_modules == () for view in plain.scene().columns)
    render_recognition(scene)


def test_cli_runs_headless_and_rejects_bad_settings(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", "--headless", "--episodes", "1", "--objects", "3", "--columns", "1",
                              "--out", str(tmp_path), "--no-gif"])
    assert main(args) == 0
    assert sorted(tmp_path.glob("frame_*.png")) and not (tmp_path / "demo.gif").exists()
    assert "recognized" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # refused while parsing: one usage line naming the flag, exit code 2
        parser.parse_args(["demo", "--headless", "--columns", "7", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "argument --columns: must be an int in [1, 5], got 7" in capsys.readouterr().err


@pytest.mark.parametrize("bad, message", [
    (dict(num_columns=0), "num_columns must be an int in [1, 5], got 0"),
    (dict(policy="greedy"), "policy must be one of"),
    (dict(num_objects=0), "num_objects must be an int >= 1, got 0"),
    (dict(location="gps"), "location must be 'random' or 'grid', got 'gps'"),
])
def test_bad_settings_raise_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DemoConfig(**bad)


def test_set_columns_validates_before_changing_anything(learned_demo):
    before = (learned_demo.num_columns, learned_demo.target, learned_demo.sensation)
    with pytest.raises(ValueError, match="n must be an int in"):
        learned_demo.set_columns(6)
    assert (learned_demo.num_columns, learned_demo.target, learned_demo.sensation) == before


def test_tm_cell_states_classify_cells():
    states = R.tm_cell_states(3, 2, active_cells=[0, 4, 5], predictive_cells=[0, 3], bursting_columns=[2])
    assert states.shape == (2, 3)
    assert states[:, 0].tolist() == [R.CELL_CORRECT, R.CELL_INACTIVE]
    assert states[:, 1].tolist() == [R.CELL_INACTIVE, R.CELL_PREDICTED]
    assert states[:, 2].tolist() == [R.CELL_BURSTING, R.CELL_BURSTING]


def test_sequence_memory_learns_the_melody():
    demo = SequenceDemo("melody", seed=0)
    for _ in range(12 * demo.period):
        demo.step()
    stats = demo.pass_statistics()
    assert stats[0][1] == 1.0  # the first pass is all surprise
    assert stats[-1][1] <= 0.05 and stats[-1][2] >= 0.95


def test_sequence_app_keys_and_headless_frames(tmp_path):
    app = SequenceApp("melody", out_dir=tmp_path)
    app.handle_event(_key(pygame.K_SPACE))
    assert app.demo.step_count == 1 and not app.playing
    app.handle_event(_key(pygame.K_m))
    assert app.demo.signal == "sine" and app.demo.step_count == 0
    app.handle_event(_key(pygame.K_SPACE))
    app.handle_event(_key(pygame.K_r))
    assert app.demo.signal == "sine" and app.demo.step_count == 0
    first = _frame(app)
    app.handle_event(_key(pygame.K_SPACE))
    assert not np.array_equal(_frame(app), first)
    lines = []
    frames = run_sequence_headless(app, 8, tmp_path, every=4, log=lines.append)
    assert len(frames) == 2 and app.demo.step_count == 9
    assert all(pygame.image.load(str(p)).get_size() == SEQUENCE_SIZE for p in frames)
    assert "mean anomaly" in lines[-1]
    assert not app.handle_event(_key(pygame.K_q))


def test_warm_up_runs_in_the_background_then_learning_proceeds():
    demo = RecognitionDemo(DemoConfig(num_columns=1, **SMALL), make_network=_small_network)
    app = DemoApp(demo, warm_up=True)
    assert len(np.unique(_frame(app).reshape(-1, 3), axis=0)) > 20  # drawing while the kernels compile
    app._warm_up.join()
    assert not app.warming_up and demo.learning_progress == (0, len(demo.objects))  # the warm-up learned nothing
    while not demo.ready:
        assert app.update(0.0)


def test_window_loop_handles_posted_keys_and_quits(learned_demo, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    assert not display_available()
    learned_demo.restart()
    app = DemoApp(learned_demo, interval=1000.0)
    app.playing = False
    pygame.display.init()
    pygame.event.post(_key(pygame.K_SPACE))
    pygame.event.post(_key(pygame.K_q))
    first_frame = run_window(app, fps=60, max_seconds=30)
    assert first_frame > 0 and learned_demo.sensation == 1


def test_headless_without_pillow_writes_png_frames_only(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # importing PIL now raises ImportError
    demo = RecognitionDemo(DemoConfig(num_columns=1, **SMALL), make_network=_small_network)
    frames = run_headless(demo, 1, tmp_path, log=lambda line: None)
    assert frames and not (tmp_path / "demo.gif").exists()


def test_cli_falls_back_to_frames_when_no_screen_can_be_opened(tmp_path, capsys, monkeypatch):
    import htmagent.demo.cli as demo_module

    monkeypatch.setattr(demo_module, "display_available", lambda: True)  # a display is set, but SDL is off-screen
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", "--episodes", "1", "--objects", "3", "--columns", "1", "--out", str(tmp_path)])
    assert main(args) == 0
    assert "cannot open a window" in capsys.readouterr().err
    assert sorted(tmp_path.glob("frame_*.png"))
    args = parser.parse_args(["demo", "sequence", "--steps", "4", "--out", str(tmp_path), "--no-gif"])
    assert main(args) == 0
    assert sorted(tmp_path.glob("sequence_*.png"))


def test_grid_location_option_draws_the_columns_grid_modules():
    pytest.importorskip("htmagent.cortex.grid_source")
    demo = RecognitionDemo(DemoConfig(num_columns=2, location="grid", num_objects=4, num_features=4, seed=1))
    demo.learn_all()
    assert demo.sense()
    scene = demo.scene()
    for view, source in zip(scene.columns, demo.network.location_sources):
        layer = find_grid_layer(source)
        assert layer is not None and len(view.grid_modules) == layer.num_modules
    assert R.surface_to_array(render_recognition(scene)).shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)


def test_a_never_learned_object_is_a_surprise_the_frames_show():
    demo = RecognitionDemo(DemoConfig(num_columns=1, novel_every=1, **SMALL), make_network=_small_network)
    demo.learn_all()
    bursts = []
    for _ in range(4):
        demo.next_object()  # every episode after the first: an object the network never learned
        assert demo.novel and demo.target == -1
        assert dict(demo.obj.points) not in [dict(o.points) for o in demo.objects]
        while demo.sense():
            bursts.append(demo.scene().columns[0].bursting)
    assert sum(bursts) > 0  # touches it never learned make L4 burst, and the frame says so
    novel = demo.summaries[-4:]
    assert all(s.novel and s.target == -1 and s.correct == (s.label is None) for s in novel)
    table = format_summary(demo.summaries)
    assert "never-learned objects:" in table and "   new " in table


def test_still_frames_leave_out_the_play_state_and_the_keys(learned_demo):
    window = R.surface_to_array(render_recognition(learned_demo.scene(playing=True)))
    still = R.surface_to_array(render_recognition(learned_demo.scene(interactive=False)))
    height, width = still.shape[:2]
    keys = still[height - 100:height - 10, 20:440]
    assert (keys == R.BACKGROUND).all()  # nothing drawn where the window shows the keys
    assert not (window[height - 100:height - 10, 20:440] == R.BACKGROUND).all()
    corner = still[10:40, width - 200:width - 10]
    assert (corner == R.BACKGROUND).all() and not (window[10:40, width - 200:width - 10] == R.BACKGROUND).all()


def test_switching_columns_under_the_hypothesis_policy_while_a_network_learns():
    # A new column count starts a network that has learned nothing yet; the hypothesis policy must wait for it.
    demo = RecognitionDemo(DemoConfig(num_columns=1, policy="hypothesis", **SMALL), make_network=_small_network)
    demo.learn_all()
    demo.set_columns(2)
    assert not demo.ready and not demo.sense()
    demo.learn_all()
    assert demo.sense() and demo.policy_name == "hypothesis"


def test_hierarchy_demo_keys_frames_and_what_the_feedback_does(tmp_path):
    from htmagent.demo.hierarchy import SIZE as HIERARCHY_SIZE
    from htmagent.demo.hierarchy import HierarchyApp, run_hierarchy_headless

    app = HierarchyApp(seed=0, out_dir=tmp_path)
    app.handle_event(_key(pygame.K_SPACE))
    assert app.demo.step_count == 1 and not app.playing
    first = _frame(app)
    app.handle_event(_key(pygame.K_SPACE))
    assert not np.array_equal(_frame(app), first)
    app.handle_event(_key(pygame.K_f))
    assert not app.demo.feedback
    app.handle_event(_key(pygame.K_c))
    assert not app.demo.cut
    app.handle_event(_key(pygame.K_c))
    shot = app.screenshot()
    assert pygame.image.load(str(shot)).get_size() == HIERARCHY_SIZE
    # a fresh demo: 3 songs with feedback, then 3 without; the symbol after the shared phrase is where they differ
    app = HierarchyApp(seed=0, out_dir=tmp_path)
    frames = run_hierarchy_headless(app, 72, tmp_path, every=24, gif=False, log=lambda _: None)
    assert len(frames) == 3
    after_shared = [t for t in range(72) if t % 12 == 8]
    with_feedback = [app.demo.history[t] for t in after_shared if t < 36]
    without = [app.demo.history[t] for t in after_shared if t >= 36]
    assert np.mean(with_feedback) > np.mean(without) + 0.3
    assert not app.handle_event(_key(pygame.K_q))
