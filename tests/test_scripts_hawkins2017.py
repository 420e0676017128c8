"""Every Hawkins 2017 reproduction script runs with --quick, prints its table and saves a PNG; the CLI wires them."""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

import pytest

from htmagent.experiments import column_speed
from htmagent.experiments import hawkins2017 as recognize
from htmagent.experiments.recognize import register

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.mark.parametrize("script, extra, header", [
    ("hawkins2017_convergence.py", ["--figure", "4a"], "Fig 4A"),
    ("hawkins2017_convergence.py", ["--figure", "4b"], "Fig 4B"),
    ("hawkins2017_sensations.py", [], "Fig 4C"),
    ("hawkins2017_capacity.py", [], "Fig 5"),
    ("hawkins2017_noise.py", [], "Fig 6A"),
])
def test_script_quick_run(script, extra, header, tmp_path, monkeypatch, capsys):
    png, raw = tmp_path / "fig.png", tmp_path / "raw.json"
    argv = [script, "--quick", "--no-progress", "--out", str(png), "--json-out", str(raw), *extra]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(SCRIPTS / script), run_name="__main__")
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert header in printed and "published" in printed
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "wall_time_s" in json.loads(raw.read_text())


def test_quick_sensations_never_ahead_of_ideal_observer():
    out = recognize.run_sensations(recognize.SensationsArgs(quick=True, progress=False))
    curves = out["curves"]
    assert out["never_ahead_of_ideal"]
    assert all(n <= i + 1e-12 for n, i in zip(curves["network"], curves["ideal"]))
    assert curves["network"][-1] == 1.0


def test_cli_registers_every_experiment():
    parser = argparse.ArgumentParser(prog="htmagent")
    register(parser.add_subparsers(dest="command"))
    for name in ("fig4a", "fig4b", "fig4c", "fig5", "fig6a", "speed"):
        args = parser.parse_args(["recognize", name, "--quick"])
        assert callable(args.func) and args.quick
    assert parser.parse_args(["recognize", "fig4b"]).figure == "4b"
    args = parser.parse_args(["recognize", "fig6a", "--levels", "0.1", "0.3"])
    assert args.levels == [0.1, 0.3]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="figure must be '4a' or '4b', got '4d'"):
        recognize.run_convergence(recognize.ConvergenceArgs(figure="4d", progress=False))
    with pytest.raises(ValueError, match="config must look like"):
        recognize.run_capacity(recognize.CapacityArgs(configs=["150-4096"], progress=False))


def test_speed_table_reports_every_measurement():
    out = column_speed.run_column_speed(column_speed.ColumnSpeedArgs(quick=True, repeats=1))
    rates = out["sensations_per_second"]
    assert len(rates) == 8
    assert all(v["wall"] > 0 and v["cpu"] > 0 for v in rates.values())
    table = column_speed.column_speed_table(out)
    assert "per CPU s" in table and "feedback off" in table
