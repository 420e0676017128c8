"""Sensory anchoring: learning ties locations to L4 cells; sensing recalls the union, movement + sensing prunes it.

L4 is played by a small fake that implements the pair-memory protocol the real layer follows: every learned
(feature, location) pair gets fixed random winner cells; when a feature is sensed, the winners of the pairs whose
learned location cells are (mostly) active now fire (predicted), otherwise all of the feature's learned cells fire
(the minicolumns burst).
"""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.gridcells import AnchorParams, LocationLayer
from htmagent.sdr import SDR

L4_SIZE = 2400
WINNERS = 10


class FakeL4:
    def __init__(self, seed: int, threshold: int = 8):
        self.rng = np.random.default_rng(seed)
        self.threshold = threshold
        self.memory: list[tuple[str, SDR, SDR]] = []

    def learn(self, feature: str, layer: LocationLayer) -> SDR:
        winners = SDR(L4_SIZE, self.rng.choice(L4_SIZE, WINNERS, replace=False))
        self.memory.append((feature, layer.learning_cells, winners))
        layer.sensory_compute(winners, winners, learn=True)
        return winners

    def sense(self, feature: str, layer: LocationLayer) -> SDR:
        pairs = [(loc, w) for f, loc, w in self.memory if f == feature]
        predicted = [w for loc, w in pairs if loc.overlap(layer.active_cells) >= self.threshold]
        chosen = predicted or [w for _, w in pairs]
        active = chosen[0].union(*chosen[1:]) if chosen else SDR(L4_SIZE)
        layer.sensory_compute(active, active, learn=False)
        return active


def _code_at_cells(layer: LocationLayer, cells: list[SDR]) -> SDR:
    """Active cells of a layer whose bumps sit exactly on the given learning cells."""
    probe = LocationLayer(num_modules=layer.num_modules, scales=layer.scales, orientations=layer.orientations,
                          anchor_input_size=L4_SIZE, seed=0)
    n = layer.cells_per_axis
    phases = []
    for m in range(layer.num_modules):
        local = sorted({int(c) - m * n * n for sdr in cells for c in sdr.sparse if c // (n * n) == m})
        phases.append(np.array([[(c // n + 0.5) / n, (c % n + 0.5) / n] for c in local]))
    probe.set_bump_phases(phases)
    return probe.active_cells


@pytest.fixture
def two_objects():
    layer = LocationLayer(anchor_input_size=L4_SIZE, seed=3)
    l4 = FakeL4(seed=4)
    d = np.array([20.0, 0.0])
    locations = {}
    for name, second in (("object 1", "H"), ("object 2", "G")):
        layer.reset()
        layer.activate_random_location()
        l4.learn("F", layer)
        at_f = layer.learning_cells
        layer.movement_compute(d)
        l4.learn(second, layer)
        locations[name] = (at_f, layer.learning_cells)
    layer.reset()
    return layer, l4, d, locations


def test_learning_grows_one_segment_per_module_and_relearning_reinforces(two_objects):
    layer, l4, _, _ = two_objects
    conn = layer.connections
    assert conn.num_segments() == 4 * layer.num_modules  # 2 objects x 2 features, one learning cell per module
    for segment in range(conn.segment_capacity):
        if conn.seg_i32[0, segment] >= 0:
            pre, perm = conn.synapses_for_segment(segment)
            assert pre.size == WINNERS and np.all(perm == 1.0)
    layer.activate_random_location()
    winners = l4.learn("K", layer)
    layer.sensory_compute(winners, winners, learn=True)  # the same pair again: no new segment
    assert conn.num_segments() == 5 * layer.num_modules


def test_sensing_a_shared_feature_recalls_exactly_the_union(two_objects):
    layer, l4, d, locations = two_objects
    l4.sense("F", layer)
    p1, p2 = locations["object 1"][0], locations["object 2"][0]
    assert layer.num_hypotheses == 2
    np.testing.assert_array_equal(layer.bumps_per_module, 2)
    assert layer.learning_cells == p1.union(p2)
    assert layer.sensory_associated_cells == p1.union(p2)
    assert layer.active_cells == _code_at_cells(layer, [p1, p2])
    # moving shifts the whole union; sensing a feature only object 2 has there leaves one hypothesis
    layer.movement_compute(d)
    assert layer.num_hypotheses == 2
    l4.sense("G", layer)
    assert layer.num_hypotheses == 1
    assert layer.learning_cells == locations["object 2"][1]
    assert layer.active_cells == _code_at_cells(layer, [locations["object 2"][1]])


def test_an_unlearned_sensation_keeps_the_path_integrated_location(two_objects):
    layer, l4, _, _ = two_objects
    l4.sense("F", layer)
    before = layer.active_cells
    l4.sense("never learned", layer)
    assert layer.active_cells == before and layer.num_hypotheses == 2
    assert layer.sensory_associated_cells.num_active == 0
    layer.sensory_compute(SDR(L4_SIZE), SDR(L4_SIZE), learn=False)
    assert layer.active_cells == before


def test_weak_input_below_the_activation_threshold_does_not_anchor():
    layer = LocationLayer(num_modules=3, anchor_input_size=100, anchor=AnchorParams(activation_threshold=8),
                          seed=0)
    layer.activate_random_location()
    winners = SDR(100, range(10))
    layer.sensory_compute(winners, winners, learn=True)
    layer.movement_compute([7.0, 3.0])
    moved = layer.active_cells
    layer.sensory_compute(SDR(100, range(7)), SDR(100), learn=False)  # 7 < 8 synapses: not recognised
    assert layer.active_cells == moved
    layer.sensory_compute(SDR(100, range(8)), SDR(100), learn=False)  # 8: back at the learned cells
    assert layer.active_cells != moved and layer.num_hypotheses == 1


def test_hypotheses_never_grow_while_sensing_a_learned_object():
    rng = np.random.default_rng(7)
    layer = LocationLayer(anchor_input_size=L4_SIZE, seed=8)
    l4 = FakeL4(seed=9)
    features = ["A", "B", "C", "D"]  # a small pool, so objects share features
    objects = []
    for _ in range(8):
        grid = rng.choice(16, 5, replace=False)
        points = np.stack([grid // 4, grid % 4], axis=1) * 20.0
        feats = rng.choice(features, 5)
        layer.reset()
        layer.activate_random_location()
        position = np.zeros(2)
        for point, feat in zip(points, feats):
            layer.movement_compute(point - position)
            position = point
            l4.learn(str(feat), layer)
        objects.append((points, feats))
    for points, feats in objects:
        layer.reset()
        order = rng.permutation(len(points))
        position, counts = None, []
        for i in order:
            if position is not None:
                layer.movement_compute(points[i] - position)
                assert layer.num_hypotheses == counts[-1]  # movement never changes the count
            position = points[i]
            l4.sense(str(feats[i]), layer)
            counts.append(layer.num_hypotheses)
            l4.sense(str(feats[i]), layer)  # sensing the same thing again changes nothing
            assert layer.num_hypotheses == counts[-1]
        assert all(b <= a for a, b in zip(counts, counts[1:])), counts
        assert counts[0] >= 1


def test_a_similar_sensation_reinforces_and_tops_up_the_same_segment():
    layer = LocationLayer(num_modules=2, anchor_input_size=100, seed=1)
    layer.activate_random_location()
    first = SDR(100, range(10))
    layer.sensory_compute(first, first, learn=True)
    similar = SDR(100, [*range(8), 50, 51])  # 8 of 10 shared: matches (learning_threshold 8)
    layer.sensory_compute(similar, similar, learn=True)
    conn = layer.connections
    assert conn.num_segments() == 2
    for cell in layer.learning_cells.sparse:
        (segment,) = conn.segments_for_cell(int(cell))
        pre, perm = conn.synapses_for_segment(int(segment))
        assert pre.tolist() == [*range(10), 50, 51]  # the 2 new winners grown on the existing segment
        assert np.all(perm == 1.0)
    different = SDR(100, range(60, 70))
    layer.sensory_compute(different, different, learn=True)  # no match: a second segment per learning cell
    assert conn.num_segments() == 4


def test_anchoring_under_a_memory_budget_stays_bounded_and_recalls_what_it_just_learned():
    from htmagent.connections import Connections
    from htmagent.gridcells.anchoring import AnchorParams, learn_anchors, supported_cells
    from htmagent.sdr import SDR

    budget = 2**20
    params = AnchorParams(memory_budget=budget)
    conn = Connections(1000, 2400, params.max_segments_per_cell, params.max_synapses_per_segment, seed=1,
                       memory_budget=params.memory_budget)
    rng = np.random.default_rng(1)
    history = []
    for step in range(1500):
        cells = rng.choice(1000, 10, replace=False)
        winners = np.sort(rng.choice(2400, 10, replace=False))
        if step > 300 and rng.random() < 0.5:  # revisit one of the oldest pairs still held (about 2,400 segments fit)
            old_cells, winners = history[-int(rng.integers(150, 300))]  # while new cells grow new segments
            cells = np.concatenate([old_cells[:5], np.setdiff1d(cells, old_cells)[:5]])
        cells = np.sort(cells).astype(np.int32)
        history.append((cells, winners))
        learn_anchors(conn, cells, SDR(2400, winners), params)
        assert conn.nbytes <= budget
        # what was just learned is recalled: nothing this step learned on was retired under it
        assert set(cells.tolist()) <= set(supported_cells(conn, SDR(2400, winners), params).tolist()), step
    assert conn.segments_retired > 0
    from htmagent.kernels import connections as K

    assert K.check_store(*conn.store, conn.max_segments_per_cell, conn.max_synapses_per_segment)[0] == 0


def test_the_anchor_budget_is_checked():
    from htmagent.gridcells.anchoring import AnchorParams
    from htmagent.cortex.location_column import LocationColumnParams

    with pytest.raises(ValueError, match="memory_budget"):
        AnchorParams(memory_budget=0)
    with pytest.raises(ValueError, match="anchor_memory_budget"):
        LocationColumnParams(anchor_memory_budget=-5)
