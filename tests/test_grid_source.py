"""GridLocationSource: grid cells as the location source of the voting Network (LocationSource protocol)."""

from __future__ import annotations

import pytest

from htmagent.cortex.column import LocationSource
from htmagent.cortex.grid_source import GridLocationSource, grid_sources
from htmagent.cortex.location_column import lewis2019_l4_params
from htmagent.cortex.network import Network
from htmagent.cortex.objects import ObjectSet
from htmagent.sdr import SDR


def test_implements_the_location_source_protocol():
    source = GridLocationSource(num_modules=4, cells_per_axis=6, l4_cells=100, seed=0)
    assert isinstance(source, LocationSource)
    assert source.size == 4 * 36


def test_learning_codes_follow_the_movements():
    source = GridLocationSource(num_modules=5, cells_per_axis=8, l4_cells=100, seed=1)
    source.reset()
    start = source.locate((0, 0), learn=True)
    assert start.num_active == 5  # one learning cell per module
    there = source.locate((2, 1), learn=True)
    assert there != start
    assert source.locate((0, 0), learn=True) == start  # a closed loop returns exactly
    source.reset()
    assert source.locate((0, 0), learn=True) != start  # a new object gets a new location space


def test_inference_starts_without_a_location_and_anchoring_recalls_it():
    source = GridLocationSource(num_modules=5, cells_per_axis=8, l4_cells=100, seed=2)
    winners = SDR(100, [3, 17, 25, 40, 41, 60, 77, 80, 91, 99])
    source.reset()
    code = source.locate((1, 1), learn=True)
    source.anchor(winners, learn=True, l4_winner_cells=winners)
    source.reset()
    assert source.locate((1, 1), learn=False).num_active == 0
    source.anchor(winners, learn=False)
    assert source.num_hypotheses == 1
    assert source.layer.learning_cells == code


def test_network_with_grid_sources_recognizes_learned_objects():
    objects = ObjectSet.lewis2019(10, num_features=20, seed=0)
    sources = grid_sources(1, seed=5)
    net = Network(num_columns=1, feature_active_bits=10, location_sources=sources,
                  l4_params=lewis2019_l4_params(10), seed=0)
    net.learn(objects, repetitions=2)
    results = [net.infer(obj, max_sensations=10, seed=obj.label) for obj in objects]
    assert all(r.correct for r in results)


def test_save_load_resumes_exactly():
    source = GridLocationSource(num_modules=3, cells_per_axis=6, l4_cells=50, seed=3)
    source.reset()
    source.locate((0, 0), learn=True)
    source.anchor(SDR(50, list(range(0, 50, 5))), learn=True)
    source.locate((1, 0), learn=True)
    copy = GridLocationSource(num_modules=3, cells_per_axis=6, l4_cells=50, seed=99)
    copy.load_state_dict(source.state_dict())
    for point in [(2, 0), (2, 3), (0, 1)]:
        assert copy.locate(point, learn=True) == source.locate(point, learn=True)
    source.reset(), copy.reset()
    assert copy.locate((0, 0), learn=True) == source.locate((0, 0), learn=True)


def test_bad_inputs_raise_clear_errors():
    source = GridLocationSource(num_modules=3, cells_per_axis=6, l4_cells=50, seed=4)
    source.reset()
    source.locate((0, 0), learn=True)
    before = source.layer.active_cells
    with pytest.raises(ValueError, match="point must be a pair of integers"):
        source.locate((0.5, 1), learn=False)
    with pytest.raises(TypeError, match="learn"):
        source.locate((1, 1), learn="yes")
    with pytest.raises(ValueError, match="l4_active_cells"):
        source.anchor(SDR(60, [1, 2]), learn=False)
    with pytest.raises(ValueError, match="feature_scale"):
        GridLocationSource(feature_scale=0.0)
    assert source.layer.active_cells == before


def test_grid_sources_gives_each_column_its_own_location_space():
    sources = grid_sources(3, num_modules=4, cells_per_axis=6, l4_cells=50, seed=0)
    codes = []
    for source in sources:
        source.reset()
        codes.append(source.locate((0, 0), learn=True))
    assert len({tuple(c.sparse.tolist()) for c in codes}) == 3
    with pytest.raises(ValueError, match="num_columns"):
        grid_sources(0)
