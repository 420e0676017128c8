"""Incremental segment activity: while a store does not change, a count walks only the input cells that changed.

The temporal memory keeps the per-segment counts of its last count on each store (``Connections.held_activity``),
and the L2/3 synapse stores keep their last votes; the next count starts from them when the store is unchanged.
These tests check that the result is always the same as counting afresh, including after every kind of change to
the store, which must make the next count start over.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from htmagent import TemporalMemory
from htmagent.cortex.object_layer import SynapseStore
from htmagent.kernels import connections as KC
from htmagent.kernels import object_layer as KO
from htmagent.kernels import temporal_memory as TK
from tests.test_connections import NUM_PRE, random_store


def _walk_inputs(rng: np.random.Generator, n: int, size: int, steps: int) -> list[np.ndarray]:
    """A sequence of sorted inputs, each a few cells off the last (sometimes most of them, sometimes none)."""
    current = set(rng.choice(size, n, replace=False).tolist())
    out = []
    for _ in range(steps):
        change = int(rng.choice([0, 1, 3, n]))
        for cell in rng.choice(sorted(current), min(change, len(current)), replace=False).tolist():
            current.discard(cell)
        while len(current) < n:
            current.add(int(rng.integers(size)))
        out.append(np.array(sorted(current), dtype=np.int32))
    return out


def _fresh(conn, active, threshold, min_pot, min_conn):
    """Segment activity counted from nothing, on a copy (the store's own counters are left alone)."""
    c = copy.deepcopy(conn)
    return TK.segment_activity(c.counts, c.touched, c.seg_i32, c.pre_i32, c.chunk_i32, c.connected_at, c.chunk_link,
                               c.n_touched, active, threshold, min_pot, min_conn)[1:]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_active=st.integers(1, 30), min_pot=st.integers(1, 4),
       threshold=st.floats(0.0, 1.0))
def test_counting_only_what_changed_gives_the_fresh_count(seed, n_active, min_pot, threshold):
    conn = random_store(seed, segments=40)
    rng = np.random.default_rng(seed)
    thr = np.float32(threshold)
    conn._use_threshold(thr)  # the kernels count at the threshold the store keeps its connected bits for
    inputs = _walk_inputs(rng, n_active, NUM_PRE, 12)
    conn.n_touched, *_ = TK.segment_activity(conn.counts, conn.touched, conn.seg_i32, conn.pre_i32, conn.chunk_i32,
                                             conn.connected_at, conn.chunk_link, conn.n_touched, inputs[0], thr,
                                             min_pot, 2)
    for prev, active in zip(inputs, inputs[1:]):
        conn.n_touched, *got = TK.segment_activity_delta(
            conn.counts, conn.touched, conn.seg_i32, conn.pre_i32, conn.chunk_i32, conn.connected_at,
            conn.chunk_link, conn.n_touched, prev, active, thr, min_pot, 2)
        for g, e in zip(got, _fresh(conn, active, thr, min_pot, 2)):
            np.testing.assert_array_equal(g, e)
        # no segment is listed twice, and every listed one has a count
        touched = conn.touched[:conn.n_touched]
        assert len(np.unique(touched)) == len(touched)


@settings(max_examples=30, deadline=None)
@given(previous=st.sets(st.integers(0, 200)), active=st.sets(st.integers(0, 200)))
def test_the_input_changes_are_numpys_set_differences(previous, active):
    prev = np.array(sorted(previous), dtype=np.int32)
    act = np.array(sorted(active), dtype=np.int32)
    removed, added = KC.input_changes(prev, act)
    np.testing.assert_array_equal(removed, np.setdiff1d(prev, act))
    np.testing.assert_array_equal(added, np.setdiff1d(act, prev))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 3000), cells=st.integers(1, 5000))
@example(seed=0, n=500, cells=3)
@example(seed=1, n=2000, cells=1500)
def test_the_key_sort_matches_numpys(seed, n, cells):
    # few cells for many keys puts dozens of segments in one cell's bucket (the in-bucket sort's other branch)
    rng = np.random.default_rng(seed)
    segs = rng.choice(2 * n + 1, n, replace=False)
    keys = (rng.integers(0, cells, n).astype(np.int64) << 32) | segs.astype(np.int64)
    low = int((keys >> 32).min()) if n else 2**31
    high = int((keys >> 32).max()) if n else -1
    np.testing.assert_array_equal(TK._sort_keys(keys, np.int64(low), np.int64(high)), np.sort(keys))


def _pair_tm(seed: int) -> TemporalMemory:
    """A pair-mode memory that has learned some (basal, apical, columns) triples."""
    tm = TemporalMemory(40, 6, mode="pair", basal_input_size=120, apical_input_size=80, seed=seed,
                        activation_threshold=3,
                        min_threshold=2, max_new_synapse_count=8, apical_activation_threshold=3,
                        apical_min_threshold=2)
    rng = np.random.default_rng(seed)
    for _ in range(60):
        tm.compute(np.sort(rng.choice(40, 6, replace=False)), basal_input=np.sort(rng.choice(120, 20, replace=False)),
                   apical_input=np.sort(rng.choice(80, 15, replace=False)), learn=True)
    return tm


def _forget(tm: TemporalMemory) -> None:
    for conn in (tm.basal_connections, tm.apical_connections):
        conn._held = None


def _outputs(tm: TemporalMemory) -> tuple:
    return (tm.predictive_cells.sparse.tobytes(), tm.active_cells.sparse.tobytes(), tm._b_segs.tobytes(),
            tm._b_conn.tobytes(), tm._b_pot.tobytes(), tm._a_segs.tobytes(), tm._a_conn.tobytes())


def test_a_settling_memory_predicts_as_if_it_counted_afresh_every_step():
    tm = _pair_tm(3)
    reference = copy.deepcopy(tm)
    rng = np.random.default_rng(5)
    basal = _walk_inputs(rng, 20, 120, 30)
    apical = _walk_inputs(rng, 15, 80, 30)
    used_delta = 0
    for b, a in zip(basal, apical):
        cols = np.sort(rng.choice(40, 6, replace=False))
        used_delta += tm.basal_connections.held_activity is not None
        tm.compute(cols, basal_input=b, apical_input=a, learn=False)
        _forget(reference)
        reference.compute(cols, basal_input=b, apical_input=a, learn=False)
        assert _outputs(tm) == _outputs(reference)
    assert used_delta == len(basal) - 1  # every step after the first started from the held counts


@pytest.mark.parametrize("same_input", [False, True])
@pytest.mark.parametrize("change", ["learn", "grow", "adapt", "punish", "create", "destroy", "load", "capacity"])
def test_any_change_to_the_store_makes_the_next_count_start_over(change, same_input):
    tm = _pair_tm(7)
    rng = np.random.default_rng(11)
    b0 = np.sort(rng.choice(120, 20, replace=False)).astype(np.int32)
    # the next input differs in one cell, so a count that wrongly trusted the held one would walk only that cell
    b1 = np.sort(np.append(b0[:-1], np.setdiff1d(np.arange(120), b0)[0])).astype(np.int32)
    a0 = np.sort(rng.choice(80, 15, replace=False))
    cols = np.sort(rng.choice(40, 6, replace=False))
    tm.compute(cols, basal_input=b0, apical_input=a0, learn=False)
    conn = tm.basal_connections
    assert conn.held_activity is not None
    seg = int(tm._b_segs[0]) if tm._b_segs.size else conn.create_segment(0)
    if change == "learn":
        tm.compute(cols, basal_input=b0, apical_input=a0, learn=True)
    elif change == "grow":  # synapses from cells that stay active, which only a fresh count would see
        conn.grow_synapses(seg, b0[:5], 5, 0.9)
    elif change == "adapt":
        conn.adapt_segment(seg, b0, 0.5, 0.5)
    elif change == "punish":
        conn.punish_segment(seg, b0, 0.5)
    elif change == "create":
        conn.create_segment(2)
    elif change == "destroy":
        conn.destroy_segment(seg)
    elif change == "load":
        other = _pair_tm(8)
        tm.load_state_dict(other.state_dict())
        conn = tm.basal_connections
    elif change == "capacity":
        conn.ensure_capacity(10 * conn.segment_capacity, 10)
    assert conn.held_activity is None
    # the same input again must not be answered from the result held before the change
    nxt = b0 if same_input else b1
    reference = copy.deepcopy(tm)
    _forget(reference)
    tm.compute(cols, basal_input=nxt, apical_input=a0, learn=False)
    reference.compute(cols, basal_input=nxt, apical_input=a0, learn=False)
    assert _outputs(tm) == _outputs(reference)


def test_a_held_input_is_a_copy_so_a_caller_reusing_its_buffer_cannot_corrupt_it():
    tm = _pair_tm(4)
    rng = np.random.default_rng(1)
    b0, b1 = _walk_inputs(rng, 20, 120, 2)
    cols = np.sort(rng.choice(40, 6, replace=False))
    buffer = b0.copy()
    tm.compute(cols, basal_input=buffer, learn=False)
    buffer[:] = b1  # the caller reuses its array for the next input
    reference = copy.deepcopy(tm)
    _forget(reference)
    tm.compute(cols, basal_input=buffer, learn=False)
    reference.compute(cols, basal_input=buffer, learn=False)
    assert _outputs(tm) == _outputs(reference)


def test_lateral_votes_count_only_the_changed_bits_and_start_over_after_learning():
    rng = np.random.default_rng(2)
    store = SynapseStore(200, 300, connected_permanence=0.5)
    for _ in range(20):
        cells = np.sort(rng.choice(200, 10, replace=False)).astype(np.int32)
        active = np.sort(rng.choice(300, 40, replace=False)).astype(np.int32)
        store.learn(rng, cells, active, active, 20, 0.6, 0.1, 0.05)
    inputs = _walk_inputs(rng, 40, 300, 15)
    for i, active in enumerate(inputs):
        if i == 8:  # learning rebuilds the CSR: the held votes must not be used with the new one
            store.learn(rng, np.arange(5, dtype=np.int32), active, active, 20, 0.6, 0.1, 0.05)
        indptr, post = KO.connected_csr(store.pre, store.perm, store.count, store.num_presynaptic,
                                        store.connected_permanence)
        np.testing.assert_array_equal(store.votes(active), KO.count_votes(indptr, post, active, store.num_cells))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), threshold=st.floats(0.0, 1.0))
def test_the_public_count_on_an_unchanged_store_equals_a_fresh_one_and_learning_starts_it_over(seed, threshold):
    conn = random_store(seed, segments=40)
    rng = np.random.default_rng(seed)
    inputs = _walk_inputs(rng, 12, NUM_PRE, 10)
    for i, active in enumerate(inputs):
        if i == 5:  # a change between two counts: the next one must not start from the held counts
            conn.grow_synapses(conn.create_segment(0), active, 5, 0.9)
        got = conn.compute_activity(active, threshold)
        expected = copy.deepcopy(conn)
        expected._held = None
        want = expected.compute_activity(active, threshold)
        for g, w in zip((got.segments, got.connected, got.potential), (want.segments, want.connected, want.potential)):
            np.testing.assert_array_equal(g, w)


def test_a_repeated_input_on_an_unchanged_store_returns_the_held_segments_read_only():
    tm = _pair_tm(6)
    rng = np.random.default_rng(3)
    b0 = np.sort(rng.choice(120, 20, replace=False)).astype(np.int32)
    a0 = np.sort(rng.choice(80, 15, replace=False))
    cols = np.sort(rng.choice(40, 6, replace=False))
    tm.compute(cols, basal_input=b0, apical_input=a0, learn=False)
    first = tm._b_segs
    assert not first.flags.writeable  # handed out twice, so nobody may write into it
    tm.compute(cols, basal_input=b0.copy(), apical_input=a0, learn=False)
    assert tm._b_segs is first  # the same input on the same store: no count at all
    reference = copy.deepcopy(tm)
    _forget(reference)
    reference.compute(cols, basal_input=b0, apical_input=a0, learn=False)
    assert _outputs(tm) == _outputs(reference)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), threshold=st.floats(0.0, 1.0), minimum=st.integers(0, 4))
def test_active_segment_cells_equal_the_filtered_owners_of_a_fresh_count(seed, threshold, minimum):
    conn = random_store(seed, segments=40)
    rng = np.random.default_rng(seed)
    inputs = _walk_inputs(rng, 12, NUM_PRE, 10)
    for i, active in enumerate(inputs):
        if i == 5:  # a change between two counts (the input may repeat across it)
            conn.grow_synapses(conn.create_segment(0), active, 5, 0.9)
        got = conn.active_segment_cells(active, threshold, minimum)
        fresh = copy.deepcopy(conn)
        fresh._held = None
        act = fresh.compute_activity(active, threshold)
        want = np.sort(fresh.segment_cells(act.segments[act.connected >= minimum]))
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.int32 and not got.flags.writeable
    # the other query on the same held counts answers its own question, and then this one again
    also = conn.compute_activity(inputs[-1], threshold)
    np.testing.assert_array_equal(also.segments, act.segments)
    np.testing.assert_array_equal(also.connected, act.connected)
    np.testing.assert_array_equal(conn.active_segment_cells(inputs[-1], threshold, minimum), want)


def test_active_segment_cells_refuse_a_bad_threshold_without_forgetting_the_held_counts():
    conn = random_store(1, segments=30)
    active = np.arange(0, NUM_PRE, 3, dtype=np.int32)
    conn.active_segment_cells(active, 0.5, 1)
    held = conn.held_activity
    with pytest.raises(ValueError, match="activation_threshold"):
        conn.active_segment_cells(active, 0.5, -1)
    with pytest.raises(ValueError, match="connected_permanence"):
        conn.active_segment_cells(active, 1.5, 1)
    assert conn.held_activity is held
