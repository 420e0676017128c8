"""scripts/train_ppo.py runs end to end with a tiny budget: JSON per run, results table, learning-curve PNG."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("matplotlib")

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "train_ppo.py"


def load_script():
    spec = importlib.util.spec_from_file_location("train_ppo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script runs
    spec.loader.exec_module(module)
    return module


def test_tiny_run_writes_results_table_and_figure(tmp_path, capsys):
    script = load_script()
    out = tmp_path / "runs"
    code = script.main([
        "--task", "masked-cartpole", "--arms", "ppo", "stack", "htm", "curiosity", "--seeds", "0",
        "--total-timesteps", "256", "--n-envs", "2", "--eval-episodes", "1", "--column-count", "64",
        "--cells-per-column", "2", "--out-dir", str(out), "--progress", "false", "--overhead-steps", "50",
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
    args = ["--task", "masked-cartpole", "--arms", "ppo", "--seeds", "0", "1", "--total-timesteps", "128",
            "--n-envs", "2", "--eval-episodes", "1", "--out-dir", str(out), "--progress", "false"]
    assert script.main(args) == 0
    capsys.readouterr()
    figure = tmp_path / "curves.png"
    assert script.main(args + ["--report-only", "true", "--figure", str(figure)]) == 0
    assert "| ppo | 0,1 | 128 |" in capsys.readouterr().out
    assert figure.exists()


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
