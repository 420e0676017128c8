"""The encoder protocol shared by every encoder, and the shared helpers (hash, seeds, number checks)."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import htmagent.encoders as encoders
from htmagent.encoders import (
    RDSE,
    CategoryEncoder,
    CoordinateEncoder,
    DateEncoder,
    Encoder,
    MultiEncoder,
    PatchEncoder,
    ScalarEncoder,
)
from htmagent._validation import check_int, check_real
from htmagent.encoders.base import check_seed, mix64, seed_hash
from htmagent.sdr import SDR
from reference.encoders_twins import mix64_py

EXAMPLES = [
    (ScalarEncoder(0.0, 1.0, size=50, active_bits=5), 0.3),
    (RDSE(200, active_bits=6, resolution=0.5, seed=1), -7.25),
    (CategoryEncoder(["a", "b"], size=40, active_bits=8, seed=1), "b"),
    (DateEncoder(weekend=5, time_of_day=(7, 2.0)), dt.datetime(2024, 5, 5, 17)),
    (CoordinateEncoder(256, 9, radius=2, ndim=2, seed=1), [4, -3]),
    (MultiEncoder({"v": RDSE(100, active_bits=4, resolution=1.0)}), {"v": 2.0}),
    (PatchEncoder((3, 3), size=64, active_bits=6, seed=1), np.eye(3)),
]


@pytest.mark.parametrize("encoder,value", EXAMPLES, ids=lambda x: type(x).__name__)
def test_every_encoder_follows_the_protocol(encoder, value):
    assert isinstance(encoder, Encoder)
    assert isinstance(encoder.size, int) and encoder.dimensions == (encoder.size,)
    sdr = encoder.encode(value)
    assert isinstance(sdr, SDR) and sdr.size == encoder.size and sdr.num_active > 0
    assert encoder(value) == sdr
    assert encoder.encode_many([value, value]) == [sdr, sdr]
    assert repr(encoder).startswith(type(encoder).__name__ + "(")


def test_package_exports():
    for name in encoders.__all__:
        assert hasattr(encoders, name)
    assert {"RDSE", "ScalarEncoder", "CategoryEncoder", "DateEncoder", "CoordinateEncoder", "MultiEncoder",
            "PatchEncoder", "Encoder"} <= set(encoders.__all__)


def test_encoder_is_abstract():
    with pytest.raises(TypeError):
        Encoder()


@settings(max_examples=100, deadline=None)
@given(x=st.integers(0, 2**64 - 1))
def test_mix64_matches_python_twin(x):
    assert int(mix64(np.uint64(x))) == mix64_py(x)


def test_mix64_on_arrays_and_edge_values():
    xs = np.array([0, 1, 2**63, 2**64 - 1], dtype=np.uint64)
    assert [int(v) for v in mix64(xs)] == [mix64_py(int(v)) for v in xs]
    assert seed_hash(1) != seed_hash(2) and seed_hash(1, salt=1) != seed_hash(1, salt=2)


def test_check_seed():
    assert check_seed(5) == 5
    assert check_seed(np.random.default_rng(0)) == check_seed(np.random.default_rng(0))
    assert isinstance(check_seed(None), int)
    with pytest.raises(ValueError, match="seed"):
        check_seed(-1)
    with pytest.raises(TypeError, match="seed"):
        check_seed(1.0)
    with pytest.raises(TypeError, match="seed"):
        check_seed(True)


def test_number_checks_name_the_argument():
    assert check_real(np.float32(2.5), "x") == 2.5
    assert check_real(np.array(3), "x") == 3.0
    with pytest.raises(TypeError, match="speed"):
        check_real("1", "speed")
    with pytest.raises(ValueError, match="speed must be finite, got nan"):
        check_real(float("nan"), "speed")
    assert check_int(np.int64(3), "n") == 3
    with pytest.raises(ValueError, match="n must be >= 2, got 1"):
        check_int(1, "n", 2)
    with pytest.raises(TypeError, match="n must be an int"):
        check_int(2.0, "n")
