"""htmagent sweep / tune: the same numbers in a loop, a pool or on Ray; resuming; dying workers; the search."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from htmagent.cli import main as cli
from htmagent.experiments.sweep import Trial, TrialStore, run_trials, sweep_trials
from htmagent.experiments import trials as _library  # noqa: F401  (registers the experiments)
from htmagent.experiments.sweep import EXPERIMENTS


def _results(records):
    return {r["key"]: r["result"] for r in records}


def test_a_parallel_sweep_gives_the_sequential_numbers():
    trials = sweep_trials(EXPERIMENTS["fig4a"], trials=2, seed=0, quick=True)
    assert len(trials) == 4
    serial, failures = run_trials(trials, backend="serial", show_progress=False)
    assert not failures
    pooled, failures = run_trials(trials, workers=2, backend="process", show_progress=False)
    assert not failures
    assert _results(serial) == _results(pooled)
    assert len({r["pid"] for r in pooled}) >= 1 and all(r["pid"] != os.getpid() for r in pooled)


def test_ray_gives_the_sequential_numbers_and_retries_a_dead_worker(tmp_path):
    pytest.importorskip("ray")
    trials = [Trial.make("selftest", {"die_once": str(tmp_path / "marker") if s == 1 else ""}, s) for s in range(3)]
    records, failures = run_trials(trials, workers=2, backend="ray", show_progress=False)
    assert not failures
    assert [r["result"]["value"] for r in records] == [0, 1, 4]
    assert (tmp_path / "marker").exists()  # the first attempt of trial 1 did kill its worker


def test_a_worker_killed_mid_trial_is_retried_and_the_sweep_completes(tmp_path):
    trials = [Trial.make("selftest", {"die_once": str(tmp_path / "marker") if s == 2 else "", "sleep": 0.05}, s)
              for s in range(5)]
    store = TrialStore(tmp_path / "store.jsonl")
    records, failures = run_trials(trials, workers=2, backend="process", store=store, show_progress=False)
    assert not failures
    assert [r["result"]["value"] for r in records] == [s * s for s in range(5)]
    assert (tmp_path / "marker").exists()
    assert max(r["attempts"] for r in records) == 2
    assert len(store.done()) == 5


def test_a_trial_that_keeps_killing_its_worker_is_reported_not_hung(tmp_path):
    always = str(tmp_path / "missing-dir" / "marker")  # cannot be created: every attempt dies before writing it
    trials = [Trial.make("selftest", {"die_once": always}, 0), Trial.make("selftest", {}, 1)]
    with pytest.raises(FileNotFoundError):  # the serial path runs the trial in this process: it must not die here
        open(always, "w")
    records, failures = run_trials(trials, workers=2, backend="process", retries=1, show_progress=False)
    assert [r["seed"] for r in records] == [1] or [r["seed"] for r in records] == []
    assert any(t.seed == 0 for t, _ in failures)


def test_the_store_skips_a_half_written_line_and_finished_trials(tmp_path):
    store = TrialStore(tmp_path / "s.jsonl")
    trials = [Trial.make("selftest", {}, s) for s in range(3)]
    run_trials(trials[:2], backend="serial", store=store, show_progress=False)
    with open(store.path, "a") as handle:
        handle.write('{"key": "cut sh')  # a crash mid-write
    ran = []
    records, _ = run_trials(trials, backend="serial", store=store, show_progress=False, on_record=ran.append)
    assert [r["seed"] for r in ran] == [2]
    assert [r["result"]["value"] for r in records] == [0, 1, 4]


def test_killing_the_sweep_command_and_rerunning_it_finishes_without_rerunning(tmp_path):
    store = tmp_path / "fig4a.jsonl"
    command = [sys.executable, "-m", "htmagent", "sweep", "fig4a", "--quick", "--trials", "6", "--backend", "serial",
               "--store", str(store), "--no-progress", "--out", str(tmp_path / "f.png")]
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", MPLBACKEND="Agg")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
    while first.poll() is None and not (store.exists() and store.read_text().count("\n") >= 2):
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    before = [json.loads(line) for line in store.read_text().splitlines() if line.endswith("}")]
    assert 2 <= len(before) < 12
    second = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert f"12 trials ({len(before)} already in" in second.stdout
    assert f"{12 - len(before)} trials run" in second.stdout
    after = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(after) == 12 and len({r["key"] for r in after}) == 12
    assert after[:len(before)] == before  # nothing finished was run again or rewritten
    reference, _ = run_trials(sweep_trials(EXPERIMENTS["fig4a"], 6, 0, True), backend="serial", show_progress=False)
    assert _results(after) == _results(reference)


def test_sweep_command_prints_the_table_and_draws(tmp_path, capsys):
    png = tmp_path / "fig.png"
    assert cli(["sweep", "fig4a", "--quick", "--backend", "process", "--workers", "2", "--store",
                str(tmp_path / "s.jsonl"), "--out", str(png), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Fig 4A" in out and "2 trials run" in out and png.stat().st_size > 0
    assert cli(["sweep", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("fig4a", "fig4b", "nab-dev", "recognition", "rl-cartpole"))


def test_bad_sweep_arguments_are_one_usage_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["sweep", "fig9z"])
    assert exit_info.value.code == 2
    assert "experiment must be one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["sweep", "fig4a", "--backend", "threads"])
    assert "backend must be one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["tune", "fig4a"])
    assert "experiment must be a tunable one" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["tune", "nab-dev"])
    assert "--data must name the folder 'nab-dev' reads its files from" in capsys.readouterr().err


def test_tune_starts_from_the_default_continues_a_study_and_reports(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    base = ["tune", "recognition", "--quick", "--backend", "process", "--workers", "2", "--storage", storage,
            "--out", str(tmp_path / "t.png")]
    assert cli(base + ["--budget", "4"]) == 0
    out = capsys.readouterr().out
    assert "best" in out and "default" in out
    assert cli(base + ["--budget", "6", "--json-out", str(tmp_path / "t.json")]) == 0
    out = capsys.readouterr().out
    assert "4 of 6 trials done" in out
    study = optuna.load_study(study_name="recognition-quick", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6 and done[0].user_attrs.get("default")
    summary = json.loads((tmp_path / "t.json").read_text())
    assert summary["best_value"] <= summary["default_value"]  # minimised, and the default is among the trials
    assert (tmp_path / "t.png").stat().st_size > 0


def test_tune_nab_dev_runs_on_a_nab_shaped_corpus(tmp_path, capsys):
    pytest.importorskip("optuna")
    from htmagent.experiments.nab_synthetic import write_synthetic_corpus

    root = write_synthetic_corpus(tmp_path / "nab", rows=1200)
    assert cli(["tune", "nab-dev", "--quick", "--data", str(root), "--budget", "2", "--backend", "serial",
                "--storage", f"sqlite:///{tmp_path / 'nab.db'}", "--out", str(tmp_path / "n.png")]) == 0
    out = capsys.readouterr().out
    assert "objective standard" in out and "default" in out
