"""scripts/encode_stream.py runs with a tiny budget and prints the metrics table."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "encode_stream.py"


def load_script():
    spec = importlib.util.spec_from_file_location("encode_stream", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses and inspect look the module up by name while it runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_main_prints_a_metrics_row_per_stage(capsys):
    script = load_script()
    argv = ["--steps", "40", "--seed", "3", "--size", "500", "--sparsity", "0.04", "--bench-values", "50"]
    assert script.main(argv) == 0
    out = capsys.readouterr().out
    assert "40 steps encoded" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["value"], ["time"],
                                                                                             ["all"])}
    assert set(rows) == {"value", "time", "all"}
    # Columns: stage, bits, sparsity_mean, ...: the RDSE keeps exactly 4% of its 500 bits active.
    assert rows["value"][1] == "500" and float(rows["value"][2]) == pytest.approx(0.04)
    assert "RDSE throughput on 50 values" in out and "encode_indices" in out


def test_arguments_come_from_the_dataclass_with_their_docstrings():
    script = load_script()
    args = script.parse_args(["--step-minutes", "30", "--noise", "0.5"])
    assert args.step_minutes == 30 and args.noise == 0.5 and args.steps == script.Args.steps
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "number of samples in the stream" in result.stdout


def test_stream_is_reproducible():
    script = load_script()
    a = script.make_stream(script.Args(steps=20, seed=5))
    b = script.make_stream(script.Args(steps=20, seed=5))
    assert (a[0] == b[0]).all() and a[1] == b[1]
