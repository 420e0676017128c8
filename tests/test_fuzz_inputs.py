"""Fuzz: any value given to an encoder or to SDR either gives a valid SDR or raises ValueError/TypeError naming
what was wrong, and the encoder keeps working as before (hypothesis draws the values, NaN, infinities and numbers
past float range included)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htmagent import SDR
from htmagent.encoders import (CategoryEncoder, CoordinateEncoder, DateEncoder, MultiEncoder, PatchEncoder, RDSE,
                               ScalarEncoder)
from htmagent.gridcells import GridCellEncoder

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**400, 10**400),
                    st.sampled_from([0, -1, 1e300, -1e300, 5e-324, 2**63, -2**63 - 1]))
anything = st.one_of(numbers, st.none(), st.booleans(), st.text(max_size=5), st.lists(numbers, max_size=4),
                     st.builds(lambda v: np.array(v), st.lists(numbers, max_size=3)),
                     st.just(dt.datetime(2024, 5, 1, 12)), st.just(np.datetime64("NaT")))

ENCODERS = {
    "scalar": (lambda: ScalarEncoder(0.0, 100.0, size=200, active_bits=11), 42.0),
    "rdse": (lambda: RDSE(300, active_bits=15, resolution=0.5, seed=1), 3.5),
    "category": (lambda: CategoryEncoder(num_categories=10, size=200, active_bits=10, seed=2), 3),
    "date": (lambda: DateEncoder(time_of_day=(21, 9.49), weekend=21), dt.datetime(2024, 5, 4, 10)),
    "coordinate": (lambda: CoordinateEncoder(size=512, active_bits=10, radius=2, seed=3), [3, 4]),
    "grid": (lambda: GridCellEncoder(seed=4), [12.5, -3.0]),
    "multi": (lambda: MultiEncoder.for_box((np.array([-1.0, -1.0]), np.array([1.0, 1.0])), size_per_dim=100,
                                           seed=5), np.array([0.2, -0.3])),
    "patch": (lambda: PatchEncoder((4, 4), size=256, active_bits=12, seed=6), np.full((4, 4), 7, dtype=np.uint8)),
}


@pytest.mark.parametrize("name", sorted(ENCODERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=anything)
def test_an_encoder_encodes_or_names_the_problem_and_keeps_working(name, value):
    make, reference = ENCODERS[name]
    enc = make()
    before = enc.encode(reference).sparse.copy()
    try:
        code = enc.encode(value)
    except (ValueError, TypeError) as error:
        assert str(error)  # a message, not a bare exception
    else:
        assert isinstance(code, SDR) and code.size == enc.size
        sparse = code.sparse
        assert sparse.size == 0 or (sparse.min() >= 0 and sparse.max() < enc.size and np.all(np.diff(sparse) > 0))
    assert np.array_equal(enc.encode(reference).sparse, before)


@settings(max_examples=300, deadline=None)
@given(size=st.one_of(st.integers(-5, 10**40), st.floats(allow_nan=True), st.none(), st.text(max_size=3),
                      st.lists(st.integers(-3, 10**25), max_size=3)),
       sparse=st.one_of(st.lists(st.integers(-10**30, 10**30), max_size=6), st.none(),
                        st.lists(st.floats(allow_nan=True), max_size=4)))
def test_sdr_construction_is_valid_or_named(size, sparse):
    try:
        sdr = SDR(size, sparse)
    except (ValueError, TypeError) as error:
        assert str(error)
    else:
        assert 0 < sdr.size < 2**31
        s = sdr.sparse
        assert s.size == 0 or (s.min() >= 0 and s.max() < sdr.size and np.all(np.diff(s) > 0))
