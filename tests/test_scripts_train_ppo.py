"""The RL experiments (scripts/train_ppo.py, scripts/rl_diagnostics.py) run end to end with a tiny budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("matplotlib")

from htmagent.experiments import rl as rl_module  # noqa: E402
from htmagent.experiments import rl_diagnostics  # noqa: E402
from htmagent.experiments.args import parse_args  # noqa: E402


class _Script:
    """The experiment as its script drives it: argv in, exit code out."""

    def __init__(self, module, args_class):
        self.module, self.args_class = module, args_class

    def main(self, argv):
        return self.module.main(parse_args(self.args_class, argv))

    def parse_args(self, argv):
        return parse_args(self.args_class, argv)

    def __getattr__(self, name):
        return getattr(self.module, name)


def load_script():
    return _Script(rl_module, rl_module.RLArgs)


def test_tiny_run_writes_results_table_and_figure(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "runs"
    code = script.main([
        "--task", "masked-cartpole", "--arms", "ppo", "stack", "htm", "curiosity", "--trials", "1", 
        "--total-timesteps", "256", "--n-envs", "2", "--eval-episodes", "1", "--column-count", "64",
        "--cells-per-column", "2", "--out-dir", str(out), "--no-progress", "--overhead-steps", "50",
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "HTMObservation(CartPole-v1)" in printed  # the overhead table
    for arm in ("ppo", "stack", "htm", "curiosity"):
        run = json.loads((out / f"masked-cartpole__{arm}__seed0.json").read_text())
        assert run["total_timesteps"] == 256 and run["arm"] == arm
        assert run["episodes"], "no finished training episode was recorded"
        assert all(step <= 256 + 2 * 32 for step, _ in run["episodes"])
        assert f"| {arm} | 0 | 256 |" in printed
    assert (out / "masked-cartpole.png").stat().st_size > 1000


def test_report_only_rebuilds_from_saved_runs(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "runs"
    args = ["--task", "masked-cartpole", "--arms", "ppo", "--trials", "2", "--total-timesteps", "128",
            "--n-envs", "2", "--eval-episodes", "1", "--out-dir", str(out), "--no-progress"]
    assert script.main(args) == 0
    capsys.readouterr()
    figure = tmp_path / "curves.png"
    assert script.main(args + ["--report-only", "--out", str(figure)]) == 0
    assert "| ppo | 0,1 | 128 |" in capsys.readouterr().out
    assert figure.exists()


def test_trace_arm_and_count_curiosity_with_options(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "runs"
    assert script.main([
        "--task", "mountaincar", "--arms", "htm-trace", "curiosity", "--seed", "1", "--trials", "1", "--total-timesteps", "512",
        "--n-envs", "2", "--eval-episodes", "1", "--column-count", "64", "--cells-per-column", "2",
        "--out-dir", str(out), "--no-progress", "--source", "count", "--no-episodic",
        "--resolution", "0.1", "0.01", "--gamma", "0.995", "--normalize-obs", "--trace-decay", "0.6",
        "--include-action",
    ]) == 0
    printed = capsys.readouterr().out
    for arm in ("htm-trace", "curiosity"):
        run = json.loads((out / f"mountaincar__{arm}__seed1.json").read_text())
        assert run["source"] == "count" and run["resolution"] == [0.1, 0.01] and run["gamma"] == 0.995
        assert run["trace_decay"] == [0.6] and run["normalize_obs"] and run["include_action"]
        assert f"| {arm} | 1 | 512 |" in printed


def test_calibration_rule_takes_the_median_of_the_paying_steps():
    # A bonus paid on every step: the plain median of the last fifth (the earlier steps do not count).
    dense = [100.0] * 80 + [1.0, 2.0, 3.0, 4.0, 5.0] * 4
    assert rl_module.calibrated_beta(dense, 0.5) == (1.0, 3.0, 0.5 / 3.0)
    # A sparse bonus (an episodic gate pays on few steps): its plain median would be 0 and its beta unbounded;
    # the rule reads the steps that pay.
    sparse = [0.0] * 80 + [0.0, 0.0, 0.0, 0.0, 8.0] * 3 + [0.0, 0.0, 0.0, 0.0, 2.0]
    fraction, median, beta = rl_module.calibrated_beta(sparse, 0.5)
    assert fraction == pytest.approx(0.2) and median == 8.0 and beta == pytest.approx(0.0625)
    assert rl_module.calibrated_beta([0.0] * 50, 0.5) == (0.0, 0.0, None)


def test_curiosity_baselines_run_as_arms_with_a_calibrated_beta(tmp_path, capsys):
    pytest.importorskip("torch")
    script = load_script()
    out = tmp_path / "runs"
    arms = ["raw-count", "rnd", "icm", "e3b"]
    assert script.main([
        "--task", "mountaincar", "--arms", *arms, "--trials", "1", "--total-timesteps", "256", "--n-envs", "2",
        "--eval-episodes", "1", "--out-dir", str(out), "--no-progress", "--normalize-bonus", "--beta", "2.0",
        "--calibrate-steps", "200",
    ]) == 0
    printed = capsys.readouterr().out
    assert "beta for a per-step bonus of 0.05" in printed and "| paying steps |" in printed
    for arm in arms:
        run = json.loads((out / f"mountaincar__{arm}__seed0.json").read_text())
        assert run["normalize_bonus"] and run["beta"] == 2.0 and run["raw_buckets"] == 20
        assert f"| {arm} | 0 | 256 |" in printed
        assert any(line.startswith(f"| {arm} | ") and "|---" not in line for line in printed.splitlines()[:8])


def test_recurrent_reference_and_two_traces_with_end_reasons(tmp_path, capsys):
    pytest.importorskip("sb3_contrib")
    script = load_script()
    out = tmp_path / "runs"
    assert script.main([
        "--task", "masked-cartpole", "--arms", "recurrent", "htm-trace", "--trials", "1", "--total-timesteps", "256",
        "--n-envs", "2", "--eval-episodes", "1", "--column-count", "64", "--cells-per-column", "2",
        "--out-dir", str(out), "--no-progress", "--trace-decay", "0.5", "0.9", "--normalize-obs",
    ]) == 0
    printed = capsys.readouterr().out
    for arm in ("recurrent", "htm-trace"):
        run = json.loads((out / f"masked-cartpole__{arm}__seed0.json").read_text())
        assert f"| {arm} | 0 | 256 |" in printed
        # An untrained policy drops the pole within 256 steps; every episode says how it ended.
        assert len(run["end_reasons"]) == len(run["episodes"]) > 0
        assert set(run["end_reasons"]) <= {"cart", "pole", "time"} and "pole" in run["end_reasons"]
    assert json.loads((out / "masked-cartpole__htm-trace__seed0.json").read_text())["trace_decay"] == [0.5, 0.9]
    # A labelled variant of an arm gets its own file and its own row beside the arm's.
    assert script.main([
        "--task", "masked-cartpole", "--arms", "htm-trace", "--label", "htm-trace, topology", "--trials", "1", 
        "--total-timesteps", "128", "--n-envs", "2", "--eval-episodes", "1", "--column-count", "64",
        "--cells-per-column", "2", "--out-dir", str(out), "--no-progress", "--size-per-dim", "64",
        "--active-bits", "8", "--potential-radius", "32",
    ]) == 0
    printed = capsys.readouterr().out
    run = json.loads((out / "masked-cartpole__htm-trace__topology__seed0.json").read_text())
    assert run["label"] == "htm-trace, topology" and run["potential_radius"] == 32 and run["size_per_dim"] == 64
    assert "| htm-trace | 0 | 256 |" in printed and "| htm-trace, topology | 0 | 128 |" in printed
    with pytest.raises(SystemExit):
        script.parse_args(["--arms", "ppo", "stack", "--label", "x"])
    with pytest.raises(SystemExit):  # refused before any arm trains, not when the htm-trace arm is built
        script.parse_args(["--arms", "ppo", "htm-trace", "--trace-decay"])


def test_solved_step_is_where_a_window_mean_first_reaches_the_goal():
    script = load_script()
    episodes = [(100 * (i + 1), r) for i, r in enumerate([10.0, 500.0, 450.0, 500.0, 500.0, 20.0])]
    assert script.first_mean_at(episodes, 2, 475.0) == 300  # episodes 2-3 average exactly 475
    assert script.first_mean_at(episodes, 3, 475.0) == 400  # episodes 2-4: 483
    assert script.first_mean_at(episodes, 6, 475.0) is None
    assert script.first_mean_at(episodes[:1], 2, 0.0) is None  # fewer episodes than the window
    table = script.results_table([dict(task="cartpole", arm="ppo", label="ppo", seed=0, total_timesteps=600,
                                       final_return=1.0, final_success=0.0, eval_return=1.0, eval_success=0.0,
                                       solved_at=400, train_seconds=1.0, episodes=episodes)])
    assert "| 1/1 | 400 | 0/1 |" in table  # solved by 20 episodes' reading, not by 100's


def test_end_reason_tells_the_cart_from_the_pole():
    script = load_script()
    env = script.make_task("cartpole").make()
    env.reset(seed=0)
    env.unwrapped.state = np.array([2.39, 1.0, 0.0, 0.0])
    info = env.step(1)[4]
    assert info["end_reason"] == "cart"
    env.reset(seed=0)
    env.unwrapped.state = np.array([0.0, 0.0, 0.2, 1.0])
    assert env.step(1)[4]["end_reason"] == "pole"
    env.reset(seed=0)
    assert "end_reason" not in env.step(1)[4]


def test_doorkey_symbols_and_a_tiny_curiosity_run(tmp_path, capsys):
    pytest.importorskip("minigrid")
    script = load_script()
    env = script.make_task("doorkey").make()
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (7 * 7 * 3 + 1,) and env.observation_space.contains(obs)
    image = env.unwrapped.gen_obs()["image"]
    np.testing.assert_array_equal(obs[:49], image[..., 0].ravel())  # object types, then colours, states, direction
    np.testing.assert_array_equal(obs[49:98], image[..., 1].ravel())
    assert obs[-1] == env.unwrapped.agent_dir
    out = tmp_path / "runs"
    assert script.main([
        "--task", "doorkey", "--arms", "curiosity", "--trials", "1", "--total-timesteps", "512", "--n-envs", "2",
        "--eval-episodes", "1", "--column-count", "64", "--cells-per-column", "2", "--out-dir", str(out),
        "--no-progress", "--source", "count", "--no-episodic",
    ]) == 0
    run = json.loads((out / "doorkey__curiosity__seed0.json").read_text())
    assert run["total_timesteps"] == 512 and "| curiosity | 0 | 512 |" in capsys.readouterr().out


@pytest.mark.parametrize("task, env_id, max_steps", [("multiroom", "MiniGrid-MultiRoom-N4-S5-v0", 120),
                                                      ("keycorridor", "MiniGrid-KeyCorridorS3R2-v0", 270)])
def test_the_other_minigrid_tasks_give_the_same_symbols_view(task, env_id, max_steps):
    pytest.importorskip("minigrid")
    script = load_script()
    env = script.make_task(task).make()
    assert env.unwrapped.spec.id == env_id and env.unwrapped.max_steps == max_steps
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (7 * 7 * 3 + 1,) and env.observation_space.contains(obs)
    image = env.unwrapped.gen_obs()["image"]
    np.testing.assert_array_equal(obs[98:147], image[..., 2].ravel())  # door states: open, closed, locked
    obs, reward, terminated, truncated, _ = env.step(2)  # forward
    assert env.observation_space.contains(obs) and reward == 0.0


def test_object_saccade_task_feeds_flat_patches_to_policies_and_the_dict_to_the_htm(tmp_path, capsys):
    script = load_script()
    task = script.make_task("object-saccade")
    env = task.make()
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (7 * 7 + 2,) and env.observation_space.contains(obs)
    assert env.unwrapped.images.shape[0] == script.SACCADE_GLYPHS
    raw = script._htm_env_factory("object-saccade", task)()
    assert set(raw.observation_space.spaces) == {"patch", "displacement"}
    # Naming the glyph at once is a success (return 1); a wrong name is not (return -1).
    action = np.zeros(raw.action_space.shape, dtype=np.int64)
    for named, reward in ((3, 1.0), (4, -1.0)):
        raw.reset(seed=0, options={"label": 3})
        action[-1] = named + 1
        assert raw.step(action)[1] == pytest.approx(reward)
        assert (reward > task.success_return) == (named == 3)
    out = tmp_path / "runs"
    arms = ["ppo", "deephtm", "htm"]
    assert script.main([
        "--task", "object-saccade", "--arms", *arms, "--trials", "1", "--total-timesteps", "256", "--n-envs", "2",
        "--eval-episodes", "1", "--column-count", "64", "--cells-per-column", "2", "--out-dir", str(out),
        "--no-progress", "--normalize-obs",
    ]) == 0
    printed = capsys.readouterr().out
    for arm in arms:
        run = json.loads((out / f"object-saccade__{arm}__seed0.json").read_text())
        assert run["total_timesteps"] == 256 and f"| {arm} | 0 | 256 |" in printed
        assert all(-2.0 <= r <= 1.0 for _, r in run["episodes"])


def test_deephtm_arms_put_the_differentiable_htm_in_the_policy():
    script = load_script()
    args = script.parse_args(["--task", "masked-cartpole", "--n-envs", "2"])
    from htmagent.sb3 import DeepHTMExtractor

    model = script.build_model(args, script.make_task("masked-cartpole"), "deephtm", 0)
    assert isinstance(model.policy.features_extractor, DeepHTMExtractor)
    assert model.observation_space.shape == (4 * 2,)  # 4 stacked frames of (x, theta)
    pytest.importorskip("sb3_contrib")
    from htmagent.deep.recurrent import RecurrentDeepHTM

    model = script.build_model(args, script.make_task("masked-cartpole"), "recurrent-deephtm", 0)
    assert isinstance(model.policy.lstm_actor, RecurrentDeepHTM) and isinstance(model.policy.lstm_critic,
                                                                                 RecurrentDeepHTM)
    assert model.policy.deep_htm_kwargs["k"] == 4  # the default region: 64 columns, 4 winners, 4 cells
    wider = script.parse_args(["--task", "masked-cartpole", "--n-envs", "2", "--deep-columns", "128",
                               "--deep-winners", "16", "--deep-cells", "2"])
    model = script.build_model(wider, script.make_task("masked-cartpole"), "recurrent-deephtm", 0)
    settings = model.policy.deep_htm_kwargs
    assert (settings["columns"], settings["k"], settings["cells_per_column"]) == (128, 16, 2)
    assert model.policy.lstm_hidden_state_shape[-1] == 256  # the recurrent state is the 128 x 2 cells
    with pytest.raises(SystemExit):
        script.parse_args(["--deep-columns", "8", "--deep-winners", "9"])


def test_masked_cartpole_hides_the_velocities():
    script = load_script()
    env = script.make_task("masked-cartpole").make()
    obs, _ = env.reset(seed=0)
    full = env.unwrapped.state
    assert obs.shape == (2,)
    assert obs[0] == pytest.approx(full[0]) and obs[1] == pytest.approx(full[2])


def test_bad_arguments_exit():
    script = load_script()
    with pytest.raises(SystemExit):
        script.parse_args(["--task", "pong"])
    with pytest.raises(SystemExit):
        script.parse_args(["--arms", "ppo", "dqn"])


def load_diagnostics():
    return _Script(rl_diagnostics, rl_diagnostics.DiagnosticsArgs)


def test_diagnostics_r2_is_one_for_a_linear_target_and_low_for_noise():
    diag = load_diagnostics()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = np.stack([x @ np.arange(5.0), rng.normal(size=400)], axis=1)
    r2 = diag.held_out_r2(x, y, ridge=1e-6)
    assert r2[0] == pytest.approx(1.0, abs=1e-6) and r2[1] < 0.1


def test_diagnostics_tiny_run_prints_the_table(capsys):
    diag = load_diagnostics()
    assert diag.main(["--warmup-steps", "20", "--steps", "400", "--variants", "raw (x, theta)",
                      "2 stacked raw frames", "htm + trace 0.5"]) == 0
    printed = capsys.readouterr().out
    assert "| 2 stacked raw frames | 4 |" in printed and "| htm + trace 0.5 | 1539 |" in printed

    def r2(name):
        row = next(line for line in printed.splitlines() if line.startswith(f"| {name} |"))
        return float(row.split("|")[4])

    # Two frames hold the angular velocity, one frame does not.
    assert r2("2 stacked raw frames") > r2("raw (x, theta)") + 0.5
    with pytest.raises(SystemExit):
        diag.main(["--variants", "nonsense"])


def test_diagnostics_previous_action_completes_the_velocities_near_balance(capsys):
    # Near the upright state the last push moves the velocities as much as they vary, so two frames recover them
    # only with the action that was taken between the frames (a near-unpenalized fit: the velocity is a small
    # difference of two large, correlated inputs).
    diag = load_diagnostics()
    assert diag.main(["--warmup-steps", "20", "--steps", "600", "--ridge", "1e-6", "--policy", "balance", "--variants",
                      "2 stacked raw frames", "2 stacked raw frames + previous action"]) == 0
    rows = {line.split("|")[1].strip(): line.split("|") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| 2 stacked")}
    assert rows["2 stacked raw frames + previous action"][2].strip() == "5"
    with_action = [float(v) for v in rows["2 stacked raw frames + previous action"][3:5]]
    without = [float(v) for v in rows["2 stacked raw frames"][3:5]]
    assert min(with_action) > 0.95 and max(without) < 0.8


def test_both_scripts_print_their_help(capsys):
    for main in (load_script().main, load_diagnostics().main):
        with pytest.raises(SystemExit) as exit_info:
            main(["--help"])
        assert exit_info.value.code == 0
        assert "--seed" in capsys.readouterr().out


def test_overhead_table_times_raw_wrapped_and_solving_settings():
    table = load_script().measure_overhead(50, 64, 4)
    rows = [line.split("|") for line in table.splitlines()[2:]]
    assert [r[1].strip() for r in rows][0] == "CartPole-v1" and "masked CartPole, 8 active bits" in rows[3][1]
    assert len(rows) == 4 and all(float(r[3].replace(",", "")) > 0 for r in rows)


def test_learning_curves_keep_one_colour_per_label_beyond_ten(monkeypatch, tmp_path):
    # A task's folder of runs can hold a dozen labels; matplotlib's cycle of 10 colours would give two curves one.
    captured = []
    monkeypatch.setattr(rl_module, "save_figure", lambda fig, path: captured.append(fig))
    runs = [{"arm": "ppo", "label": f"variant {i:02d}", "seed": s, "total_timesteps": 1000,
             "episodes": [[100 * k, float(i + k + s)] for k in range(1, 11)]} for i in range(12) for s in (0, 1)]
    rl_module.plot_curves(runs, str(tmp_path / "curves.png"), "twelve labels")
    lines = captured[0].axes[0].get_lines()
    assert len(lines) == 12
    assert len({(line.get_color(), line.get_linestyle()) for line in lines}) == 12
    # Ten or fewer keep matplotlib's own cycle, so existing figures look as before.
    captured.clear()
    rl_module.plot_curves(runs[:20], str(tmp_path / "ten.png"), "ten labels")
    import matplotlib.pyplot as plt

    default = plt.rcParams["axes.prop_cycle"].by_key()["color"][:10]
    assert [line.get_color() for line in captured[0].axes[0].get_lines()] == default
