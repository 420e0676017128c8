"""PatchEncoder: similar patches overlap, unrelated ones do not, black vs white, input validation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.encoders import PatchEncoder


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), rgb=st.booleans())
def test_noisy_copy_overlaps_much_more_than_unrelated_patch(seed, rgb):
    shape = (6, 6, 3) if rgb else (6, 6)
    enc = PatchEncoder(shape, size=512, active_bits=16, seed=1)
    rng = np.random.default_rng(seed)
    patch = rng.uniform(0, 1, shape)
    noisy = np.clip(patch + rng.normal(0, 0.02, shape), 0, 1)
    other = rng.uniform(0, 1, shape)
    code = enc.encode(patch)
    assert code.size == 512 and code.num_active == 16
    similar, unrelated = code.overlap(enc.encode(noisy)), code.overlap(enc.encode(other))
    # Over 4000 random draws of this set-up: similar has median 13 and minimum 8, unrelated median 0, maximum 5.
    assert similar >= 7
    assert unrelated <= 6
    assert similar >= unrelated + 4


def test_unrelated_patches_overlap_at_chance_on_average():
    enc = PatchEncoder((6, 6, 3), size=512, active_bits=16, seed=0)
    rng = np.random.default_rng(3)
    overlaps = [enc.encode(rng.uniform(0, 1, (6, 6, 3))).overlap(enc.encode(rng.uniform(0, 1, (6, 6, 3))))
                for _ in range(200)]
    assert np.mean(overlaps) < enc.chance_overlap + 0.5


def test_overlap_falls_with_grey_level_difference_and_black_differs_from_white():
    enc = PatchEncoder((5, 5), size=512, active_bits=16, seed=2)
    black = enc.encode(np.zeros((5, 5), np.uint8))
    levels = [0, 10, 25, 60, 255]
    overlaps = [black.overlap(enc.encode(np.full((5, 5), v, np.uint8))) for v in levels]
    assert overlaps[0] == 16
    assert overlaps[0] > overlaps[1] > overlaps[3]
    assert overlaps[-1] <= 2


def test_same_patch_same_code_across_instances_and_dtypes():
    a, b = PatchEncoder((4, 4, 3), seed=9), PatchEncoder((4, 4, 3), seed=9)
    patch = np.random.default_rng(0).integers(0, 256, (4, 4, 3)).astype(np.uint8)
    assert a.encode(patch) == b.encode(patch) == a.encode(patch.astype(np.float64) / 255.0)
    assert PatchEncoder((4, 4, 3), seed=10).encode(patch) != a.encode(patch)


def test_grayscale_accepts_a_trailing_channel_axis():
    enc = PatchEncoder((3, 3), size=128, active_bits=8)
    patch = np.linspace(0, 1, 9).reshape(3, 3)
    assert enc.encode(patch) == enc.encode(patch[..., None])
    one = PatchEncoder((3, 3, 1), size=128, active_bits=8)
    assert one.encode(patch) == one.encode(patch[..., None])


@pytest.mark.parametrize(
    "bad,exc,word",
    [
        (np.zeros((4, 4)), ValueError, "shape"),
        (np.zeros((4, 4, 4)), ValueError, "shape"),
        (np.full((4, 4, 3), math.nan), ValueError, "finite"),
        (np.full((4, 4, 3), math.inf), ValueError, "finite"),
        (np.full((4, 4, 3), 1.5), ValueError, r"\[0, 1\]"),
        (np.zeros((4, 4, 3), dtype=np.int64), TypeError, "dtype"),
        (np.zeros((4, 4, 3), dtype=bool), TypeError, "dtype"),
        ([[0.0] * 3] * 16, TypeError, "numpy array"),
    ],
)
def test_bad_patches(bad, exc, word):
    with pytest.raises(exc, match=f"patch.*{word}|{word}.*patch"):
        PatchEncoder((4, 4, 3), size=64, active_bits=4).encode(bad)


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(patch_shape=(4,)), ValueError, "patch_shape"),
        (dict(patch_shape=(4, 0)), ValueError, "patch_shape"),
        (dict(patch_shape=(4, 4), size=10, active_bits=10), ValueError, "active_bits"),
        (dict(patch_shape=(4, 4), radius=0.0), ValueError, "radius"),
        (dict(patch_shape=(4, 4), radius=math.nan), ValueError, "radius"),
        (dict(patch_shape=(4, 4), features_per_pixel=0), ValueError, "features_per_pixel"),
    ],
)
def test_constructor_validation(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        PatchEncoder(**kwargs)


def test_repr():
    assert repr(PatchEncoder((4, 4, 3), size=64, active_bits=4, seed=1)) == (
        "PatchEncoder(patch_shape=(4, 4, 3), size=64, active_bits=4, radius=0.1, features_per_pixel=8, seed=1)"
    )
