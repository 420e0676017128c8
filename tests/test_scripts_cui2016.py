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
    run = json.loads(raw.read_text())["runs"][0]
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
