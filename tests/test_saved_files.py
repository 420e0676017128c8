"""Files saved by htmagent 0.1.0 load in this version and the models resume exactly as they would have."""

import gzip
import json
import shutil
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "saved_0_1"
sys.path.insert(0, str(DATA))
import make_files  # noqa: E402  (the cases that wrote the files, run here in "load" mode)

EXPECTED = json.loads((DATA / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(p.name[:-len(".npz.gz")] for p in DATA.glob("*.npz.gz")))
def test_a_0_1_file_resumes_as_it_was_saved(name, tmp_path):
    path = tmp_path / f"{name}.npz"
    with gzip.open(DATA / f"{name}.npz.gz", "rb") as packed, open(path, "wb") as plain:
        shutil.copyfileobj(packed, plain)
    assert make_files.CASES[name]("load", path) == EXPECTED[name]


def test_every_committed_file_has_its_expected_outputs():
    names = {p.name[:-len(".npz.gz")] for p in DATA.glob("*.npz.gz")}
    assert names and names <= set(EXPECTED) <= set(make_files.CASES)
