"""numba kernels of the temporal memory (:mod:`htmagent.temporal_memory`).

Three kernels make a step: :func:`segment_activity` (which segments the basal or apical input excites),
:func:`predict` (which cells are depolarized, with the apical tiebreak), and :func:`activate_learn` (which cells fire,
and the dendrite learning; :func:`activate_learn_basal` is the same for a memory without apical dendrites, with fewer
arguments to dispatch). In sequence mode without apical dendrites, :func:`activate_learn_depolarize_basal` runs the
three in one call (one Python round trip per step). They call the segment-store primitives of
:mod:`htmagent.kernels.connections` on the arrays of the basal and apical :class:`~htmagent.connections.Connections`.

Segment lists handed between kernels are sorted by (cell, segment id) so that a minicolumn's segments form one run.
"""

from __future__ import annotations

import numpy as np

from htmagent._numba import kernel
from htmagent.kernels.connections import (
    C_NSEG,
    EPSILON,
    enforce_fan_out,
    S_CELL,
    adapt_segment,
    compute_activity,
    compute_activity_delta,
    create_segment,
    grow_synapses,
)

# Layout of the float32 / int64 parameter vectors handed to activate_learn (one per dendrite type).
P_INIT, P_INC, P_DEC, P_PUNISH = 0, 1, 2, 3
I_MIN, I_MAX_NEW, I_MAX_SEG, I_MAX_SYN, I_MAX_FAN = 0, 1, 2, 3, 4


@kernel
def segment_activity(counts, touched, seg_i32, pre_i32, chunk_i32, connected_at, chunk_link, n_previously_touched,
                     active_input, connected_threshold, min_potential, min_connected):
    """Segments excited by ``active_input``: those with >= ``min_potential`` potential or >= ``min_connected``
    connected synapses onto it.

    Returns:
        (number of segments touched, for the next call's reset; kept segment ids, their cells, connected counts,
        potential counts), the four arrays sorted by (cell, segment id).
    """
    n = compute_activity(counts, touched, pre_i32, chunk_i32, connected_at, chunk_link, n_previously_touched,
                         active_input, connected_threshold)
    segs, cells, conn, pot = _collect(counts, touched, n, seg_i32, min_potential, min_connected)
    return n, segs, cells, conn, pot


@kernel
def segment_activity_delta(counts, touched, seg_i32, pre_i32, chunk_i32, connected_at, chunk_link, n_touched,
                           previous_input, active_input, connected_threshold, min_potential, min_connected):
    """:func:`segment_activity`, given that ``counts`` / ``touched`` hold the counts of ``previous_input`` on this
    same, unchanged store (see :func:`~htmagent.kernels.connections.compute_activity_delta`). Same result."""
    n = compute_activity_delta(counts, touched, pre_i32, chunk_i32, connected_at, chunk_link, n_touched,
                               previous_input, active_input, connected_threshold)
    segs, cells, conn, pot = _collect(counts, touched, n, seg_i32, min_potential, min_connected)
    return n, segs, cells, conn, pot


@kernel
def _collect(counts, touched, n, seg_i32, min_potential, min_connected):
    """The touched segments with >= ``min_potential`` potential or >= ``min_connected`` connected synapses: ids,
    cells, connected and potential counts, sorted by (cell, segment id)."""
    # Sort keys (cell, segment) packed as cell << 32 | segment: shifts and masks instead of divisions.
    keys = np.empty(n, dtype=np.int64)
    m = 0
    low = np.int64(2**31)
    high = np.int64(-1)
    for i in range(n):
        seg = touched[i]
        if (counts[seg] & 0xFFFF) >= min_potential or (counts[seg] >> 16) >= min_connected:
            cell = np.int64(seg_i32[S_CELL, seg])
            keys[m] = (cell << 32) | np.int64(seg)
            m += 1
            low = min(low, cell)
            high = max(high, cell)
    keys = _sort_keys(keys[:m], low, high)
    segs = np.empty(m, dtype=np.int32)
    cells = np.empty(m, dtype=np.int32)
    conn = np.empty(m, dtype=np.int32)
    pot = np.empty(m, dtype=np.int32)
    for i in range(m):
        seg = np.int32(keys[i] & 0xFFFFFFFF)
        segs[i] = seg
        cells[i] = np.int32(keys[i] >> 32)
        conn[i] = counts[seg] >> 16
        pot[i] = counts[seg] & 0xFFFF
    return segs, cells, conn, pot


@kernel
def _sort_keys(keys, low, high):
    """``keys`` (cell << 32 | segment, unique) in ascending order, given the lowest and highest cell among them.

    When the cells span a range not much wider than the number of keys (a union input that excites most of a
    small layer's segments), a counting sort on the cell followed by an insertion sort inside each cell's few
    segments is several times faster than a comparison sort; otherwise numpy's sort. Same result either way.
    """
    m = keys.shape[0]
    span = high - low + 1
    if m < 64 or span > 4 * m:
        return np.sort(keys)
    starts = np.zeros(span + 1, dtype=np.int64)
    for i in range(m):
        starts[(keys[i] >> 32) - low + 1] += 1
    for c in range(span):
        starts[c + 1] += starts[c]
    out = np.empty(m, dtype=np.int64)
    fill = starts[:span].copy()
    for i in range(m):
        c = (keys[i] >> 32) - low
        out[fill[c]] = keys[i]
        fill[c] += 1
    for c in range(span):
        if starts[c + 1] - starts[c] > 32:  # a cell with many segments: keep the bucket's sort n log n
            out[starts[c]:starts[c + 1]] = np.sort(out[starts[c]:starts[c + 1]])
            continue
        for i in range(starts[c] + 1, starts[c + 1]):
            key = out[i]
            j = i - 1
            while j >= starts[c] and out[j] > key:
                out[j + 1] = out[j]
                j -= 1
            out[j + 1] = key
    return out


@kernel
def predict(b_cells, b_conn, a_cells, a_conn, activation_threshold, reduced_basal_threshold,
            apical_activation_threshold, cells_per_column):
    """Depolarization with the apical tiebreak.

    A basal segment is active with >= ``activation_threshold`` connected active synapses, or >=
    ``reduced_basal_threshold`` on a cell that has an active apical segment. Cells with an active basal segment are
    depolarized (apical input alone never depolarizes). In a minicolumn where some depolarized cell also has an active
    apical segment, only such cells stay predicted.

    Returns:
        (basal active flags, apical active flags (uint8, aligned with the inputs), predicted cells (sorted)).
    """
    a_flag = np.zeros(a_cells.shape[0], dtype=np.uint8)
    for i in range(a_cells.shape[0]):
        if a_conn[i] >= apical_activation_threshold:
            a_flag[i] = 1
    b_flag = np.zeros(b_cells.shape[0], dtype=np.uint8)
    depolarized = np.empty(b_cells.shape[0], dtype=np.int32)
    supported = np.empty(b_cells.shape[0], dtype=np.uint8)
    n_dep = 0
    j = 0
    for i in range(b_cells.shape[0]):
        cell = b_cells[i]
        while j < a_cells.shape[0] and (a_cells[j] < cell or (a_cells[j] == cell and a_flag[j] == 0)):
            j += 1
        apical = j < a_cells.shape[0] and a_cells[j] == cell
        threshold = reduced_basal_threshold if apical else activation_threshold
        if b_conn[i] >= threshold:
            b_flag[i] = 1
            if n_dep == 0 or depolarized[n_dep - 1] != cell:
                depolarized[n_dep] = cell
                supported[n_dep] = 1 if apical else 0
                n_dep += 1
    predicted = np.empty(n_dep, dtype=np.int32)
    n_pred = 0
    start = 0
    while start < n_dep:
        column = depolarized[start] // cells_per_column
        stop = start
        any_apical = False
        while stop < n_dep and depolarized[stop] // cells_per_column == column:
            if supported[stop] == 1:
                any_apical = True
            stop += 1
        for k in range(start, stop):
            if supported[k] == 1 or not any_apical:
                predicted[n_pred] = depolarized[k]
                n_pred += 1
        start = stop
    return b_flag, a_flag, predicted[:n_pred]


@kernel
def _learn_segment(
    seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link, free_segs,
    free_blocks, free_chunks, meta, scratch_mask, active_mask, candidate_mask, rand, rand_pos, seg, candidates, n_grow,
    fparams, iparams, iteration,
):
    """Reinforce ``seg`` on the active input, stamp it, then grow ``n_grow`` synapses; returns the new rand_pos."""
    alive = adapt_segment(
        seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link,
        free_segs, free_blocks, free_chunks, meta, seg, active_mask, fparams[P_INC], fparams[P_DEC])
    if alive:
        seg_used[seg] = iteration
        if n_grow > 0:
            _, rand_pos = grow_synapses(
                seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link,
                free_segs, free_blocks, free_chunks, meta, scratch_mask, rand, rand_pos, seg, candidates,
                candidate_mask, n_grow, fparams[P_INIT], iparams[I_MAX_SYN])
    return rand_pos


@kernel
def _in_sorted(values, x):
    pos = np.searchsorted(values, x)
    return pos < values.shape[0] and values[pos] == x


@kernel
def _column_span(first, last, predicted_cells, b_cells, ip, ib):
    """Move the cursors ``ip`` (into the sorted predicted cells) and ``ib`` (into the segments, sorted by cell) to
    the minicolumn of cells [first, last); return (ip, end of its predicted cells, ib, end of its segments)."""
    while ip < predicted_cells.shape[0] and predicted_cells[ip] < first:
        ip += 1
    while ib < b_cells.shape[0] and b_cells[ib] < first:
        ib += 1
    seg_stop = ib
    while seg_stop < b_cells.shape[0] and b_cells[seg_stop] < last:
        seg_stop += 1
    pred_stop = ip
    while pred_stop < predicted_cells.shape[0] and predicted_cells[pred_stop] < last:
        pred_stop += 1
    return ip, pred_stop, ib, seg_stop


@kernel
def _predicted_learners(predicted_cells, ip, pred_stop, b_cells, b_flag, ib, seg_stop, out):
    """The segments that learn in a predicted minicolumn: the active ones (``b_flag``) of its predicted cells. Writes
    their indices into ``b_cells`` to ``out`` and returns how many."""
    n = 0
    p = ip
    for s in range(ib, seg_stop):
        if b_flag[s] == 0:
            continue
        while p < pred_stop and predicted_cells[p] < b_cells[s]:
            p += 1
        if p < pred_stop and predicted_cells[p] == b_cells[s]:
            out[n] = s
            n += 1
    return n


@kernel
def _best_matching(b_pot, ib, seg_stop, min_threshold):
    """The segment that learns in a bursting minicolumn: the most potential synapses among those with at least
    ``min_threshold`` (ties: the first in (cell, id) order); -1 if none."""
    best = -1
    for s in range(ib, seg_stop):
        if b_pot[s] >= min_threshold and (best == -1 or b_pot[s] > b_pot[best]):
            best = s
    return best


@kernel
def basal_growth_bound(columns, predicted_cells, b_cells, b_pot, b_flag, cells_per_column, max_new, min_threshold,
                       n_candidates):
    """An upper bound on what :func:`activate_learn`'s basal learning can grow this step, from the same inputs.

    It follows the kernel's choices without learning: in a predicted minicolumn the active segments of predicted
    cells grow ``max_new - potential``, in a bursting one the best matching segment does, or else the winner grows a
    new segment of ``max_new``; each growth is at most ``n_candidates`` (the previous winners). The real growth is
    at most this (candidates already on a segment are skipped).

    Returns:
        (synapses, segments that grow (new ones included), new segments).
    """
    synapses = 0
    growing = 0
    created = 0
    learners = np.empty(b_cells.shape[0], dtype=np.int64)
    ip = 0
    ib = 0
    for i in range(columns.shape[0]):
        first = columns[i] * cells_per_column
        last = first + cells_per_column
        ip, pred_stop, ib, seg_stop = _column_span(first, last, predicted_cells, b_cells, ip, ib)
        if pred_stop > ip:
            for k in range(_predicted_learners(predicted_cells, ip, pred_stop, b_cells, b_flag, ib, seg_stop,
                                               learners)):
                g = min(max_new - b_pot[learners[k]], n_candidates)
                if g > 0:
                    synapses += g
                    growing += 1
            continue
        best = _best_matching(b_pot, ib, seg_stop, min_threshold)
        if best != -1:
            g = min(max_new - b_pot[best], n_candidates)
            if g > 0:
                synapses += g
                growing += 1
        else:
            g = min(max_new, n_candidates)
            if g > 0:
                synapses += g
                growing += 1
                created += 1
    return synapses, growing, created


@kernel
def _punish(
    seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link, free_segs,
    free_blocks, free_chunks, meta, active_mask, segs, cells, pot, active_columns, cells_per_column, min_threshold,
    decrement,
):
    """Weaken matching segments of cells in inactive minicolumns (they predicted wrongly)."""
    if decrement <= 0:
        return
    for i in range(segs.shape[0]):
        if pot[i] >= min_threshold and not _in_sorted(active_columns, cells[i] // cells_per_column):
            adapt_segment(
                seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link,
                free_segs, free_blocks, free_chunks, meta, segs[i], active_mask, -decrement, np.float32(0.0))


@kernel
def _set_mask(mask, indices, value):
    for k in range(indices.shape[0]):
        mask[indices[k]] = value


@kernel
def _new_segment(
    seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link, free_segs,
    free_blocks, free_chunks, meta, scratch_mask, candidate_mask, rand, rand_pos, cell, candidates, fparams,
    iparams, iteration,
):
    """Grow a new segment on ``cell`` with ``min(max_new, len(candidates))`` synapses; returns the new rand_pos."""
    n_grow = min(iparams[I_MAX_NEW], candidates.shape[0])
    if n_grow > 0:
        seg = create_segment(
            seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link,
            free_segs, free_blocks, free_chunks, meta, cell, iteration, iparams[I_MAX_SEG])
        _, rand_pos = grow_synapses(
            seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link,
            free_segs, free_blocks, free_chunks, meta, scratch_mask, rand, rand_pos, seg, candidates, candidate_mask,
            n_grow, fparams[P_INIT], iparams[I_MAX_SYN])
    return rand_pos


@kernel
def _activate_learn(  # the body of activate_learn / activate_learn_basal (see _ACTIVATE_DOC)
    b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at,
    b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask,
    a_seg_i32, a_seg_used, a_syn_i32, a_syn_perm, a_syn_link, a_cell_i32, a_pre_i32, a_chunk_i32, a_connected_at,
    a_chunk_link, a_free_segs, a_free_blocks, a_free_chunks, a_meta, a_scratch, a_mask, a_cmask,
    rand, active_columns, predicted_cells, b_segs, b_cells, b_pot, b_flag, basal_input, basal_candidates, a_segs,
    a_cells, a_pot, a_flag, apical_input, apical_candidates, rand_pos, iteration, learn, cells_per_column, b_fparams,
    b_iparams, a_fparams, a_iparams, use_apical,
):
    n_cols = active_columns.shape[0]
    active = np.empty(n_cols * cells_per_column, dtype=np.int32)
    winners = np.empty(n_cols + predicted_cells.shape[0], dtype=np.int32)
    predicted_active = np.empty(predicted_cells.shape[0], dtype=np.int32)
    bursting = np.empty(n_cols, dtype=np.int32)
    n_act = 0
    n_win = 0
    n_pa = 0
    n_burst = 0
    if learn:
        _set_mask(b_mask, basal_input, 1)
        _set_mask(b_cmask, basal_candidates, 1)
    b_min = b_iparams[I_MIN]
    b_max_new = b_iparams[I_MAX_NEW]
    learners = np.empty(b_cells.shape[0], dtype=np.int64)
    ip = 0
    ib = 0
    for ci in range(n_cols):
        column = active_columns[ci]
        first = column * cells_per_column
        last = first + cells_per_column
        ip, pred_stop, ib, seg_stop = _column_span(first, last, predicted_cells, b_cells, ip, ib)
        if pred_stop > ip:
            for k in range(ip, pred_stop):
                cell = predicted_cells[k]
                active[n_act] = cell
                n_act += 1
                winners[n_win] = cell
                n_win += 1
                predicted_active[n_pa] = cell
                n_pa += 1
            if learn:
                for k in range(_predicted_learners(predicted_cells, ip, pred_stop, b_cells, b_flag, ib, seg_stop,
                                                   learners)):
                    s = learners[k]
                    rand_pos = _learn_segment(
                        b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32,
                        b_chunk_i32, b_connected_at, b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks,
                        b_meta, b_scratch, b_mask, b_cmask, rand, rand_pos, b_segs[s], basal_candidates,
                        b_max_new - b_pot[s], b_fparams, b_iparams, iteration)
            continue
        for cell in range(first, last):
            active[n_act] = cell
            n_act += 1
        bursting[n_burst] = column
        n_burst += 1
        best = _best_matching(b_pot, ib, seg_stop, b_min)
        if best != -1:
            winner = b_cells[best]
            if learn:
                rand_pos = _learn_segment(
                    b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32,
                    b_connected_at, b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask,
                    b_cmask, rand, rand_pos, b_segs[best], basal_candidates, b_max_new - b_pot[best], b_fparams,
                    b_iparams, iteration)
        else:
            fewest = b_cell_i32[C_NSEG, first]
            ties = 0
            for cell in range(first, last):
                n = b_cell_i32[C_NSEG, cell]
                if n < fewest:
                    fewest = n
                    ties = 1
                elif n == fewest:
                    ties += 1
            pick = min(int(rand[rand_pos] * ties), ties - 1)
            rand_pos += 1
            winner = first
            for cell in range(first, last):
                if b_cell_i32[C_NSEG, cell] == fewest:
                    if pick == 0:
                        winner = cell
                        break
                    pick -= 1
            if learn:
                rand_pos = _new_segment(
                    b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32,
                    b_connected_at, b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_cmask,
                    rand, rand_pos, winner, basal_candidates, b_fparams, b_iparams, iteration)
        winners[n_win] = winner
        n_win += 1
    if learn:
        _punish(
            b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32,
            b_connected_at, b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_mask, b_segs, b_cells,
            b_pot, active_columns, cells_per_column, b_min, b_fparams[P_PUNISH])
        _set_mask(b_mask, basal_input, 0)
        _set_mask(b_cmask, basal_candidates, 0)
        if use_apical:
            _set_mask(a_mask, apical_input, 1)
            _set_mask(a_cmask, apical_candidates, 1)
            rand_pos = _apical_learn(
                a_seg_i32, a_seg_used, a_syn_i32, a_syn_perm, a_syn_link, a_cell_i32, a_pre_i32, a_chunk_i32,
                a_connected_at, a_chunk_link, a_free_segs, a_free_blocks, a_free_chunks, a_meta, a_scratch, a_mask,
                a_cmask, rand, rand_pos, winners[:n_win], a_segs, a_cells, a_pot, a_flag, apical_candidates,
                a_fparams, a_iparams, iteration)
            _punish(
                a_seg_i32, a_seg_used, a_syn_i32, a_syn_perm, a_syn_link, a_cell_i32, a_pre_i32, a_chunk_i32,
                a_connected_at, a_chunk_link, a_free_segs, a_free_blocks, a_free_chunks, a_meta, a_mask, a_segs,
                a_cells, a_pot, active_columns, cells_per_column, a_iparams[I_MIN], a_fparams[P_PUNISH])
            _set_mask(a_mask, apical_input, 0)
            _set_mask(a_cmask, apical_candidates, 0)
        # The fan-out caps, now that no segment id of this step is needed any more (the caller reads segment
        # activity afresh, or in pair mode drops the ids of destroyed segments from the lists it keeps): growth
        # went only to the candidates, so only they can be over.
        if b_iparams[I_MAX_FAN] > 0:
            enforce_fan_out(
                b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32,
                b_connected_at, b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, basal_candidates,
                b_iparams[I_MAX_FAN], -1)
        if use_apical and a_iparams[I_MAX_FAN] > 0:
            enforce_fan_out(
                a_seg_i32, a_seg_used, a_syn_i32, a_syn_perm, a_syn_link, a_cell_i32, a_pre_i32, a_chunk_i32,
                a_connected_at, a_chunk_link, a_free_segs, a_free_blocks, a_free_chunks, a_meta, apical_candidates,
                a_iparams[I_MAX_FAN], -1)
    return active[:n_act], winners[:n_win], predicted_active[:n_pa], bursting[:n_burst], rand_pos


_ACTIVATE_DOC = """Activate cells in the active minicolumns and learn on basal (and apical) dendrites.

    In each active minicolumn the predicted cells fire and win; with none predicted, every cell fires (burst) and the
    winner is the cell of the best matching basal segment (most potential synapses, ties: first in (cell, id)
    order), else the cell with the fewest segments (ties broken with one float from ``rand``). With ``learn``: active
    basal segments of winning predicted cells are reinforced and grow up to ``max_new - potential`` synapses; in a
    bursting minicolumn the best matching segment learns likewise, else the winner grows a new segment (if there are
    growth candidates); matching segments in inactive minicolumns are punished. Apical learning on every winner cell:
    its active apical segments learn, else its best matching one, else it grows a new one.

    ``*_mask`` / ``*_cmask`` (uint8 over the inputs) are zero on entry and on exit; they mark the active inputs and
    the growth candidates during the call.

    Returns:
        (active cells, winner cells, predicted active cells, bursting columns, new rand_pos).
    """


@kernel
def activate_learn(
    b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at,
    b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask,
    a_seg_i32, a_seg_used, a_syn_i32, a_syn_perm, a_syn_link, a_cell_i32, a_pre_i32, a_chunk_i32, a_connected_at,
    a_chunk_link, a_free_segs, a_free_blocks, a_free_chunks, a_meta, a_scratch, a_mask, a_cmask,
    rand, active_columns, predicted_cells, b_segs, b_cells, b_pot, b_flag, basal_input, basal_candidates, a_segs,
    a_cells, a_pot, a_flag, apical_input, apical_candidates, rand_pos, iteration, learn, cells_per_column, b_fparams,
    b_iparams, a_fparams, a_iparams,
):
    return _activate_learn(
        b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at,
        b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask, a_seg_i32,
        a_seg_used, a_syn_i32, a_syn_perm, a_syn_link, a_cell_i32, a_pre_i32, a_chunk_i32, a_connected_at, a_chunk_link,
        a_free_segs, a_free_blocks, a_free_chunks, a_meta, a_scratch, a_mask, a_cmask, rand, active_columns,
        predicted_cells, b_segs, b_cells, b_pot, b_flag, basal_input, basal_candidates, a_segs, a_cells, a_pot,
        a_flag, apical_input, apical_candidates, rand_pos, iteration, learn, cells_per_column, b_fparams, b_iparams,
        a_fparams, a_iparams, True)


@kernel
def activate_learn_basal(
    b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at,
    b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask,
    rand, active_columns, predicted_cells, b_segs, b_cells, b_pot, b_flag, basal_input, basal_candidates, rand_pos,
    iteration, learn, cells_per_column, b_fparams, b_iparams,
):
    # The apical slots are filled with the basal arrays; use_apical=False means they are never touched. One kernel
    # with fewer arguments keeps numba's per-call dispatch cost down for the common case without apical dendrites.
    return _activate_learn(
        b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at,
        b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask, b_seg_i32,
        b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at, b_chunk_link,
        b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask, rand, active_columns,
        predicted_cells, b_segs, b_cells, b_pot, b_flag, basal_input, basal_candidates, b_segs, b_cells, b_pot,
        b_flag, basal_input, basal_candidates, rand_pos, iteration, learn, cells_per_column, b_fparams, b_iparams,
        b_fparams, b_iparams, False)


activate_learn.__doc__ = _ACTIVATE_DOC
activate_learn_basal.__doc__ = "Same as :func:`activate_learn` for a memory without apical dendrites.\n\n    " + \
    _ACTIVATE_DOC.split("\n\n    ", 1)[1]


@kernel
def activate_learn_depolarize_basal(
    b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at,
    b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask, counts, touched,
    rand, active_columns, predicted_cells, b_segs, b_cells, b_pot, b_flag, basal_input, basal_candidates, rand_pos,
    n_previously_touched, iteration, learn, cells_per_column, b_fparams, b_iparams, connected_threshold,
    activation_threshold, min_connected,
):
    """A whole sequence-mode step without apical dendrites in one call: :func:`activate_learn_basal`, then
    :func:`segment_activity` of the new active cells and :func:`predict` (the next step's depolarization).

    ``counts`` / ``touched`` / ``n_previously_touched``, ``connected_threshold`` and ``min_connected`` are as in
    :func:`segment_activity` (its ``min_potential`` is ``b_iparams[I_MIN]``); ``activation_threshold`` as in
    :func:`predict`.

    Returns:
        (active cells, winner cells, predicted active cells, bursting columns, new rand_pos, number of segments
        touched, then the depolarization from the active cells: segment ids, their cells, connected counts, potential
        counts, active flags, predicted cells).
    """
    active, winners, predicted_active, bursting, rand_pos = _activate_learn(
        b_seg_i32, b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at,
        b_chunk_link, b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask, b_seg_i32,
        b_seg_used, b_syn_i32, b_syn_perm, b_syn_link, b_cell_i32, b_pre_i32, b_chunk_i32, b_connected_at, b_chunk_link,
        b_free_segs, b_free_blocks, b_free_chunks, b_meta, b_scratch, b_mask, b_cmask, rand, active_columns,
        predicted_cells, b_segs, b_cells, b_pot, b_flag, basal_input, basal_candidates, b_segs, b_cells, b_pot,
        b_flag, basal_input, basal_candidates, rand_pos, iteration, learn, cells_per_column, b_fparams, b_iparams,
        b_fparams, b_iparams, False)
    n_touched, segs, cells, conn, pot = segment_activity(
        counts, touched, b_seg_i32, b_pre_i32, b_chunk_i32, b_connected_at, b_chunk_link, n_previously_touched, active,
        connected_threshold, b_iparams[I_MIN], min_connected)
    no_apical = np.empty(0, dtype=np.int32)
    flag, _, predictive = predict(cells, conn, no_apical, no_apical, activation_threshold, activation_threshold,
                                  activation_threshold, cells_per_column)
    return (active, winners, predicted_active, bursting, rand_pos, n_touched, segs, cells, conn, pot, flag,
            predictive)


@kernel
def _apical_learn(
    seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link, free_segs,
    free_blocks, free_chunks, meta, scratch_mask, active_mask, candidate_mask, rand, rand_pos, learning_cells, segs,
    cells, pot, flag, candidates, fparams, iparams, iteration,
):
    """Apical learning on the (sorted) learning cells: active segments, else the best matching, else a new one."""
    j = 0
    n_segs = segs.shape[0]
    max_new = iparams[I_MAX_NEW]
    for k in range(learning_cells.shape[0]):
        cell = learning_cells[k]
        while j < n_segs and cells[j] < cell:
            j += 1
        stop = j
        while stop < n_segs and cells[stop] == cell:
            stop += 1
        any_active = False
        for s in range(j, stop):
            if flag[s] == 1:
                any_active = True
                rand_pos = _learn_segment(
                    seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                    chunk_link, free_segs, free_blocks, free_chunks, meta, scratch_mask, active_mask, candidate_mask,
                    rand, rand_pos, segs[s], candidates, max_new - pot[s], fparams, iparams, iteration)
        if any_active:
            continue
        best = -1
        for s in range(j, stop):
            if pot[s] >= iparams[I_MIN] and (best == -1 or pot[s] > pot[best]):
                best = s
        if best != -1:
            rand_pos = _learn_segment(
                seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link,
                free_segs, free_blocks, free_chunks, meta, scratch_mask, active_mask, candidate_mask, rand, rand_pos,
                segs[best], candidates, max_new - pot[best], fparams, iparams, iteration)
        else:
            rand_pos = _new_segment(
                seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at, chunk_link,
                free_segs, free_blocks, free_chunks, meta, scratch_mask, candidate_mask, rand, rand_pos, cell,
                candidates, fparams, iparams, iteration)
    return rand_pos


__all__ = ["segment_activity", "predict", "activate_learn", "activate_learn_basal", "activate_learn_depolarize_basal",
           "EPSILON"]
