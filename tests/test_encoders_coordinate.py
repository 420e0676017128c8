"""CoordinateEncoder: nearby points overlap, exact active-bit count, kernel twin, validation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.encoders import CoordinateEncoder
from htmagent.encoders.base import seed_hash
from htmagent.encoders.coordinate import coordinate_kernel
from reference.encoders_twins import coordinate_twin

coords = st.lists(st.integers(-10**6, 10**6), min_size=2, max_size=2)


def make(**kw):
    args = dict(size=1024, active_bits=21, radius=4, ndim=2, seed=0)
    args.update(kw)
    return CoordinateEncoder(**args)


@settings(max_examples=40, deadline=None)
@given(p=coords, seed=st.integers(0, 2**32))
def test_same_point_same_code_exact_active_bits(p, seed):
    a, b = make(seed=seed), make(seed=seed)
    sdr = a.encode(p)
    assert sdr == b.encode(np.array(p)) == a.encode(tuple(p))
    assert sdr.size == 1024 and sdr.num_active == 21


@settings(max_examples=40, deadline=None)
@given(p=coords)
def test_nearby_points_overlap_more_than_distant_ones(p):
    enc = make()
    base = enc.encode(p)
    next_door = base.overlap(enc.encode([p[0] + 1, p[1]]))
    far_away = base.overlap(enc.encode([p[0] + 20, p[1] - 20]))
    assert next_door > far_away
    assert next_door >= 8


def test_mean_overlap_falls_with_distance():
    enc = make(radius=5)
    rng = np.random.default_rng(0)
    points = rng.integers(-1000, 1000, size=(60, 2))
    means = []
    for d in range(0, 13, 2):
        means.append(np.mean([enc.encode(p).overlap(enc.encode(p + [d, 0])) for p in points]))
    assert means[0] == 21
    assert all(a > b for a, b in zip(means[:-1], means[1:-1]))
    # Beyond 2 * radius the neighbourhoods are disjoint: only chance overlap (21 * 21 / 1024 = 0.43) is left.
    assert means[-1] < 1.0


@pytest.mark.parametrize("d,radius,w,size", [(1, 3, 7, 50), (2, 2, 25, 30), (3, 1, 5, 1000), (2, 1, 9, 8)])
def test_kernel_matches_numpy_twin(d, radius, w, size):
    rng = np.random.default_rng(d * 100 + w)
    offsets = np.array(np.meshgrid(*[np.arange(-radius, radius + 1)] * d, indexing="ij")).reshape(d, -1).T
    order_seed, bit_seed = seed_hash(9, 1), seed_hash(9, 2)
    for centre in [rng.integers(-(2**40), 2**40, d), np.zeros(d, dtype=np.int64)]:
        neighbours = (centre + offsets).astype(np.int64)
        out = np.empty(w, dtype=np.int32)
        count = coordinate_kernel(out, neighbours, order_seed, bit_seed, size)
        expected = coordinate_twin(neighbours, w, int(order_seed), int(bit_seed), size)
        np.testing.assert_array_equal(out[:count], expected)
    # With a neighbourhood of all-identical coordinates (duplicates), only one distinct bit exists.
    dup = np.zeros((5, d), dtype=np.int64)
    out = np.empty(3, dtype=np.int32)
    assert coordinate_kernel(out, dup, order_seed, bit_seed, size) == 1
    np.testing.assert_array_equal(out[:1], coordinate_twin(dup, 3, int(order_seed), int(bit_seed), size))


def test_kernel_with_no_neighbours_picks_nothing():
    out = np.empty(3, dtype=np.int32)
    assert coordinate_kernel(out, np.empty((0, 2), dtype=np.int64), seed_hash(0), seed_hash(1), 10) == 0


def test_any_dimension_when_not_fixed():
    enc = CoordinateEncoder(size=512, active_bits=10, radius=2, seed=1)
    assert enc.encode([3, 4]).num_active == 10
    assert enc.encode([3, 4, 5]).num_active == 10
    # A 1-D neighbourhood of radius 2 has only 5 points: too few for 10 active bits.
    with pytest.raises(ValueError, match="active_bits"):
        enc.encode([3])


@pytest.mark.parametrize(
    "bad,exc,word",
    [
        ([1, 2, 3], ValueError, "2 entries"),
        ([1.5, 2], ValueError, "whole numbers"),
        ([math.nan, 2], ValueError, "finite"),
        ([math.inf, 2], ValueError, "finite"),
        ("ab", TypeError, "coordinate"),
        (5, TypeError, "coordinate"),
        ([["a"], ["b"]], TypeError, "coordinate"),
        (np.zeros((2, 2), dtype=int), ValueError, "coordinate"),
        ([2**62, 0], ValueError, "coordinate"),
    ],
)
def test_bad_coordinates(bad, exc, word):
    with pytest.raises(exc, match=word):
        make().encode(bad)


def test_whole_floats_are_accepted():
    enc = make()
    assert enc.encode([3.0, -2.0]) == enc.encode([3, -2])


@pytest.mark.parametrize(
    "kwargs,word",
    [
        (dict(size=10, active_bits=11, radius=2), "active_bits"),
        (dict(size=100, active_bits=10, radius=1, ndim=1), r"\(2 \* radius \+ 1\) \*\* ndim"),
        (dict(size=100, active_bits=10, radius=50, ndim=4), "neighbourhood"),
        (dict(size=100, active_bits=10, radius=0), "radius"),
    ],
)
def test_constructor_validation(kwargs, word):
    with pytest.raises(ValueError, match=word):
        CoordinateEncoder(**kwargs)


def test_repr():
    assert repr(make()) == "CoordinateEncoder(size=1024, active_bits=21, radius=4, ndim=2, seed=0)"
