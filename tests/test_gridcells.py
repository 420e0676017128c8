"""Grid-cell modules and the location layer: path integration, activity, bad inputs, save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.gridcells import GridCellModule, LocationLayer
from htmagent.gridcells.geometry import default_active_firing_rate, default_bump_sigma
from htmagent.sdr import SDR
from tests.reference import gridcells_twins as T


def _phases(layer):
    return [layer.bump_phases(m) for m in range(layer.num_modules)]


def _same_state(a, b):
    assert a.active_cells == b.active_cells
    assert a.learning_cells == b.learning_cells
    for pa, pb in zip(_phases(a), _phases(b)):
        np.testing.assert_array_equal(pa, pb)


def test_cell_phases_and_matrices():
    layer = LocationLayer(num_modules=2, cells_per_axis=4, scales=[10.0, 20.0], orientations=[0.0, 0.5], seed=0)
    np.testing.assert_array_equal(layer.cell_phases, T.cell_phases(4))
    for basis, a, scale in zip(layer.tile_bases, layer.phase_matrices, [10.0, 20.0]):
        np.testing.assert_allclose(a @ (scale * basis), np.eye(2), atol=1e-12)


def test_defaults_follow_the_paper():
    layer = LocationLayer(seed=0)
    assert layer.num_modules == 10 and layer.cells_per_axis == 10 and layer.size == 1000
    np.testing.assert_allclose(layer.scales, 40.0)
    np.testing.assert_allclose(np.degrees(layer.orientations), [(i + 0.5) * 6.0 for i in range(10)])
    assert layer.bump_sigma == pytest.approx(0.18172 * 0.6)
    assert layer.active_firing_rate == pytest.approx(0.5708, abs=1e-4)
    assert layer.bump_radius == pytest.approx(0.2 / math.sqrt(3))  # half the firing-field diameter
    for n in (6, 10, 20):
        assert default_active_firing_rate(n, default_bump_sigma(n)) == pytest.approx(0.5708, abs=1e-4)
    geometric = LocationLayer(num_modules=3, scale=10.0, scale_ratio=2.0, seed=0)
    np.testing.assert_allclose(geometric.scales, [10.0, 20.0, 40.0])


def test_no_location_means_no_activity():
    layer = LocationLayer(num_modules=3, seed=0)
    assert layer.active_cells.num_active == 0 and layer.num_hypotheses == 0
    layer.movement_compute([3.0, 4.0])
    assert layer.active_cells.num_active == 0
    layer.activate_random_location()
    assert layer.num_hypotheses == 1
    layer.reset()
    assert layer.active_cells.num_active == 0 and layer.learning_cells.num_active == 0


@pytest.mark.parametrize("tiling", ["hexagonal", "square"])
def test_a_bump_activates_a_handful_of_cells_around_its_learning_cell(tiling):
    module = GridCellModule(tiling=tiling, anchor_input_size=50, seed=1)
    counts = []
    for _ in range(300):
        module.activate_random_location()
        active = module.active_cells
        counts.append(active.num_active)
        (learning,) = module.learning_cells.sparse
        assert learning in active
        # the learning cell is the cell nearest the bump centre
        d2 = T.distances(module.bump_phases(), module.tile_bases[0], 10)[:, 0]
        assert d2[learning] == d2.min()
    assert min(counts) >= 3 and max(counts) <= 8
    assert 4.0 <= np.mean(counts) <= 6.0


def test_moving_one_tile_edge_returns_to_the_same_phase():
    module = GridCellModule(scale=25.0, orientation=math.radians(17), anchor_input_size=50, seed=2)
    module.activate_random_location()
    start = module.bump_phases()
    before = module.active_cells
    for angle in (17, 77):  # the two edges of the 60-degree rhombus
        edge = 25.0 * np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
        module.movement_compute(edge)
        wrapped = np.abs(module.bump_phases() - start)
        assert np.all(np.minimum(wrapped, 1 - wrapped) < 1e-9)
        assert module.active_cells == before


def test_movement_shifts_bumps_by_the_phase_displacement():
    module = GridCellModule(scale=30.0, orientation=0.4, anchor_input_size=50, seed=3)
    module.set_bump_phases([[[0.1, 0.2], [0.7, 0.95]]])
    d = np.array([4.0, -7.5])
    module.movement_compute(d)
    a = np.linalg.inv(30.0 * np.array([[math.cos(0.4), math.cos(0.4 + math.pi / 3)],
                                       [math.sin(0.4), math.sin(0.4 + math.pi / 3)]]))
    expected = np.mod(np.array([[0.1, 0.2], [0.7, 0.95]]) + a @ d, 1.0)
    np.testing.assert_allclose(module.bump_phases(), expected, atol=1e-12)
    assert module.num_hypotheses == 2


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-500, 500), st.floats(-500, 500)), min_size=2, max_size=6),
       st.integers(0, 2**31))
def test_path_integration_is_exact(moves, seed):
    stepwise = LocationLayer(num_modules=4, scale=13.0, scale_ratio=1.3, anchor_input_size=20, seed=seed)
    direct = LocationLayer(num_modules=4, scale=13.0, scale_ratio=1.3, anchor_input_size=20, seed=seed)
    stepwise.activate_random_location()
    direct.activate_random_location()
    total = np.zeros(2)
    for move in moves:
        stepwise.movement_compute(move)
        total = total + np.array(move)
    direct.movement_compute(total)  # A -> B -> C lands exactly where A -> C does
    _same_state(stepwise, direct)


def test_a_closed_loop_returns_to_the_start():
    layer = LocationLayer(seed=5)
    layer.activate_random_location()
    start_phases, start_active = _phases(layer), layer.active_cells
    loop = [(3, 0), (0, 17), (-41, 2), (12, -30), (26, 11)]  # integer moves that sum to zero
    for move in loop * 20:
        layer.movement_compute(move)
    for a, b in zip(_phases(layer), start_phases):
        np.testing.assert_array_equal(a, b)
    assert layer.active_cells == start_active
    rng = np.random.default_rng(0)
    moves = rng.normal(0, 50, (99, 2))
    for move in list(moves) + [-moves.sum(axis=0)]:  # float moves: back to within rounding
        layer.movement_compute(move)
    for a, b in zip(_phases(layer), start_phases):
        np.testing.assert_allclose(a, b, atol=1e-9)
    assert layer.active_cells == start_active


def test_path_integration_noise_is_seeded_and_per_module():
    a = LocationLayer(num_modules=5, path_integration_noise=0.5, anchor_input_size=20, seed=9)
    b = LocationLayer(num_modules=5, path_integration_noise=0.5, anchor_input_size=20, seed=9)
    clean = LocationLayer(num_modules=5, anchor_input_size=20, seed=9)
    for layer in (a, b, clean):
        layer.activate_random_location()
        for _ in range(10):
            layer.movement_compute([5.0, 5.0])
    _same_state(a, b)
    drift = [np.abs(pa - pc).max() for pa, pc in zip(_phases(a), _phases(clean))]
    assert min(drift) > 0.0 and len(set(drift)) == 5


def test_layer_equals_its_modules_side_by_side():
    scales, orientations = [20.0, 31.0, 47.0], [0.1, 0.5, 0.9]
    layer = LocationLayer(num_modules=3, scales=scales, orientations=orientations, anchor_input_size=20, seed=0)
    modules = [GridCellModule(scale=s, orientation=o, anchor_input_size=20, seed=0)
               for s, o in zip(scales, orientations)]
    rng = np.random.default_rng(1)
    start = rng.random((3, 2))
    layer.set_bump_phases([start[m : m + 1] for m in range(3)])
    for m, module in enumerate(modules):
        module.set_bump_phases([start[m : m + 1]])
    for move in rng.normal(0, 30, (20, 2)):
        layer.movement_compute(move)
        for module in modules:
            module.movement_compute(move)
        assert layer.active_cells == SDR.concatenate([module.active_cells for module in modules])
        assert layer.learning_cells == SDR.concatenate([module.learning_cells for module in modules])


def test_activate_random_location_uses_the_given_generator():
    layer = LocationLayer(num_modules=3, anchor_input_size=20, seed=0)
    other = LocationLayer(num_modules=3, anchor_input_size=20, seed=1)
    layer.activate_random_location(np.random.default_rng(42))
    other.activate_random_location(np.random.default_rng(42))
    _same_state(layer, other)
    before = layer._rng.bit_generator.state
    layer.activate_random_location(7)
    assert layer._rng.bit_generator.state == before


def _snapshot(layer):
    state = layer.state_dict()
    return (layer.active_cells, layer.learning_cells, state["anchor_phases"], state["num_bumps"].copy(),
            state["displacement"], state["rng"], layer.connections.num_segments())


def _assert_unchanged(layer, snap):
    now = _snapshot(layer)
    assert now[0] == snap[0] and now[1] == snap[1]
    for x, y in zip(now[2:5], snap[2:5]):
        np.testing.assert_array_equal(x, y)
    assert now[5] == snap[5] and now[6] == snap[6]


@pytest.mark.parametrize("bad, error, match", [
    ([float("nan"), 1.0], ValueError, "displacement must be finite"),
    ([1.0, float("inf")], ValueError, "displacement must be finite"),
    ([1.0, 2.0, 3.0], ValueError, r"displacement must be a 2-vector .* got shape \(3,\)"),
    ("ab", TypeError, "displacement"),
    ([None, 1.0], TypeError, "displacement"),
])
def test_bad_displacement_raises_and_leaves_the_state(bad, error, match):
    layer = LocationLayer(num_modules=3, anchor_input_size=20, path_integration_noise=0.1, seed=0)
    layer.activate_random_location()
    snap = _snapshot(layer)
    with pytest.raises(error, match=match):
        layer.movement_compute(bad)
    _assert_unchanged(layer, snap)


def test_bad_sensory_input_raises_and_leaves_the_state():
    layer = LocationLayer(num_modules=3, anchor_input_size=20, seed=0)
    layer.activate_random_location()
    good = SDR(20, range(10))
    layer.sensory_compute(good, good, learn=True)
    snap = _snapshot(layer)
    with pytest.raises(ValueError, match="l4_active must be an SDR of size 20, got size 21"):
        layer.sensory_compute(SDR(21, [1]), good, learn=False)
    with pytest.raises(ValueError, match="l4_winners must be an SDR of size 20"):
        layer.sensory_compute(good, SDR(30, [1]), learn=True)
    with pytest.raises(ValueError, match="l4_active indices must lie in"):
        layer.sensory_compute([3, 25], good, learn=False)
    with pytest.raises(TypeError, match="learn must be a bool"):
        layer.sensory_compute(good, good, learn="yes")
    _assert_unchanged(layer, snap)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_modules": 0}, ValueError, "num_modules must be >= 1, got 0"),
    ({"cells_per_axis": 2.5}, TypeError, "cells_per_axis must be an int"),
    ({"scale": -1.0}, ValueError, "scale must be > 0.0, got -1.0"),
    ({"scale_ratio": float("nan")}, ValueError, "scale_ratio must be finite"),
    ({"scales": [10.0, 20.0]}, ValueError, "scales must hold num_modules=3 values, got 2"),
    ({"tiling": "triangle"}, ValueError, "tiling must be one of"),
    ({"active_firing_rate": 1.5}, ValueError, "active_firing_rate must be <= 1.0, got 1.5"),
    ({"bump_sigma": 0.0}, ValueError, "bump_sigma must be > 0.0, got 0.0"),
    ({"path_integration_noise": -0.1}, ValueError, "path_integration_noise must be >= 0.0"),
    ({"anchor_input_size": 0}, ValueError, "anchor_input_size must be >= 1, got 0"),
    ({"seed": -3}, ValueError, "seed must be a non-negative integer"),
])
def test_bad_parameters_raise(kwargs, error, match):
    args = {"num_modules": 3, **kwargs}
    with pytest.raises(error, match=match):
        LocationLayer(**args)


def test_set_bump_phases_validates():
    module = GridCellModule(anchor_input_size=10, seed=0)
    with pytest.raises(ValueError, match=r"phases\[0\] must be finite and in \[0, 1\)"):
        module.set_bump_phases([[[0.5, 1.0]]])
    with pytest.raises(ValueError, match="one array per module"):
        module.set_bump_phases([[[0.5, 0.5]], [[0.1, 0.1]]])
    with pytest.raises(ValueError, match=r"must have shape \(bumps, 2\)"):
        module.set_bump_phases([[0.5, 0.5, 0.5]])
    assert module.num_hypotheses == 0


@pytest.mark.parametrize("cls", [LocationLayer, GridCellModule])
def test_save_load_resumes_bit_for_bit(cls, tmp_path):
    kwargs = {"num_modules": 4} if cls is LocationLayer else {"scale": 23.0}
    original = cls(anchor_input_size=60, path_integration_noise=0.3, seed=11, **kwargs)
    rng = np.random.default_rng(0)
    winners = [SDR(60, np.sort(rng.choice(60, 12, replace=False))) for _ in range(6)]

    def run(layer, steps):
        out = []
        for t in steps:
            if t % 4 == 0:
                layer.reset()
                layer.activate_random_location()
            layer.movement_compute([3.0 * t, -2.0])
            layer.sensory_compute(winners[t % 6], winners[t % 6], learn=t < 8)
            out.append((layer.active_cells, layer.learning_cells, layer.sensory_associated_cells,
                        layer.num_hypotheses))
        return out

    run(original, range(6))
    path = tmp_path / "layer.npz"
    original.save(path)
    restored = cls.load(path)
    assert restored.sensory_associated_cells == original.sensory_associated_cells
    assert restored.connections.num_segments() == original.connections.num_segments()
    assert run(original, range(6, 14)) == run(restored, range(6, 14))
    np.testing.assert_array_equal(original.connections.syn_perm, restored.connections.syn_perm)
    with pytest.raises(ValueError, match="holds a"):
        (GridCellModule if cls is LocationLayer else LocationLayer).load(path)
