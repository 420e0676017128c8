"""numba kernels of the grid-cell modules: bump shifting, cell activation and the encoder's top-k readout.

Geometry shared by every kernel. A module of ``n x n`` cells tiles the plane with a rhombus (hexagonal tiling) or
a square. A point of the tile is a *phase* ``p`` in ``[0, 1)^2``; ``basis`` (2x2, columns = the tile's edge vectors
in rhombus-edge units) maps a phase difference to a world displacement with the scale divided out. Cell ``i * n + j``
sits at phase ``((i + 0.5) / n, (j + 0.5) / n)``. The distance between two phases is the shortest one on the torus:
with ``q = frac(a - b)``, the nearest lattice image is one of the four corners of the tile that holds ``q`` (the
rhombus splits into two equilateral triangles, the square into itself), so the squared distance is the minimum of
``|basis @ (q - c)|^2`` over ``c`` in ``{0, 1}^2``. Distances are compared squared, never through ``exp``, so a
threshold is decided on the same number in a kernel and in its NumPy twin (up to the last bit where a kernel's search
block measures the nearest lattice image directly instead of through ``frac``).

Stacked arrays: ``M`` modules are processed in one call. ``bumps`` has shape ``(M, capacity, 2)`` and
``num_bumps[m]`` rows of module ``m`` are in use; cell ``c`` of module ``m`` has the global index ``m * n * n + c``.
"""

from __future__ import annotations

import math

import numpy as np

from htmagent._numba import kernel

__all__ = ["frac", "torus_dist2", "shift_bumps", "anchor_bumps", "activate_cells", "encode_points"]


@kernel
def frac(x):
    """``x mod 1`` in ``[0, 1)`` (``x - floor(x)`` can round up to 1.0 for tiny negative ``x``; that is 0.0)."""
    r = x - math.floor(x)
    if r >= 1.0:
        return 0.0
    return r


@kernel
def torus_dist2(q0, q1, b00, b01, b10, b11):
    """Squared shortest world distance of the phase offset ``(q0, q1)`` (in ``[0, 1)^2``) to the lattice."""
    best = np.inf
    for c0 in range(2):
        x = q0 - c0
        for c1 in range(2):
            y = q1 - c1
            wx = b00 * x + b01 * y
            wy = b10 * x + b11 * y
            d2 = wx * wx + wy * wy
            if d2 < best:
                best = d2
    return best


@kernel
def shift_bumps(out_phases, anchor_phases, num_bumps, phase_per_world, displacement):
    """Path integration: ``out_phases[m, b] = frac(anchor_phases[m, b] + phase_per_world[m] @ displacement[m])``.

    Args:
        out_phases: ``(M, capacity, 2)`` float64, written for the rows in use.
        anchor_phases: ``(M, capacity, 2)`` phases of the bumps when they were last anchored.
        num_bumps: ``(M,)`` rows in use per module.
        phase_per_world: ``(M, 2, 2)`` matrices ``A`` that turn a world displacement into a phase shift.
        displacement: ``(M, 2)`` world displacement integrated since the last anchoring.
    """
    for m in range(anchor_phases.shape[0]):
        s0 = phase_per_world[m, 0, 0] * displacement[m, 0] + phase_per_world[m, 0, 1] * displacement[m, 1]
        s1 = phase_per_world[m, 1, 0] * displacement[m, 0] + phase_per_world[m, 1, 1] * displacement[m, 1]
        for b in range(num_bumps[m]):
            out_phases[m, b, 0] = frac(anchor_phases[m, b, 0] + s0)
            out_phases[m, b, 1] = frac(anchor_phases[m, b, 1] + s1)


@kernel
def anchor_bumps(anchor_phases, num_bumps, displacement, supported, n):
    """Sensory anchoring: each module with supported cells gets one bump centred on each of them.

    In every module that holds at least one of the ``supported`` cells, the bumps are replaced by bumps at those
    cells' phases, in cell order, one per distinct cell (so the union never holds duplicates), and the integrated
    displacement restarts at zero. Modules with no supported cell keep their path-integrated bumps.

    Args:
        anchor_phases: ``(M, n * n, 2)`` bump phases at the last anchoring (mutated).
        num_bumps: ``(M,)`` bumps in use (mutated).
        displacement: ``(M, 2)`` world displacement integrated since the last anchoring (mutated).
        supported: global cell indices, any order, repeats allowed (one per active segment).
        n: cells per axis.
    """
    cells = n * n
    num_modules = anchor_phases.shape[0]
    is_supported = np.zeros(num_modules * cells, dtype=np.bool_)
    touched = np.zeros(num_modules, dtype=np.bool_)
    for c in supported:
        is_supported[c] = True
        touched[c // cells] = True
    for m in range(num_modules):
        if not touched[m]:
            continue
        count = 0
        for c in range(cells):
            if is_supported[m * cells + c]:
                anchor_phases[m, count, 0] = (c // n + 0.5) / n
                anchor_phases[m, count, 1] = (c % n + 0.5) / n
                count += 1
        num_bumps[m] = count
        displacement[m, 0] = 0.0
        displacement[m, 1] = 0.0


@kernel
def activate_cells(bumps, num_bumps, basis, radius2, window, n):
    """Active and learning cells of ``M`` modules from their bumps (firing rate from the nearest bump).

    A cell is active when its squared torus distance to its nearest bump is at most ``radius2[m]`` (the Gaussian
    rate ``exp(-d^2 / 2 sigma^2)`` is then at or above the threshold). Only cells within ``window[m]`` cells of a
    bump along each phase axis are examined; ``window`` must bound ``sqrt(radius2) / smallest singular value of
    basis * n`` so that no active cell lies outside it (when the block would cover a whole axis, every cell is
    examined against all four tile corners instead). The learning cell of a bump is the cell nearest its centre
    (one of the four cells around it; ties go to the lower index); several bumps may share one.

    Args:
        bumps: ``(M, capacity, 2)`` current bump phases.
        num_bumps: ``(M,)`` bumps in use per module.
        basis: ``(M, 2, 2)`` phase-to-world matrices (scale divided out).
        radius2: ``(M,)`` squared activation radius in rhombus-edge units.
        window: ``(M,)`` half-width of the searched block, in cells.
        n: cells per axis.

    Returns:
        ``(active, learning)``: sorted global cell indices (``int32``).
    """
    num_modules = bumps.shape[0]
    cells = n * n
    best = np.empty(cells, dtype=np.float64)
    is_learning = np.zeros(cells, dtype=np.bool_)
    active = np.empty(num_modules * cells, dtype=np.int32)
    learning = np.empty(num_modules * cells, dtype=np.int32)
    num_active = 0
    num_learning = 0
    for m in range(num_modules):
        b00 = basis[m, 0, 0]
        b01 = basis[m, 0, 1]
        b10 = basis[m, 1, 0]
        b11 = basis[m, 1, 1]
        g = b00 * b01 + b10 * b11  # cosine of the angle between the tile's edges (0.5 hexagonal, 0 square)
        best[:] = np.inf
        is_learning[:] = False
        for b in range(num_bumps[m]):
            p0 = bumps[m, b, 0]
            p1 = bumps[m, b, 1]
            u0 = p0 * n - 0.5
            u1 = p1 * n - 0.5
            lo0 = int(math.floor(u0 - window[m]))
            hi0 = int(math.ceil(u0 + window[m]))
            lo1 = int(math.floor(u1 - window[m]))
            hi1 = int(math.ceil(u1 + window[m]))
            if hi0 - lo0 + 1 < n and hi1 - lo1 + 1 < n:
                # Each cell appears once in the block, at the lattice image nearest the bump among those within
                # the window; any image within the activation radius is in the block, so measuring that one image
                # decides the threshold exactly (distances beyond the radius may be overestimated: harmless).
                # Along a row of fixed phase offset x, |basis @ (x, y)|^2 = x^2 + 2 g x y + y^2 <= radius2 only for
                # y within -g x +- sqrt(radius2 - (1 - g^2) x^2): only those cells are measured (the 1e-9 cell margin
                # keeps rounding from dropping a cell on the boundary).
                for i in range(lo0, hi0 + 1):
                    ci = i % n
                    x = (i + 0.5) / n - p0
                    disc = radius2[m] - (1.0 - g * g) * x * x
                    if disc < -1e-12:
                        continue
                    half = math.sqrt(max(disc, 0.0))
                    first = max(lo1, int(math.ceil((p1 - g * x - half) * n - 0.5 - 1e-9)))
                    last = min(hi1, int(math.floor((p1 - g * x + half) * n - 0.5 + 1e-9)))
                    for j in range(first, last + 1):
                        y = (j + 0.5) / n - p1
                        wx = b00 * x + b01 * y
                        wy = b10 * x + b11 * y
                        d2 = wx * wx + wy * wy
                        c = ci * n + j % n
                        if d2 < best[c]:
                            best[c] = d2
            else:
                for ci in range(n):
                    q0 = frac((ci + 0.5) / n - p0)
                    for cj in range(n):
                        q1 = frac((cj + 0.5) / n - p1)
                        d2 = torus_dist2(q0, q1, b00, b01, b10, b11)
                        c = ci * n + cj
                        if d2 < best[c]:
                            best[c] = d2
            f0 = int(math.floor(u0))
            f1 = int(math.floor(u1))
            nearest = -1
            nearest_d2 = np.inf
            for a0 in range(2):
                ci = (f0 + a0) % n
                q0 = frac((ci + 0.5) / n - p0)
                for a1 in range(2):
                    cj = (f1 + a1) % n
                    q1 = frac((cj + 0.5) / n - p1)
                    d2 = torus_dist2(q0, q1, b00, b01, b10, b11)
                    c = ci * n + cj
                    if d2 < nearest_d2 or (d2 == nearest_d2 and c < nearest):
                        nearest_d2 = d2
                        nearest = c
            is_learning[nearest] = True
        offset = m * cells
        for c in range(cells):
            if best[c] <= radius2[m]:
                active[num_active] = offset + c
                num_active += 1
            if is_learning[c]:
                learning[num_learning] = offset + c
                num_learning += 1
    return active[:num_active].copy(), learning[:num_learning].copy()


@kernel
def encode_points(points, projections, phase_per_world, phase_offsets, basis, n, k, guaranteed2, window):
    """Grid-cell code of many points: per module, the ``k`` cells nearest the point's phase.

    Each point ``x`` (``D`` coordinates) is projected onto module ``m``'s plane (``projections[m] @ x``), turned
    into a phase ``frac(phase_per_world[m] @ plane_point + phase_offsets[m])``, and the ``k`` cells with the smallest
    torus distance to it become active (ties to the lower index). The search looks at the block of cells within
    ``window`` cells of the phase; if the ``k``-th distance found exceeds ``guaranteed2[m]`` (the squared radius that
    block is sure to contain) the module is searched exhaustively, so the result never depends on the shortcut.

    Args:
        points: ``(P, D)`` float64 coordinates.
        projections: ``(M, 2, D)`` projection of a point onto each module's plane.
        phase_per_world: ``(M, 2, 2)``.
        phase_offsets: ``(M, 2)`` each module's phase at the origin.
        basis: ``(M, 2, 2)``.
        n: cells per axis.
        k: active cells per module (``1 <= k <= n * n``).
        guaranteed2: ``(M,)`` squared distance within which every cell lies inside the searched block.
        window: half-width of the searched block, in cells.

    Returns:
        ``(P, M * k)`` int32: each row the sorted global indices of one point's active cells.
    """
    num_points = points.shape[0]
    dims = points.shape[1]
    num_modules = projections.shape[0]
    cells = n * n
    out = np.empty((num_points, num_modules * k), dtype=np.int32)
    top_d2 = np.empty(k, dtype=np.float64)
    top_c = np.empty(k, dtype=np.int64)
    for p in range(num_points):
        for m in range(num_modules):
            x0 = 0.0
            x1 = 0.0
            for d in range(dims):
                x0 += projections[m, 0, d] * points[p, d]
                x1 += projections[m, 1, d] * points[p, d]
            p0 = frac(phase_per_world[m, 0, 0] * x0 + phase_per_world[m, 0, 1] * x1 + phase_offsets[m, 0])
            p1 = frac(phase_per_world[m, 1, 0] * x0 + phase_per_world[m, 1, 1] * x1 + phase_offsets[m, 1])
            b00 = basis[m, 0, 0]
            b01 = basis[m, 0, 1]
            b10 = basis[m, 1, 0]
            b11 = basis[m, 1, 1]
            u0 = p0 * n - 0.5
            u1 = p1 * n - 0.5
            for attempt in range(2):
                if attempt == 0:
                    lo0 = int(math.floor(u0 - window))
                    hi0 = int(math.ceil(u0 + window))
                    lo1 = int(math.floor(u1 - window))
                    hi1 = int(math.ceil(u1 + window))
                    if hi0 - lo0 + 1 >= n or hi1 - lo1 + 1 >= n:
                        continue
                else:
                    lo0 = 0
                    hi0 = n - 1
                    lo1 = 0
                    hi1 = n - 1
                top_d2[:] = np.inf
                top_c[:] = cells
                for i in range(lo0, hi0 + 1):
                    ci = i % n
                    q0 = frac((ci + 0.5) / n - p0)
                    for j in range(lo1, hi1 + 1):
                        cj = j % n
                        q1 = frac((cj + 0.5) / n - p1)
                        d2 = torus_dist2(q0, q1, b00, b01, b10, b11)
                        c = ci * n + cj
                        # insertion into the k best, ordered by (distance, cell index)
                        if d2 < top_d2[k - 1] or (d2 == top_d2[k - 1] and c < top_c[k - 1]):
                            s = k - 1
                            while s > 0 and (d2 < top_d2[s - 1] or (d2 == top_d2[s - 1] and c < top_c[s - 1])):
                                top_d2[s] = top_d2[s - 1]
                                top_c[s] = top_c[s - 1]
                                s -= 1
                            top_d2[s] = d2
                            top_c[s] = c
                if attempt == 0 and top_d2[k - 1] > guaranteed2[m]:
                    continue
                break
            # the k cells in index order (insertion sort: k is small)
            base = m * k
            for s in range(k):
                c = top_c[s]
                t = s
                while t > 0 and out[p, base + t - 1] > m * cells + c:
                    out[p, base + t] = out[p, base + t - 1]
                    t -= 1
                out[p, base + t] = m * cells + c
    return out
