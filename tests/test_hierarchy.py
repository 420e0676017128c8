"""Regions and hierarchies: what flows up and down, the sequence result on a small case, save/load, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from htmagent import SDR, Hierarchy, Region, RegionParams
from htmagent.experiments.hierarchy_sequences import SequenceArgs, run_sequences
from htmagent.serialization import StateError


def _low(**kw) -> RegionParams:
    return RegionParams(input_dimensions=48, column_dimensions=64, active_columns=6, **kw)


def _stream(seed: int, n: int, size: int = 48) -> list[SDR]:
    rng = np.random.default_rng(seed)
    symbols = [SDR(size, np.sort(rng.choice(size, 8, replace=False))) for _ in range(5)]
    return [symbols[i % 5] for i in range(n)]


def test_a_region_pools_a_predicted_sequence_into_a_stable_code():
    region = Region(_low(), seed=2)
    stream = _stream(0, 300)
    for x in stream[:250]:
        region.step(x)
    assert region.anomaly == 0.0  # the cycle of five is learned
    pooled, columns = [], []
    for x in stream[250:]:
        region.step(x, learn=False)
        pooled.append(set(region.pooled.sparse.tolist()))
        columns.append(set(region.active_columns.sparse.tolist()))

    def change(codes):
        return np.mean([1 - len(a & b) / max(len(a), len(b)) for a, b in zip(codes, codes[1:])])
    assert region.pooled.num_active == 12  # 2 x active columns by default
    assert change(pooled) < 0.5 * change(columns)


def test_pool_reset_clears_the_code_on_a_surprise():
    region = Region(_low(pool_reset=0.5), seed=2)
    stream = _stream(0, 200)
    for x in stream:
        region.step(x)
    before = set(region.pooled.sparse.tolist())
    surprise = SDR(48, np.arange(40, 48))
    region.step(surprise)
    assert region.anomaly >= 0.5
    assert set(region.pooled.sparse.tolist()) == set(region.active_columns.sparse.tolist())
    assert not before <= set(region.pooled.sparse.tolist())


def test_bad_region_input_is_refused_and_changes_nothing():
    region = Region(_low(), seed=1)
    for x in _stream(1, 20):
        region.step(x)
    before = region.state_dict()
    with pytest.raises(ValueError, match="input_sdr"):
        region.step(SDR(47, [1, 2]))
    with pytest.raises(ValueError, match="apical_input"):
        region.step(SDR(48, [1, 2]), apical_input=[3])
    with pytest.raises(TypeError, match="learn"):
        region.step(SDR(48, [1, 2]), learn="yes")
    after = region.state_dict()
    assert np.array_equal(before["activation"], after["activation"])
    assert before["tm"]["iteration"] == after["tm"]["iteration"]
    with pytest.raises(ValueError, match="active_columns"):
        RegionParams(input_dimensions=48, column_dimensions=64, active_columns=65)
    with pytest.raises(ValueError, match="same number of dimensions"):
        RegionParams(input_dimensions=(8, 8), column_dimensions=64)


def test_a_saved_region_resumes_exactly(tmp_path):
    region = Region(_low(apical_input_size=30), seed=4)
    stream = _stream(2, 60)
    for x in stream[:40]:
        region.step(x, apical_input=[1, 7, 20])
    region.save(tmp_path / "r.npz")
    loaded = Region.load(tmp_path / "r.npz")
    for x in stream[40:]:
        a, b = region.step(x, apical_input=[2, 9]), loaded.step(x, apical_input=[2, 9])
        assert a == b and region.pooled == loaded.pooled
        assert region.predicted_cells == loaded.predicted_cells


def _two_level(feedback: bool = True, signal: str = "pooled", seed: int = 0) -> Hierarchy:
    top = RegionParams(input_dimensions=128, column_dimensions=64, active_columns=6)
    return Hierarchy([[_low(), _low()], [top]], feedback=feedback, feedback_signal=signal, seed=seed)


def test_hierarchy_wiring_sizes_and_feedback():
    h = _two_level(signal="predicted_cells")
    assert [len(level) for level in h.regions] == [2, 1]
    assert h.children == [[[0, 1]]]
    assert all(r.params.apical_input_size == 64 * 4 for r in h.bottom)  # the parent's cells
    assert all(r.params.apical_input_size == 64 for r in _two_level(signal="pooled").bottom)
    assert _two_level(feedback=False).bottom[0].params.apical_input_size == 0
    a, b = _stream(3, 50), _stream(4, 50)
    for x, y in zip(a, b):
        h.step([x, y])
    upper_input = h.pooled(0)
    assert upper_input.size == 128 and upper_input.num_active == 24
    assert h.top[0].tm.num_segments() > 0
    assert h.bottom[0].tm.num_segments("apical") > 0  # the feedback was learned on


def test_hierarchies_with_one_seed_agree_and_resume_after_saving(tmp_path):
    h1, h2 = _two_level(seed=5), _two_level(seed=5)
    a, b = _stream(5, 80), _stream(6, 80)
    for x, y in zip(a[:50], b[:50]):
        h1.step([x, y])
        h2.step([x, y])
    assert h1.pooled(1) == h2.pooled(1)
    h1.save(tmp_path / "h.npz")
    loaded = Hierarchy.load(tmp_path / "h.npz")
    for x, y in zip(a[50:], b[50:]):
        h1.step([x, y])
        loaded.step([x, y])
        assert h1.pooled(1) == loaded.pooled(1) and h1.active_columns(0) == loaded.active_columns(0)


def test_bad_hierarchy_structure_and_input_are_refused():
    top = RegionParams(input_dimensions=100, column_dimensions=64, active_columns=6)
    with pytest.raises(ValueError, match="must take 128 inputs"):
        Hierarchy([[_low(), _low()], [top]])
    good_top = RegionParams(input_dimensions=128, column_dimensions=64, active_columns=6)
    with pytest.raises(ValueError, match="already has a parent"):
        Hierarchy([[_low(), _low()], [good_top]], children=[[[0, 0]]])
    with pytest.raises(ValueError, match="feedback_signal"):
        Hierarchy([[_low(), _low()], [good_top]], feedback_signal="apical")
    h = _two_level()
    before = h.state_dict()
    with pytest.raises(ValueError, match="one SDR per bottom region"):
        h.step([SDR(48, [1])])
    with pytest.raises(ValueError, match="input_sdr"):
        h.step([SDR(48, [1]), SDR(40, [1])])
    assert h.state_dict()["regions"]["0.0"]["tm"]["iteration"] == before["regions"]["0.0"]["tm"]["iteration"]
    state = h.state_dict()
    state["structure"]["feedback"] = False
    with pytest.raises(StateError, match="structure"):
        h.load_state_dict(state)


def test_feedback_restores_the_song_after_the_lower_memory_is_cut():
    # Small case of the sequences experiment (it can fail): three songs share their middle phrase; with the lower
    # region's memory cut at every phrase, only the upper region knows which song is playing.
    result = run_sequences(SequenceArgs(quick=True, progress=False, train_songs=150, test_passes=2))
    m = result["mean"]
    assert m["cut, no feedback"][0] < 0.5  # alone, the lower region predicts every song's continuation
    assert m["cut, feedback"][0] > m["cut, no feedback"][0] + 0.25
    assert m["cut, feedback"][1] > 0.9
    stability = m["stability"]
    assert 1 - stability["level 2 pooled"] < (1 - stability["level 1 columns"]) / 3


def test_the_digits_comparison_runs_on_its_quick_form_and_refuses_bad_settings(tmp_path):
    from htmagent.experiments.hierarchy_digits import DigitsArgs, digits_table, flip_pixels, run_digits

    pytest.importorskip("sklearn")
    models = ["hierarchy", "flat", "shared"] + (["cnn"] if _has_torch() else [])
    result = run_digits(DigitsArgs(quick=True, progress=False, models=models, readout_epochs=10, cnn_epochs=30))
    for m in models:
        accuracy = result["by_shots"][m]
        assert 0.1 < accuracy["1"][0] <= accuracy["10"][0] + 0.05  # above chance, and more examples help
        assert result["by_noise"][m]["0.2"][0] < result["by_noise"][m]["0.0"][0]
    assert result["by_shots"]["hierarchy"]["10"][0] > 0.6
    assert "examples per class" in digits_table(result)
    image = np.zeros((2, 8, 8), dtype=bool)
    flipped = flip_pixels(image, 0.25, np.random.default_rng(0))
    assert flipped.reshape(2, -1).sum(axis=1).tolist() == [16, 16]
    with pytest.raises(ValueError, match="models"):
        DigitsArgs(models=["svm"])
    with pytest.raises(ValueError, match="noise"):
        DigitsArgs(noise=[1.5])


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_the_hierarchy_commands_run(capsys):
    from htmagent.cli import main

    assert main(["hierarchy", "sequences", "--quick", "--no-progress", "--train-songs", "20",
                 "--test-passes", "1"]) == 0
    assert "cut, feedback" in capsys.readouterr().out
    assert main(["bench", "--hierarchy", "--steps", "60"]) == 0
    assert "digits: 9 patch regions" in capsys.readouterr().out


def test_more_glimpses_recognise_more_digits():
    from htmagent.experiments.hierarchy_digits import SaccadeArgs, run_saccades

    pytest.importorskip("sklearn")
    result = run_saccades(SaccadeArgs(quick=True, progress=False, readout_epochs=10))
    one, five = result["accuracy"]["1"][0], result["accuracy"]["5"][0]
    assert 0.1 < one < five  # the pooled code gathers the glimpses: more of the digit, better recognised


def test_a_grid_layout_keeps_the_childrens_sheets_side_by_side(tmp_path):
    low = RegionParams(input_dimensions=(4, 4), column_dimensions=(4, 4), active_columns=3, cells_per_column=2)
    top = RegionParams(input_dimensions=(8, 8), column_dimensions=(8, 8), active_columns=4, cells_per_column=2,
                       global_inhibition=False, potential_radius=2)
    h = Hierarchy([[low] * 4, [top]], layouts=[[(2, 2)]], seed=1)
    rng = np.random.default_rng(0)
    for _ in range(5):
        h.step([SDR(16, np.sort(rng.choice(16, 5, replace=False))) for _ in range(4)])
    upper = h._upper_input(1, 0)
    expected = set()
    for k, child in enumerate(h.bottom):
        for i in child.pooled.sparse.tolist():
            y, x = divmod(i, 4)
            expected.add((k // 2 * 4 + y) * 8 + (k % 2 * 4 + x))
    assert set(upper.sparse.tolist()) == expected and upper.size == 64
    h.save(tmp_path / "grid.npz")
    assert Hierarchy.load(tmp_path / "grid.npz").layouts == [[(2, 2)]]
    with pytest.raises(ValueError, match="input_dimensions=\\(8, 8\\)"):
        Hierarchy([[low] * 4, [dataclasses.replace(top, input_dimensions=(4, 16), column_dimensions=(4, 16))]],
                  layouts=[[(2, 2)]])
    with pytest.raises(ValueError, match="rows, columns"):
        Hierarchy([[low] * 4, [top]], layouts=[[(3, 1)]])


def test_a_bad_level_is_refused_by_name():
    h = _two_level()
    for call in (lambda: h.pooled(2), lambda: h.active_columns(-1), lambda: h.reset(levels=[0, 5]),
                 lambda: h.reset(levels=["0"])):
        with pytest.raises(ValueError, match="level must be an int in \\[0, 2\\)"):
            call()
    assert h.pooled(1).size == 64
