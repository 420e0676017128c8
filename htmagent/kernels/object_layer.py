"""numba kernels of the L2/3 object layer (column pooler).

Synapses are stored twice, each layout suited to one job:

- **cell-major** ``(pre[cell, slot], perm[cell, slot], count[cell])`` for learning, where the active cells (about 40)
  each update their own synapse list;
- **presynaptic-major** CSR of the *connected* synapses ``(indptr[pre], post[...])`` for inference, where each active
  input (20 to a few hundred bits) adds one vote to every cell it connects to. It is rebuilt after learning.

Twins: ``tests/reference/object_layer_twins.py``.
"""

from __future__ import annotations

import numpy as np

from htmagent._numba import kernel
from htmagent.kernels.connections import input_changes


@kernel
def learn_synapses(pre, perm, count, active_cells, active_input_mask, candidates, rand_keys, sample_size,
                   initial_permanence, permanence_increment, permanence_decrement):
    """Hebbian update of the synapse lists of ``active_cells`` (in place).

    For each active cell: synapses onto active inputs gain ``permanence_increment`` (capped at 1), the others lose
    ``permanence_decrement`` and vanish at 0; then ``sample_size`` minus the number of synapses onto active inputs new
    synapses grow, at ``initial_permanence``, to ``candidates`` the cell does not yet reach, choosing the candidates
    with the smallest ``rand_keys[i, j]`` (a uniform random sample, drawn by the caller).

    Args:
        pre: (cells, capacity) int32 presynaptic indices (mutated).
        perm: (cells, capacity) float32 permanences (mutated).
        count: (cells,) int32 number of used slots per cell (mutated); ``count + sample_size <= capacity`` is the
            caller's duty.
        active_cells: int32 cells that learn.
        active_input_mask: bool dense mask of the active presynaptic bits.
        candidates: int32 sorted unique growth candidates.
        rand_keys: (len(active_cells), len(candidates)) float64 random keys.
        sample_size: target number of synapses onto active inputs per cell.
        initial_permanence, permanence_increment, permanence_decrement: learning rates.
    """
    reached = np.zeros(active_input_mask.shape[0], dtype=np.bool_)
    for i in range(active_cells.shape[0]):
        c = active_cells[i]
        write = 0
        existing = 0
        for k in range(count[c]):
            p = pre[c, k]
            v = np.float64(perm[c, k])
            if active_input_mask[p]:
                v = min(1.0, v + permanence_increment)
                existing += 1
            else:
                v = v - permanence_decrement
                if v <= 0.0:
                    continue
            pre[c, write] = p
            perm[c, write] = v
            reached[p] = True
            write += 1
        count[c] = write
        max_new = sample_size - existing
        if max_new > 0 and candidates.shape[0] > 0:
            eligible = np.empty(candidates.shape[0], dtype=np.int64)
            n_eligible = 0
            for j in range(candidates.shape[0]):
                if not reached[candidates[j]]:
                    eligible[n_eligible] = j
                    n_eligible += 1
            keys = np.empty(n_eligible, dtype=np.float64)
            for j in range(n_eligible):
                keys[j] = rand_keys[i, eligible[j]]
            order = np.argsort(keys, kind="mergesort")
            grow = min(max_new, n_eligible)
            for j in range(grow):
                pre[c, write] = candidates[eligible[order[j]]]
                perm[c, write] = initial_permanence
                write += 1
            count[c] = write
        for k in range(count[c]):
            reached[pre[c, k]] = False


@kernel
def connected_csr(pre, perm, count, num_presynaptic, connected_permanence):
    """Presynaptic-major CSR ``(indptr, post)`` of the synapses with permanence >= ``connected_permanence``.

    Within one presynaptic bit the postsynaptic cells come in increasing order.
    """
    num_cells = pre.shape[0]
    sizes = np.zeros(num_presynaptic + 1, dtype=np.int64)
    for c in range(num_cells):
        for k in range(count[c]):
            if perm[c, k] >= connected_permanence:
                sizes[pre[c, k] + 1] += 1
    indptr = np.cumsum(sizes)
    fill = indptr[:-1].copy()
    post = np.empty(indptr[-1], dtype=np.int32)
    for c in range(num_cells):
        for k in range(count[c]):
            if perm[c, k] >= connected_permanence:
                p = pre[c, k]
                post[fill[p]] = c
                fill[p] += 1
    return indptr, post


@kernel
def count_votes(indptr, post, active_input, num_cells):
    """Number of connected synapses from ``active_input`` onto each of ``num_cells`` cells."""
    overlaps = np.zeros(num_cells, dtype=np.int32)
    for i in range(active_input.shape[0]):
        a = active_input[i]
        for j in range(indptr[a], indptr[a + 1]):
            overlaps[post[j]] += 1
    return overlaps


@kernel
def count_votes_delta(indptr, post, previous_input, active_input, previous_overlaps):
    """:func:`count_votes` of ``active_input``, from ``previous_overlaps`` (the counts of ``previous_input`` on the
    same CSR): only the bits that turned on or off are walked, or all of ``active_input`` when most changed."""
    removed, added = input_changes(previous_input, active_input)
    if removed.shape[0] + added.shape[0] >= active_input.shape[0]:
        return count_votes(indptr, post, active_input, previous_overlaps.shape[0])
    overlaps = previous_overlaps.copy()
    for i in range(removed.shape[0]):
        for k in range(indptr[removed[i]], indptr[removed[i] + 1]):
            overlaps[post[k]] -= 1
    for i in range(added.shape[0]):
        for k in range(indptr[added[i]], indptr[added[i] + 1]):
            overlaps[post[k]] += 1
    return overlaps


@kernel
def select_active_cells(ff_overlaps, distal_overlaps, prev_active, min_threshold_proximal,
                        activation_threshold_distal, sdr_size, inertia_factor, use_inertia):
    """The column pooler's inference rule, up to the final random draw.

    1. Feedforward-supported cells (``ff_overlaps >= min_threshold_proximal``) with the most active distal segments
       (a segment = one row of ``distal_overlaps`` reaching ``activation_threshold_distal``) win tier by tier, never
       with zero segments, until ``sdr_size`` cells are chosen.
    2. Then previously active cells (inertia), at most ``int(len * inertia_factor)`` of them taken in decreasing
       segment count (ties by cell index), tier by tier down to zero segments.
    3. If still short by ``d`` cells, ``n = min(max(len(rest) * d // sdr_size, d), len(rest))`` of the remaining
       feedforward-supported cells ``rest`` must be added; the caller draws them at random.

    Args:
        ff_overlaps: (cells,) int32 connected proximal synapses onto active inputs.
        distal_overlaps: (segments, cells) int32 connected distal synapses per source (row 0 = internal).
        prev_active: sorted int32 previously active cells.

    Returns:
        ``(chosen, rest, n)``: sorted chosen cells, sorted remaining feedforward cells, how many of ``rest`` to add.
    """
    num_cells = ff_overlaps.shape[0]
    segments = np.zeros(num_cells, dtype=np.int32)
    for s in range(distal_overlaps.shape[0]):
        for c in range(num_cells):
            if distal_overlaps[s, c] >= activation_threshold_distal:
                segments[c] += 1
    chosen = np.zeros(num_cells, dtype=np.bool_)
    n_chosen = 0
    top = 0
    for c in range(num_cells):
        if ff_overlaps[c] >= min_threshold_proximal:
            if segments[c] > top:
                top = segments[c]
    while top > 0 and n_chosen < sdr_size:
        for c in range(num_cells):
            if ff_overlaps[c] >= min_threshold_proximal and segments[c] >= top and not chosen[c]:
                chosen[c] = True
                n_chosen += 1
        top -= 1
    if n_chosen < sdr_size and use_inertia:
        n_prev = 0
        prev = np.empty(prev_active.shape[0], dtype=np.int32)
        for i in range(prev_active.shape[0]):
            if not chosen[prev_active[i]]:
                prev[n_prev] = prev_active[i]
                n_prev += 1
        prev = prev[:n_prev]
        cap = int(n_prev * inertia_factor)
        if cap > 0:
            keys = np.empty(n_prev, dtype=np.int64)
            for i in range(n_prev):
                keys[i] = -segments[prev[i]]
            order = np.argsort(keys, kind="mergesort")
            kept = prev[order[:cap]]
            top = 0
            for i in range(kept.shape[0]):
                if segments[kept[i]] > top:
                    top = segments[kept[i]]
            while top >= 0 and n_chosen < sdr_size:
                for i in range(kept.shape[0]):
                    c = kept[i]
                    if segments[c] >= top and not chosen[c]:
                        chosen[c] = True
                        n_chosen += 1
                top -= 1
    n_rest = 0
    for c in range(num_cells):
        if ff_overlaps[c] >= min_threshold_proximal and not chosen[c]:
            n_rest += 1
    rest = np.empty(n_rest, dtype=np.int32)
    j = 0
    for c in range(num_cells):
        if ff_overlaps[c] >= min_threshold_proximal and not chosen[c]:
            rest[j] = c
            j += 1
    n_add = 0
    discrepancy = sdr_size - n_chosen
    if discrepancy > 0:
        n_add = max((n_rest * discrepancy) // sdr_size, discrepancy)
        n_add = min(n_add, n_rest)
    out = np.empty(n_chosen, dtype=np.int32)
    j = 0
    for c in range(num_cells):
        if chosen[c]:
            out[j] = c
            j += 1
    return out, rest, n_add
