"""Checking that a location code is unique: which points share a code, and how far apart they are.

Used by the tests and by ``scripts/bench_gridcells.py``. Codes are rows of active-cell indices (fixed width; a
variable-size code is padded with -1). Rows are hashed (64-bit, vectorised), sorted by hash, and equal neighbours
form groups of points with the same code; a group's *diameter* is the largest distance between two of its points.
Two different codes with the same 64-bit hash could split one group in two (odds about 1e-8 for 10^6 points), which
can only hide a collision's far member from the diameter, never invent a collision.
"""

from __future__ import annotations

import numpy as np

from htmagent.gridcells import _kernels as K
from htmagent.gridcells._population import GridCellPopulation

__all__ = ["code_groups", "colliding_pairs", "group_distances", "layer_codes", "collision_report"]

_MUL = np.uint64(0x9E3779B97F4A7C15)


def _hash_rows(codes: np.ndarray) -> np.ndarray:
    h = np.zeros(codes.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(codes.shape[1]):
            h = (h ^ codes[:, j].astype(np.int64).astype(np.uint64)) * _MUL
            h ^= h >> np.uint64(29)
    return h


def code_groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups of rows with identical codes (only groups of 2 or more).

    Returns:
        ``(order, starts)``: ``order`` lists row indices so that each group is contiguous; group ``g`` is
        ``order[starts[g]:starts[g + 1]]`` (``starts`` has one more entry than there are groups).
    """
    codes = np.asarray(codes)
    if codes.shape[0] < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    order = np.argsort(_hash_rows(codes), kind="stable")
    same = np.all(codes[order[1:]] == codes[order[:-1]], axis=1)
    # runs of True in `same` link consecutive rows into a group
    edges = np.diff(np.concatenate([[0], same.astype(np.int8), [0]]))
    run_starts = np.flatnonzero(edges == 1)
    run_ends = np.flatnonzero(edges == -1) + 1
    members = [order[s:e] for s, e in zip(run_starts, run_ends)]
    if not members:
        return np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    sizes = np.array([m.size for m in members])
    return np.concatenate(members), np.concatenate([[0], np.cumsum(sizes)])


def colliding_pairs(codes: np.ndarray) -> np.ndarray:
    """``(pairs, 2)`` row indices of every pair of rows with identical codes."""
    order, starts = code_groups(codes)
    pairs = []
    for g in range(starts.size - 1):
        members = order[starts[g] : starts[g + 1]]
        i, j = np.triu_indices(members.size, k=1)
        pairs.append(np.stack([members[i], members[j]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)


def group_distances(points: np.ndarray, order: np.ndarray, starts: np.ndarray, near: float,
                    budget: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the largest distance between two of its points, and the smallest one above ``near``.

    Groups of one size are processed together, in chunks of about ``budget`` point pairs.

    Returns:
        ``(diameters, closest_far)``; ``closest_far`` is ``inf`` for a group whose points all lie within ``near``.
    """
    sizes = np.diff(starts)
    diameters = np.zeros(sizes.size)
    closest_far = np.full(sizes.size, np.inf)
    for size in np.unique(sizes):
        groups = np.flatnonzero(sizes == size)
        chunk = max(1, budget // int(size) ** 2)
        for lo in range(0, groups.size, chunk):
            sel = groups[lo : lo + chunk]
            p = points[order[starts[sel][:, None] + np.arange(size)[None, :]]]
            d = np.linalg.norm(p[:, :, None, :] - p[:, None, :, :], axis=-1).reshape(sel.size, -1)
            diameters[sel] = d.max(axis=1)
            closest_far[sel] = np.where(d > near, d, np.inf).min(axis=1)
    return diameters, closest_far


def layer_codes(layer: GridCellPopulation, points: np.ndarray) -> np.ndarray:
    """Active cells the layer would show after moving from its current single-bump location by each of ``points``.

    Returns:
        ``(num_points, width)`` int32 rows of sorted active cells, padded with -1 (equal rows = equal codes).
    """
    if np.any(layer.bumps_per_module != 1):
        raise ValueError(f"layer must hold exactly one bump per module, got {layer.bumps_per_module.tolist()}")
    points = np.asarray(points, dtype=np.float64)
    m, cells = layer.num_modules, layer.module_size
    start = np.stack([layer.bump_phases(i)[0] for i in range(m)])  # (M, 2)
    shift = np.einsum("mij,pj->pmi", layer._phase_per_world, points)  # (P, M, 2)
    bumps = np.mod(start[None] + shift, 1.0).reshape(-1, 1, 2)
    bumps[bumps >= 1.0] = 0.0
    num = np.ones(bumps.shape[0], dtype=np.int64)
    basis = np.tile(layer._basis, (points.shape[0], 1, 1))
    active, _ = K.activate_cells(bumps, num, basis, np.tile(layer._radius2, points.shape[0]),
                                 np.tile(layer._window, points.shape[0]), layer.cells_per_axis)
    owner = active // (m * cells)
    counts = np.bincount(owner, minlength=points.shape[0])
    width = int(counts.max()) if counts.size else 0
    out = np.full((points.shape[0], width), -1, dtype=np.int32)
    slot = np.arange(active.size) - np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    out[owner, slot] = active - owner * m * cells
    return out


def collision_report(points: np.ndarray, codes: np.ndarray, near: float) -> dict:
    """Summary of shared codes: how many groups, the widest, and the closest pair sharing a code beyond ``near``.

    ``closest_far_collision`` is the smallest distance above ``near`` between two points with the same code (NaN if
    there is none): the distance at which the code first repeats.
    """
    order, starts = code_groups(codes)
    diameters, closest_far = group_distances(points, order, starts, near)
    far = np.isfinite(closest_far)
    return {
        "points": int(points.shape[0]),
        "shared_code_groups": int(diameters.size),
        "largest_shared_code_diameter": float(diameters.max()) if diameters.size else 0.0,
        "groups_wider_than_near": int(far.sum()),
        "closest_far_collision": float(closest_far[far].min()) if far.any() else float("nan"),
    }
