"""scripts/grid_walk.py and scripts/bench_gridcells.py run with a tiny budget."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses and inspect look the module up by name while it runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_grid_walk_draws_a_png(tmp_path, capsys):
    script = load_script("grid_walk")
    out = tmp_path / "img" / "walk.png"
    assert script.main(["--steps", "12", "--num-modules", "3", "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 300 and image.height > 200
    printed = capsys.readouterr().out
    assert "12 moves, 3 modules of 10x10 cells" in printed and f"figure saved to {out}" in printed


def test_grid_walk_trails_follow_path_integration():
    script = load_script("grid_walk")
    layer, positions, trails = script.walk(script.Args(steps=10, num_modules=2, seed=3))
    assert positions.shape == (11, 2) and len(trails) == 2 and len(trails[0]) == 11
    a = layer.phase_matrices[1]
    expected = np.mod(trails[1][0] + a @ (positions[-1] - positions[0]), 1.0)
    np.testing.assert_allclose(trails[1][-1], expected, atol=1e-9)


def test_bench_prints_speed_and_uniqueness_tables(capsys):
    script = load_script("bench_gridcells")
    assert script.main(["--objects", "3", "--features", "4", "--sensations", "10", "--area", "30",
                        "--grid-step", "3"]) == 0
    out = capsys.readouterr().out
    assert "movement_us (cpu, median)" in out and "sensory_us (wall, median)" in out
    rows = [line for line in out.splitlines() if line.startswith(("encoder", "layer"))]
    assert len(rows) == 6
