"""ScalarEncoder: contiguous buckets, sizing alternatives, clipping, periodic wrap, the four encoder rules."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.encoders import ScalarEncoder

in_range = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


def make(**kw):
    args = dict(minimum=0.0, maximum=100.0, size=111, active_bits=11)
    args.update(kw)
    return ScalarEncoder(**args)


def test_codes_are_contiguous_runs():
    enc = make()
    assert enc.resolution == pytest.approx(1.0) and enc.num_buckets == 101
    np.testing.assert_array_equal(enc.encode(0.0).sparse, np.arange(11))
    np.testing.assert_array_equal(enc.encode(100.0).sparse, np.arange(100, 111))
    np.testing.assert_array_equal(enc.encode(42.0).sparse, np.arange(42, 53))


@settings(max_examples=80, deadline=None)
@given(x=in_range, d1=st.floats(0.0, 50.0), d2=st.floats(0.0, 50.0))
def test_overlap_falls_monotonically_with_distance(x, d1, d2):
    enc = make()
    near, far = sorted((d1, d2))
    if x + far > 100.0:
        near, far, x = near, far, x - far
    if x < 0.0:
        return
    base = enc.encode(x)
    o_near, o_far = base.overlap(enc.encode(x + near)), base.overlap(enc.encode(x + far))
    assert o_near >= o_far
    # Exactly active_bits - (bucket distance), floored at 0.
    shift = enc.bucket(x + far) - enc.bucket(x)
    assert o_far == max(11 - shift, 0)


@settings(max_examples=60, deadline=None)
@given(x=in_range)
def test_same_input_same_code_fixed_size_and_active_bits(x):
    a, b = make(), make()
    assert a.encode(x) == a.encode(x) == b.encode(x)
    assert a.encode(x).size == 111 and a.encode(x).num_active == 11


@settings(max_examples=60, deadline=None)
@given(x=st.floats(-1e6, 1e6, allow_nan=False), d=st.floats(0.0, 12.0))
def test_periodic_wraps_and_overlap_falls_with_circular_distance(x, d):
    enc = ScalarEncoder(0.0, 360.0, active_bits=9, resolution=5.0, periodic=True)
    assert enc.size == 72
    a, b = enc.encode(x), enc.encode(x + 360.0)
    assert a.num_active == 9
    # Adding a whole period changes the code by at most the float rounding of one bucket.
    assert a.overlap(b) >= 8
    step_near, step_far = enc.encode(x + d * 5.0 / 2), enc.encode(x + d * 5.0)
    assert a.overlap(step_near) >= a.overlap(step_far)


def test_periodic_code_wraps_around_the_end():
    enc = ScalarEncoder(0.0, 24.0, active_bits=21, radius=1.0, periodic=True)
    assert enc.size == 504
    late, early = enc.encode(23.99), enc.encode(0.0)
    assert late.overlap(early) >= 19
    assert 0 in late and 503 in late


def test_out_of_range_raises_unless_clipped():
    with pytest.raises(ValueError, match=r"value must be in \[0.0, 100.0\]"):
        make().encode(100.5)
    with pytest.raises(ValueError, match="clip_input"):
        make().encode(-1.0)
    clipped = make(clip_input=True)
    assert clipped.encode(1e9) == clipped.encode(100.0)
    assert clipped.encode(-5) == clipped.encode(0.0)


def test_sizing_alternatives_are_consistent():
    by_res = ScalarEncoder(0.0, 10.0, active_bits=5, resolution=0.5)
    by_rad = ScalarEncoder(0.0, 10.0, active_bits=5, radius=2.5)
    assert by_res.size == by_rad.size == 25 and by_res.resolution == pytest.approx(0.5)
    assert by_res.radius == pytest.approx(2.5)
    by_sparsity = ScalarEncoder(0.0, 10.0, size=200, sparsity=0.05)
    assert by_sparsity.active_bits == 10


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(size=100, resolution=1.0, active_bits=5), ValueError, "exactly one of size, resolution and radius"),
        (dict(active_bits=5), ValueError, "exactly one of size"),
        (dict(size=100), ValueError, "active_bits"),
        (dict(size=100, active_bits=5, sparsity=0.1), ValueError, "active_bits"),
        (dict(resolution=1.0, sparsity=0.1), ValueError, "sparsity"),
        (dict(size=10, active_bits=11), ValueError, "active_bits"),
        (dict(size=10, active_bits=10, periodic=True), ValueError, "active_bits"),
        (dict(size=100, active_bits=5, periodic=True, clip_input=True), ValueError, "clip_input"),
        (dict(size=100, active_bits=5, periodic=1), TypeError, "periodic"),
        (dict(size=100.0, active_bits=5), TypeError, "size"),
        (dict(resolution=-1.0, active_bits=5), ValueError, "resolution"),
        (dict(radius=0.0, active_bits=5), ValueError, "radius"),
    ],
)
def test_constructor_validation(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        ScalarEncoder(0.0, 10.0, **kwargs)


def test_bounds_validation():
    with pytest.raises(ValueError, match="maximum"):
        ScalarEncoder(5.0, 5.0, size=10, active_bits=2)
    with pytest.raises(ValueError, match="minimum"):
        ScalarEncoder(math.nan, 5.0, size=10, active_bits=2)
    with pytest.raises(TypeError, match="maximum"):
        ScalarEncoder(0.0, "5", size=10, active_bits=2)


@pytest.mark.parametrize("bad,exc", [(math.nan, ValueError), (math.inf, ValueError), ("1", TypeError),
                                     (None, TypeError), ([1.0], TypeError)])
def test_bad_values_raise_naming_value(bad, exc):
    with pytest.raises(exc, match="value"):
        make(clip_input=True).encode(bad)


def test_numpy_scalars_are_accepted_and_repr():
    enc = make()
    assert enc.encode(np.float32(3.0)) == enc.encode(3.0) == enc.encode(np.array(3.0))
    assert repr(enc) == "ScalarEncoder(minimum=0, maximum=100, size=111, active_bits=11)"
