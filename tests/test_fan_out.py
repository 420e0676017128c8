"""The fan-out cap (``max_synapses_per_presynaptic``): it holds in the temporal memory, keeps the store consistent,
survives save/load, and is refused when out of range."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent import TemporalMemory
from htmagent.kernels import connections as K
from htmagent.serialization import StateError


def _random_steps(tm: TemporalMemory, steps: int, seed: int, pair: bool = False) -> None:
    rng = np.random.default_rng(seed)
    for t in range(steps):
        cols = np.sort(rng.choice(tm.column_count, 6, replace=False))
        if pair:
            basal = np.sort(rng.choice(tm.basal_input_size, 8, replace=False))
            tm.compute(cols, basal_input=basal)
        else:
            tm.compute(cols)
        if t % 7 == 6:
            tm.reset()


def _consistent(conn) -> bool:
    return K.check_store(*conn.store, conn.max_segments_per_cell, conn.max_synapses_per_segment)[0] == 0


def _small(**kwargs) -> TemporalMemory:
    return TemporalMemory(32, 4, activation_threshold=3, min_threshold=2, max_new_synapse_count=5, seed=3, **kwargs)


def test_no_cell_feeds_more_segments_than_the_cap():
    capped, free = _small(max_synapses_per_presynaptic=6), _small()
    _random_steps(capped, 400, seed=1)
    _random_steps(free, 400, seed=1)
    fan_capped = capped.basal_connections.pre_i32[K.P_LEN]
    fan_free = free.basal_connections.pre_i32[K.P_LEN]
    assert fan_free.max() > 6  # without the cap this stream drives cells past it
    assert fan_capped.max() <= 6
    assert _consistent(capped.basal_connections)
    # empty segments do not pile up: every live segment still has a synapse
    seg_i32 = capped.basal_connections.seg_i32
    assert np.all(seg_i32[K.S_NSYN][seg_i32[K.S_CELL] >= 0] > 0)


def test_the_capped_memory_still_learns_a_sequence():
    tm = _small(max_synapses_per_presynaptic=12)
    seq = [np.arange(k * 6, k * 6 + 6) % 32 for k in range(5)]
    for _ in range(20):
        for cols in seq:
            tm.compute(np.sort(cols))
        tm.reset()
    tm.compute(np.sort(seq[0]))
    assert set(tm.predicted_columns.sparse.tolist()) == set(np.sort(seq[1]).tolist())


def test_pair_mode_with_the_cap_saves_and_resumes_exactly(tmp_path):
    kwargs = dict(mode="pair", basal_input_size=40, max_synapses_per_presynaptic=4)
    tm = _small(**kwargs)
    _random_steps(tm, 300, seed=2, pair=True)
    assert tm.basal_connections.pre_i32[K.P_LEN].max() <= 4
    path = tmp_path / "tm.npz"
    tm.save(path)
    loaded = TemporalMemory.load(path)
    assert loaded.basal.max_synapses_per_presynaptic == 4
    assert loaded.basal_connections.max_synapses_per_presynaptic == 4
    _random_steps(tm, 50, seed=5, pair=True)
    _random_steps(loaded, 50, seed=5, pair=True)
    assert np.array_equal(tm.active_cells.sparse, loaded.active_cells.sparse)
    assert tm.num_synapses() == loaded.num_synapses()
    assert _consistent(loaded.basal_connections)


def test_a_file_without_the_cap_loads_only_into_an_uncapped_memory():
    tm = _small()
    _random_steps(tm, 50, seed=4)
    state = tm.state_dict()
    del state["config"]["max_synapses_per_presynaptic"]  # as files written before the cap existed
    del state["basal_connections"]["max_synapses_per_presynaptic"]
    fresh = _small()
    fresh.load_state_dict(state)
    assert fresh.num_synapses() == tm.num_synapses()
    capped = _small(max_synapses_per_presynaptic=5)
    before = capped.state_dict()
    with pytest.raises(StateError, match="max_synapses_per_presynaptic"):
        capped.load_state_dict(state)
    assert capped.state_dict()["config"] == before["config"]


@pytest.mark.parametrize("value, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("8", TypeError)])
def test_a_bad_cap_is_refused_with_its_name(value, error):
    with pytest.raises(error, match="max_synapses_per_presynaptic"):
        _small(max_synapses_per_presynaptic=value)
