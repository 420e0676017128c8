"""The grid-cell kernels agree with their slow NumPy twins on random and edge-case inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from htmagent.gridcells import _kernels as K
from htmagent.gridcells.geometry import (
    activation_radius2,
    default_active_firing_rate,
    default_bump_sigma,
    phase_per_world,
    search_window,
    smallest_singular_value,
    tile_basis,
)
from tests.reference import gridcells_twins as T


def _stack(rng, num_modules, n, tiling, scales=None):
    basis = np.stack([tile_basis(o, tiling) for o in rng.uniform(0, 2 * math.pi, num_modules)])
    scales = rng.uniform(5, 50, num_modules) if scales is None else scales
    ppw = np.stack([phase_per_world(s, b) for s, b in zip(scales, basis)])
    return basis, ppw


def _bumps(rng, num_modules, n, max_bumps):
    num = rng.integers(0, max_bumps + 1, num_modules).astype(np.int64)
    bumps = np.zeros((num_modules, n * n, 2))
    for m in range(num_modules):
        bumps[m, : num[m]] = rng.random((num[m], 2))
    return bumps, num


@pytest.mark.parametrize("tiling", ["hexagonal", "square"])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 10])
def test_activate_cells_matches_twin(tiling, n):
    rng = np.random.default_rng(n)
    for trial in range(15):
        m = int(rng.integers(1, 5))
        basis, _ = _stack(rng, m, n, tiling)
        bumps, num = _bumps(rng, m, n, max_bumps=min(6, n * n))
        sigma = default_bump_sigma(n) * rng.uniform(0.5, 2.0)
        rate = default_active_firing_rate(n, sigma) if trial % 2 else rng.uniform(0.05, 0.99)
        r2 = np.full(m, activation_radius2(sigma, rate))
        window = np.array([search_window(math.sqrt(r2[0]), b, n) for b in basis])
        active, learning = K.activate_cells(bumps, num, basis, r2, window, n)
        twin_active, twin_learning = T.activate_cells(bumps, num, basis, r2, n)
        np.testing.assert_array_equal(active, twin_active)
        np.testing.assert_array_equal(learning, twin_learning)


def test_activate_cells_edge_cases():
    n = 4
    basis = np.stack([tile_basis(0.3, "hexagonal")] * 2)
    r2 = np.array([0.02, 0.02])
    window = np.array([search_window(math.sqrt(0.02), basis[0], n)] * 2)
    empty = np.zeros((2, n * n, 2))
    active, learning = K.activate_cells(empty, np.zeros(2, dtype=np.int64), basis, r2, window, n)
    assert active.size == 0 and learning.size == 0
    # a bump on every cell centre (everything active), plus duplicate bumps on one cell in module 1
    centres = T.cell_phases(n)
    full = np.zeros((2, n * n, 2))
    full[0] = centres
    full[1, :3] = centres[5]
    num = np.array([n * n, 3], dtype=np.int64)
    active, learning = K.activate_cells(full, num, basis, r2, window, n)
    twin = T.activate_cells(full, num, basis, r2, n)
    np.testing.assert_array_equal(active, twin[0])
    np.testing.assert_array_equal(learning, twin[1])
    np.testing.assert_array_equal(learning, [*range(n * n), n * n + 5])
    assert set(range(n * n)) <= set(active.tolist())
    # a huge radius: every cell of both modules active, the window covering the whole sheet
    big = np.array([10.0, 10.0])
    active, _ = K.activate_cells(full, num, basis, big, np.array([100.0, 100.0]), n)
    np.testing.assert_array_equal(active, np.arange(2 * n * n))


def test_shift_bumps_matches_twin():
    rng = np.random.default_rng(3)
    for _ in range(20):
        m, n = int(rng.integers(1, 6)), int(rng.integers(1, 8))
        _, ppw = _stack(rng, m, n, "hexagonal")
        anchor, num = _bumps(rng, m, n, max_bumps=min(5, n * n))
        disp = rng.normal(0, 200, (m, 2))
        out = np.zeros_like(anchor)
        K.shift_bumps(out, anchor, num, ppw, disp)
        twin = T.shift_bumps(anchor, num, ppw, disp)
        for mod in range(m):
            np.testing.assert_array_equal(out[mod, : num[mod]], twin[mod, : num[mod]])
            assert np.all((out[mod, : num[mod]] >= 0) & (out[mod, : num[mod]] < 1))


def test_frac_never_returns_one():
    for x in [-1e-17, -1e-300, -0.0, 0.0, 1.0, -1.0, 2.9999999999999996, 1e15 + 0.5]:
        assert 0.0 <= K.frac(x) < 1.0
        assert 0.0 <= float(T.frac(np.array(x))) < 1.0
        assert K.frac(x) == float(T.frac(np.array(x)))


def test_anchor_bumps_matches_twin():
    rng = np.random.default_rng(4)
    n, m = 5, 4
    cases = [np.sort(rng.choice(m * n * n, size, replace=False)) for size in [0, 1, 3, 20, m * n * n]]
    cases.append(rng.integers(0, m * n * n, 30))  # unsorted, with repeats (one entry per active segment)
    cases.append(np.array([7, 7, 7, 3]))
    for supported in cases:
        supported = supported.astype(np.int32)
        anchor, num = _bumps(rng, m, n, max_bumps=3)
        disp = rng.normal(0, 10, (m, 2))
        twin = T.anchor_bumps(anchor, num, disp, supported, n)
        K.anchor_bumps(anchor, num, disp, supported, n)
        np.testing.assert_array_equal(num, twin[1])
        np.testing.assert_array_equal(disp, twin[2])
        for mod in range(m):
            np.testing.assert_array_equal(anchor[mod, : num[mod]], twin[0][mod, : num[mod]])


@pytest.mark.parametrize("tiling", ["hexagonal", "square"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_encode_points_matches_twin(tiling, dims):
    rng = np.random.default_rng(dims)
    n, m = 6, 3
    basis, ppw = _stack(rng, m, n, tiling)
    projections = np.stack([np.linalg.qr(rng.standard_normal((max(dims, 2), 2)))[0][:dims].T for _ in range(m)])
    offsets = rng.random((m, 2))
    points = rng.normal(0, 100, (60, dims))
    points[:5] = 0.0  # duplicates
    for k in [1, 4, 9, n * n]:
        guaranteed2 = np.array([(smallest_singular_value(b) * 2.5 / n) ** 2 for b in basis])
        out = K.encode_points(points, np.ascontiguousarray(projections), ppw, offsets, basis, n, k, guaranteed2, 2.5)
        twin = T.encode_points(points, projections, ppw, offsets, basis, n, k)
        np.testing.assert_array_equal(out, twin)
    empty = K.encode_points(np.zeros((0, dims)), np.ascontiguousarray(projections), ppw, offsets, basis, n, 3,
                            guaranteed2, 2.5)
    assert empty.shape == (0, 3 * m)
