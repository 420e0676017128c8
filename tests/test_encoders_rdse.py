"""RDSE: the four encoder rules, the must-show overlaps, the kernel twin, input validation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.encoders import RDSE
from htmagent.encoders.base import seed_hash
from htmagent.encoders.rdse import rdse_kernel
from htmagent.sdr import SDR
from reference.encoders_twins import rdse_twin

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def make(**kw):
    args = dict(size=1000, sparsity=0.02, resolution=1.0, seed=7)
    args.update(kw)
    return RDSE(**args)


def test_must_show_neighbour_overlaps_strongly_and_far_values_at_chance():
    enc = make()
    assert enc.active_bits == 20
    xs = np.random.default_rng(0).uniform(-1e4, 1e4, 2000)
    near = [a.overlap(b) for a, b in zip(enc.encode_many(xs), enc.encode_many(xs + 1.0))]
    far = [a.overlap(b) for a, b in zip(enc.encode_many(xs), enc.encode_many(xs + 100.0))]
    # x and x + 1 fall in adjacent buckets: 19 of the 20 keys are shared.
    assert min(near) >= 19
    # Chance: one bit per slot of 50 bits, so each of the 20 slots collides with probability 1/50.
    assert enc.chance_overlap == pytest.approx(20 * 20 / 1000)
    # The standard error of the mean over 2000 pairs is about sqrt(0.4 * 0.98 / 2000) = 0.014; 0.1 is ~7 of them.
    assert abs(np.mean(far) - enc.chance_overlap) < 0.1


@settings(max_examples=60, deadline=None)
@given(x=finite, d=st.integers(min_value=0, max_value=25))
def test_overlap_keeps_the_shared_keys(x, d):
    enc = make()
    a, b = enc.encode(x), enc.encode(x + d)
    shift = enc.bucket(x + d) - enc.bucket(x)
    assert a.overlap(b) >= max(enc.active_bits - shift, 0)


def test_mean_overlap_falls_monotonically_with_distance():
    enc = make(size=400, sparsity=0.05)
    xs = np.floor(np.random.default_rng(1).uniform(-5000, 5000, 300))
    base = enc.encode_many(xs)
    means = []
    for d in range(0, enc.active_bits + 3):
        other = enc.encode_many(xs + d)
        means.append(np.mean([a.overlap(b) for a, b in zip(base, other)]))
    assert means[0] == enc.active_bits
    assert all(m1 > m2 for m1, m2 in zip(means[: enc.active_bits], means[1 : enc.active_bits + 1]))
    assert means[-1] < 1.5 * enc.chance_overlap + 0.3


@settings(max_examples=60, deadline=None)
@given(x=finite, seed=st.integers(0, 2**32))
def test_same_input_same_code_fixed_size_exact_active_bits(x, seed):
    a, b = make(seed=seed), make(seed=seed)
    sa = a.encode(x)
    assert sa == a.encode(x) == b.encode(x)
    assert sa.size == 1000 and sa.num_active == 20
    assert np.all(np.diff(sa.sparse) > 0)


def test_different_seeds_give_unrelated_codes():
    a, b = make(seed=1), make(seed=2)
    overlaps = [a.encode(float(x)).overlap(b.encode(float(x))) for x in range(500)]
    assert np.mean(overlaps) < a.chance_overlap + 0.3


def test_unbounded_range_and_negative_values():
    enc = make()
    for x in (-1e12, -3.5, 0.0, 1e12):
        assert enc.encode(x).num_active == 20
    assert enc.bucket(-0.5) == -1 and enc.bucket(0.5) == 0
    assert enc.encode(-0.5).overlap(enc.encode(0.5)) >= 19


def test_radius_is_an_alternative_to_resolution():
    by_res = RDSE(500, active_bits=10, resolution=0.5, seed=3)
    by_rad = RDSE(500, active_bits=10, radius=5.0, seed=3)
    assert by_rad.resolution == pytest.approx(0.5) and by_res.radius == pytest.approx(5.0)
    assert all(by_res.encode(x) == by_rad.encode(x) for x in np.linspace(-20, 20, 41))


def test_category_mode_separates_consecutive_integers():
    enc = RDSE(1000, active_bits=20, category=True, seed=0)
    overlaps = [enc.encode(i).overlap(enc.encode(i + 1)) for i in range(-200, 200)]
    assert np.mean(overlaps) < enc.chance_overlap + 0.3
    with pytest.raises(ValueError, match="whole number"):
        enc.encode(1.5)


def test_encode_many_and_encode_indices_agree_with_encode():
    enc = make()
    xs = np.random.default_rng(2).normal(0, 300, 200)
    rows = enc.encode_indices(xs)
    assert rows.shape == (200, 20) and rows.dtype == np.int32
    many = enc.encode_many(xs)
    for x, row, sdr in zip(xs, rows, many):
        assert sdr == enc.encode(float(x)) == SDR(1000, row)
    assert enc.encode_indices(np.array([])).shape == (0, 20)


@pytest.mark.parametrize("category", [False, True])
@pytest.mark.parametrize("size,active_bits", [(1000, 20), (37, 5), (16, 16), (9, 1)])
def test_kernel_matches_numpy_twin(category, size, active_bits):
    rng = np.random.default_rng(size + active_bits)
    buckets = np.concatenate(
        [rng.integers(-(2**40), 2**40, 50), np.arange(-30, 30), [0, -1, 2**51, -(2**51)]]
    ).astype(np.int64)
    key_seed = seed_hash(12345, salt=0x5D5E)
    out = np.empty((buckets.size, active_bits), dtype=np.int32)
    rdse_kernel(out, buckets, size, key_seed, category)
    np.testing.assert_array_equal(out, rdse_twin(buckets, active_bits, size, int(key_seed), category))
    if active_bits == size:
        # Every slot is a single bit: everything is active.
        assert np.all(out == np.arange(size))


def test_kernel_with_no_buckets_writes_nothing():
    out = np.empty((0, 4), dtype=np.int32)
    rdse_kernel(out, np.empty(0, dtype=np.int64), 100, seed_hash(0), False)
    assert out.shape == (0, 4)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_raise(bad):
    enc = make()
    with pytest.raises(ValueError, match="value"):
        enc.encode(bad)
    with pytest.raises(ValueError, match="value"):
        enc.encode_indices([1.0, bad])


@pytest.mark.parametrize("bad", ["3", None, [1.0], True])
def test_wrong_types_raise(bad):
    with pytest.raises(TypeError, match="value"):
        make().encode(bad)


def test_encode_indices_checks_shape_and_dtype():
    enc = make()
    with pytest.raises(ValueError, match="values"):
        enc.encode_indices(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="values"):
        enc.encode_indices(np.array(["a"]))
    with pytest.raises(ValueError, match="value"):
        enc.encode(1e300)


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(size=100, resolution=1.0), ValueError, "sparsity"),
        (dict(size=100, sparsity=0.1, active_bits=10, resolution=1.0), ValueError, "active_bits"),
        (dict(size=100, active_bits=10), ValueError, "resolution"),
        (dict(size=100, active_bits=10, resolution=1.0, radius=10.0), ValueError, "radius"),
        (dict(size=100, active_bits=101, resolution=1.0), ValueError, "active_bits"),
        (dict(size=100, active_bits=10, resolution=-1.0), ValueError, "resolution"),
        (dict(size=100, active_bits=10, resolution=math.nan), ValueError, "resolution"),
        (dict(size=100, sparsity=1.5, resolution=1.0), ValueError, "sparsity"),
        (dict(size=0, active_bits=1, resolution=1.0), ValueError, "size"),
        (dict(size=10.5, active_bits=1, resolution=1.0), TypeError, "size"),
        (dict(size=100, active_bits=10, resolution=1.0, seed="x"), TypeError, "seed"),
        (dict(size=100, active_bits=10, category=True, resolution=1.0), ValueError, "resolution"),
    ],
)
def test_constructor_validation(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        RDSE(**kwargs)


def test_generator_seed_is_drawn_once_and_reproducible():
    a = RDSE(200, active_bits=8, resolution=1.0, seed=np.random.default_rng(5))
    b = RDSE(200, active_bits=8, resolution=1.0, seed=np.random.default_rng(5))
    assert a.seed == b.seed and a.encode(3.0) == b.encode(3.0)
    assert "RDSE(size=200, active_bits=8, resolution=1" in repr(a)


def test_huge_python_ints_raise_value_error():
    with pytest.raises(ValueError, match="value"):
        make().encode(10**400)
