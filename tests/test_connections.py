"""The dendrite segment store: kernels agree with their NumPy twins, caps hold, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent._rng import restore_rng
from htmagent.connections import Connections
from htmagent.kernels import connections as K
from htmagent.serialization import StateError
from htmagent.sdr import SDR
from tests.reference import connections_twins as twin

NUM_CELLS, NUM_PRE = 12, 40


def random_store(seed: int, segments: int = 20, max_syn: int = 10, max_seg: int = 4) -> Connections:
    """A store with random segments and synapses, built through the public API."""
    rng = np.random.default_rng(seed)
    conn = Connections(NUM_CELLS, NUM_PRE, max_segments_per_cell=max_seg, max_synapses_per_segment=max_syn,
                       seed=seed)
    for _ in range(segments):
        conn.iteration += 1
        seg = conn.create_segment(int(rng.integers(NUM_CELLS)))
        cands = np.sort(rng.choice(NUM_PRE, int(rng.integers(1, 15)), replace=False))
        conn.grow_synapses(seg, cands, int(rng.integers(1, max_syn + 1)), float(rng.uniform(0.05, 0.9)))
    return conn


def live_segments(conn: Connections) -> list[int]:
    return sorted(twin.export(conn))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_active=st.integers(0, NUM_PRE), threshold=st.floats(0.0, 1.0))
def test_compute_activity_matches_twin(seed, n_active, threshold):
    conn = random_store(seed)
    rng = np.random.default_rng(seed + 1)
    active = np.sort(rng.choice(NUM_PRE, n_active, replace=False)).astype(np.int32)
    model = twin.export(conn)
    act = conn.compute_activity(active, threshold)
    expected = twin.compute_activity(model, active, np.float32(np.float32(threshold) - twin.EPSILON))
    got = {int(s): (int(c), int(p)) for s, c, p in zip(act.segments, act.connected, act.potential)}
    assert got == expected
    # a second call resets the counters of the first
    act2 = conn.compute_activity([], threshold)
    assert act2.segments.size == 0


def test_compute_activity_edge_cases():
    conn = random_store(3)
    model = twin.export(conn)
    everything = np.arange(NUM_PRE)
    act = conn.compute_activity(everything, 0.0)
    assert act.segments.tolist() == sorted(s for s, seg in model.items() if seg.synapses)
    assert all(c == p for c, p in zip(act.connected, act.potential))
    empty = Connections(5, 5, seed=0)
    assert empty.compute_activity(SDR(5, [0, 1]), 0.5).segments.size == 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), inc=st.floats(0.0, 0.3), dec=st.floats(0.0, 0.5), n_active=st.integers(0, NUM_PRE))
def test_adapt_and_punish_match_twin(seed, inc, dec, n_active):
    conn = random_store(seed)
    rng = np.random.default_rng(seed)
    segs = live_segments(conn)
    seg = segs[int(rng.integers(len(segs)))]
    active = np.sort(rng.choice(NUM_PRE, n_active, replace=False))
    model = twin.export(conn)
    conn.iteration += 1
    alive = conn.adapt_segment(seg, active, inc, dec)
    expected, expected_alive = twin.adapt(model, seg, active, np.float32(inc), np.float32(dec))
    if expected_alive:
        expected[seg].used = conn.iteration
    assert alive == expected_alive
    assert twin.export(conn) == expected
    other = live_segments(conn)[0]
    model = twin.export(conn)
    alive = conn.punish_segment(other, active, dec)
    expected, expected_alive = twin.punish(model, other, active, dec)
    if expected_alive:
        expected[other].used = conn.iteration
    assert alive == expected_alive and twin.export(conn) == expected


def test_adapt_removes_synapses_at_zero_and_then_the_segment():
    conn = Connections(2, 4, seed=0)
    seg = conn.create_segment(1)
    conn.grow_synapses(seg, [0, 1], 2, 0.3)
    assert conn.adapt_segment(seg, [0], 0.1, 0.3)  # synapse from 1 reaches 0 and goes
    pre, perm = conn.synapses_for_segment(seg)
    assert pre.tolist() == [0] and perm[0] == np.float32(np.float32(0.3) + np.float32(0.1))
    assert not conn.punish_segment(seg, [0], 1.0)  # the last synapse goes, and with it the segment
    assert conn.num_segments() == 0 and conn.num_synapses() == 0
    assert conn.compute_activity([0, 1], 0.0).segments.size == 0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_cands=st.integers(0, NUM_PRE), n_desired=st.integers(0, 12),
       max_syn=st.integers(1, 10))
def test_grow_synapses_matches_twin(seed, n_cands, n_desired, max_syn):
    conn = random_store(seed, max_syn=max_syn)
    rng = np.random.default_rng(seed + 7)
    segs = live_segments(conn)
    seg = segs[int(rng.integers(len(segs)))]
    cands = np.sort(rng.choice(NUM_PRE, n_cands, replace=False)).astype(np.int32)
    model = twin.export(conn)
    n = min(n_desired, cands.size)
    floats = restore_rng(conn.state_dict()["rng"]).random(n)  # the exact floats grow_synapses will draw
    grown = conn.grow_synapses(seg, cands, n_desired, 0.21)
    expected, expected_grown, used = twin.grow(model, seg, cands, n_desired, np.float32(0.21), floats, max_syn)
    assert grown == expected_grown and used <= n
    assert twin.export(conn) == expected
    assert all(len(s.synapses) <= max_syn for s in expected.values())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_cands=st.integers(1, NUM_PRE), n_desired=st.integers(1, 12),
       cap=st.integers(1, 6))
def test_the_fan_out_cap_matches_twin(seed, n_cands, n_desired, cap):
    conn = random_store(seed, segments=30)
    rng = np.random.default_rng(seed + 11)
    segs = live_segments(conn)
    seg = segs[int(rng.integers(len(segs)))]
    cands = np.sort(rng.choice(NUM_PRE, n_cands, replace=False)).astype(np.int32)
    model = twin.export(conn)
    floats = restore_rng(conn.state_dict()["rng"]).random(min(n_desired, cands.size))
    conn.max_synapses_per_presynaptic = cap
    grown = conn.grow_synapses(seg, cands, n_desired, 0.21)
    expected, expected_grown, _ = twin.grow(model, seg, cands, n_desired, np.float32(0.21), floats, 10)
    expected = twin.enforce_fan_out(expected, cands, cap, seg)
    assert grown == expected_grown
    assert twin.export(conn) == expected
    assert np.all(conn.pre_i32[K.P_LEN, cands] <= cap)  # synapses leaving each candidate
    assert K.check_store(*conn.store, conn.max_segments_per_cell, conn.max_synapses_per_segment)[0] == 0


def test_grow_synapses_edge_cases():
    conn = Connections(3, 10, max_synapses_per_segment=4, seed=1)
    seg = conn.create_segment(0)
    assert conn.grow_synapses(seg, [], 5, 0.5) == 0
    assert conn.grow_synapses(seg, np.arange(10), 10, 0.5) == 4  # capped by the segment's size
    assert conn.grow_synapses(seg, conn.synapses_for_segment(seg)[0], 3, 0.5) == 0  # all already connected
    pre_before, _ = conn.synapses_for_segment(seg)
    # a full segment drops its weakest synapse that is not a candidate to make room
    conn.adapt_segment(seg, pre_before[1:], 0.2, 0.1)
    new_cands = np.union1d(pre_before[1:], [np.setdiff1d(np.arange(10), pre_before)[0]])
    assert conn.grow_synapses(seg, new_cands, 1, 0.5) == 1
    pre_after, _ = conn.synapses_for_segment(seg)
    assert pre_before[0] not in pre_after and conn.num_synapses(seg) == 4


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), max_seg=st.integers(1, 4))
def test_create_segment_matches_twin(seed, max_seg):
    conn = random_store(seed, max_seg=max_seg)
    cell = int(np.random.default_rng(seed).integers(NUM_CELLS))
    model = twin.export(conn)
    conn.iteration += 1
    seg = conn.create_segment(cell)
    expected = twin.create_segment(model, cell, conn.iteration, max_seg, seg)
    assert twin.export(conn) == expected
    assert conn.num_segments(cell) <= max_seg


def test_lru_replacement_keeps_recently_used_segments():
    conn = Connections(1, 10, max_segments_per_cell=2, seed=0)
    a = conn.create_segment(0)
    conn.grow_synapses(a, [1, 2], 2, 0.5)
    conn.iteration = 1
    b = conn.create_segment(0)
    conn.grow_synapses(b, [3, 4], 2, 0.5)
    conn.iteration = 2
    conn.adapt_segment(a, [1, 2], 0.1, 0.0)  # a is now the most recently used
    conn.iteration = 3
    c = conn.create_segment(0)
    assert conn.num_segments(0) == 2
    assert sorted(conn.segments_for_cell(0).tolist()) == sorted([a, c])
    assert conn.synapses_for_segment(a)[0].tolist() == [1, 2]


def test_capacity_grows_and_caps_hold_in_long_random_runs():
    rng = np.random.default_rng(0)
    conn = Connections(30, 60, max_segments_per_cell=3, max_synapses_per_segment=8, seed=0)
    for step in range(1500):
        conn.iteration = step
        active = np.sort(rng.choice(60, 10, replace=False))
        act = conn.compute_activity(active, 0.5)
        for seg in act.segments[act.potential >= 3].tolist():
            if conn.adapt_segment(seg, active, 0.1, 0.05):
                conn.grow_synapses(seg, active, 6, 0.3)
        cell = int(rng.integers(30))
        seg = conn.create_segment(cell)
        conn.grow_synapses(seg, active, 6, 0.3)
        if step % 7 == 0:
            conn.punish_segment(seg, active, 0.5)
    assert conn.segment_capacity > 64  # grew past the initial allocation
    counts = [conn.num_segments(c) for c in range(30)]
    assert max(counts) <= 3 and sum(counts) == conn.num_segments()
    model = twin.export(conn)
    assert all(0 < len(s.synapses) <= 8 for s in model.values())
    assert sum(len(s.synapses) for s in model.values()) == conn.num_synapses()
    # the presynaptic index agrees with the segments after all the churn
    act = conn.compute_activity(np.arange(60), 0.5)
    expected = twin.compute_activity(model, np.arange(60), np.float32(np.float32(0.5) - twin.EPSILON))
    assert {int(s): (int(c), int(p)) for s, c, p in zip(act.segments, act.connected, act.potential)} == expected


def test_counting_at_another_threshold_flags_the_store_again():
    """The store keeps a connected bit per synapse for one threshold; counting at others re-flags it (and back), and
    every count matches the twin's, which reads the permanences."""
    conn = random_store(3)
    model = twin.export(conn)
    active = np.arange(0, NUM_PRE, 2, dtype=np.int32)
    for threshold in (0.5, 0.3, 0.9, 0.5, 0.0, 1.0):
        act = conn.compute_activity(active, threshold)
        assert conn.connected_threshold == np.float32(np.float32(threshold) - twin.EPSILON)
        expected = twin.compute_activity(model, active, np.float32(np.float32(threshold) - twin.EPSILON))
        assert {int(s): (int(c), int(p)) for s, c, p in zip(act.segments, act.connected, act.potential)} == expected
        assert K.check_store(*conn.store, conn.max_segments_per_cell, conn.max_synapses_per_segment)[0] == 0
    assert twin.export(conn) == model  # re-flagging changed no synapse


def test_the_counting_kernel_refuses_a_threshold_the_store_has_no_bits_for():
    conn = random_store(4)
    with pytest.raises(ValueError, match="connected_threshold"):
        K.compute_activity(conn.counts, conn.touched, conn.pre_i32, conn.chunk_i32, conn.connected_at,
                           conn.chunk_link, 0, np.arange(5, dtype=np.int32), np.float32(0.25))


def _as_format_1(state: dict) -> dict:
    """A state as files before the connected bits held it: the index's (segment, synapse id) rows and a copy of each
    permanence, no threshold."""
    old = dict(state, format="htmagent.Connections/1")
    connected_at = old.pop("connected_at")
    entries = old["chunk_i32"][0]
    syn_ids = np.full(entries.size, -1, dtype=np.int32)
    # stale entries (past a list's end) keep their bit through a copy of 0 or 1, so the store comes back bit for bit
    copies = ((entries < 0) & (entries != -1)).astype(np.float32)
    seg_i32, syn_link = state["seg_i32"], state["syn_link"]
    for seg in np.flatnonzero(seg_i32[K.S_CELL] >= 0):  # the live synapses (freed slots keep stale values)
        block = seg_i32[K.S_HEAD, seg]
        for k in range(seg_i32[K.S_NSYN, seg]):
            syn = block * K.CHUNK + k % K.CHUNK
            pos = old["syn_i32"][K.Y_POS, syn]
            syn_ids[pos], copies[pos] = syn, old["syn_perm"][syn]
            if k % K.CHUNK == K.CHUNK - 1:
                block = syn_link[K.L_NEXT, block]
    segments = np.where(entries == -1, -1, entries & np.int32(2**31 - 1))
    old["chunk_i32"] = np.stack([segments, syn_ids]).astype(np.int32)
    old["chunk_perm"] = copies
    assert connected_at[0] == np.float32(np.float32(0.5) - twin.EPSILON)
    return old


def test_a_file_from_before_the_connected_bits_loads_to_the_same_store():
    conn = random_store(6, segments=40)
    conn.grow_synapses(live_segments(conn)[0], np.arange(0, NUM_PRE, 4), 3, 0.7)
    state = conn.state_dict()
    loaded = Connections(1, 1, seed=0)
    loaded.load_state_dict(_as_format_1(state))
    again = loaded.state_dict()
    assert sorted(again) == sorted(state)
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(again[key], value, err_msg=key)
        else:
            assert again[key] == value, key
    # a damaged old file is refused like a new one
    bad = _as_format_1(state)
    bad["chunk_perm"] = bad["chunk_perm"][:-1]
    with pytest.raises(StateError, match="chunk_perm"):
        Connections(1, 1, seed=0).load_state_dict(bad)


def test_state_dict_round_trip_and_save_load(tmp_path):
    conn = random_store(5)
    path = tmp_path / "conn.npz"
    conn.save(path)
    loaded = Connections.load(path)
    assert twin.export(loaded) == twin.export(conn)
    cands = np.arange(0, NUM_PRE, 3)
    seg = live_segments(conn)[0]
    assert conn.grow_synapses(seg, cands, 5, 0.3) == loaded.grow_synapses(seg, cands, 5, 0.3)
    assert twin.export(loaded) == twin.export(conn)
    assert loaded.create_segment(4) == conn.create_segment(4)


def test_a_saved_store_holds_only_written_slots_and_loads_back_every_byte(tmp_path):
    conn = random_store(5)
    conn.ensure_capacity(3000, 40000)  # capacity far beyond what is written
    state = conn.state_dict()
    assert state["capacity"][0] >= 3000 and state["stored"][0] < state["capacity"][0]
    assert state["syn_perm"].size == state["stored"][1] * 16 < state["capacity"][1] * 16
    conn.save(tmp_path / "conn.npz")
    loaded = Connections.load(tmp_path / "conn.npz")
    for name in Connections.STORE:  # every array, the unused capacity included, is restored bit for bit
        mine, theirs = getattr(loaded, name), getattr(conn, name)
        assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes(), name
    # a file cut one slot shorter than it says it holds is refused
    short = dict(state, syn_perm=state["syn_perm"][:-16])
    with pytest.raises(StateError, match="syn_perm"):
        Connections(NUM_CELLS, NUM_PRE).load_state_dict(short)
    with pytest.raises(StateError, match="stored"):
        Connections(NUM_CELLS, NUM_PRE).load_state_dict(dict(state, stored=[1, 2]))


def test_the_store_checker_agrees_with_its_twin_on_valid_and_damaged_stores():
    """check_store (the kernel every load runs) against a set-based restatement of the store's rules: one element of
    one array changed at random, 400 times; both must accept and refuse the same stores."""
    from htmagent.kernels import connections as K

    rng = np.random.default_rng(0)
    accepted = refused = 0
    for trial in range(400):
        conn = random_store(trial % 7)
        arrays = [a.copy() for a in conn.store]
        caps = (conn.max_segments_per_cell, conn.max_synapses_per_segment)
        if trial < 7:  # the stores as built are consistent
            assert K.check_store(*arrays, *caps)[0] == 0 and twin.store_is_consistent(*arrays, *caps)
        which = int(rng.integers(len(arrays)))
        flat = arrays[which].reshape(-1)
        at = int(rng.integers(flat.size))
        if flat.dtype.kind == "f":
            flat[at] = rng.choice([0.0, 0.5, 1.5, -0.1, float(flat[(at + 1) % flat.size])])
        elif rng.random() < 0.25:  # a connected bit flipped (or a sign turned)
            flat[at] = flat[at] ^ np.int32(-2**31) if flat.dtype == np.int32 else -flat[at] - 1
        else:
            flat[at] = int(rng.integers(-2, 40))
        ok = K.check_store(*arrays, *caps)[0] == 0
        assert ok == twin.store_is_consistent(*arrays, *caps), (Connections.STORE[which], at)
        accepted, refused = accepted + ok, refused + (not ok)
    assert accepted > 50 and refused > 50  # both verdicts were exercised


def test_bad_input_is_refused_and_changes_nothing():
    conn = random_store(9)
    before = conn.state_dict()
    seg = live_segments(conn)[0]
    with pytest.raises(ValueError, match="active_presynaptic"):
        conn.compute_activity(SDR(NUM_PRE + 1, [0]), 0.5)
    with pytest.raises(ValueError, match="sorted and unique"):
        conn.adapt_segment(seg, [3, 1], 0.1, 0.1)
    with pytest.raises(ValueError, match="sorted and unique"):
        conn.grow_synapses(seg, [1, 1], 2, 0.3)
    with pytest.raises(ValueError, match="increment"):
        conn.adapt_segment(seg, [1], 1.5, 0.1)
    with pytest.raises(ValueError, match="initial_permanence"):
        conn.grow_synapses(seg, [1], 1, -0.2)
    with pytest.raises(ValueError, match="segment"):
        conn.adapt_segment(10_000, [1], 0.1, 0.1)
    with pytest.raises(ValueError, match="cell"):
        conn.create_segment(NUM_CELLS)
    with pytest.raises(TypeError, match="cell"):
        conn.create_segment(1.5)
    with pytest.raises(ValueError, match="num_cells"):
        Connections(0, 5)
    after = conn.state_dict()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, after[key], err_msg=key)
        else:
            assert value == after[key], key


def test_destroy_segment_removes_it_from_every_index():
    conn = random_store(11)
    seg = live_segments(conn)[0]
    cell = conn.cell_for_segment(seg)
    model = twin.export(conn)
    n_syn = conn.num_synapses()
    conn.destroy_segment(seg)
    assert seg not in conn.segments_for_cell(cell).tolist()
    assert conn.num_synapses() == n_syn - len(model[seg].synapses)
    act = conn.compute_activity(np.arange(NUM_PRE), 0.0)
    assert seg not in act.segments.tolist()
    with pytest.raises(ValueError, match="live segment"):
        conn.segment_cells([seg])
    del model[seg]
    assert twin.export(conn) == model


def test_a_temporal_memory_keeps_counting_after_its_store_was_read_at_another_threshold():
    from htmagent import TemporalMemory

    rng = np.random.default_rng(0)
    inputs = [np.sort(rng.choice(64, 6, replace=False)) for _ in range(10)]
    tm, twin_tm = TemporalMemory(64, 4, seed=0), TemporalMemory(64, 4, seed=0)
    for step in range(60):
        if step == 30:  # someone inspects the basal store at another connected permanence
            tm.basal_connections.compute_activity(np.arange(256), 0.2)
        for model in (tm, twin_tm):
            model.compute(SDR(64, inputs[step % 10]), learn=True)
        assert np.array_equal(tm.active_cells.sparse, twin_tm.active_cells.sparse)
        assert np.array_equal(tm.predictive_cells.sparse, twin_tm.predictive_cells.sparse)
