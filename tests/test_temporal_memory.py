"""Temporal memory: kernels against their twins, and the sequence / pair-mode behaviour users rely on."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.kernels import temporal_memory as TK
from htmagent.sdr import SDR
from htmagent.temporal_memory import TemporalMemory
from tests.reference import connections_twins as ct
from tests.reference import tm_twins as twin

SMALL = dict(activation_threshold=8, min_threshold=6, max_new_synapse_count=12)


def column_sdrs(n: int, column_count: int, active: int, seed: int) -> list[SDR]:
    rng = np.random.default_rng(seed)
    return [SDR(column_count, rng.choice(column_count, active, replace=False)) for _ in range(n)]


def assert_same_state(a: dict, b: dict, path: str = "") -> None:
    assert a.keys() == b.keys(), path
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, dict):
            assert_same_state(x, y, f"{path}/{key}")
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f"{path}/{key}")
        else:
            assert x == y, f"{path}/{key}"


# ---------------------------------------------------------------------------------------------- kernels vs twins


def trained_pair_tm(seed: int, **overrides) -> TemporalMemory:
    params = dict(mode="pair", basal_input_size=60, apical_input_size=50, activation_threshold=4, min_threshold=3,
                  max_new_synapse_count=6, max_segments_per_cell=3, max_synapses_per_segment=8,
                  predicted_segment_decrement=0.05, reduced_basal_threshold=3, seed=seed)
    params.update(overrides)
    return TemporalMemory(20, 4, **params)


def pair_inputs(rng, n_patterns: int = 6):
    patterns = [(np.sort(rng.choice(20, 4, replace=False)), np.sort(rng.choice(60, 7, replace=False)),
                 np.sort(rng.choice(50, 6, replace=False))) for _ in range(n_patterns)]
    return patterns


@pytest.mark.parametrize("seed", range(4))
def test_activate_learn_matches_twin(seed, monkeypatch):
    tm = trained_pair_tm(seed)
    real = TK.activate_learn
    checked = []

    def spy(*args):
        bmodel, amodel = ct.export(tm.basal_connections), ct.export(tm.apical_connections)
        (rand, cols, pred, b_segs, b_cells, b_pot, b_flag, b_in, b_c, a_segs, a_cells, a_pot, a_flag, a_in, a_c,
         pos, iteration, learn) = args[34:52]
        expected = twin.activate_learn(bmodel, amodel, rand, pos, cols, pred, b_segs, b_cells, b_pot, b_flag, a_segs,
                                       a_cells, a_pot, a_flag, b_in, b_c, a_in, a_c, iteration, learn,
                                       tm.cells_per_column, tm.basal, tm.apical, True)
        result = real(*args)
        assert ct.canonical(ct.export(tm.basal_connections)) == ct.canonical(expected[0])
        assert ct.canonical(ct.export(tm.apical_connections)) == ct.canonical(expected[1])
        for got, want in zip(result[:4], expected[2:6]):
            np.testing.assert_array_equal(got, want)
        assert result[4] == expected[6]
        checked.append(len(pred))
        return result

    monkeypatch.setattr(TK, "activate_learn", spy)
    rng = np.random.default_rng(seed)
    patterns = pair_inputs(rng)
    for step in range(60):
        cols, basal, apical = patterns[int(rng.integers(len(patterns)))]
        if step % 5 == 4:  # noise: a random column set, and now and then no apical input
            cols = np.sort(rng.choice(20, 4, replace=False))
            apical = None
        tm.compute(cols, basal_input=basal, apical_input=apical, learn=bool(step % 11 != 10))
    assert len(checked) == 60 and sum(checked) > 0  # some steps had predictions


def test_activate_learn_matches_twin_in_sequence_mode(monkeypatch):
    tm = TemporalMemory(16, 3, activation_threshold=3, min_threshold=2, max_new_synapse_count=4,
                        max_segments_per_cell=2, max_synapses_per_segment=5, predicted_segment_decrement=0.1, seed=3)
    real = TK.activate_learn_depolarize_basal

    def spy(*args):
        # The sequence-mode step kernel: activate_learn_basal, then the depolarization from the new activity.
        bmodel = ct.export(tm.basal_connections)
        rand, cols, pred, b_segs, b_cells, b_pot, b_flag, b_in, b_c, pos, _, iteration, learn = args[19:32]
        threshold, activation, keep_connected = args[35:38]
        none = np.empty(0, np.int32)
        expected = twin.activate_learn(bmodel, {}, rand, pos, cols, pred, b_segs, b_cells, b_pot, b_flag, none, none,
                                       none, none, b_in, b_c, none, none, iteration, learn, tm.cells_per_column,
                                       tm.basal, tm.apical, False)
        result = real(*args)
        after = ct.export(tm.basal_connections)
        assert ct.canonical(after) == ct.canonical(expected[0])
        for got, want in zip(result[:4], expected[2:6]):
            np.testing.assert_array_equal(got, want)
        depolarization = twin.segment_activity(after, expected[2], threshold, tm.basal.min_threshold, keep_connected)
        for got, want in zip(result[6:10], depolarization):
            np.testing.assert_array_equal(got, want)
        flag, _, predictive = twin.predict(depolarization[1], depolarization[2], none, none, activation, activation,
                                           activation, tm.cells_per_column)
        np.testing.assert_array_equal(result[10], flag)
        np.testing.assert_array_equal(result[11], predictive)
        calls.append(1)
        return result

    calls = []
    monkeypatch.setattr(TK, "activate_learn_depolarize_basal", spy)
    seq = column_sdrs(5, 16, 3, seed=1)
    rng = np.random.default_rng(0)
    for step in range(80):
        tm.compute(seq[step % 5] if rng.random() < 0.8 else SDR(16, rng.choice(16, 3, replace=False)))
    tm.compute(SDR(16))  # no active column at all
    tm.compute(SDR(16, np.arange(16)))  # every column active
    assert len(calls) == 82


def test_activate_learn_basal_matches_twin_in_pair_mode(monkeypatch):
    tm = TemporalMemory(16, 3, mode="pair", basal_input_size=40, activation_threshold=3, min_threshold=2,
                        max_new_synapse_count=4, max_segments_per_cell=2, max_synapses_per_segment=5,
                        predicted_segment_decrement=0.1, seed=4)
    real = TK.activate_learn_basal

    def spy(*args):
        bmodel = ct.export(tm.basal_connections)
        rand, cols, pred, b_segs, b_cells, b_pot, b_flag, b_in, b_c, pos, iteration, learn = args[17:29]
        none = np.empty(0, np.int32)
        expected = twin.activate_learn(bmodel, {}, rand, pos, cols, pred, b_segs, b_cells, b_pot, b_flag, none, none,
                                       none, none, b_in, b_c, none, none, iteration, learn, tm.cells_per_column,
                                       tm.basal, tm.apical, False)
        result = real(*args)
        assert ct.canonical(ct.export(tm.basal_connections)) == ct.canonical(expected[0])
        for got, want in zip(result[:4], expected[2:6]):
            np.testing.assert_array_equal(got, want)
        calls.append(len(pred))
        return result

    calls = []
    monkeypatch.setattr(TK, "activate_learn_basal", spy)
    rng = np.random.default_rng(2)
    pairs = [(np.sort(rng.choice(16, 3, replace=False)), np.sort(rng.choice(40, 6, replace=False))) for _ in range(4)]
    for step in range(60):
        cols, basal = pairs[step % 4]
        if step % 7 == 6:  # noise: a random column set
            cols = np.sort(rng.choice(16, 3, replace=False))
        tm.compute(cols, basal_input=basal, learn=bool(step % 9 != 8))
    assert len(calls) == 60 and sum(calls) > 0  # some steps had predictions


@pytest.mark.parametrize("seed", range(3))
def test_segment_activity_matches_twin(seed):
    tm = trained_pair_tm(seed)
    rng = np.random.default_rng(seed)
    patterns = pair_inputs(rng)
    for _ in range(40):
        cols, basal, apical = patterns[int(rng.integers(len(patterns)))]
        tm.compute(cols, basal_input=basal, apical_input=apical)
    conn = tm.basal_connections
    model = ct.export(conn)
    for active in (np.empty(0, np.int32), np.arange(60, dtype=np.int32), patterns[0][1].astype(np.int32),
                   np.sort(rng.choice(60, 30, replace=False)).astype(np.int32)):
        threshold = np.float32(np.float32(0.5) - ct.EPSILON)
        n, *got = TK.segment_activity(conn.counts, conn.touched, conn.seg_i32, conn.pre_i32, conn.chunk_i32,
                                      conn.connected_at, conn.chunk_link, conn.n_touched, active, threshold, 3, 2)
        conn.n_touched = n
        expected = twin.segment_activity(model, active, threshold, 3, 2)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)


def _growth_bound_twin(columns, predicted, cells, pot, flag, cpc, max_new, min_threshold, n_candidates):
    """NumPy twin of TK.basal_growth_bound: the learning rule's choices per active minicolumn, without learning."""
    synapses = growing = created = 0
    for col in columns:
        in_col = cells // cpc == col
        predicted_here = predicted[predicted // cpc == col]
        if predicted_here.size:
            learners = in_col & (flag != 0) & np.isin(cells, predicted_here)
            grow = np.minimum(max_new - pot[learners], n_candidates)
        else:
            matching = np.flatnonzero(in_col & (pot >= min_threshold))
            if matching.size:
                grow = np.array([min(max_new - pot[matching[np.argmax(pot[matching])]], n_candidates)])
            else:
                grow = np.array([min(max_new, n_candidates)])
                created += int(grow[0] > 0)
        synapses += int(grow[grow > 0].sum())
        growing += int((grow > 0).sum())
    return synapses, growing, created


@pytest.mark.parametrize("seed", range(8))
def test_basal_growth_bound_matches_twin(seed):
    """The kernel that sizes a step's reserved room, against a plain reading of the rule."""
    rng = np.random.default_rng(seed)
    cpc, n_cols = 4, 32
    cells = np.sort(rng.integers(0, n_cols * cpc, int(rng.integers(0, 60)))).astype(np.int32)
    pot = rng.integers(0, 20, cells.shape[0]).astype(np.int32)
    flag = rng.integers(0, 2, cells.shape[0]).astype(np.int8)
    predicted = np.sort(rng.choice(n_cols * cpc, int(rng.integers(0, 30)), replace=False)).astype(np.int32)
    columns = np.sort(rng.choice(n_cols, int(rng.integers(0, 12)), replace=False)).astype(np.int32)
    args = (columns, predicted, cells, pot, flag, cpc, 12, 5, int(rng.integers(0, 15)))
    assert TK.basal_growth_bound(*args) == _growth_bound_twin(*args)


def test_a_step_grows_no_more_than_its_reserved_room():
    """What the memory reserves before learning bounds what it then grows, step after step (a budget relies on it)."""
    tm = TemporalMemory(64, 4, seed=3, activation_threshold=4, min_threshold=2, max_new_synapse_count=6)
    rng = np.random.default_rng(3)
    symbols = [np.sort(rng.choice(64, 6, replace=False)) for _ in range(5)]
    grew = False
    for _ in range(400):
        cols = symbols[int(rng.integers(5))].astype(np.int32)
        bound = TK.basal_growth_bound(cols, tm._predictive, tm._b_cells, tm._b_pot, tm._b_flag, 4, 6, 2,
                                      tm._b_cands.shape[0])
        conn = tm.basal_connections
        segments, synapses = conn.num_segments(), conn.num_synapses()
        tm.compute(SDR(64, cols), learn=True)
        assert conn.num_segments() - segments <= bound[2]
        assert conn.num_synapses() - synapses <= bound[0]
        grew = grew or conn.num_synapses() > synapses
    assert grew


@pytest.mark.parametrize("seed", range(6))
def test_predict_matches_twin(seed):
    rng = np.random.default_rng(seed)
    cpc = 4

    def segs(n):
        cells = np.sort(rng.integers(0, 40, n)).astype(np.int32)
        return cells, rng.integers(0, 8, n).astype(np.int32)

    b_cells, b_conn = segs(int(rng.integers(0, 30)))
    a_cells, a_conn = segs(int(rng.integers(0, 30)))
    got = TK.predict(b_cells, b_conn, a_cells, a_conn, 5, 3, 4, cpc)
    expected = twin.predict(b_cells, b_conn, a_cells, a_conn, 5, 3, 4, cpc)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    empty = np.empty(0, np.int32)
    assert TK.predict(empty, empty, a_cells, a_conn, 5, 3, 4, cpc)[2].size == 0  # apical alone never predicts


# ---------------------------------------------------------------------------------------------- sequence learning


def run_sequence(tm: TemporalMemory, seq: list[SDR], learn: bool = True) -> list[float]:
    """Present ``seq`` once after a reset; return the anomaly of every step."""
    tm.reset()
    anomalies = []
    for sdr in seq:
        tm.compute(sdr, learn=learn)
        anomalies.append(tm.anomaly)
    return anomalies


def test_learns_a_simple_sequence_in_a_few_passes():
    tm = TemporalMemory(128, 4, **SMALL, seed=0)
    seq = column_sdrs(6, 128, 12, seed=0)
    for _ in range(4):
        run_sequence(tm, seq)
    tm.reset()
    for current, following in zip(seq, seq[1:]):
        tm.compute(current, learn=False)
        assert tm.predicted_columns == following
    assert run_sequence(tm, seq, learn=False)[1:] == [0.0] * 5


def test_anomaly_is_one_on_novel_input_and_zero_on_learned_input():
    tm = TemporalMemory(128, 4, **SMALL, seed=1)
    seq = column_sdrs(5, 128, 12, seed=1)
    first = run_sequence(tm, seq)
    assert first == [1.0] * 5  # nothing known yet: every step bursts
    for _ in range(5):
        run_sequence(tm, seq)
    assert run_sequence(tm, seq, learn=False)[1:] == [0.0] * 4
    novel = column_sdrs(1, 128, 12, seed=99)[0]
    tm.compute(novel, learn=False)
    assert tm.anomaly == 1.0
    tm.compute(SDR(128), learn=False)
    assert tm.anomaly == 0.0  # no active column: nothing was unpredicted


def test_disambiguates_high_order_sequences():
    # Without punishment the shared C keeps predicting both endings; predicted_segment_decrement removes the wrong
    # one (as in Cui et al. 2016).
    tm = TemporalMemory(128, 8, **SMALL, predicted_segment_decrement=0.05, seed=2)
    a, b, c, d, x, y = column_sdrs(6, 128, 12, seed=2)
    for _ in range(15):
        run_sequence(tm, [a, b, c, d])
        run_sequence(tm, [x, b, c, y])
    for start, end in ((a, d), (x, y)):
        tm.reset()
        for sdr in (start, b, c):
            tm.compute(sdr, learn=False)
        assert tm.predicted_columns == end


def test_a_melody_is_predicted_perfectly_after_at_most_26_passes():
    # "Ode to Joy": 30 notes over 5 pitches, so most notes follow several different contexts (high order).
    notes = "E E F G G F E D C C D E E D D E E F G G F E D C C D E D C C".split()
    pitch = dict(zip("CDEFG", column_sdrs(5, 256, 10, seed=4)))
    melody = [pitch[n] for n in notes]
    # One-shot synapses (initial permanence above the connected one): each pass then extends the learned high-order
    # context by one note. With 0.21 it takes four passes per note, because a correctly predicted segment that is
    # already full (potential == max_new_synapse_count) grows no synapses to the new context (as in htm.core).
    tm = TemporalMemory(256, 16, activation_threshold=8, min_threshold=6, max_new_synapse_count=10,
                        initial_permanence=0.51, seed=4)
    for _ in range(26):
        run_sequence(tm, melody)
        if run_sequence(tm, melody, learn=False)[1:] == [0.0] * 29:
            break
    else:
        pytest.fail("the melody was not learned in 26 passes")
    # Predictions are also specific: the next note exactly, except where the context is still ambiguous (the first
    # notes after a reset, whose burst activates every context of the note) or where a segment of the shorter shared
    # context still predicts the other line's continuation (nothing punishes it with predicted_segment_decrement 0).
    tm.reset()
    exact = 0
    for current, following in zip(melody, melody[1:]):
        tm.compute(current, learn=False)
        exact += tm.predicted_columns == following
        assert following.sparse.tolist() == np.intersect1d(following.sparse, tm.predicted_columns.sparse).tolist()
    assert exact >= 24


# ---------------------------------------------------------------------------------------------- apical dendrites


def pair_tm(**overrides) -> TemporalMemory:
    params = dict(mode="pair", basal_input_size=100, apical_input_size=100, activation_threshold=8,
                  min_threshold=6, max_new_synapse_count=10, initial_permanence=0.51, seed=5)
    params.update(overrides)
    return TemporalMemory(64, 8, **params)


def test_apical_tiebreak_selects_the_apically_supported_cells():
    tm = pair_tm()
    feature = SDR(64, range(0, 10))
    loc1, loc2 = SDR(100, range(0, 10)), SDR(100, range(50, 60))
    obj1, obj2 = SDR(100, range(0, 10)), SDR(100, range(20, 30))
    tm.compute(feature, basal_input=loc1, apical_input=obj1)
    cells1 = tm.winner_cells
    tm.compute(feature, basal_input=loc2, apical_input=obj2)
    cells2 = tm.winner_cells
    assert cells1.overlap(cells2) == 0  # the second pairing bursts and learns on other cells
    both = loc1.union(loc2)
    tm.compute(feature, basal_input=both, apical_input=None, learn=False)
    assert tm.predictive_cells == cells1.union(cells2)  # basal support alone: both candidates
    tm.compute(feature, basal_input=both, apical_input=obj1, learn=False)
    assert tm.predictive_cells == cells1 and tm.active_cells == cells1
    tm.compute(feature, basal_input=both, apical_input=obj2, learn=False)
    assert tm.active_cells == cells2 and tm.anomaly == 0.0
    tm.compute(feature, basal_input=None, apical_input=obj1, learn=False)
    assert tm.predictive_cells.num_active == 0 and tm.anomaly == 1.0  # apical input alone never predicts


def test_reduced_basal_threshold_needs_apical_support():
    feature, loc, obj = SDR(64, range(10)), SDR(100, range(10)), SDR(100, range(40, 50))
    weak_loc = SDR(100, range(5))  # 5 of the 10 learned location bits: below activation_threshold 8
    results = {}
    for reduced in (None, 4):
        tm = pair_tm(reduced_basal_threshold=reduced)
        tm.compute(feature, basal_input=loc, apical_input=obj)
        learned = tm.winner_cells
        tm.compute(feature, basal_input=weak_loc, apical_input=obj, learn=False)
        with_apical = tm.predictive_cells
        tm.compute(feature, basal_input=weak_loc, apical_input=None, learn=False)
        results[reduced] = (learned, with_apical, tm.predictive_cells)
    learned, with_apical, without = results[4]
    assert with_apical == learned and without.num_active == 0
    learned, with_apical, without = results[None]
    assert with_apical.num_active == 0 and without.num_active == 0


def test_sequence_mode_uses_apical_input_given_at_compute():
    tm = TemporalMemory(64, 8, apical_input_size=50, **SMALL, initial_permanence=0.51, seed=6)
    a, b = column_sdrs(2, 64, 12, seed=6)
    ctx1, ctx2 = SDR(50, range(10)), SDR(50, range(20, 30))
    tm.compute(a)
    tm.compute(b, apical_input=ctx1)
    b_cells = tm.winner_cells
    tm.reset()
    tm.compute(a, learn=False)
    assert tm.predictive_cells == b_cells  # basal prediction for the next step
    tm.compute(b, apical_input=ctx2, learn=False)
    assert tm.active_cells == b_cells and tm.anomaly == 0.0  # apical mismatch does not veto a basal prediction
    tm.depolarize(apical_input=ctx1)  # the same, through the phase API
    assert tm.predictive_cells.num_active == 0  # b's cells predict nothing yet


# ---------------------------------------------------------------------------------------------- memory, persistence


def test_caps_hold_after_long_random_runs():
    tm = TemporalMemory(32, 4, mode="pair", basal_input_size=64, apical_input_size=32, activation_threshold=3,
                        min_threshold=2, max_new_synapse_count=5, max_segments_per_cell=2,
                        max_synapses_per_segment=6, predicted_segment_decrement=0.02, seed=7)
    rng = np.random.default_rng(7)
    for _ in range(600):
        tm.compute(np.sort(rng.choice(32, 4, replace=False)), basal_input=np.sort(rng.choice(64, 8, replace=False)),
                   apical_input=np.sort(rng.choice(32, 5, replace=False)))
    for conn in (tm.basal_connections, tm.apical_connections):
        model = ct.export(conn)
        per_cell = np.bincount([s.cell for s in model.values()], minlength=tm.num_cells)
        assert per_cell.max() <= 2 and len(model) == conn.num_segments()
        assert max(len(s.synapses) for s in model.values()) <= 6
        assert sum(len(s.synapses) for s in model.values()) == conn.num_synapses()
    assert tm.num_segments("all") <= 2 * 2 * tm.num_cells


@pytest.mark.parametrize("mode", ["sequence", "pair"])
def test_save_load_resumes_exactly(mode, tmp_path):
    extra = dict(basal_input_size=40) if mode == "pair" else {}
    tm = TemporalMemory(24, 4, mode=mode, apical_input_size=30, activation_threshold=3, min_threshold=2,
                        max_new_synapse_count=5, max_segments_per_cell=3, predicted_segment_decrement=0.01, seed=8,
                        **extra)
    rng = np.random.default_rng(8)
    patterns = [(np.sort(rng.choice(24, 4, replace=False)), np.sort(rng.choice(40, 6, replace=False)),
                 np.sort(rng.choice(30, 5, replace=False))) for _ in range(5)]

    def step(model, i):
        cols, basal, apical = patterns[i % 5] if i % 7 else (np.sort(rng.choice(24, 4, replace=False)),) + \
            patterns[0][1:]
        kwargs = dict(basal_input=basal) if mode == "pair" else {}
        model.compute(cols, apical_input=apical, **kwargs)
        return (model.active_cells, model.winner_cells, model.predictive_cells, model.anomaly)

    for i in range(40):
        step(tm, i)
    path = tmp_path / "tm.npz"
    tm.save(path)
    loaded = TemporalMemory.load(path)
    assert_same_state(tm.state_dict(), loaded.state_dict())
    rng_state = rng.bit_generator.state
    original = [step(tm, i) for i in range(40, 80)]
    rng.bit_generator.state = rng_state
    resumed = [step(loaded, i) for i in range(40, 80)]
    assert original == resumed
    assert_same_state(tm.state_dict(), loaded.state_dict())


def test_bad_input_raises_a_clear_error_and_changes_nothing():
    tm = pair_tm()
    tm.compute(SDR(64, range(10)), basal_input=SDR(100, range(10)), apical_input=SDR(100, range(10)))
    before = tm.state_dict()
    good_cols, good_basal = SDR(64, range(10)), SDR(100, range(10))
    bad_calls = [
        (ValueError, "active_columns", lambda: tm.compute(SDR(65, [1]), basal_input=good_basal)),
        (ValueError, "active_columns", lambda: tm.compute([3, 1, 2], basal_input=good_basal)),
        (ValueError, "active_columns", lambda: tm.compute([1, 1, 2], basal_input=good_basal)),
        (ValueError, "basal_input", lambda: tm.compute(good_cols, basal_input=SDR(99, [1]))),
        (ValueError, "apical_input", lambda: tm.compute(good_cols, basal_input=good_basal, apical_input=[5, 4])),
        (ValueError, "basal_growth_candidates",
         lambda: tm.compute(good_cols, basal_input=good_basal, basal_growth_candidates=[1, 1])),
        (ValueError, "active_columns", lambda: tm.activate([64])),
        (TypeError, "active_columns", lambda: tm.compute(np.array([1.0, 2.0]), basal_input=good_basal)),
        (TypeError, "learn", lambda: tm.compute(good_cols, basal_input=good_basal, learn="yes")),
        (ValueError, "basal_input", lambda: tm.depolarize(basal_input=[7, 3])),
    ]
    for error, name, call in bad_calls:
        with pytest.raises(error, match=name):
            call()
        assert_same_state(before, tm.state_dict())
    seq = TemporalMemory(16, 2, **SMALL, seed=0)
    with pytest.raises(ValueError, match="sequence mode"):
        seq.compute([1, 2], basal_input=[3])
    with pytest.raises(ValueError, match="apical_input"):
        seq.compute([1, 2], apical_input=[3])


def test_constructor_validates_parameters():
    with pytest.raises(ValueError, match="basal_input_size"):
        TemporalMemory(10, 2, mode="pair")
    with pytest.raises(ValueError, match="mode"):
        TemporalMemory(10, 2, mode="sideways")
    with pytest.raises(ValueError, match="activation_threshold"):
        TemporalMemory(10, 2, activation_threshold=0)
    with pytest.raises(ValueError, match="permanence_increment"):
        TemporalMemory(10, 2, permanence_increment=1.5)
    with pytest.raises(TypeError, match="cells_per_column"):
        TemporalMemory(10, 2.0)
    with pytest.raises(ValueError, match="apical_min_threshold"):
        TemporalMemory(10, 2, apical_input_size=5, apical_min_threshold=0)


def test_same_seed_same_result_and_counts():
    seq = column_sdrs(8, 64, 6, seed=9)
    runs = []
    for _ in range(2):
        tm = TemporalMemory(64, 4, activation_threshold=4, min_threshold=3, max_new_synapse_count=6, seed=11)
        for _ in range(3):
            run_sequence(tm, seq)
        runs.append((tm.num_segments(), tm.num_synapses(), tm.winner_cells))
    assert runs[0] == runs[1] and runs[0][0] > 0
