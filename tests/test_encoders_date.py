"""DateEncoder: input types, periodic parts, weekend/holiday flags, similarity in time."""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.encoders import DateEncoder, to_datetime

moments = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1))


def full():
    return DateEncoder(season=(5, 91.5), day_of_week=(7, 1.0), weekend=11, holiday=5, time_of_day=(21, 1.0))


def test_layout_and_active_bits():
    enc = full()
    assert list(enc.offsets) == ["season", "day_of_week", "weekend", "holiday", "time_of_day"]
    assert enc.active_bits == 5 + 7 + 11 + 5 + 21
    sdr = enc.encode(dt.datetime(2024, 3, 9, 8, 30))
    assert sdr.size == enc.size and sdr.num_active == enc.active_bits


@settings(max_examples=50, deadline=None)
@given(t=moments, minutes=st.integers(1, 20))
def test_nearby_times_overlap_more_than_distant_ones(t, minutes):
    enc = DateEncoder(time_of_day=(21, 1.0))
    base = enc.encode(t)
    near = base.overlap(enc.encode(t + dt.timedelta(minutes=minutes)))
    far = base.overlap(enc.encode(t + dt.timedelta(hours=6)))
    assert near > far == 0
    assert base.overlap(enc.encode(t + dt.timedelta(days=1))) >= 20


@settings(max_examples=50, deadline=None)
@given(t=moments)
def test_same_moment_same_code_in_every_input_type(t):
    enc = full()
    # Whole seconds, so that the float POSIX timestamp is exact.
    t = t.replace(microsecond=0)
    utc = t.replace(tzinfo=dt.timezone.utc)
    codes = [enc.encode(utc), enc.encode(utc.timestamp()), enc.encode(np.datetime64(t, "s")), full().encode(t)]
    assert all(c == codes[0] for c in codes)


def test_weekend_and_holiday_flags():
    enc = DateEncoder(weekend=10, holiday=10, holidays=[(12, 25), (2024, 7, 4)])
    w0, h0 = enc.offsets["weekend"], enc.offsets["holiday"]
    saturday_xmas = enc.encode(dt.date(2021, 12, 25))
    assert set(range(w0 + 10, w0 + 20)) <= set(saturday_xmas.sparse.tolist())
    assert set(range(h0 + 10, h0 + 20)) <= set(saturday_xmas.sparse.tolist())
    tuesday = enc.encode(dt.date(2024, 7, 2))
    assert set(range(w0, w0 + 10)) <= set(tuesday.sparse.tolist())
    assert set(range(h0, h0 + 10)) <= set(tuesday.sparse.tolist())
    july4 = enc.encode(dt.datetime(2024, 7, 4, 12))
    assert set(range(h0 + 10, h0 + 20)) <= set(july4.sparse.tolist())
    assert not set(range(h0 + 10, h0 + 20)) & set(enc.encode(dt.datetime(2023, 7, 4)).sparse.tolist())


def test_day_of_week_wraps_from_sunday_to_monday():
    enc = DateEncoder(day_of_week=(21, 1.0))
    sunday_night = enc.encode(dt.datetime(2024, 3, 10, 23, 59))
    monday = enc.encode(dt.datetime(2024, 3, 11, 0, 1))
    assert sunday_night.overlap(monday) >= 19
    assert sunday_night.overlap(enc.encode(dt.datetime(2024, 3, 13))) == 0


@pytest.mark.parametrize("bad,exc", [(math.nan, ValueError), (math.inf, ValueError), (np.datetime64("NaT"), ValueError),
                                     ("2024-01-01", TypeError), (None, TypeError), (1e300, ValueError),
                                     (np.datetime64("20000-01-01"), ValueError)])
def test_bad_inputs_raise_naming_value(bad, exc):
    with pytest.raises(exc, match="value"):
        full().encode(bad)


def test_constructor_validation():
    with pytest.raises(ValueError, match="at least one"):
        DateEncoder()
    with pytest.raises(ValueError, match="time_of_day"):
        DateEncoder(time_of_day=(21, 1.0, 3))
    with pytest.raises(TypeError, match="weekend"):
        DateEncoder(weekend=2.5)
    with pytest.raises(ValueError, match="radius"):
        DateEncoder(time_of_day=(21, -1.0))
    with pytest.raises(ValueError, match="holidays"):
        DateEncoder(holiday=3, holidays=["12-25"])


def test_bare_width_uses_default_radius_and_repr():
    enc = DateEncoder(time_of_day=21)
    assert enc.size == int(24 * 21 / 4.0)
    assert repr(enc) == f"DateEncoder(time_of_day=(21, 4), size={enc.size})"
    assert to_datetime(dt.date(2020, 2, 29)) == dt.datetime(2020, 2, 29)
