"""save_state / load_state: nested dicts of arrays and JSON values survive a round trip exactly."""

import numpy as np
import pytest

from htmagent._rng import make_rng, restore_rng, rng_state
from htmagent.serialization import load_state, save_state


def test_round_trip_nested_state(tmp_path):
    rng = make_rng(5)
    rng.random(3)
    state = {
        "config": {"column_count": 64, "name": "tm", "thresholds": (13, 10), "flag": True, "none": None},
        "arrays": {"perm": np.linspace(0, 1, 7, dtype=np.float32), "idx": np.arange(5, dtype=np.int32)},
        "empty": {},
        "rng": rng_state(rng),
        "scalar": np.float64(0.25),
    }
    path = tmp_path / "model.npz"
    save_state(path, state)
    loaded = load_state(path)
    assert loaded["config"] == {"column_count": 64, "name": "tm", "thresholds": [13, 10], "flag": True, "none": None}
    np.testing.assert_array_equal(loaded["arrays"]["perm"], state["arrays"]["perm"])
    assert loaded["arrays"]["perm"].dtype == np.float32
    assert loaded["arrays"]["idx"].dtype == np.int32
    assert loaded["empty"] == {}
    assert loaded["scalar"] == 0.25
    restored = restore_rng(loaded["rng"])
    np.testing.assert_array_equal(restored.random(4), rng.random(4))


def test_rejects_keys_with_separator(tmp_path):
    with pytest.raises(ValueError, match="state keys"):
        save_state(tmp_path / "x.npz", {"a/b": 1})


def test_rejects_foreign_npz(tmp_path):
    path = tmp_path / "plain.npz"
    with open(path, "wb") as handle:
        np.savez(handle, a=np.zeros(3))
    with pytest.raises(ValueError, match="not an htmagent state file"):
        load_state(path)


def test_make_rng_validates_seed():
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        make_rng(-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        make_rng(1.5)
    g = np.random.default_rng(3)
    assert make_rng(g) is g
    assert make_rng(7).random() == make_rng(7).random()
