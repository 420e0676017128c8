"""SDR and SDRMetrics: constructors, validation, set operations, equality, repr, metrics."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.sdr import SDR, SDRMetrics, as_sdr

index_sets = st.sets(st.integers(0, 99), max_size=30)


def test_constructor_sorts_and_freezes():
    sdr = SDR(10, [5, 1, 3])
    assert sdr.sparse.tolist() == [1, 3, 5] and sdr.sparse.dtype == np.int32
    assert not sdr.sparse.flags.writeable and not sdr.dense.flags.writeable
    assert sdr.size == len(sdr) == 10 and sdr.shape == (10,) and sdr.num_active == 3
    assert sdr.sparsity == pytest.approx(0.3)
    assert sdr.dense.tolist() == [0, 1, 0, 1, 0, 1, 0, 0, 0, 0] and sdr.dense.dtype == np.uint8
    assert SDR(10).num_active == 0 and SDR(10, []).num_active == 0


def test_shaped_sdr_views():
    sdr = SDR((2, 3), [1, 5])
    assert sdr.size == 6 and sdr.shape == (2, 3)
    assert sdr.dense.tolist() == [[0, 1, 0], [0, 0, 1]]
    rows, cols = sdr.coordinates
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 2]
    flat = sdr.reshape(6)
    assert flat.shape == (6,) and flat == sdr
    with pytest.raises(ValueError, match="shape"):
        sdr.reshape((4, 2))


@pytest.mark.parametrize(
    "size,sparse,exc,word",
    [
        (10, [10], ValueError, "out of range"),
        (10, [-1], ValueError, "out of range"),
        (10, [2, 2], ValueError, "unique"),
        (10, [1.0, 2.0], TypeError, "integer"),
        (10, [[1, 2]], ValueError, "1-D"),
        (0, [], ValueError, "size"),
        ((2, 0), [], ValueError, "size"),
        (2.5, [], TypeError, "size"),
        (True, [], TypeError, "size"),
        ((), [], TypeError, "size"),
    ],
)
def test_constructor_validation(size, sparse, exc, word):
    with pytest.raises(exc, match=word):
        SDR(size, sparse)


def test_from_dense_and_from_sparse():
    dense = np.array([[0, 1], [1, 0]], dtype=bool)
    sdr = SDR.from_dense(dense)
    assert sdr.shape == (2, 2) and sdr.sparse.tolist() == [1, 2]
    assert SDR.from_dense([0.0, 2.5, 0.0], shape=(3,)).sparse.tolist() == [1]
    assert SDR.from_sparse(4, [3, 0]) == SDR(4, [0, 3])
    with pytest.raises(ValueError, match="empty"):
        SDR.from_dense([])
    with pytest.raises(ValueError, match="NaN"):
        SDR.from_dense([0.0, math.nan])
    with pytest.raises(ValueError, match="elements"):
        SDR.from_dense([0, 1, 0], shape=(2, 2))
    with pytest.raises(TypeError, match="dtype"):
        SDR.from_dense(np.array(["a", "b"]))


def test_random_is_seeded_and_exact():
    a, b = SDR.random(1000, 0.02, seed=3), SDR.random(1000, 0.02, seed=3)
    assert a == b and a.num_active == 20
    assert SDR.random(1000, 0.02, seed=4) != a
    assert SDR.random((4, 5), 0.5, seed=0).shape == (4, 5)
    assert SDR.random(10, 0.0, seed=0).num_active == 0 and SDR.random(10, 1.0, seed=0).num_active == 10
    for bad in (-0.1, 1.5, "x"):
        with pytest.raises(ValueError, match="sparsity"):
            SDR.random(10, bad, seed=0)


@settings(max_examples=60, deadline=None)
@given(a=index_sets, b=index_sets, c=index_sets)
def test_set_operations_match_python_sets(a, b, c):
    sa, sb, sc = SDR(100, sorted(a)), SDR(100, sorted(b)), SDR(100, sorted(c))
    assert sa.overlap(sb) == len(a & b)
    assert set(sa.union(sb, sc).sparse.tolist()) == a | b | c
    assert set(sa.intersection(sb, sc).sparse.tolist()) == a & b & c
    assert sa.union().sparse.tolist() == sorted(a)
    assert (sa == sb) == (a == b)
    assert (hash(sa) == hash(sb)) or a != b
    assert all((i in sa) == (i in a) for i in range(-2, 102))


def test_operations_reject_other_sizes_and_types():
    a = SDR(10, [1])
    with pytest.raises(ValueError, match="size 10"):
        a.overlap(SDR(11, [1]))
    with pytest.raises(ValueError, match="size 10"):
        a.union(SDR(11))
    with pytest.raises(TypeError, match="SDR"):
        a.intersection([1])
    assert (a == [1]) is False
    assert "x" not in a


def test_concatenate_offsets_parts():
    joined = SDR.concatenate([SDR(3, [0, 2]), SDR((2, 2), [1]), SDR(5, [4])])
    assert joined.size == 12 and joined.shape == (12,)
    assert joined.sparse.tolist() == [0, 2, 4, 11]
    with pytest.raises(ValueError, match="at least one"):
        SDR.concatenate([])
    with pytest.raises(TypeError, match=r"sdrs\[1\]"):
        SDR.concatenate([SDR(3), [1]])


def test_repr_shows_shape_count_and_first_indices():
    assert repr(SDR(10, [1, 3])) == "SDR(10, active=2, sparse=[1, 3])"
    assert repr(SDR((2, 5), [1])) == "SDR((2, 5), active=1, sparse=[1])"
    assert repr(SDR(100, range(20))).endswith("10, 11, ...])")


def test_as_sdr_validates_indices():
    sdr = SDR(10, [1, 2])
    assert as_sdr(sdr, 10, "x") is sdr
    assert as_sdr([1, 4], 10, "x") == SDR(10, [1, 4])
    assert as_sdr([], 10, "x").num_active == 0
    with pytest.raises(ValueError, match="x must be an SDR of size 10, got size 5"):
        as_sdr(SDR(5), 10, "x")
    with pytest.raises(ValueError, match="x indices must be sorted"):
        as_sdr([3, 1], 10, "x")
    with pytest.raises(ValueError, match="x indices must be sorted"):
        as_sdr([1, 1], 10, "x")
    with pytest.raises(ValueError, match=r"x indices must lie in \[0, 10\)"):
        as_sdr([1, 10], 10, "x")
    with pytest.raises(TypeError, match="x must hold integer"):
        as_sdr([1.0], 10, "x")
    with pytest.raises(ValueError, match="1-D"):
        as_sdr([[1]], 10, "x")
    with pytest.raises(TypeError, match="x must be an SDR"):
        as_sdr("12", 10, "x")


def test_as_sdr_rejects_unsorted_unsigned_indices():
    with pytest.raises(ValueError, match="sorted"):
        as_sdr(np.array([5, 2], dtype=np.uint32), 10, "x")


def test_as_sdr_rejects_zero_dimensional_arrays_with_value_error():
    with pytest.raises(ValueError, match="x"):
        as_sdr(np.array(5), 10, "x")


def test_metrics_track_sparsity_frequency_overlap_and_entropy():
    m = SDRMetrics(10, period=1000)
    assert m.summary()["steps"] == 0 and m.entropy == 0.0 and m.overlap == (0.0, 0.0, 0.0)
    m.add(SDR(10, [0, 1]))
    m.add(SDR(10, [1, 2, 3, 4]))
    m.add([2, 3])
    s = m.summary()
    assert s["steps"] == 3
    assert (s["sparsity_min"], s["sparsity_max"]) == (0.2, 0.4)
    assert s["sparsity_mean"] == pytest.approx((0.2 + 0.4 + 0.2) / 3)
    # Overlap with the previous step, as a fraction of the previous step's bits: 1/2, then 2/4.
    assert m.overlap == pytest.approx((0.5, 0.5, 0.5))
    # While steps < period the moving average is the plain mean.
    np.testing.assert_allclose(m.activation_frequency, np.array([1, 2, 2, 2, 1, 0, 0, 0, 0, 0]) / 3)
    assert 0.0 < m.entropy < 1.0
    assert "SDR metrics over 3 steps (10 bits)" in str(m)
    m.reset()
    assert m.steps == 0 and m.activation_frequency.sum() == 0


def test_metrics_entropy_is_one_for_even_usage():
    m = SDRMetrics(4)
    for t in range(8):
        m.add(SDR(4, [t % 4]))
    assert m.entropy == pytest.approx(1.0)


def test_metrics_validation():
    with pytest.raises(ValueError, match="size"):
        SDRMetrics(0)
    with pytest.raises(ValueError, match="period"):
        SDRMetrics(10, period=0)
    with pytest.raises(ValueError, match="sdr must be an SDR of size 10"):
        SDRMetrics(10).add(SDR(11))


def test_from_dense_rejects_a_scalar():
    with pytest.raises(ValueError, match="dense must be an array"):
        SDR.from_dense(np.array(1))


def test_size_beyond_int32_indices_is_rejected():
    with pytest.raises(ValueError, match="at most 2147483647 bits"):
        SDR(2**31 + 5, [2**31 + 1])


def test_constructor_takes_dense_bits_too():
    assert SDR(10, dense=[0, 1, 0, 0, 1, 0, 0, 0, 0, 0]).sparse.tolist() == [1, 4]
    assert SDR((2, 3), dense=np.array([[0, 0, 1], [1, 0, 0]], dtype=bool)).sparse.tolist() == [2, 3]
    with pytest.raises(ValueError, match="dense has 2 elements, expected 10"):
        SDR(10, dense=[1, 0])
    with pytest.raises(ValueError, match="sparse .* or dense .*, got both"):
        SDR(10, [1], dense=[0] * 10)
