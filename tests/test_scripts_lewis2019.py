"""The Lewis 2019 reproduction scripts run with --quick, print their tables and save PNGs; the CLI hook parses."""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

import pytest

from htmagent.experiments import lewis2019 as recognize_grid
from htmagent.experiments.recognize import register

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.mark.parametrize("script, extra, header", [
    ("lewis2019_capacity.py", ["--sweep", "modules"], "Fig 8A"),
    ("lewis2019_capacity.py", ["--sweep", "pool", "--values", "10", "20"], "Fig 8C"),
    ("lewis2019_sensations.py", [], "Fig 7B"),
])
def test_script_quick_run(script, extra, header, tmp_path, monkeypatch, capsys):
    png, raw = tmp_path / "fig.png", tmp_path / "raw.json"
    argv = [script, "--quick", "--no-progress", "--out", str(png), "--json-out", str(raw), *extra]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(SCRIPTS / script), run_name="__main__")
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert header in printed and "published" in printed and "ours" in printed
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "wall_time_s" in json.loads(raw.read_text())


def test_quick_sensations_never_ahead_of_ideal_observer():
    out = recognize_grid.run_sensations(recognize_grid.SensationsArgs(quick=True, progress=False))
    curves = out["curves"]
    assert out["never_ahead_of_ideal"]
    network = curves["40x40"]
    assert all(n <= i + 1e-12 for n, i in zip(network, curves["ideal_object"]))
    assert all(i <= o + 1e-12 for i, o in zip(curves["ideal"], curves["ideal_object"]))
    assert network[-1] == 1.0


def test_quick_capacity_search_brackets_the_boundary():
    out = recognize_grid.run_capacity(recognize_grid.CapacityArgs(sweep="pool", values=[5], quick=True,
                                                                  progress=False))
    run = out["runs"][5][0]
    passed = [n for n, acc, _ in run["evaluations"] if acc >= 0.9]
    failed = [n for n, acc, _ in run["evaluations"] if acc < 0.9]
    assert out["capacity"][5] == max(passed, default=0)
    assert all(n > out["capacity"][5] for n in failed)


def test_cli_hook_adds_the_experiments():
    parser = argparse.ArgumentParser(prog="htmagent")
    register(parser.add_subparsers(dest="command"))
    for name in ("lewis-capacity", "lewis-sensations", "lewis-speed"):
        args = parser.parse_args(["recognize", name, "--quick"])
        assert callable(args.func) and args.quick
    with pytest.raises(ValueError, match="sweep must be one of"):
        recognize_grid.run_capacity(recognize_grid.CapacityArgs(sweep="colour", quick=True, progress=False))
