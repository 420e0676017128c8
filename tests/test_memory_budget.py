"""A memory budget bounds the synapse store on any input: past it, the least recently used segments are retired
(the twin's rule) and learning goes on."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent import SDR, Connections, TemporalMemory
from htmagent.kernels import connections as K
from tests.reference import connections_twins as twin


def _store_ok(conn: Connections) -> bool:
    code, _ = K.check_store(*conn.store, conn.max_segments_per_cell, conn.max_synapses_per_segment)
    return code == 0


@pytest.mark.parametrize("count", [0, 1, 17, 60, 500])
def test_retiring_follows_the_twins_rule(count):
    rng = np.random.default_rng(0)
    conn = Connections(30, 50, max_segments_per_cell=50, seed=0)
    for t in range(120):
        seg = conn.create_segment(int(rng.integers(30)))
        conn.grow_synapses(seg, np.sort(rng.choice(50, 10, replace=False)), 6, 0.4)
        conn.iteration = int(rng.integers(0, 40))  # stamps with ties, out of order
    before = twin.export(conn)
    protected = np.array(sorted(rng.choice(list(before), 15, replace=False)), dtype=np.int32)
    live = np.flatnonzero(conn.seg_i32[K.S_CELL] >= 0).astype(np.int32)
    order = live[np.argsort(conn.seg_used[live], kind="stable")]
    mask = np.zeros(conn.segment_capacity, dtype=np.uint8)
    mask[protected] = 1
    # Ask for `count` more free segment slots: exactly `count` segments go (or every unprotected one).
    retired = K.retire_segments(*conn.store, order, mask, int(conn.meta[K.M_FREE_SEG]) + count, 0, 0)
    expected = twin.retire(before, set(protected.tolist()), count)
    assert retired == len(before) - len(expected)
    assert twin.export(conn) == expected
    assert _store_ok(conn)


def test_a_store_with_a_budget_never_allocates_past_it():
    budget = 400_000
    conn = Connections(64, 500, max_segments_per_cell=255, seed=1, memory_budget=budget)
    rng = np.random.default_rng(1)
    for t in range(3000):
        seg = conn.create_segment(int(rng.integers(64)))
        conn.grow_synapses(seg, np.sort(rng.choice(500, 20, replace=False)), 20, 0.4)
        conn.iteration += 1
        assert conn.nbytes <= budget
    assert conn.segments_retired > 0 and _store_ok(conn)
    # The newest segments survive: every live one learned after every retired one.
    used = conn.seg_used[conn.seg_i32[K.S_CELL] >= 0]
    assert used.min() > 3000 - conn.num_segments() - 3000 // 16 - 1


def test_a_temporal_memory_on_never_repeating_input_stays_within_its_budget_and_keeps_learning():
    budget = 2 * 2**20
    tm = TemporalMemory(256, 8, activation_threshold=8, min_threshold=6, max_new_synapse_count=12, seed=2,
                        memory_budget=budget)
    rng = np.random.default_rng(2)
    for _ in range(2000):  # the worst case: every input new
        tm.compute(SDR(256, np.sort(rng.choice(256, 12, replace=False))), learn=True)
        assert tm.basal_connections.nbytes <= budget
    assert tm.basal_connections.segments_retired > 0
    assert _store_ok(tm.basal_connections)
    # Learning goes on: a repeating sequence is learned (anomaly falls to 0) in the bounded memory.
    sequence = [np.sort(rng.choice(256, 12, replace=False)) for _ in range(6)]
    for _ in range(35):  # (an unbounded memory needs about 30 repeats here too)
        for code in sequence:
            tm.compute(SDR(256, code), learn=True)
    anomalies = []
    for code in sequence:
        tm.compute(SDR(256, code), learn=False)
        anomalies.append(tm.anomaly)
    assert max(anomalies[1:]) == 0.0


def test_a_budget_run_resumes_exactly_after_save_and_load(tmp_path):
    tm = TemporalMemory(128, 4, activation_threshold=4, min_threshold=3, max_new_synapse_count=6, seed=3,
                        memory_budget=300_000)
    rng = np.random.default_rng(3)
    codes = [np.sort(rng.choice(128, 6, replace=False)) for _ in range(600)]
    for code in codes[:300]:
        tm.compute(SDR(128, code), learn=True)
    assert tm.basal_connections.segments_retired > 0
    tm.save(tmp_path / "tm.npz")
    loaded = TemporalMemory.load(tmp_path / "tm.npz")
    assert loaded.memory_budget == 300_000 and loaded.basal_connections.memory_budget == 300_000
    for code in codes[300:]:
        tm.compute(SDR(128, code), learn=True)
        loaded.compute(SDR(128, code), learn=True)
        assert np.array_equal(tm.active_cells.sparse, loaded.active_cells.sparse)
    assert loaded.basal_connections.segments_retired == tm.basal_connections.segments_retired


def test_the_budget_is_checked():
    with pytest.raises(ValueError, match="memory_budget"):
        TemporalMemory(16, 2, memory_budget=0)
    with pytest.raises(TypeError, match="memory_budget"):
        Connections(4, 4, memory_budget=1.5)


def test_room_for_synapses_from_few_cells_opens_few_presynaptic_chunks():
    """n new synapses from p presynaptic cells open at most p + n / CHUNK chunks of the presynaptic index, so that is
    all the store reserves; without p it must assume one chunk per synapse."""
    tight = Connections(10, 1000, seed=0)
    tight.ensure_capacity(0, 2000, 100, presynaptic_cells=40)
    needed = 40 + 2000 // K.CHUNK
    assert int(tight.meta[K.M_FREE_CHUNK]) >= needed
    assert tight.chunk_link.shape[1] < 2 * needed
    loose = Connections(10, 1000, seed=0)
    loose.ensure_capacity(0, 2000, 100)
    assert int(loose.meta[K.M_FREE_CHUNK]) >= 2000
    assert 4 * tight.chunk_link.shape[1] < loose.chunk_link.shape[1]


def test_a_temporal_memory_keeps_its_free_room_near_what_it_uses():
    """On a stream of repeated sequences and noise the store's pools stay consistent at every step, and the free
    room never grows to more than the used part (it held more than twice the used chunks before the bound)."""
    tm = TemporalMemory(256, 8, seed=0)
    rng = np.random.default_rng(0)
    sequences = [np.sort(rng.choice(256, 10, replace=False)) for _ in range(40)]
    conn = tm.basal_connections
    for step in range(1500):
        x = sequences[step % 40] if rng.random() < 0.6 else np.sort(rng.choice(256, 10, replace=False))
        tm.compute(SDR(256, x), learn=True)
        if step % 100 == 99:
            assert _store_ok(conn)
    used_blocks = conn.syn_link.shape[1] - int(conn.meta[K.M_FREE_BLOCK])
    used_chunks = conn.chunk_link.shape[1] - int(conn.meta[K.M_FREE_CHUNK])
    assert conn.num_synapses() > 50_000  # the store grew many times over
    assert conn.syn_link.shape[1] <= 1.5 * used_blocks
    assert conn.chunk_link.shape[1] <= 1.5 * used_chunks
