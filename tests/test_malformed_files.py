"""Saved files are checked before they are trusted: a corpus of malformed files for every stateful class.

Each class's corpus (``tests/malformed_corpus.py``: damaged bytes, crafted arrays and fields, another class's file,
a newer format) runs in a child process, so a load that aborts the interpreter fails the test instead of ending the
run. Every case must be rejected with :class:`htmagent.serialization.StateError`, leave a working model unchanged
and still working, or (a crafted file that is still a valid state) load into a model that does exactly what the
original did.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from htmagent import SpatialPooler, TemporalMemory
from htmagent.serialization import FILE_VERSION, StateError, load_state, save_state

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from malformed_corpus import MODELS  # noqa: E402

#: Crafted files that are valid states, so that no check can tell them from a real file: a shorter input pattern in
#: a predictor's history is another pattern it could have seen (the CRC catches the same change made by damage).
VALID_EDITS = {"predictor": ("history_patterns/1: one element short", "history_patterns/2: one element short")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_malformed_file_is_rejected_and_leaves_the_model_working(name, tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(HERE / "malformed_corpus.py"), name, str(out)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"the child ended with {done.returncode} (an abort?): {done.stderr[-3000:]}"
    report = json.loads(out.read_text())
    exempt = VALID_EDITS.get(name, ())
    failures = [f for f in report["failures"] if not f.startswith(exempt)] if exempt else report["failures"]
    assert failures == []
    assert report["cases"] >= 35
    assert report["rejected"] >= 0.7 * report["cases"]  # the rest: edits of unused slots, which change nothing


def test_a_damaged_file_names_itself_and_what_is_wrong(tmp_path):
    sp = SpatialPooler(30, 16, local_area_density=0.2, seed=0)
    path = tmp_path / "sp.npz"
    sp.save(path)
    raw = path.read_bytes()
    (tmp_path / "half.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(StateError, match="half.npz: not a readable htmagent state file"):
        SpatialPooler.load(tmp_path / "half.npz")
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 1
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    with pytest.raises(StateError, match="flip.npz"):
        SpatialPooler.load(tmp_path / "flip.npz")
    with pytest.raises(FileNotFoundError):
        SpatialPooler.load(tmp_path / "absent.npz")


def test_a_field_error_names_the_field_and_what_was_expected(tmp_path):
    sp = SpatialPooler(30, 16, local_area_density=0.2, seed=0)
    state = sp.state_dict()
    state["boost"] = state["boost"][:-1]
    save_state(tmp_path / "short.npz", state)
    with pytest.raises(StateError, match=r"short.npz: boost must have shape \(16,\), got \(15,\)") as info:
        SpatialPooler.load(tmp_path / "short.npz")
    assert info.value.field == "boost" and isinstance(info.value, ValueError)
    state = sp.state_dict()
    state["perm"] = state["perm"].astype(np.float64)
    with pytest.raises(StateError, match="perm must have dtype float32, got float64"):
        sp.load_state_dict(state)


def test_a_file_from_a_newer_version_says_so(tmp_path):
    tm = TemporalMemory(16, 2, seed=0)
    path = tmp_path / "tm.npz"
    tm.save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    values = json.loads(bytes(arrays.pop("__json__")).decode())
    values.pop("__crc32__")
    values["__htmagent_file__"] = FILE_VERSION + 1
    arrays["__json__"] = np.frombuffer(json.dumps(values).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(StateError, match="newer htmagent"):
        load_state(path)


def test_a_failed_load_leaves_the_model_exactly_as_it_was():
    from htmagent import SDR

    rng = np.random.default_rng(0)
    tm = TemporalMemory(32, 4, activation_threshold=2, min_threshold=1, max_new_synapse_count=4, seed=1)
    codes = [np.sort(rng.choice(32, 3, replace=False)) for _ in range(4)]
    for t in range(20):
        tm.compute(SDR(32, codes[t % 4]), learn=True)
    good = tm.state_dict()
    bad = tm.state_dict()
    bad["basal_connections"]["syn_i32"][0, 0] = 10**6  # a synapse onto a cell that does not exist
    with pytest.raises(StateError, match="segment store is inconsistent"):
        tm.load_state_dict(bad)
    after = tm.state_dict()
    assert after["arrays"].keys() == good["arrays"].keys()
    assert all(np.array_equal(after["arrays"][k], good["arrays"][k]) for k in good["arrays"])
    assert np.array_equal(after["basal_connections"]["syn_i32"], good["basal_connections"]["syn_i32"])
    tm.compute(SDR(32, codes[0]), learn=True)  # still works
