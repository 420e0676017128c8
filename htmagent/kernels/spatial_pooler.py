"""numba kernels of the spatial pooler.

Storage they share (see :class:`htmagent.spatial_pooler.SpatialPooler`):

- ``perm``: a dense float32 ``(num_columns, num_inputs)`` permanence matrix; entries outside a column's potential
  pool hold a negative value (-1) and are never changed or connected. A dense row is updated with contiguous,
  vectorisable loops, which measured 3-4x faster than a CSR pool list with gathered inputs (hotgym sizes);
- ``connected``: a dense ``(num_columns, num_inputs)`` uint8 matrix, 1 where a potential synapse has a permanence
  ``>= syn_perm_connected``. Learning finds the synapses whose state flips during its update pass and writes
  only those entries (here and in ``connected_t``);
- ``connected_t``: its transpose ``(num_inputs, num_columns)``, so that the overlap of a step costs one contiguous
  row per *active* input bit (hotgym: 5 us, against 48 us through an input -> connected-synapse index). The
  learning kernels keep both in step with ``perm`` by writing only the synapses whose connected state flips;
- ``connected_count``: number of connected synapses per column.

The ``pool_*`` kernels do the same on the pool storage (``storage="pool"``: only the potential synapses, see the
section at the end), for large inputs with small pools, where the dense matrices would be mostly empty.

Permanence arithmetic is done in float32 (as stored), so the NumPy twins in ``tests/reference/sp_twins.py``
reproduce the kernels bit for bit.
"""

from __future__ import annotations

import numpy as np

from htmagent._numba import kernel

__all__ = [
    "sp_overlaps",
    "sp_inhibit_global",
    "sp_inhibit_local",
    "sp_adapt",
    "sp_learn",
    "sp_bump_weak",
    "sp_update_duty_cycles",
    "sp_neighbourhood_mean",
    "sp_neighbourhood_max",
    "pool_overlaps",
    "pool_learn",
    "pool_raise_columns",
    "pool_reverse",
]


@kernel
def sp_overlaps(overlaps, boosted, active_inputs, connected_t, boost):
    """Count connected synapses on active input bits per column, and scale the counts by the boost factors.

    Args:
        overlaps: int32 ``(num_columns,)`` output, overwritten.
        boosted: float64 ``(num_columns,)`` output, overwritten with ``overlaps * boost``.
        active_inputs: int32 sorted indices of the active input bits.
        connected_t: uint8 ``(num_inputs, num_columns)`` connected matrix.
        boost: float64 ``(num_columns,)`` boost factors.
    """
    overlaps[:] = 0
    num_columns = overlaps.shape[0]
    for k in range(active_inputs.shape[0]):
        row = connected_t[active_inputs[k]]
        for c in range(num_columns):
            overlaps[c] += row[c]
    for c in range(num_columns):
        boosted[c] = overlaps[c] * boost[c]


@kernel
def _beats(score_a, index_a, score_b, index_b):
    # Strict order of candidates: the higher score wins, equal scores go to the lower column index.
    return score_a > score_b or (score_a == score_b and index_a < index_b)


@kernel
def _sift_down(heap_score, heap_index, size, pos):
    # Min-heap whose root is the weakest of the kept candidates.
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        weakest = left
        right = left + 1
        if right < size and _beats(heap_score[left], heap_index[left], heap_score[right], heap_index[right]):
            weakest = right
        if _beats(heap_score[pos], heap_index[pos], heap_score[weakest], heap_index[weakest]):
            heap_score[pos], heap_score[weakest] = heap_score[weakest], heap_score[pos]
            heap_index[pos], heap_index[weakest] = heap_index[weakest], heap_index[pos]
            pos = weakest
        else:
            return


@kernel
def _top_k(scores, index, m, k):
    # The k best of the candidates (scores[:m], index[:m] ascending) under the order of _beats, ascending by index.
    heap_score = np.empty(max(k, 1), dtype=np.float64)
    heap_index = np.empty(max(k, 1), dtype=np.int32)
    size = 0
    for j in range(m if k > 0 else 0):
        s = scores[j]
        c = index[j]
        if size < k:
            # Insert, then restore the heap upwards.
            pos = size
            heap_score[pos] = s
            heap_index[pos] = c
            size += 1
            while pos > 0:
                parent = (pos - 1) // 2
                if _beats(heap_score[parent], heap_index[parent], heap_score[pos], heap_index[pos]):
                    heap_score[pos], heap_score[parent] = heap_score[parent], heap_score[pos]
                    heap_index[pos], heap_index[parent] = heap_index[parent], heap_index[pos]
                    pos = parent
                else:
                    break
        elif _beats(s, c, heap_score[0], heap_index[0]):
            heap_score[0] = s
            heap_index[0] = c
            _sift_down(heap_score, heap_index, size, 0)
    kth = heap_score[0] if size == k and k > 0 else -np.inf
    return np.sort(heap_index[:size]), kth


@kernel
def sp_inhibit_global(overlaps, boosted, tie_breaker, stimulus_threshold, k, hint):
    """Global inhibition: the ``k`` eligible columns with the highest ``boosted + tie_breaker`` win.

    A column is eligible when its raw overlap is positive and its boosted overlap reaches ``stimulus_threshold``.
    Equal scores go to the lower column index, so the result is fully determined by the inputs.

    ``hint[0]`` is a guess of a score just under the k-th best (this call stores 90% of its k-th best score for the
    next); it only makes the call faster, never changes its result: when at least ``k`` columns score ``>= hint[0]``,
    the winners are among them, so only those enter the selection heap.

    Args:
        overlaps: int32 raw overlaps.
        boosted: float64 boosted overlaps.
        tie_breaker: float64 small fixed per-column offsets.
        stimulus_threshold: minimum boosted overlap.
        k: maximum number of winners.
        hint: float64 ``(1,)`` guess of a score under the k-th best (mutated; ``-inf`` = no guess).

    Returns:
        int32 array of at most ``k`` column indices, ascending.
    """
    n = overlaps.shape[0]
    scores = np.empty(n, dtype=np.float64)
    index = np.empty(n, dtype=np.int32)
    guess = hint[0]
    m = 0
    above = 0
    for c in range(n):
        if overlaps[c] > 0 and boosted[c] >= stimulus_threshold:
            s = boosted[c] + tie_breaker[c]
            scores[m] = s
            index[m] = c
            m += 1
            above += s >= guess
    if above >= k and above < m:
        kept = 0
        for j in range(m):
            if scores[j] >= guess:
                scores[kept] = scores[j]
                index[kept] = index[j]
                kept += 1
        m = kept
    winners, kth = _top_k(scores, index, m, k)
    # Scores drift by a few percent per step: a guess 10% under this step's k-th score keeps the next step's winners
    # above it on most steps, with few other columns.
    hint[0] = kth * 0.9 if kth > 0.0 else -np.inf
    return winners


@kernel
def sp_inhibit_local(overlaps, boosted, tie_breaker, stimulus_threshold, neigh_ptr, neigh_idx, density):
    """Local inhibition: a column wins if fewer neighbours beat it than its neighbourhood's quota.

    Eligibility and scores are as in :func:`sp_inhibit_global`. The quota of column ``c`` is
    ``int(0.5 + density * n_c)`` where ``n_c`` counts its neighbourhood including itself. A neighbour beats ``c`` when
    it is eligible and has a higher score, or the same score and a lower index.

    Args:
        overlaps: int32 raw overlaps.
        boosted: float64 boosted overlaps.
        tie_breaker: float64 small fixed per-column offsets.
        stimulus_threshold: minimum boosted overlap.
        neigh_ptr: int64 CSR offsets of each column's neighbours (excluding the column itself).
        neigh_idx: int32 neighbour column indices.
        density: target fraction of active columns in a neighbourhood.

    Returns:
        int32 ascending indices of the winning columns.
    """
    n = overlaps.shape[0]
    winners = np.empty(n, dtype=np.int32)
    count = 0
    for c in range(n):
        if overlaps[c] <= 0 or boosted[c] < stimulus_threshold:
            continue
        s = boosted[c] + tie_breaker[c]
        start = neigh_ptr[c]
        stop = neigh_ptr[c + 1]
        quota = int(0.5 + density * (stop - start + 1))
        bigger = 0
        for j in range(start, stop):
            other = neigh_idx[j]
            if overlaps[other] > 0 and boosted[other] >= stimulus_threshold:
                if _beats(boosted[other] + tie_breaker[other], other, s, c):
                    bigger += 1
        if bigger < quota:
            winners[count] = c
            count += 1
    return winners[:count].copy()


@kernel
def _raise_column(perm, connected, connected_t, connected_count, column, stimulus_threshold, increment,
                  threshold):
    # Give a column that cannot reach the stimulus threshold enough connected synapses to ever fire.
    if connected_count[column] >= stimulus_threshold:
        return  # the usual case: skip counting the pool
    row = perm[column]
    pool_size = 0
    for i in range(row.shape[0]):
        if row[i] >= 0.0:
            pool_size += 1
    if increment <= 0.0 or pool_size < stimulus_threshold:
        return
    while connected_count[column] < stimulus_threshold:
        _raise_row(perm, connected, connected_t, connected_count, column, increment, threshold)


@kernel
def _raise_row(perm, connected, connected_t, connected_count, column, increment, threshold):
    thr = np.float32(threshold)
    step = np.float32(increment)
    one = np.float32(1.0)
    row = perm[column]
    for i in range(row.shape[0]):
        old = row[i]
        if old < 0.0:
            continue
        new = min(old + step, one)
        row[i] = new
        if new >= thr and old < thr:
            connected[column, i] = 1
            connected_t[i, column] = 1
            connected_count[column] += 1


@kernel
def sp_adapt(perm, connected, connected_t, connected_count, winners, input_dense, active_inc, inactive_dec,
             threshold, stimulus_threshold, below_stimulus_inc):
    """Hebbian learning on the winning columns' potential synapses.

    Synapses from active input bits gain ``active_inc``, the others lose ``inactive_dec``; permanences are clipped to
    ``[0, 1]``. A column left with fewer than ``stimulus_threshold`` connected synapses has all its potential
    permanences raised by ``below_stimulus_inc`` until it has enough.

    Args:
        perm: float32 ``(num_columns, num_inputs)`` permanences, negative outside the potential pool (mutated).
        connected: uint8 ``(num_columns, num_inputs)`` connected matrix (mutated where a synapse crosses
            ``threshold``).
        connected_t: uint8 ``(num_inputs, num_columns)``, its transpose (mutated likewise).
        connected_count: int32 connected synapses per column (mutated).
        winners: int32 winning columns.
        input_dense: uint8 ``(num_inputs,)`` dense input.
        active_inc: increment for synapses on active bits.
        inactive_dec: decrement for synapses on inactive bits.
        threshold: connection threshold (``syn_perm_connected``).
        stimulus_threshold: minimum connected synapses a column keeps.
        below_stimulus_inc: raise step for columns under the stimulus threshold.
    """
    thr = np.float32(threshold)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    num_inputs = perm.shape[1]
    # The per-input change is the same for every winner: compute it once, so the row loop is a plain vector add.
    delta = np.empty(num_inputs, dtype=np.float32)
    for i in range(num_inputs):
        delta[i] = np.float32(active_inc) if input_dense[i] else -np.float32(inactive_dec)
    flips = np.empty(num_inputs, dtype=np.uint8)
    for w in range(winners.shape[0]):
        c = winners[w]
        row = perm[c]
        # One branch-free pass the compiler vectorises updates the row and marks the synapses whose connected state
        # flips (in a scratch row that stays in L1), so the connected matrices are only written, never read, here.
        num_flips = 0
        for i in range(num_inputs):
            old = row[i]
            new = min(max(old + delta[i], zero), one)
            new = old if old < zero else new
            row[i] = new
            flip = (old >= thr) != (new >= thr)
            flips[i] = flip
            num_flips += flip
        if num_flips:
            for i in range(num_inputs):
                if flips[i]:
                    now = row[i] >= thr
                    connected[c, i] = now
                    connected_t[i, c] = now
                    connected_count[c] += 1 if now else -1
        _raise_column(perm, connected, connected_t, connected_count, c, stimulus_threshold, below_stimulus_inc,
                      threshold)


@kernel
def sp_bump_weak(perm, connected, connected_t, connected_count, overlap_duty, min_overlap_duty, increment,
                 threshold):
    """Weak-column bumping: raise every potential permanence of columns whose overlap duty cycle is below their
    minimum by ``increment`` (clipped to 1).

    Args:
        perm: float32 ``(num_columns, num_inputs)`` permanences, negative outside the potential pool (mutated).
        connected: uint8 ``(num_columns, num_inputs)`` connected matrix (mutated where a synapse becomes connected).
        connected_t: uint8 ``(num_inputs, num_columns)``, its transpose (mutated likewise).
        connected_count: int32 connected synapses per column (mutated).
        overlap_duty: float64 overlap duty cycles.
        min_overlap_duty: float64 minimum acceptable overlap duty cycles.
        increment: permanence step.
        threshold: connection threshold.

    Returns:
        Number of columns bumped.
    """
    bumped = 0
    for c in range(overlap_duty.shape[0]):
        if overlap_duty[c] < min_overlap_duty[c]:
            _raise_row(perm, connected, connected_t, connected_count, c, increment, threshold)
            bumped += 1
    return bumped


@kernel
def sp_update_duty_cycles(overlap_duty, active_duty, overlaps, winners, period):
    """Moving averages of "had any overlap" and "was active": ``d <- (d * (period - 1) + x) / period``.

    Args:
        overlap_duty: float64 ``(num_columns,)`` (mutated).
        active_duty: float64 ``(num_columns,)`` (mutated).
        overlaps: int32 raw overlaps of this step.
        winners: int32 active columns of this step.
        period: averaging period (>= 1).
    """
    keep = (period - 1.0) / period
    inv = 1.0 / period
    n = overlap_duty.shape[0]
    for c in range(n):
        overlap_duty[c] = overlap_duty[c] * keep + (inv if overlaps[c] > 0 else 0.0)
        active_duty[c] = active_duty[c] * keep
    for w in range(winners.shape[0]):
        active_duty[winners[w]] += inv


@kernel
def sp_learn(perm, connected, connected_t, connected_count, overlap_duty, active_duty, boost, input_dense,
             active_inputs, winners, overlaps, min_overlap_duty, period, active_inc, inactive_dec, threshold,
             stimulus_threshold, below_stimulus_inc, boost_strength, target_density):
    """A whole learning step in one call (fewer Python round trips per step): :func:`sp_adapt` on the winners,
    :func:`sp_update_duty_cycles`, :func:`sp_bump_weak`, then, under global inhibition, the boost factors.

    Args:
        perm, connected, connected_t, connected_count: the synapse store (mutated), as in :func:`sp_adapt`.
        overlap_duty, active_duty: float64 duty cycles (mutated).
        boost: float64 boost factors (mutated when ``boost_strength > 0`` and ``target_density >= 0``).
        input_dense: uint8 ``(num_inputs,)`` scratch, zero on entry and on exit.
        active_inputs: int32 sorted active input bits.
        winners: int32 winning columns.
        overlaps: int32 raw overlaps of this step.
        min_overlap_duty: float64 minimum overlap duty cycles (weak-column bumping).
        period: duty-cycle averaging period.
        active_inc, inactive_dec, threshold, stimulus_threshold, below_stimulus_inc: as in :func:`sp_adapt`.
        boost_strength: boost strength (0 = boosting off, ``boost`` untouched).
        target_density: target activity of every column (global inhibition), or negative to leave ``boost`` to the
            caller (local inhibition, whose target is a per-column neighbourhood mean).

    Returns:
        Number of columns bumped.
    """
    for k in range(active_inputs.shape[0]):
        input_dense[active_inputs[k]] = 1
    sp_adapt(perm, connected, connected_t, connected_count, winners, input_dense, active_inc, inactive_dec,
             threshold, stimulus_threshold, below_stimulus_inc)
    for k in range(active_inputs.shape[0]):
        input_dense[active_inputs[k]] = 0
    sp_update_duty_cycles(overlap_duty, active_duty, overlaps, winners, period)
    bumped = sp_bump_weak(perm, connected, connected_t, connected_count, overlap_duty, min_overlap_duty,
                          below_stimulus_inc, threshold)
    _global_boost(boost, active_duty, boost_strength, target_density)
    return bumped


@kernel
def _global_boost(boost, active_duty, boost_strength, target_density):
    # Boost factors toward one target density for every column (global inhibition); a negative target leaves them to
    # the caller (local inhibition), and a strength of 0 leaves them at 1.
    if boost_strength != 0.0 and target_density >= 0.0:
        for c in range(boost.shape[0]):
            boost[c] = np.exp((target_density - active_duty[c]) * boost_strength)


@kernel
def sp_neighbourhood_mean(out, values, neigh_ptr, neigh_idx):
    """Mean of ``values`` over each column's neighbourhood, the column included.

    Args:
        out: float64 ``(num_columns,)`` output, overwritten.
        values: float64 ``(num_columns,)``.
        neigh_ptr: int64 CSR offsets (neighbours exclude the column itself).
        neigh_idx: int32 neighbour indices.
    """
    for c in range(values.shape[0]):
        total = values[c]
        for j in range(neigh_ptr[c], neigh_ptr[c + 1]):
            total += values[neigh_idx[j]]
        out[c] = total / (neigh_ptr[c + 1] - neigh_ptr[c] + 1)


@kernel
def sp_neighbourhood_max(out, values, neigh_ptr, neigh_idx):
    """Maximum of ``values`` over each column's neighbourhood, the column included.

    Args:
        out: float64 ``(num_columns,)`` output, overwritten.
        values: float64 ``(num_columns,)``.
        neigh_ptr: int64 CSR offsets (neighbours exclude the column itself).
        neigh_idx: int32 neighbour indices.
    """
    for c in range(values.shape[0]):
        best = values[c]
        for j in range(neigh_ptr[c], neigh_ptr[c + 1]):
            v = values[neigh_idx[j]]
            if v > best:
                best = v
        out[c] = best


# ---------------------------------------------------------------------- pool storage (sparse potential pools)
#
# For inputs much larger than a column's potential pool (local topology over a big input), the dense matrices cost
# memory for every (column, input) pair. The pool storage keeps only the pool: per column a sorted list of input
# bits (``pool_idx``) with their permanences (``pool_perm``), delimited by ``pool_ptr``, plus the reverse index
# (for each input bit, the columns whose pool holds it, ``rev_col``, and the slot of that synapse, ``rev_slot``),
# so that an overlap still costs only the active inputs' synapses. The kernels below do exactly what the dense ones
# do, synapse for synapse and in the same float32 arithmetic, so both storages give the same pooler.


@kernel
def pool_overlaps(overlaps, boosted, active_inputs, rev_ptr, rev_col, rev_slot, pool_perm, threshold, boost):
    """:func:`sp_overlaps` on the pool storage: connected synapses (permanence >= ``threshold``) on active input
    bits per column, and ``overlaps * boost``."""
    thr = np.float32(threshold)
    overlaps[:] = 0
    for k in range(active_inputs.shape[0]):
        i = active_inputs[k]
        for j in range(rev_ptr[i], rev_ptr[i + 1]):
            if pool_perm[rev_slot[j]] >= thr:
                overlaps[rev_col[j]] += 1
    for c in range(overlaps.shape[0]):
        boosted[c] = overlaps[c] * boost[c]


@kernel
def _pool_raise_row(pool_ptr, pool_perm, connected_count, column, increment, threshold):
    thr = np.float32(threshold)
    step = np.float32(increment)
    one = np.float32(1.0)
    for s in range(pool_ptr[column], pool_ptr[column + 1]):
        old = pool_perm[s]
        new = min(old + step, one)
        pool_perm[s] = new
        if new >= thr and old < thr:
            connected_count[column] += 1


@kernel
def _pool_raise_column(pool_ptr, pool_perm, connected_count, column, stimulus_threshold, increment, threshold):
    if connected_count[column] >= stimulus_threshold:
        return
    if increment <= 0.0 or pool_ptr[column + 1] - pool_ptr[column] < stimulus_threshold:
        return
    while connected_count[column] < stimulus_threshold:
        _pool_raise_row(pool_ptr, pool_perm, connected_count, column, increment, threshold)


@kernel
def pool_raise_columns(pool_ptr, pool_perm, connected_count, stimulus_threshold, increment, threshold):
    """Raise every column under ``stimulus_threshold`` connected synapses until it has enough (construction)."""
    for c in range(connected_count.shape[0]):
        _pool_raise_column(pool_ptr, pool_perm, connected_count, c, stimulus_threshold, increment, threshold)


@kernel
def pool_learn(pool_ptr, pool_idx, pool_perm, connected_count, overlap_duty, active_duty, boost, input_dense,
               active_inputs, winners, overlaps, min_overlap_duty, period, active_inc, inactive_dec, threshold,
               stimulus_threshold, below_stimulus_inc, boost_strength, target_density):
    """:func:`sp_learn` on the pool storage (the same arguments, with the pool arrays for the dense matrices)."""
    thr = np.float32(threshold)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    inc = np.float32(active_inc)
    dec = np.float32(inactive_dec)
    for k in range(active_inputs.shape[0]):
        input_dense[active_inputs[k]] = 1
    for w in range(winners.shape[0]):
        c = winners[w]
        for s in range(pool_ptr[c], pool_ptr[c + 1]):
            old = pool_perm[s]
            new = min(max(old + (inc if input_dense[pool_idx[s]] else -dec), zero), one)
            pool_perm[s] = new
            if (old >= thr) != (new >= thr):
                connected_count[c] += 1 if new >= thr else -1
        _pool_raise_column(pool_ptr, pool_perm, connected_count, c, stimulus_threshold, below_stimulus_inc,
                           threshold)
    for k in range(active_inputs.shape[0]):
        input_dense[active_inputs[k]] = 0
    sp_update_duty_cycles(overlap_duty, active_duty, overlaps, winners, period)
    bumped = 0
    for c in range(overlap_duty.shape[0]):
        if overlap_duty[c] < min_overlap_duty[c]:
            _pool_raise_row(pool_ptr, pool_perm, connected_count, c, below_stimulus_inc, threshold)
            bumped += 1
    _global_boost(boost, active_duty, boost_strength, target_density)
    return bumped


@kernel
def pool_reverse(pool_ptr, pool_idx, num_inputs):
    """The reverse index of a pool storage: ``(rev_ptr, rev_col, rev_slot)``, for each input bit the columns whose
    pool holds it (ascending) and the slot of that synapse in ``pool_idx`` / ``pool_perm``."""
    num_columns = pool_ptr.shape[0] - 1
    rev_ptr = np.zeros(num_inputs + 1, dtype=np.int64)
    for s in range(pool_idx.shape[0]):
        rev_ptr[pool_idx[s] + 1] += 1
    for i in range(num_inputs):
        rev_ptr[i + 1] += rev_ptr[i]
    fill = rev_ptr[:num_inputs].copy()
    rev_col = np.empty(pool_idx.shape[0], dtype=np.int32)
    rev_slot = np.empty(pool_idx.shape[0], dtype=np.int32)
    for c in range(num_columns):
        for s in range(pool_ptr[c], pool_ptr[c + 1]):
            i = pool_idx[s]
            rev_col[fill[i]] = c
            rev_slot[fill[i]] = s
            fill[i] += 1
    return rev_ptr, rev_col, rev_slot
