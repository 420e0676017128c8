"""Slow, obvious NumPy twins of ``htmagent.kernels.object_layer`` (the kernels must agree with these)."""

from __future__ import annotations

import numpy as np


def learn_synapses(pre, perm, count, active_cells, active_input_mask, candidates, rand_keys, sample_size,
                   initial_permanence, permanence_increment, permanence_decrement):
    """Same contract as the kernel: mutate the cell-major synapse lists of ``active_cells``."""
    for i, c in enumerate(active_cells):
        synapses = []
        for k in range(count[c]):
            p, v = int(pre[c, k]), float(perm[c, k])
            if active_input_mask[p]:
                synapses.append((p, min(1.0, v + permanence_increment)))
            elif v - permanence_decrement > 0.0:
                synapses.append((p, v - permanence_decrement))
        existing = sum(1 for p, _ in synapses if active_input_mask[p])
        reached = {p for p, _ in synapses}
        eligible = [j for j in range(len(candidates)) if int(candidates[j]) not in reached]
        eligible.sort(key=lambda j: rand_keys[i, j])
        for j in eligible[:max(0, sample_size - existing)]:
            synapses.append((int(candidates[j]), initial_permanence))
        count[c] = len(synapses)
        for k, (p, v) in enumerate(synapses):
            pre[c, k] = p
            perm[c, k] = v


def connected_csr(pre, perm, count, num_presynaptic, connected_permanence):
    """CSR by presynaptic bit of the connected synapses, postsynaptic cells ascending."""
    lists = [[] for _ in range(num_presynaptic)]
    for c in range(pre.shape[0]):
        for k in range(count[c]):
            if perm[c, k] >= connected_permanence:
                lists[pre[c, k]].append(c)
    indptr = np.zeros(num_presynaptic + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    post = np.array([c for x in lists for c in x], dtype=np.int32)
    return indptr, post


def count_votes(indptr, post, active_input, num_cells):
    """Connected synapses from ``active_input`` onto each cell."""
    overlaps = np.zeros(num_cells, dtype=np.int32)
    for a in active_input:
        np.add.at(overlaps, post[indptr[a]:indptr[a + 1]], 1)
    return overlaps


def select_active_cells(ff_overlaps, distal_overlaps, prev_active, min_threshold_proximal,
                        activation_threshold_distal, sdr_size, inertia_factor, use_inertia):
    """The column pooler's inference rule, written with sets."""
    segments = (distal_overlaps >= activation_threshold_distal).sum(axis=0)
    ff_cells = np.flatnonzero(ff_overlaps >= min_threshold_proximal)
    chosen: set[int] = set()
    if ff_cells.size:
        top = int(segments[ff_cells].max())
        while top > 0 and len(chosen) < sdr_size:
            chosen |= {int(c) for c in ff_cells if segments[c] >= top}
            top -= 1
    if len(chosen) < sdr_size and use_inertia:
        prev = [int(c) for c in prev_active if int(c) not in chosen]
        cap = int(len(prev) * inertia_factor)
        if cap > 0:
            kept = sorted(prev, key=lambda c: -segments[c])[:cap]
            top = max(int(segments[c]) for c in kept)
            while top >= 0 and len(chosen) < sdr_size:
                chosen |= {c for c in kept if segments[c] >= top}
                top -= 1
    rest = np.array([c for c in ff_cells if int(c) not in chosen], dtype=np.int32)
    discrepancy = sdr_size - len(chosen)
    n_add = 0
    if discrepancy > 0:
        n_add = min(max(rest.size * discrepancy // sdr_size, discrepancy), rest.size)
    return np.array(sorted(chosen), dtype=np.int32), rest, n_add
