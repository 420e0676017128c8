"""The Cui, Ahmad & Hawkins 2016 (Fig. 4) script runs with --quick, prints its table and saves the figure."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cui2016_high_order.py"




def test_quick_run_prints_the_table_and_saves_the_figure(tmp_path, monkeypatch, capsys):
    png, raw = tmp_path / "fig.png", tmp_path / "raw.json"
    argv = [str(SCRIPT), "--quick", "--no-progress", "--out", str(png), "--json-out", str(raw)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "Fig 4" in printed and "published HTM" in printed and "lowest accuracy after the switch" in printed
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 1000
    run = json.loads(raw.read_text())["runs"]["tm"][0]
    # 3,000 elements are enough for the first endings to be learned: accuracy clearly above chance (1/10)
    assert max(run["curve"]) > 0.5 and run["wall_time_s"] > 0


def test_stream_has_the_papers_structure():
    from htmagent.experiments import cui2016

    args = cui2016.HighOrderArgs(num_elements=4000, switch_at=2000, progress=False)
    symbols, before_end = cui2016.make_stream(np.random.default_rng(0), args)
    assert symbols.shape == (4000,) and before_end.sum() > 400
    sequences, switched = cui2016.SEQUENCES, cui2016.SWITCHED
    assert len(sequences) == 8 and all(7 <= len(s) <= 8 for s in sequences)
    # pairs share everything but the ending, and the switch swaps the endings of each pair
    for i in range(0, 8, 2):
        a, b = sequences[i], sequences[i + 1]
        assert a[1:-1] == b[1:-1] and a[0] != b[0] and a[-1] != b[-1]
        assert switched[i][-1] == b[-1] and switched[i + 1][-1] == a[-1]
    # every sequence ending is preceded by its second-to-last element and followed by a noise symbol (>= 10)
    ends = np.flatnonzero(before_end) + 1
    ends = ends[ends + 1 < symbols.size]
    assert np.all(symbols[ends] < 10) and np.all(symbols[ends + 1] >= 10)


def test_bad_arguments_raise(capsys):
    from htmagent.experiments import cui2016
    from htmagent.experiments.args import parse_args

    with pytest.raises(ValueError, match="switch_at"):
        cui2016.HighOrderArgs(num_elements=100, switch_at=200)
    with pytest.raises(SystemExit) as done:  # on the command line: one usage line naming the flag, exit code 2
        parse_args(cui2016.HighOrderArgs, ["--num-elements", "100", "--switch-at", "200"])
    assert done.value.code == 2 and "--switch-at must be in [1, 99], got 200" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["deephtm", "lstm"])
def test_the_learned_arms_predict_every_ending_of_the_same_stream(kind):
    pytest.importorskip("torch")
    from htmagent.experiments import cui2016
    from htmagent.experiments.cui2016_deep import run_seed_learned

    args = cui2016.HighOrderArgs(num_elements=400, switch_at=200, progress=False, models=["tm", kind])
    learned, tm = run_seed_learned(0, args, kind), cui2016.run_seed(0, args)
    assert learned["at"] == tm["at"] and len(learned["correct"]) == len(tm["at"]) > 20
    assert all(isinstance(c, bool) for c in learned["correct"])


def test_models_are_checked():
    from htmagent.experiments import cui2016

    with pytest.raises(ValueError, match="models must be some of"):
        cui2016.HighOrderArgs(models=["gru"])


def test_a_run_that_never_recovers_is_summarised_as_never():
    from htmagent.experiments import cui2016

    args = cui2016.HighOrderArgs(num_elements=2000, switch_at=1000, window=10)
    at = list(range(5, 2000, 10))
    lost = cui2016.summarise({"at": at, "correct": [True] * 100 + [False] * 100}, args)
    assert lost["reach_0.9"] == 5 and lost["recovered_0.9"] is None and lost["recovered_0.95"] is None
    back = cui2016.summarise({"at": at, "correct": [True] * 100 + [False] * 30 + [True] * 70}, args)
    # window 10: 9 good of the last 10 first at ending 138, all 10 at ending 139
    assert back["recovered_0.9"] == at[138] and back["recovered_0.95"] == at[139]
