"""Slow, obvious NumPy twins of ``htmagent.gridcells._kernels``: every cell against every bump, no search window."""

from __future__ import annotations

import numpy as np


def frac(x: np.ndarray) -> np.ndarray:
    r = x - np.floor(x)
    return np.where(r >= 1.0, 0.0, r)


def cell_phases(n: int) -> np.ndarray:
    """``(n * n, 2)`` phases of the cells, cell ``i * n + j`` at ``((i + .5) / n, (j + .5) / n)``."""
    axis = (np.arange(n) + 0.5) / n
    return np.stack([np.repeat(axis, n), np.tile(axis, n)], axis=1)


def torus_dist2(q: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Squared shortest distance for phase offsets ``q`` (``(..., 2)`` in ``[0, 1)``) over the 4 tile corners."""
    best = np.full(q.shape[:-1], np.inf)
    for c0 in (0, 1):
        for c1 in (0, 1):
            x = q[..., 0] - c0
            y = q[..., 1] - c1
            wx = basis[0, 0] * x + basis[0, 1] * y
            wy = basis[1, 0] * x + basis[1, 1] * y
            best = np.minimum(best, wx * wx + wy * wy)
    return best


def shift_bumps(anchor_phases, num_bumps, phase_per_world, displacement):
    out = np.zeros_like(anchor_phases)
    for m in range(anchor_phases.shape[0]):
        a = phase_per_world[m]
        shift = np.array([a[0, 0] * displacement[m, 0] + a[0, 1] * displacement[m, 1],
                          a[1, 0] * displacement[m, 0] + a[1, 1] * displacement[m, 1]])
        k = num_bumps[m]
        out[m, :k] = frac(anchor_phases[m, :k] + shift)
    return out


def anchor_bumps(anchor_phases, num_bumps, displacement, supported, n):
    anchor_phases, num_bumps, displacement = anchor_phases.copy(), num_bumps.copy(), displacement.copy()
    cells = n * n
    phases = cell_phases(n)
    for m in range(anchor_phases.shape[0]):
        mine = sorted({int(c) - m * cells for c in supported if c // cells == m})
        if mine:
            anchor_phases[m, :len(mine)] = phases[mine]
            num_bumps[m] = len(mine)
            displacement[m] = 0.0
    return anchor_phases, num_bumps, displacement


def distances(bumps: np.ndarray, basis: np.ndarray, n: int) -> np.ndarray:
    """``(cells, bumps)`` squared torus distances of every cell to every bump of one module."""
    cells = cell_phases(n)
    q = frac(cells[:, None, :] - bumps[None, :, :])
    return torus_dist2(q, basis)


def activate_cells(bumps, num_bumps, basis, radius2, n):
    active, learning = [], []
    cells = n * n
    for m in range(bumps.shape[0]):
        k = num_bumps[m]
        if k == 0:
            continue
        d2 = distances(bumps[m, :k], basis[m], n)
        nearest = d2.min(axis=1)
        active.extend((np.flatnonzero(nearest <= radius2[m]) + m * cells).tolist())
        learning.extend((np.unique(np.argmin(d2, axis=0)) + m * cells).tolist())
    return np.array(sorted(active), dtype=np.int32), np.array(sorted(learning), dtype=np.int32)


def encode_points(points, projections, phase_per_world, phase_offsets, basis, n, k):
    num_modules = projections.shape[0]
    out = np.empty((points.shape[0], num_modules * k), dtype=np.int32)
    cells = n * n
    for p, x in enumerate(points):
        row = []
        for m in range(num_modules):
            x0 = x1 = 0.0
            for d in range(x.shape[0]):  # the kernel's summation order, so phases agree to the last bit
                x0 += projections[m, 0, d] * x[d]
                x1 += projections[m, 1, d] * x[d]
            a = phase_per_world[m]
            phase = frac(np.array([a[0, 0] * x0 + a[0, 1] * x1 + phase_offsets[m, 0],
                                   a[1, 0] * x0 + a[1, 1] * x1 + phase_offsets[m, 1]]))
            d2 = distances(phase[None, :], basis[m], n)[:, 0]
            order = np.lexsort((np.arange(cells), d2))[:k]
            row.extend(np.sort(order) + m * cells)
        out[p] = row
    return out
