"""ObjectLayer (L2/3 column pooler): kernels vs NumPy twins, learning and inference rules, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.kernels import object_layer as K
from htmagent.cortex.object_layer import ObjectLayer, ObjectLayerParams
from htmagent.sdr import SDR
from tests.reference import object_layer_twins as T


# ------------------------------------------------------------------------------------------------ kernels
def _random_store(rng, cells, presyn, cap):
    count = rng.integers(0, cap // 2, size=cells).astype(np.int32)
    pre = np.zeros((cells, cap), dtype=np.int32)
    perm = np.zeros((cells, cap), dtype=np.float32)
    for c in range(cells):
        pre[c, :count[c]] = rng.choice(presyn, count[c], replace=False)
        perm[c, :count[c]] = rng.choice([0.0005, 0.3, 0.5, 0.6, 0.95], count[c])
    return pre, perm, count


@pytest.mark.parametrize("case", ["random", "empty_input", "all_active", "no_candidates", "dense_candidates"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learn_synapses_matches_twin(case, seed):
    rng = np.random.default_rng(seed)
    cells, presyn, cap = 30, 40, 40
    pre, perm, count = _random_store(rng, cells, presyn, cap)
    active_cells = np.sort(rng.choice(cells, 8, replace=False)).astype(np.int32)
    if case == "empty_input":
        active_input = np.empty(0, dtype=np.int32)
    elif case == "all_active":
        active_input = np.arange(presyn, dtype=np.int32)
    else:
        active_input = np.sort(rng.choice(presyn, 10, replace=False)).astype(np.int32)
    if case == "no_candidates":
        candidates = np.empty(0, dtype=np.int32)
    elif case == "dense_candidates":
        candidates = np.arange(presyn, dtype=np.int32)
    else:
        candidates = active_input
    mask = np.zeros(presyn, dtype=np.bool_)
    mask[active_input] = True
    keys = rng.random((active_cells.size, candidates.size))
    a = (pre.copy(), perm.copy(), count.copy())
    b = (pre.copy(), perm.copy(), count.copy())
    K.learn_synapses(*a, active_cells, mask, candidates, keys, 6, 0.41, 0.1, 0.001)
    T.learn_synapses(*b, active_cells, mask, candidates, keys, 6, 0.41, 0.1, 0.001)
    assert np.array_equal(a[2], b[2])
    for c in range(cells):
        n = a[2][c]
        assert np.array_equal(a[0][c, :n], b[0][c, :n])
        assert np.array_equal(a[1][c, :n], b[1][c, :n])
        assert len(set(a[0][c, :n].tolist())) == n  # never two synapses onto the same input


@pytest.mark.parametrize("seed", [0, 3])
def test_csr_and_votes_match_twin(seed):
    rng = np.random.default_rng(seed)
    pre, perm, count = _random_store(rng, 25, 30, 30)
    i1, p1 = K.connected_csr(pre, perm, count, 30, 0.5)
    i2, p2 = T.connected_csr(pre, perm, count, 30, 0.5)
    assert np.array_equal(i1, i2) and np.array_equal(p1, p2)
    for active in (np.empty(0, np.int32), np.arange(30, dtype=np.int32),
                   np.sort(rng.choice(30, 7, replace=False)).astype(np.int32)):
        assert np.array_equal(K.count_votes(i1, p1, active, 25), T.count_votes(i2, p2, active, 25))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("inertia", [1.0, 0.5, 0.0])
def test_select_active_cells_matches_twin(seed, inertia):
    rng = np.random.default_rng(seed)
    cells = 120
    ff = rng.integers(0, 8, cells).astype(np.int32)
    distal = rng.integers(0, 16, (3, cells)).astype(np.int32)
    prev = np.sort(rng.choice(cells, int(rng.integers(0, 60)), replace=False)).astype(np.int32)
    for sdr_size in (1, 10, 40, 120):
        got = K.select_active_cells(ff, distal, prev, 5, 13, sdr_size, inertia, True)
        want = T.select_active_cells(ff, distal, prev, 5, 13, sdr_size, inertia, True)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2] == want[2]


def test_select_active_cells_edge_cases():
    cells = 50
    empty = np.empty(0, dtype=np.int32)
    none = np.zeros(cells, dtype=np.int32)
    # Nothing active at all: nothing chosen.
    chosen, rest, n = K.select_active_cells(none, np.zeros((1, cells), np.int32), empty, 5, 13, 10, 1.0, True)
    assert chosen.size == 0 and rest.size == 0 and n == 0
    # Feedforward only, no distal support: every feedforward cell must be added (the union).
    ff = np.full(cells, 9, dtype=np.int32)
    chosen, rest, n = K.select_active_cells(ff, np.zeros((1, cells), np.int32), empty, 5, 13, 10, 1.0, True)
    assert chosen.size == 0 and rest.size == cells and n == cells
    # Inertia alone keeps previous cells even without feedforward support.
    prev = np.arange(5, dtype=np.int32)
    chosen, _, _ = K.select_active_cells(none, np.zeros((1, cells), np.int32), prev, 5, 13, 10, 1.0, True)
    assert chosen.tolist() == prev.tolist()
    chosen, _, _ = K.select_active_cells(none, np.zeros((1, cells), np.int32), prev, 5, 13, 10, 1.0, False)
    assert chosen.size == 0


# ------------------------------------------------------------------------------------------------- layer
def _codes(rng, n, size=600, bits=20):
    return [np.sort(rng.choice(size, bits, replace=False)).astype(np.int32) for _ in range(n)]


def _train(layer, objects, reps=3):
    sdrs = []
    for obj in objects:
        layer.reset()
        for code in obj:
            for r in range(reps):
                layer.compute(code, feedforward_growth_candidates=code if r == reps - 1 else None, learn=True)
        sdrs.append(layer.active_cells)
    return sdrs


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(5)
    pairs = _codes(rng, 30, size=600)
    objects = [[pairs[i] for i in rng.choice(30, 6, replace=False)] for _ in range(12)]
    layer = ObjectLayer(600, params=ObjectLayerParams(cell_count=1024, sdr_size=20, sample_size_proximal=10,
                                                      min_threshold_proximal=5), seed=3)
    sdrs = _train(layer, objects)
    return layer, objects, sdrs


def test_learning_keeps_one_code_per_object(trained):
    layer, objects, sdrs = trained
    assert all(s.num_active == 20 for s in sdrs)
    assert len({s for s in sdrs}) == len(sdrs)


def test_union_shrinks_to_the_object_code(trained):
    layer, objects, sdrs = trained
    for label, obj in enumerate(objects):
        layer.reset()
        sizes = []
        for code in obj:
            sizes.append(layer.compute(code, learn=False).num_active)
        assert all(b <= a for a, b in zip(sizes, sizes[1:])), sizes
        assert layer.active_cells == sdrs[label]


def test_first_sensation_activates_the_union_of_objects_sharing_it(trained):
    layer, objects, sdrs = trained
    code = objects[0][0]
    sharing = [i for i, obj in enumerate(objects) if any(np.array_equal(code, c) for c in obj)]
    layer.reset()
    active = layer.compute(code, learn=False)
    for i in sharing:
        assert active.overlap(sdrs[i]) == sdrs[i].num_active


def test_lateral_votes_select_the_supported_object():
    rng = np.random.default_rng(2)
    params = ObjectLayerParams(cell_count=512, sdr_size=20, sample_size_distal=12, activation_threshold_distal=8)
    a = ObjectLayer(300, [512], params=params, seed=1)
    b = ObjectLayer(300, [512], params=params, seed=2)
    shared = _codes(rng, 1, 300)[0]
    objects = [[shared, c] for c in _codes(rng, 2, 300)]
    codes = []
    for obj in objects:
        a.reset(), b.reset()
        for code in obj:
            for r in range(3):
                pa, pb = a.active_cells, b.active_cells
                cand = code if r == 2 else None
                a.compute(code, [pb], cand, learn=True)
                b.compute(code, [pa], cand, learn=True)
        codes.append((a.active_cells, b.active_cells))
    # Column a senses the ambiguous shared pair; column b's vote for object 1 picks object 1 in column a.
    a.reset()
    active = a.compute(shared, [codes[1][1]], learn=False)
    assert active == codes[1][0]


def test_online_learning_learns_on_inferred_cells():
    layer = ObjectLayer(200, params=ObjectLayerParams(cell_count=256, sdr_size=10, online_learning=True), seed=0)
    code = np.arange(0, 200, 10, dtype=np.int32)
    first = layer.compute(code, feedforward_growth_candidates=code, learn=True)
    assert first.num_active == 10
    layer.reset()
    again = layer.compute(code, learn=False)
    assert again == first


def test_save_load_resumes_exactly(trained, tmp_path):
    layer, objects, _ = trained
    layer.reset()
    layer.compute(objects[0][0], learn=False)
    path = tmp_path / "layer.npz"
    layer.save(path)
    twin = ObjectLayer.load(path)
    rng = np.random.default_rng(0)
    for _ in range(8):
        code = objects[int(rng.integers(len(objects)))][int(rng.integers(6))]
        learn = bool(rng.integers(2))
        assert layer.compute(code, feedforward_growth_candidates=code, learn=learn) == \
            twin.compute(code, feedforward_growth_candidates=code, learn=learn)
    assert layer.num_synapses() == twin.num_synapses()


def test_bad_inputs_raise_and_leave_state_unchanged(trained):
    layer, objects, _ = trained
    layer.reset()
    layer.compute(objects[1][0], learn=False)
    before = layer.active_cells
    with pytest.raises(ValueError, match="feedforward_input must be an SDR of size 600"):
        layer.compute(SDR(601, [1, 2]), learn=False)
    with pytest.raises(ValueError, match="lateral_inputs must hold 0"):
        layer.compute(objects[1][1], [SDR(1024)], learn=False)
    with pytest.raises(ValueError, match="sorted and unique"):
        layer.compute(np.array([5, 3], dtype=np.int32), learn=False)
    with pytest.raises(TypeError, match="learn must be a bool"):
        layer.compute(objects[1][1], learn="yes")
    assert layer.active_cells == before
    with pytest.raises(ValueError, match="sdr_size must be <= cell_count"):
        ObjectLayerParams(cell_count=10, sdr_size=20)
    with pytest.raises(ValueError, match="activation_threshold_distal must be an int >= 1, got 0"):
        ObjectLayer(10, activation_threshold_distal=0)
    with pytest.raises(TypeError, match="unknown ObjectLayer parameters"):
        ObjectLayer(10, cellcount=5)
