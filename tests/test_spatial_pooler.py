"""Spatial pooler: kernels against their NumPy twins, and the behaviour users rely on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.kernels import spatial_pooler as K
from htmagent.sdr import SDR, SDRMetrics
from htmagent.spatial_pooler import SpatialPooler
from tests.reference import sp_twins as T


def small_sp(**overrides) -> SpatialPooler:
    params = dict(
        potential_radius=200,
        potential_pct=0.8,
        num_active_columns_per_inh_area=10,
        syn_perm_connected=0.2,
        syn_perm_active_inc=0.05,
        syn_perm_inactive_dec=0.01,
        seed=3,
    )
    params.update(overrides)
    return SpatialPooler(200, 128, **params)


# ---------------------------------------------------------------------------------------------- kernels vs twins


def random_store(rng, n_col=37, n_in=53, connected=0.3):
    perm = rng.random((n_col, n_in)).astype(np.float32)
    perm[rng.random((n_col, n_in)) < 0.3] = -1.0
    # Put some permanences exactly on the threshold and at the bounds: the edge cases of the comparisons.
    perm[rng.random((n_col, n_in)) < 0.05] = np.float32(connected)
    perm[rng.random((n_col, n_in)) < 0.05] = 1.0
    perm[rng.random((n_col, n_in)) < 0.05] = 0.0
    is_connected = perm >= np.float32(connected)
    return (perm, is_connected.astype(np.uint8), np.ascontiguousarray(is_connected.T, dtype=np.uint8),
            is_connected.sum(1).astype(np.int32))


@pytest.mark.parametrize("case", ["random", "empty", "all"])
def test_overlaps_kernel_matches_twin(case):
    rng = np.random.default_rng(1)
    perm, _, conn_t, _ = random_store(rng)
    n_in, n_col = conn_t.shape
    active = {"random": np.sort(rng.choice(n_in, 9, replace=False)), "empty": np.empty(0), "all": np.arange(n_in)}
    active = active[case].astype(np.int32)
    boost = rng.random(n_col) * 3
    got = np.zeros(n_col, np.int32), np.zeros(n_col)
    want = np.zeros(n_col, np.int32), np.zeros(n_col)
    K.sp_overlaps(got[0], got[1], active, conn_t, boost)
    T.overlaps(want[0], want[1], active, conn_t, boost)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("seed", range(6))
def test_inhibition_kernels_match_twins(seed):
    rng = np.random.default_rng(seed)
    n = 60
    # Small integer overlaps and a zero tie-breaker on half the seeds make many exact ties.
    overlaps = rng.integers(0, 5, n).astype(np.int32)
    boosted = overlaps * (1.0 if seed % 2 else rng.random(n) * 2)
    tie = np.zeros(n) if seed % 2 else rng.random(n) * 1e-6
    threshold = float(seed % 3)
    scores = boosted + tie
    for k in (0, 1, 7, n, n + 5):
        want = T.inhibit_global(overlaps, boosted, tie, threshold, k)
        # The hint (a guess of the k-th best score) may be anything: missing, exact, too low, too high.
        kth = np.sort(scores[(overlaps > 0) & (boosted >= threshold)])[::-1][k - 1: k]
        for guess in (-np.inf, *kth, *(kth - 1e-3), *(kth + 1e-3), 2.0, np.inf):
            hint = np.array([guess])
            np.testing.assert_array_equal(K.sp_inhibit_global(overlaps, boosted, tie, threshold, k, hint), want)
            if want.size == k > 0 and scores[want].min() > 0:  # the next guess: 90% of the k-th best score
                assert hint[0] == scores[want].min() * 0.9
    lists = [np.array([j for j in range(max(0, c - 4), min(n, c + 5)) if j != c]) for c in range(n)]
    ptr = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    idx = np.concatenate(lists).astype(np.int32)
    for density in (0.05, 0.2, 0.5):
        np.testing.assert_array_equal(
            K.sp_inhibit_local(overlaps, boosted, tie, threshold, ptr, idx, density),
            T.inhibit_local(overlaps, boosted, tie, threshold, ptr, idx, density),
        )
        out_k, out_t = np.zeros(n), np.zeros(n)
        K.sp_neighbourhood_max(out_k, boosted, ptr, idx)
        T.neighbourhood_max(out_t, boosted, ptr, idx)
        np.testing.assert_array_equal(out_k, out_t)
        K.sp_neighbourhood_mean(out_k, boosted, ptr, idx)
        T.neighbourhood_mean(out_t, boosted, ptr, idx)
        np.testing.assert_allclose(out_k, out_t, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    overlaps=st.lists(st.integers(0, 4), min_size=1, max_size=40),
    boost_choice=st.sampled_from([0.5, 1.0, 2.0]),
    k=st.integers(0, 45),
    threshold=st.sampled_from([0.0, 1.0, 2.5]),
)
def test_global_inhibition_matches_twin_on_ties(overlaps, boost_choice, k, threshold):
    ov = np.array(overlaps, dtype=np.int32)
    boosted = ov * boost_choice
    tie = np.zeros(ov.size)
    got = K.sp_inhibit_global(ov, boosted, tie, threshold, k, np.array([-np.inf]))
    np.testing.assert_array_equal(got, T.inhibit_global(ov, boosted, tie, threshold, k))
    # A hint at an exact tie value must not change the winners.
    hint = np.array([boost_choice * float(np.median(ov))])
    np.testing.assert_array_equal(K.sp_inhibit_global(ov, boosted, tie, threshold, k, hint), got)
    assert got.size == min(k, int(np.sum((ov > 0) & (boosted >= threshold))))


@pytest.mark.parametrize("case", ["random", "empty_input", "full_input", "no_winner", "stimulus"])
def test_adapt_and_bump_kernels_match_twins(case):
    rng = np.random.default_rng(7)
    connected = 0.3
    store = random_store(rng, connected=connected)
    n_col, n_in = store[0].shape
    dense = (rng.random(n_in) < 0.3).astype(np.uint8)
    if case == "empty_input":
        dense[:] = 0
    if case == "full_input":
        dense[:] = 1
    winners = np.sort(rng.choice(n_col, 0 if case == "no_winner" else 8, replace=False)).astype(np.int32)
    stimulus = 30.0 if case == "stimulus" else 0.0
    states = [tuple(a.copy() for a in store) for _ in range(2)]
    K.sp_adapt(*states[0], winners, dense, 0.1, 0.05, connected, stimulus, 0.03)
    T.adapt(*states[1], winners, dense, 0.1, 0.05, connected, stimulus, 0.03)
    for a, b in zip(*states):
        np.testing.assert_array_equal(a, b)
    if case == "stimulus":
        potential = (store[0][winners] >= 0).sum(1)
        assert np.all(states[0][3][winners][potential >= stimulus] >= stimulus)
    duty = rng.random(n_col)
    minimum = np.where(rng.random(n_col) < 0.3, 2.0, 0.0)
    bumped = K.sp_bump_weak(*states[0], duty, minimum, 0.02, connected)
    assert bumped == T.bump_weak(*states[1], duty, minimum, 0.02, connected)
    for a, b in zip(*states):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("boost_strength, target", [(0.0, 0.1), (2.0, 0.1), (2.0, -1.0)])
def test_fused_learning_step_matches_twin(boost_strength, target):
    rng = np.random.default_rng(11)
    connected = 0.3
    store = random_store(rng, connected=connected)
    n_col, n_in = store[0].shape
    active = np.sort(rng.choice(n_in, 12, replace=False)).astype(np.int32)
    winners = np.sort(rng.choice(n_col, 6, replace=False)).astype(np.int32)
    overlaps = rng.integers(0, 4, n_col).astype(np.int32)
    minimum = np.where(rng.random(n_col) < 0.3, 2.0, 0.0)
    homeostasis = (rng.random(n_col), rng.random(n_col), np.ones(n_col))
    states = [tuple(a.copy() for a in store + homeostasis) for _ in range(2)]
    dense = np.zeros(n_in, np.uint8)
    got = K.sp_learn(*states[0], dense, active, winners, overlaps, minimum, 5.0, 0.1, 0.05, connected, 0.0, 0.03,
                     boost_strength, target)
    want = T.learn(*states[1], dense, active, winners, overlaps, minimum, 5.0, 0.1, 0.05, connected, 0.0, 0.03,
                   boost_strength, target)
    assert got == want
    assert not dense.any()
    for a, b in zip(states[0][:-1], states[1][:-1]):
        np.testing.assert_array_equal(a, b)
    # exp may differ from NumPy's by an ulp
    np.testing.assert_allclose(states[0][-1], states[1][-1], rtol=1e-14)
    if boost_strength == 0.0 or target < 0:
        np.testing.assert_array_equal(states[0][-1], 1.0)


def test_duty_cycle_kernel_matches_twin():
    rng = np.random.default_rng(2)
    n = 40
    a = [rng.random(n), rng.random(n)]
    b = [x.copy() for x in a]
    overlaps = rng.integers(0, 3, n).astype(np.int32)
    winners = np.sort(rng.choice(n, 5, replace=False)).astype(np.int32)
    for period in (1.0, 7.0, 1000.0):
        K.sp_update_duty_cycles(a[0], a[1], overlaps, winners, period)
        T.update_duty_cycles(b[0], b[1], overlaps, winners, period)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


# ---------------------------------------------------------------------------------------------- behaviour


def test_global_inhibition_gives_exact_sparsity():
    sp = SpatialPooler(400, 512, potential_radius=400, potential_pct=0.5, local_area_density=0.04, seed=1)
    rng = np.random.default_rng(0)
    for t in range(30):
        out = sp.compute(SDR.random(400, 0.05, seed=rng), learn=t % 2 == 0)
        assert out.num_active == round(0.04 * 512)
        assert out.size == 512


def test_empty_input_activates_nothing():
    sp = small_sp()
    assert sp.compute(SDR(200)).num_active == 0


def test_similar_inputs_overlap_and_dissimilar_do_not():
    sp = SpatialPooler(1000, 1024, potential_radius=1000, potential_pct=0.85, num_active_columns_per_inh_area=40,
                       syn_perm_connected=0.14, seed=5)
    base = np.arange(0, 40)
    similar = np.arange(4, 44)  # 90% of the bits shared
    different = np.arange(500, 540)
    a = sp.compute(SDR(1000, base), learn=False)
    b = sp.compute(SDR(1000, similar), learn=False)
    c = sp.compute(SDR(1000, different), learn=False)
    assert a.overlap(b) >= 0.6 * 40
    assert a.overlap(c) <= 0.25 * 40


def test_learning_strengthens_winners_on_the_input():
    sp = small_sp()
    x = SDR.random(200, 0.1, seed=11)
    first = sp.compute(x)
    before = sp.overlaps[first.sparse].mean()
    column = int(first.sparse[0])
    pool, perm_before = sp.permanences(column)
    sp.compute(x)
    assert column in sp.compute(x, learn=False)
    _, perm_after = sp.permanences(column)
    on = np.isin(pool, x.sparse)
    # One more learning step: synapses on active bits gained 0.05, the others lost 0.01 (within [0, 1]).
    np.testing.assert_allclose(perm_after[on], np.minimum(perm_before[on] + 0.05, 1.0), atol=1e-6)
    np.testing.assert_allclose(perm_after[~on], np.maximum(perm_before[~on] - 0.01, 0.0), atol=1e-6)
    for _ in range(20):
        out = sp.compute(x)
    assert sp.overlaps[out.sparse].mean() > before


def test_boosting_spreads_column_usage():
    inputs = [SDR.random(200, 0.1, seed=100 + i) for i in range(10)]

    def entropy(boost):
        sp = small_sp(boost_strength=boost, duty_cycle_period=100, seed=9)
        metrics = SDRMetrics(sp.num_columns, period=1000)
        for t in range(600):
            out = sp.compute(inputs[t % len(inputs)])
            if t >= 300:
                metrics.add(out)
        return metrics.entropy

    assert entropy(10.0) > entropy(0.0) + 0.02


def test_boost_factors_follow_duty_cycles():
    sp = small_sp(boost_strength=2.0)
    x = SDR.random(200, 0.1, seed=1)
    used = np.zeros(sp.num_columns, bool)
    for _ in range(30):
        used[sp.compute(x).sparse] = True
    boost = sp.boost_factors
    duty = sp.active_duty_cycles
    assert boost[np.argmax(duty)] < 1.0 < boost[~used].min()
    np.testing.assert_allclose(boost, np.exp((sp.density - sp.active_duty_cycles) * 2.0))


def test_local_inhibition_respects_neighbourhoods():
    # The left half of the input is fully on, the right half sparse: global inhibition gives every win to the left
    # columns; local inhibition must let each neighbourhood keep its own winners.
    dense = np.zeros(400, np.uint8)
    dense[:200] = 1
    dense[200::10] = 1
    x = SDR.from_dense(dense)
    common = dict(potential_radius=10, potential_pct=0.9, local_area_density=0.1, wrap_around=False, seed=4)
    glob = SpatialPooler(400, 200, global_inhibition=True, **common).compute(x, learn=False)
    local_sp = SpatialPooler(400, 200, global_inhibition=False, **common)
    loc = local_sp.compute(x, learn=False)
    assert np.all(glob.sparse < 105)
    assert np.sum(loc.sparse >= 105) >= 5
    radius = local_sp.inhibition_radius
    assert radius >= 1
    active = np.zeros(200, bool)
    active[loc.sparse] = True
    for c in range(200):
        window = active[max(0, c - radius):c + radius + 1]
        # Each winner is within its neighbourhood's quota of stronger neighbours, so no window fills up.
        assert window.sum() <= int(0.5 + 0.1 * window.size) * 2 + 1
    assert loc.num_active == pytest.approx(0.1 * 200, rel=0.5)


def test_local_inhibition_over_the_whole_layer_equals_global():
    # Receptive fields span the whole input, so the inhibition radius covers every column.
    common = dict(potential_radius=200, potential_pct=0.9, local_area_density=0.1, seed=8)
    glob = SpatialPooler(200, 21, global_inhibition=True, **common)
    loc = SpatialPooler(200, 21, global_inhibition=False, **common)
    assert 2 * loc.inhibition_radius + 1 >= 21
    for i in range(5):
        x = SDR.random(200, 0.1, seed=i)
        assert glob.compute(x) == loc.compute(x)


def test_topology_keeps_pools_local_in_2d():
    sp = SpatialPooler((16, 16), (8, 8), potential_radius=2, potential_pct=1.0, local_area_density=0.1,
                       wrap_around=False, seed=0)
    for column in range(64):
        cy, cx = np.unravel_index(column, (8, 8))
        pool, _ = sp.permanences(column)
        py, px = np.unravel_index(pool, (16, 16))
        centre = (2 * cy + 1, 2 * cx + 1)
        assert np.all(np.abs(py - centre[0]) <= 2) and np.all(np.abs(px - centre[1]) <= 2)
    out = sp.compute(SDR.random((16, 16), 0.2, seed=1))
    assert out.shape == (8, 8)


def test_wrap_around_pools_cross_the_edge():
    sp = SpatialPooler(100, 10, potential_radius=3, potential_pct=1.0, local_area_density=0.1, wrap_around=True,
                       seed=0)
    pool, _ = sp.permanences(0)  # centre at input 5 -> 2..8; the last column's centre 95 wraps to 92..98
    np.testing.assert_array_equal(pool, np.arange(2, 9))
    pool, _ = sp.permanences(9)
    np.testing.assert_array_equal(pool, np.arange(92, 99))
    edge = SpatialPooler(10, 10, potential_radius=2, potential_pct=1.0, local_area_density=0.1, wrap_around=True,
                         seed=0)
    np.testing.assert_array_equal(edge.permanences(0)[0], [0, 1, 2, 8, 9])


def test_stimulus_threshold_silences_weak_columns():
    sp = small_sp(stimulus_threshold=6.0)
    out = sp.compute(SDR(200, np.arange(8)), learn=False)
    assert np.all(sp.overlaps[out.sparse] >= 6)
    assert np.all(sp.connected_counts() >= 6)


def test_weak_columns_get_bumped():
    sp = small_sp(min_pct_overlap_duty_cycles=0.5, update_period=10, potential_radius=20, potential_pct=1.0,
                  num_active_columns_per_inh_area=5)
    x = SDR(200, np.arange(0, 20))  # only the first columns' pools see this input
    for _ in range(9):
        sp.compute(x)
    before = sp.connected_counts()
    for _ in range(3):
        sp.compute(x)
    after = sp.connected_counts()
    starving = sp.overlap_duty_cycles < 1e-9
    assert starving.any() and np.all(after[starving] >= before[starving])
    assert np.any(after[starving] > before[starving])


@pytest.mark.parametrize("global_inhibition", [True, False])
def test_connected_matrices_stay_consistent_with_permanences(global_inhibition):
    sp = small_sp(boost_strength=3.0, global_inhibition=global_inhibition, potential_radius=30,
                  min_pct_overlap_duty_cycles=0.2, update_period=5, stimulus_threshold=2.0)
    for i in range(60):
        sp.compute(SDR.random(200, 0.1, seed=i))
    is_connected = sp._perm >= np.float32(0.2)
    np.testing.assert_array_equal(sp._connected, is_connected)
    np.testing.assert_array_equal(sp._connected_t, is_connected.T)
    np.testing.assert_array_equal(sp.connected_counts(), is_connected.sum(1))


def test_same_seed_same_result_and_different_seed_differs():
    inputs = [SDR.random(200, 0.1, seed=i) for i in range(20)]
    runs = []
    for seed in (1, 1, 2):
        sp = small_sp(seed=seed, boost_strength=1.0)
        runs.append([sp.compute(x).sparse.tolist() for x in inputs])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.parametrize("global_inhibition", [True, False])
def test_save_load_resumes_exactly(tmp_path, global_inhibition):
    sp = small_sp(boost_strength=2.0, global_inhibition=global_inhibition, potential_radius=20,
                  update_period=7, min_pct_overlap_duty_cycles=0.1)
    inputs = [SDR.random(200, 0.1, seed=i) for i in range(30)]
    for x in inputs[:15]:
        sp.compute(x)
    path = tmp_path / "sp.npz"
    sp.save(path)
    loaded = SpatialPooler.load(path)
    for x in inputs[15:]:
        assert sp.compute(x) == loaded.compute(x)
        np.testing.assert_array_equal(sp.boosted_overlaps, loaded.boosted_overlaps)
    a, b = sp.state_dict(), loaded.state_dict()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a[key] == b[key]


def test_inference_without_learning_changes_nothing():
    sp = small_sp(boost_strength=2.0)
    for i in range(5):
        sp.compute(SDR.random(200, 0.1, seed=i))
    before = sp.state_dict()
    x = SDR.random(200, 0.1, seed=99)
    first = sp.compute(x, learn=False)
    assert sp.compute(x, learn=False) == first
    after = sp.state_dict()
    for key in before:
        if key == "iteration":
            assert after[key] == before[key] + 2
        elif isinstance(before[key], np.ndarray):
            np.testing.assert_array_equal(before[key], after[key])
        else:
            assert before[key] == after[key]


def test_bad_input_raises_and_leaves_state_unchanged():
    sp = small_sp()
    sp.compute(SDR.random(200, 0.1, seed=1))
    before = sp.state_dict()
    with pytest.raises(ValueError, match="input_sdr must be an SDR of size 200"):
        sp.compute(SDR(199, [1]))
    with pytest.raises(ValueError, match="sorted and unique"):
        sp.compute(np.array([5, 3, 9]))
    with pytest.raises(ValueError, match="sorted and unique"):
        sp.compute(np.array([3, 3, 9]))
    with pytest.raises(ValueError, match=r"\[0, 200\)"):
        sp.compute(np.array([3, 200]))
    with pytest.raises(TypeError, match="learn must be a bool"):
        sp.compute(SDR(200, [1]), learn="yes")
    after = sp.state_dict()
    for key in before:
        if isinstance(before[key], np.ndarray):
            np.testing.assert_array_equal(before[key], after[key])
        else:
            assert before[key] == after[key]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(local_area_density=0.1, num_active_columns_per_inh_area=5), "exactly one of"),
        (dict(local_area_density=0.0), "local_area_density must be in"),
        (dict(num_active_columns_per_inh_area=0), "num_active_columns_per_inh_area must be >= 1"),
        (dict(potential_pct=0.0), "potential_pct must be in"),
        (dict(syn_perm_connected=1.5), "syn_perm_connected must be in"),
        (dict(duty_cycle_period=0), "duty_cycle_period must be >= 1"),
        (dict(boost_strength=-1.0), "boost_strength must be in"),
        (dict(potential_radius=-1), "potential_radius must be >= 0"),
    ],
)
def test_parameter_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpatialPooler(20, 10, **kwargs)


def test_dimension_mismatch_is_rejected():
    with pytest.raises(ValueError, match="same number of dimensions"):
        SpatialPooler((4, 4), 16)


# ------------------------------------------------------------------------------------------ pool storage
POOL_CONFIGS = {
    "local topology, local inhibition": dict(
        input_dimensions=(24, 24), column_dimensions=(12, 12), potential_radius=3, global_inhibition=False,
        local_area_density=0.06, stimulus_threshold=2, boost_strength=1.0, min_pct_overlap_duty_cycles=0.2,
        update_period=5),
    "local topology, no wrap, global inhibition": dict(
        input_dimensions=(30, 30), column_dimensions=(15, 15), potential_radius=4, potential_pct=0.6,
        wrap_around=False, num_active_columns_per_inh_area=9, boost_strength=0.5),
    "whole input": dict(input_dimensions=300, column_dimensions=128, potential_radius=300, potential_pct=0.3,
                        num_active_columns_per_inh_area=8, stimulus_threshold=3, boost_strength=2.0),
}


def _run(sp: SpatialPooler, steps: int, seed: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [sp.compute(SDR.random(sp.num_inputs, 0.05, seed=int(rng.integers(2**31))), learn=bool(t % 7)).sparse
            .tobytes() for t in range(steps)]


@pytest.mark.parametrize("config", sorted(POOL_CONFIGS))
def test_pool_storage_is_the_dense_pooler_synapse_for_synapse(config):
    kw = POOL_CONFIGS[config]
    dense, pool = SpatialPooler(storage="dense", seed=4, **kw), SpatialPooler(storage="pool", seed=4, **kw)
    assert (dense.storage, pool.storage) == ("dense", "pool")
    assert _run(dense, 250) == _run(pool, 250)
    for column in range(dense.num_columns):
        for a, b in zip(dense.permanences(column), pool.permanences(column)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dense.connected_counts(), pool.connected_counts())
    for name in ("boost_factors", "active_duty_cycles", "overlap_duty_cycles", "inhibition_radius"):
        np.testing.assert_array_equal(getattr(dense, name), getattr(pool, name))
    np.testing.assert_array_equal(dense.overlaps, pool.overlaps)


def test_pool_storage_counts_connected_synapses_as_its_permanences_say():
    sp = SpatialPooler(storage="pool", seed=2, **POOL_CONFIGS["local topology, local inhibition"])
    _run(sp, 120)
    counts = [int((sp.permanences(c)[1] >= np.float32(sp.params.syn_perm_connected)).sum())
              for c in range(sp.num_columns)]
    np.testing.assert_array_equal(sp.connected_counts(), counts)


def test_auto_storage_keeps_only_the_pools_when_they_are_a_small_part_of_a_big_input():
    big_local = SpatialPooler((128, 128), (32, 32), potential_radius=6, global_inhibition=False,
                              local_area_density=0.02, seed=0)
    assert big_local.storage == "pool"
    assert SpatialPooler(2000, 1024, potential_radius=2000, seed=0).storage == "dense"  # whole-input pools
    assert SpatialPooler((24, 24), (12, 12), potential_radius=2, seed=0).storage == "dense"  # small: dense is fast
    pool_bytes = sum(getattr(big_local, n).nbytes for n in ("_pool_ptr", "_pool_idx", "_pool_perm", "_rev_ptr",
                                                            "_rev_col", "_rev_slot"))
    synapses = sum(big_local.permanences(c)[0].size for c in range(big_local.num_columns))
    # memory follows the pools: 16 bytes a potential synapse, and two offset arrays
    assert pool_bytes == 16 * synapses + 8 * (big_local.num_inputs + 1) + 8 * (big_local.num_columns + 1)
    assert pool_bytes < 0.05 * 6 * big_local.num_columns * big_local.num_inputs  # the dense matrices' 6 B a pair
    with pytest.raises(ValueError, match="storage"):
        SpatialPooler(100, 64, storage="sparse")


def test_pool_storage_saves_loads_and_resumes_exactly(tmp_path):
    sp = SpatialPooler(storage="pool", seed=5, **POOL_CONFIGS["local topology, local inhibition"])
    _run(sp, 40)
    sp.save(tmp_path / "sp")
    copy = SpatialPooler.load(tmp_path / "sp")
    assert copy.storage == "pool"
    assert _run(copy, 60, seed=9) == _run(sp, 60, seed=9)


@pytest.mark.parametrize("damage", ["ptr decreasing", "ptr start", "idx out of range", "idx unsorted",
                                    "idx repeated", "perm above 1", "idx dtype"])
def test_a_malformed_pool_state_is_refused_and_changes_nothing(damage):
    from htmagent.serialization import StateError

    sp = SpatialPooler(storage="pool", seed=5, **POOL_CONFIGS["local topology, local inhibition"])
    _run(sp, 20)
    state = sp.state_dict()
    ptr, idx, perm = state["pool_ptr"], state["pool_idx"], state["pool_perm"]
    if damage == "ptr decreasing":
        ptr[5] = ptr[6] + 1
    elif damage == "ptr start":
        ptr[0] = 1
    elif damage == "idx out of range":
        idx[3] = sp.num_inputs
    elif damage == "idx unsorted":
        idx[ptr[2]], idx[ptr[2] + 1] = idx[ptr[2] + 1], idx[ptr[2]]
    elif damage == "idx repeated":
        idx[ptr[2] + 1] = idx[ptr[2]]
    elif damage == "perm above 1":
        perm[7] = 1.5
    elif damage == "idx dtype":
        state["pool_idx"] = idx.astype(np.int64)
    other = SpatialPooler(storage="pool", seed=5, **POOL_CONFIGS["local topology, local inhibition"])
    _run(other, 20)
    before = other.state_dict()
    with pytest.raises(StateError):
        other.load_state_dict(state)
    after = other.state_dict()
    for key in ("pool_ptr", "pool_idx", "pool_perm", "boost"):
        np.testing.assert_array_equal(after[key], before[key])
    assert _run(other, 5) == _run(sp, 5)  # and it still works as the original does


def test_a_pooler_takes_the_storage_of_the_state_it_loads():
    kw = POOL_CONFIGS["local topology, local inhibition"]
    dense, pool = SpatialPooler(storage="dense", seed=6, **kw), SpatialPooler(storage="pool", seed=6, **kw)
    _run(dense, 30)
    _run(pool, 30)
    into_dense, into_pool = SpatialPooler(storage="dense", seed=7, **kw), SpatialPooler(storage="pool", seed=7, **kw)
    into_dense.load_state_dict(pool.state_dict())
    into_pool.load_state_dict(dense.state_dict())
    assert (into_dense.storage, into_pool.storage) == ("pool", "dense")
    assert not hasattr(into_dense, "_perm") and not hasattr(into_pool, "_pool_ptr")  # nothing stale is kept
    runs = [_run(sp, 40, seed=11) for sp in (dense, pool, into_dense, into_pool)]
    assert all(r == runs[0] for r in runs)
