"""CategoryEncoder: distinct categories do not overlap, codes are stable, unknown categories are handled."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.encoders import CategoryEncoder


def test_disjoint_codes_when_they_fit():
    enc = CategoryEncoder(["red", "green", "blue", "cyan"], size=100, active_bits=20, seed=3)
    codes = [enc.encode(c) for c in enc.categories]
    for i, a in enumerate(codes):
        assert a.num_active == 20 and a.size == 100
        for b in codes[i + 1 :]:
            assert a.overlap(b) == 0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(20, 60))
def test_random_codes_when_crowded_overlap_near_chance(seed, n):
    enc = CategoryEncoder(num_categories=n, size=200, active_bits=10, seed=seed)
    codes = [enc.encode(i) for i in range(n)]
    assert all(c.num_active == 10 for c in codes)
    overlaps = [codes[i].overlap(codes[j]) for i in range(n) for j in range(i + 1, n)]
    # Chance is 10 * 10 / 200 = 0.5; same category overlaps fully, so similar (identical) > dissimilar.
    assert np.mean(overlaps) < 1.0
    assert max(overlaps) < 10


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), cat=st.integers(0, 9))
def test_same_category_same_code_across_instances(seed, cat):
    a = CategoryEncoder(num_categories=10, size=300, active_bits=15, seed=seed)
    b = CategoryEncoder(num_categories=10, size=300, active_bits=15, seed=seed)
    assert a.encode(cat) == b.encode(cat) == a.encode(np.int64(cat))


def test_unknown_category_raises_naming_it_or_is_hashed():
    enc = CategoryEncoder(["a", "b"], size=60, active_bits=10)
    with pytest.raises(KeyError, match="'zebra'"):
        enc.encode("zebra")
    hashed = CategoryEncoder(["a", "b"], size=60, active_bits=10, unknown="hash", seed=1)
    z = hashed.encode("zebra")
    assert z.num_active == 10 and z == hashed.encode("zebra")
    assert z == CategoryEncoder(["a", "b"], size=60, active_bits=10, unknown="hash", seed=1).encode("zebra")
    assert z != hashed.encode("yak")


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(), ValueError, "categories"),
        (dict(categories=["a"], num_categories=1), ValueError, "num_categories"),
        (dict(categories=[]), ValueError, "categories"),
        (dict(categories="abc"), TypeError, "categories"),
        (dict(categories=["a", "a"]), ValueError, "unique"),
        (dict(categories=[[1], [2]]), TypeError, "hashable"),
        (dict(num_categories=0), ValueError, "num_categories"),
        (dict(num_categories=2, size=10, active_bits=11), ValueError, "active_bits"),
        (dict(num_categories=2, unknown="ignore"), ValueError, "unknown"),
        (dict(num_categories=2, seed=-1), ValueError, "seed"),
    ],
)
def test_constructor_validation(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        CategoryEncoder(**kwargs)


def test_bad_values():
    enc = CategoryEncoder(num_categories=3, size=30, active_bits=5)
    with pytest.raises(TypeError, match="value"):
        enc.encode([1])
    with pytest.raises(ValueError, match="value"):
        enc.encode(math.nan)
    assert "CategoryEncoder(num_categories=3, size=30, active_bits=5" in repr(enc)
