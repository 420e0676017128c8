"""numba's on-disk cache never stops an import: stale entries (an older layout, an older source) and unreadable
ones (a write cut short) are ignored and the kernel is compiled afresh."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

_RUN = r"""
import numpy as np
from htmagent.kernels.predictor import predictor_infer, predictor_learn
w = np.zeros((6, 3), np.float32)
predictor_learn(w, np.array([1, 2], np.int32), np.array([1.0, -0.5, -0.5]), 0.5)
print(np.round(predictor_infer(w, np.array([1, 2], np.int32), 3), 6).tolist())
"""


def _run(cache_dir: Path) -> str:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-c", _RUN], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_stale_and_unreadable_cache_entries_do_not_break_an_import(tmp_path):
    expected = _run(tmp_path)  # compiles and fills the cache
    indexes = sorted(tmp_path.rglob("*.nbi"))
    assert len(indexes) == 2
    # An older layout: the same kernels cached under the old module name, in the old folder.
    old = tmp_path / "htmagent_0123456789abcdef"
    old.mkdir()
    for index in indexes:
        (old / index.name.replace("predictor.", "_predictor_kernels.")).write_bytes(index.read_bytes())
    # An older source of the same module: the index's stamp no longer matches the file.
    with open(indexes[0], "rb") as handle:
        version = pickle.load(handle)
        stamp, overloads = pickle.loads(handle.read())
    with open(indexes[0], "wb") as handle:
        pickle.dump(version, handle)
        handle.write(pickle.dumps(((0.0, 1), overloads)))
    # A write cut short: an index and a data file holding garbage.
    indexes[1].write_bytes(b"\x80\x04not a pickle")
    for data in tmp_path.rglob("*.nbc"):
        data.write_bytes(data.read_bytes()[:10])
    assert _run(tmp_path) == expected
    assert _run(tmp_path) == expected  # and the cache it rewrote reads back
