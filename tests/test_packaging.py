"""Packaging: the sub-packages install under ``htmagent`` only, and the console script works.

Every check runs in a subprocess whose working directory is a temporary folder, so the repository's own folders
(``encoders/``, ``envs/``, ``gridcells/``) cannot leak in through the current directory.
"""

import json
import shutil
import subprocess
import sys

import pytest

FORBIDDEN = ("envs", "encoders", "gridcells")


def run_python(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_subpackages_import_from_outside_the_repository(tmp_path):
    code = (
        "import htmagent.encoders, htmagent.gridcells, htmagent.envs\n"
        "from htmagent.encoders import RDSE\n"
        "print(RDSE(100, active_bits=4, resolution=1.0).encode(3.0).num_active)"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4"


def test_no_top_level_envs_encoders_or_gridcells(tmp_path):
    code = (
        "import importlib.util, json\n"
        f"print(json.dumps({{n: importlib.util.find_spec(n) is None for n in {FORBIDDEN!r}}}))"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {name: True for name in FORBIDDEN}


def test_distribution_declares_only_htmagent_at_the_top(tmp_path):
    # From the repository root, importlib.metadata would find the in-tree htmagent.egg-info (whose file list holds
    # source paths), so the installed distribution is read from a temporary directory.
    code = (
        "import importlib.metadata, json\n"
        "dist = importlib.metadata.distribution('htmagent')\n"
        "print(json.dumps({'top_level': dist.read_text('top_level.txt'),\n"
        "                  'files': [str(p) for p in dist.files or []],\n"
        "                  'parts': [p.parts[0] for p in dist.files or []]}))"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    if info["top_level"] is not None:
        assert set(info["top_level"].split()) == {"htmagent"}
    # Whatever the install mode, no installed file may create a top-level envs/encoders/gridcells module.
    for path, first in zip(info["files"], info["parts"]):
        stem = first[:-3] if first.endswith(".py") else first
        assert stem not in FORBIDDEN, f"{path} installs a top-level {stem!r}"


@pytest.mark.parametrize("argv", [["--help"], ["info", "--help"]])
def test_console_script_help(argv, tmp_path):
    exe = shutil.which("htmagent")
    cmd = [exe, *argv] if exe else [sys.executable, "-m", "htmagent", *argv]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "usage: htmagent" in result.stdout


def test_the_core_never_imports_torch(tmp_path):
    # Only the torch room (htmagent.deep) and htmagent.sb3 may import torch: the plain install has none.
    code = (
        "import sys, htmagent, htmagent.encoders, htmagent.gridcells, htmagent.envs, htmagent.cortex, htmagent.agent\n"
        "from htmagent import TemporalMemory, SpatialPooler, AnomalyDetector, Network, HTMObservation\n"
        "import htmagent.experiments.nab, htmagent.experiments.bench, htmagent.experiments.deep_sine\n"
        "print('torch' in sys.modules)"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_only_the_experiments_room_reaches_ray_and_optuna_and_only_when_a_sweep_runs(tmp_path):
    # Building the command line (which holds `sweep` and `tune`) and the experiments' trials imports neither.
    code = (
        "import sys, htmagent, htmagent.cli, htmagent.experiments.trials, htmagent.experiments.predictive_coding\n"
        "htmagent.cli.build_parser().parse_args(['sweep', 'fig4a', '--quick'])\n"
        "print([m for m in ('ray', 'optuna', 'torch') if m in sys.modules])"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
