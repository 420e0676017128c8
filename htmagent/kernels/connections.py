"""numba kernels of the dendrite segment store (:mod:`htmagent.connections`).

Layout (all arrays are owned by a :class:`~htmagent.connections.Connections`; kernels only read and mutate them).
Every list below is a *chunked dense list*: fixed-size chunks of ``CHUNK`` entries linked both ways, entries packed
at the front (removing an entry moves the list's last entry into the hole), so walking a list reads contiguous memory.

- Segments: ``seg_i32[6, segment_capacity]`` int32, rows ``S_CELL`` (owning cell, -1 = free slot), ``S_NEXT`` /
  ``S_PREV`` (the cell's segments, a doubly linked list), ``S_NSYN`` (synapse count), ``S_HEAD`` / ``S_TAIL`` (first
  and last block of its synapse list). ``seg_used[segment_capacity]`` int64: iteration of the last learning (LRU).
- Synapses, in blocks (one chunked list per segment; a synapse id is its entry index and may change when another
  synapse of the segment is removed): ``syn_i32[2, blocks * CHUNK]`` rows ``Y_PRE`` (presynaptic cell) and ``Y_POS``
  (its entry in the presynaptic index); ``syn_perm`` float32; ``syn_link[2, blocks]`` rows ``L_NEXT`` / ``L_PREV``.
- Cells: ``cell_i32[2, num_cells]`` rows ``C_HEAD`` (first segment) and ``C_NSEG`` (segment count).
- Presynaptic index (one chunked list per presynaptic cell): ``pre_i32[3, num_presynaptic]`` rows ``P_HEAD`` /
  ``P_TAIL`` / ``P_LEN``; ``chunk_i32[1, chunks * CHUNK]`` row ``E_SEG``: the synapse's segment, with the sign bit
  (``CONNECTED``) set while the synapse is connected (permanence >= ``connected_at[0]``, the store's connected
  threshold, a float32 array of one value); ``chunk_link[2, chunks]``. Segment activity therefore reads one int32 per
  synapse on the active presynaptic cells, and learning writes an index entry only when a synapse crosses the
  threshold. An entry names no synapse id: a segment holds at most one synapse from a presynaptic cell, so the
  synapse is the segment's one whose ``Y_POS`` is the entry.
- ``free_segs`` / ``free_blocks`` / ``free_chunks``: stacks of free slots; ``meta`` int64 counters (``M_*``).

Arithmetic on permanences is float32 throughout so that the NumPy twins in ``tests/reference/connections_twins.py``
agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from htmagent._numba import kernel

S_CELL, S_NEXT, S_PREV, S_NSYN, S_HEAD, S_TAIL = 0, 1, 2, 3, 4, 5
Y_PRE, Y_POS = 0, 1
C_HEAD, C_NSEG = 0, 1
P_HEAD, P_TAIL, P_LEN = 0, 1, 2
E_SEG = 0
#: The sign bit of an index entry: its synapse is connected.
CONNECTED = np.int32(-2**31)
#: The segment id of an index entry (``entry & SEGMENT``).
SEGMENT = np.int32(2**31 - 1)
L_NEXT, L_PREV = 0, 1
M_FREE_SEG, M_FREE_BLOCK, M_FREE_CHUNK, M_NUM_SEG, M_NUM_SYN = 0, 1, 2, 3, 4
#: Entries per chunk (synapse blocks and presynaptic-index chunks).
CHUNK = 16

#: A synapse whose permanence falls to this value or below is removed (as htm.core's epsilon).
EPSILON = np.float32(1e-6)


@kernel
def _push_slot(owner_i32, owner, row_head, row_tail, row_len, link, free, meta, free_counter):
    """Append an entry to the chunked list of ``owner`` (opening a chunk if needed); return its position."""
    length = owner_i32[row_len, owner]
    if length % CHUNK == 0:
        meta[free_counter] -= 1
        chunk = free[meta[free_counter]]
        tail = owner_i32[row_tail, owner]
        link[L_PREV, chunk] = tail
        link[L_NEXT, chunk] = -1
        if tail == -1:
            owner_i32[row_head, owner] = chunk
        else:
            link[L_NEXT, tail] = chunk
        owner_i32[row_tail, owner] = chunk
    owner_i32[row_len, owner] = length + 1
    return owner_i32[row_tail, owner] * CHUNK + length % CHUNK


@kernel
def _last_slot(owner_i32, owner, row_tail, row_len):
    return owner_i32[row_tail, owner] * CHUNK + (owner_i32[row_len, owner] - 1) % CHUNK


@kernel
def _pop_slot(owner_i32, owner, row_head, row_tail, row_len, link, free, meta, free_counter):
    """Drop the last entry of ``owner``'s list (the caller has moved it), freeing its chunk when it empties."""
    length = owner_i32[row_len, owner] - 1
    owner_i32[row_len, owner] = length
    if length % CHUNK == 0:
        tail = owner_i32[row_tail, owner]
        prev = link[L_PREV, tail]
        owner_i32[row_tail, owner] = prev
        if prev == -1:
            owner_i32[row_head, owner] = -1
        else:
            link[L_NEXT, prev] = -1
        free[meta[free_counter]] = tail
        meta[free_counter] += 1


@kernel
def set_permanence(syn_i32, syn_perm, chunk_i32, connected_at, syn, permanence):
    """Write a synapse's permanence, and flip its index entry's connected bit if it crossed the threshold."""
    was = syn_perm[syn] >= connected_at[0]
    syn_perm[syn] = permanence
    if (permanence >= connected_at[0]) != was:
        pos = syn_i32[Y_POS, syn]
        chunk_i32[E_SEG, pos] = chunk_i32[E_SEG, pos] ^ CONNECTED


@kernel
def _entry_synapse(seg_i32, syn_i32, syn_link, seg, pre, pos):
    """The synapse of ``seg`` from ``pre`` whose index entry is ``pos`` (-1 if none: a damaged store)."""
    block = seg_i32[S_HEAD, seg]
    for k in range(seg_i32[S_NSYN, seg]):
        syn = block * CHUNK + k % CHUNK
        if syn_i32[Y_POS, syn] == pos and syn_i32[Y_PRE, syn] == pre:
            return syn
        if k % CHUNK == CHUNK - 1:
            block = syn_link[L_NEXT, block]
    return -1


@kernel
def destroy_synapse(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                    chunk_link, free_segs, free_blocks, free_chunks, meta, seg, syn):
    """Remove synapse ``syn`` of segment ``seg``; the segment's last synapse takes its id."""
    pre = syn_i32[Y_PRE, syn]
    pos = syn_i32[Y_POS, syn]
    last = _last_slot(pre_i32, pre, P_TAIL, P_LEN)
    if pos != last:
        entry = chunk_i32[E_SEG, last]
        moved = _entry_synapse(seg_i32, syn_i32, syn_link, entry & SEGMENT, pre, last)
        chunk_i32[E_SEG, pos] = entry
        if moved >= 0:
            syn_i32[Y_POS, moved] = pos
    _pop_slot(pre_i32, pre, P_HEAD, P_TAIL, P_LEN, chunk_link, free_chunks, meta, M_FREE_CHUNK)
    last = _last_slot(seg_i32, seg, S_TAIL, S_NSYN)
    if syn != last:
        syn_i32[Y_PRE, syn] = syn_i32[Y_PRE, last]
        syn_i32[Y_POS, syn] = syn_i32[Y_POS, last]
        syn_perm[syn] = syn_perm[last]
    _pop_slot(seg_i32, seg, S_HEAD, S_TAIL, S_NSYN, syn_link, free_blocks, meta, M_FREE_BLOCK)
    meta[M_NUM_SYN] -= 1


@kernel
def create_synapse(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                   chunk_link, free_segs, free_blocks, free_chunks, meta, seg, pre, permanence):
    """Connect ``pre`` to segment ``seg`` with ``permanence``; return the synapse id.

    The caller guarantees a free block and a free chunk (see ``Connections.ensure_capacity``).
    """
    syn = _push_slot(seg_i32, seg, S_HEAD, S_TAIL, S_NSYN, syn_link, free_blocks, meta, M_FREE_BLOCK)
    pos = _push_slot(pre_i32, pre, P_HEAD, P_TAIL, P_LEN, chunk_link, free_chunks, meta, M_FREE_CHUNK)
    syn_i32[Y_PRE, syn] = pre
    syn_i32[Y_POS, syn] = pos
    syn_perm[syn] = permanence
    chunk_i32[E_SEG, pos] = (seg | CONNECTED) if permanence >= connected_at[0] else seg
    meta[M_NUM_SYN] += 1
    return syn


@kernel
def segment_synapses(seg_i32, syn_i32, syn_perm, syn_link, seg):
    """(presynaptic cells, permanences) of segment ``seg``, in storage order."""
    n = seg_i32[S_NSYN, seg]
    pres = np.empty(n, dtype=np.int32)
    perms = np.empty(n, dtype=np.float32)
    block = seg_i32[S_HEAD, seg]
    for k in range(n):
        syn = block * CHUNK + k % CHUNK
        pres[k] = syn_i32[Y_PRE, syn]
        perms[k] = syn_perm[syn]
        if k % CHUNK == CHUNK - 1:
            block = syn_link[L_NEXT, block]
    return pres, perms


@kernel
def destroy_segment(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                    chunk_link, free_segs, free_blocks, free_chunks, meta, seg):
    """Remove segment ``seg`` and all its synapses, and free its slot."""
    while seg_i32[S_NSYN, seg] > 0:
        destroy_synapse(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                        chunk_link, free_segs, free_blocks, free_chunks, meta, seg,
                        _last_slot(seg_i32, seg, S_TAIL, S_NSYN))
    cell = seg_i32[S_CELL, seg]
    prev = seg_i32[S_PREV, seg]
    nxt = seg_i32[S_NEXT, seg]
    if prev == -1:
        cell_i32[C_HEAD, cell] = nxt
    else:
        seg_i32[S_NEXT, prev] = nxt
    if nxt != -1:
        seg_i32[S_PREV, nxt] = prev
    cell_i32[C_NSEG, cell] -= 1
    seg_i32[S_CELL, seg] = -1
    free_segs[meta[M_FREE_SEG]] = seg
    meta[M_FREE_SEG] += 1
    meta[M_NUM_SEG] -= 1


@kernel
def least_recently_used_segment(seg_i32, seg_used, cell_i32, cell):
    """Return the segment of ``cell`` that learned longest ago (ties: lowest id), or -1 if it has none."""
    best = -1
    seg = cell_i32[C_HEAD, cell]
    while seg != -1:
        if best == -1 or seg_used[seg] < seg_used[best] or (seg_used[seg] == seg_used[best] and seg < best):
            best = seg
        seg = seg_i32[S_NEXT, seg]
    return best


@kernel
def create_segment(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                   chunk_link, free_segs, free_blocks, free_chunks, meta, cell, iteration, max_segments_per_cell):
    """Give ``cell`` a new empty segment (replacing its least recently used one when at the cap); return its id.

    The caller guarantees a free segment slot.
    """
    while cell_i32[C_NSEG, cell] >= max_segments_per_cell:
        victim = least_recently_used_segment(seg_i32, seg_used, cell_i32, cell)
        destroy_segment(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                        chunk_link, free_segs, free_blocks, free_chunks, meta, victim)
    meta[M_FREE_SEG] -= 1
    seg = free_segs[meta[M_FREE_SEG]]
    seg_i32[S_CELL, seg] = cell
    seg_i32[S_NSYN, seg] = 0
    seg_i32[S_HEAD, seg] = -1
    seg_i32[S_TAIL, seg] = -1
    head = cell_i32[C_HEAD, cell]
    seg_i32[S_NEXT, seg] = head
    seg_i32[S_PREV, seg] = -1
    if head != -1:
        seg_i32[S_PREV, head] = seg
    cell_i32[C_HEAD, cell] = seg
    cell_i32[C_NSEG, cell] += 1
    seg_used[seg] = iteration
    meta[M_NUM_SEG] += 1
    return seg


@kernel
def compute_activity(counts, touched, pre_i32, chunk_i32, connected_at, chunk_link, n_previously_touched,
                     active_presynaptic, connected_threshold):
    """Count, per segment, its synapses onto active presynaptic cells (potential) and the connected ones.

    Only the segments reached from active presynaptic cells are visited, by reading each active cell's entries in the
    presynaptic index. ``counts[seg]`` packs both numbers, ``potential + (connected << 16)`` (so one random access
    per synapse; ``max_synapses_per_segment`` is below 32,768). The touched segment ids are written to ``touched``
    (in order of first contact) and their number is returned; the counters of the ``n_previously_touched`` segments
    touched by the previous call are reset first, so the counter array never needs a full clear.

    Args:
        counts, touched: int32 per segment slot, mutated.
        connected_threshold: float32; a synapse is connected when its permanence is >= this value. It must be the
            store's ``connected_at[0]`` (the connected bits are kept for it; ``Connections`` re-flags the store
            before counting at another threshold).
    """
    if connected_threshold != connected_at[0]:
        raise ValueError("connected_threshold is not the threshold the store keeps its connected bits for")
    for i in range(n_previously_touched):
        counts[touched[i]] = 0
    # Two passes: first list the chunks to read (a tight walk of the links), then count. The chunk reads no longer
    # wait on the link reads, so the CPU overlaps their cache misses (measured 1.3-3x faster on trained models).
    total = 0
    for k in range(active_presynaptic.shape[0]):
        total += (pre_i32[P_LEN, active_presynaptic[k]] + CHUNK - 1) // CHUNK
    chunks = np.empty(total, dtype=np.int32)
    sizes = np.empty(total, dtype=np.int32)
    j = 0
    for k in range(active_presynaptic.shape[0]):
        pre = active_presynaptic[k]
        remaining = pre_i32[P_LEN, pre]
        chunk = pre_i32[P_HEAD, pre]
        while remaining > 0:
            chunks[j] = chunk
            sizes[j] = min(remaining, CHUNK)
            j += 1
            remaining -= CHUNK
            if remaining > 0:
                chunk = chunk_link[L_NEXT, chunk]
    n = 0
    for j in range(total):
        base = chunks[j] * CHUNK
        for e in range(base, base + sizes[j]):
            entry = chunk_i32[E_SEG, e]
            seg = entry & SEGMENT
            c = counts[seg]
            if c == 0:
                touched[n] = seg
                n += 1
            counts[seg] = c + (65537 if entry < 0 else 1)
    return n


@kernel
def input_changes(previous_input, active_input):
    """(cells of ``previous_input`` not in ``active_input``, cells of ``active_input`` not in ``previous_input``),
    both sorted, from two sorted unique int arrays in one merge."""
    n_prev = previous_input.shape[0]
    n_act = active_input.shape[0]
    removed = np.empty(n_prev, dtype=np.int32)
    added = np.empty(n_act, dtype=np.int32)
    i = 0
    j = 0
    n_removed = 0
    n_added = 0
    while i < n_prev or j < n_act:
        if j == n_act or (i < n_prev and previous_input[i] < active_input[j]):
            removed[n_removed] = previous_input[i]
            n_removed += 1
            i += 1
        elif i == n_prev or active_input[j] < previous_input[i]:
            added[n_added] = active_input[j]
            n_added += 1
            j += 1
        else:
            i += 1
            j += 1
    return removed[:n_removed], added[:n_added]


@kernel
def _walk_counts(counts, touched, n, pre, pre_i32, chunk_i32, connected_at, chunk_link, connected_threshold, sign):
    """Add (``sign`` 1) or remove (-1) presynaptic cell ``pre``'s synapses from the per-segment counts; a segment
    that goes from zero to non-zero is appended to ``touched``. Returns the new length of ``touched``."""
    remaining = pre_i32[P_LEN, pre]
    chunk = pre_i32[P_HEAD, pre]
    while remaining > 0:
        base = chunk * CHUNK
        for e in range(base, base + min(remaining, CHUNK)):
            entry = chunk_i32[E_SEG, e]
            seg = entry & SEGMENT
            c = counts[seg]
            if c == 0 and sign > 0:
                touched[n] = seg
                n += 1
            counts[seg] = c + sign * (65537 if entry < 0 else 1)
        remaining -= CHUNK
        if remaining > 0:
            chunk = chunk_link[L_NEXT, chunk]
    return n


@kernel
def compute_activity_delta(counts, touched, pre_i32, chunk_i32, connected_at, chunk_link, n_touched, previous_input,
                           active_input, connected_threshold):
    """:func:`compute_activity` of ``active_input``, given that ``counts`` / ``touched[:n_touched]`` hold the counts
    of ``previous_input`` on this same, unchanged store: only the presynaptic cells that turned on or off are
    walked. Returns the new number of touched segments.

    A union input that narrows (the location layer, L2/3 while columns vote) changes in a fraction of its cells
    from one step to the next; when most of the input changed, this counts afresh instead. The counts are the same
    as :func:`compute_activity`'s either way (``touched`` may list the segments in another order).
    """
    if connected_threshold != connected_at[0]:
        raise ValueError("connected_threshold is not the threshold the store keeps its connected bits for")
    removed, added = input_changes(previous_input, active_input)
    if removed.shape[0] + added.shape[0] >= active_input.shape[0]:
        return compute_activity(counts, touched, pre_i32, chunk_i32, connected_at, chunk_link, n_touched,
                                active_input, connected_threshold)
    for k in range(removed.shape[0]):
        _walk_counts(counts, touched, 0, removed[k], pre_i32, chunk_i32, connected_at, chunk_link, connected_threshold,
                     -1)
    n = 0  # drop the segments the removed cells left at zero, so that re-adding one appends it once
    for k in range(n_touched):
        seg = touched[k]
        if counts[seg] != 0:
            touched[n] = seg
            n += 1
    for k in range(added.shape[0]):
        n = _walk_counts(counts, touched, n, added[k], pre_i32, chunk_i32, connected_at, chunk_link,
                         connected_threshold, 1)
    return n


@kernel
def active_segment_owners(counts, touched, n_touched, seg_i32, activation_threshold):
    """Owning cells of the touched segments with at least ``activation_threshold`` connected synapses (counted by
    :func:`compute_activity`), one entry per such segment, sorted by cell."""
    owners = np.empty(n_touched, dtype=np.int32)
    m = 0
    for k in range(n_touched):
        seg = touched[k]
        if (counts[seg] >> 16) >= activation_threshold:
            owners[m] = seg_i32[S_CELL, seg]
            m += 1
    return np.sort(owners[:m])


@kernel
def adapt_segment(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                  chunk_link, free_segs, free_blocks, free_chunks, meta, seg, active_mask, increment, decrement):
    """Hebbian update of one segment; returns False if the segment lost every synapse and was destroyed.

    Synapses from active presynaptic cells (``active_mask[pre] != 0``) gain ``increment``, the others lose
    ``decrement``; permanences are clipped to [0, 1] and synapses at or below ``EPSILON`` are removed. ``increment``
    and ``decrement`` are float32 (a negative increment with zero decrement punishes the active synapses).
    """
    k = 0
    block = seg_i32[S_HEAD, seg]
    while k < seg_i32[S_NSYN, seg]:
        syn = block * CHUNK + k % CHUNK
        if active_mask[syn_i32[Y_PRE, syn]] != 0:
            p = syn_perm[syn] + increment
        else:
            p = syn_perm[syn] - decrement
        if p > np.float32(1.0):
            p = np.float32(1.0)
        if p <= EPSILON:
            # the segment's last synapse moves into this slot: look at the slot again
            destroy_synapse(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32,
                            connected_at, chunk_link, free_segs, free_blocks, free_chunks, meta, seg, syn)
            continue
        if p != syn_perm[syn]:  # saturated synapses (most of a trained segment) need no write
            set_permanence(syn_i32, syn_perm, chunk_i32, connected_at, syn, p)
        k += 1
        if k % CHUNK == 0:
            block = syn_link[L_NEXT, block]
    if seg_i32[S_NSYN, seg] == 0:
        destroy_segment(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                        chunk_link, free_segs, free_blocks, free_chunks, meta, seg)
        return False
    return True


@kernel
def enforce_fan_out(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                    chunk_link, free_segs, free_blocks, free_chunks, meta, presynaptic, max_synapses_per_presynaptic,
                    keep_segment):
    """The fan-out cap: each cell of ``presynaptic`` that feeds more than ``max_synapses_per_presynaptic`` segments
    loses its least useful synapses until it feeds that many.

    Least useful = on the segment that learned longest ago (``seg_used``); ties: the weaker synapse, then the lower
    segment id. Synapses of ``keep_segment`` (-1: none) are never removed. A segment left without synapses is
    destroyed, so call this only when no segment ids are held (the temporal memory calls it at the end of its
    learning, before it reads segment activity again).

    Returns:
        (synapses removed, segments destroyed).
    """
    removed = 0
    destroyed = 0
    for i in range(presynaptic.shape[0]):
        pre = presynaptic[i]
        n = pre_i32[P_LEN, pre]
        excess = n - max_synapses_per_presynaptic
        if excess <= 0:
            continue
        # Rank this cell's entries once and take the ``excess`` least useful (their segments are all different:
        # a segment holds at most one synapse from a cell, so removing one never moves another victim's id).
        used = np.empty(n, dtype=np.int64)
        perm = np.empty(n, dtype=np.float32)
        segs = np.empty(n, dtype=np.int32)
        syns = np.empty(n, dtype=np.int32)
        chunk = pre_i32[P_HEAD, pre]
        m = 0
        for k in range(n):
            e = chunk * CHUNK + k % CHUNK
            seg = chunk_i32[E_SEG, e] & SEGMENT
            if seg != keep_segment:
                syn = _entry_synapse(seg_i32, syn_i32, syn_link, seg, pre, e)
                used[m] = seg_used[seg]
                perm[m] = syn_perm[syn]
                segs[m] = seg
                syns[m] = syn
                m += 1
            if k % CHUNK == CHUNK - 1:
                chunk = chunk_link[L_NEXT, chunk]
        excess = min(excess, m)
        for k in range(excess):  # partial selection sort: excess is small next to the cap
            best = k
            for j in range(k + 1, m):
                if (used[j] < used[best] or (used[j] == used[best] and (
                        perm[j] < perm[best] or (perm[j] == perm[best] and segs[j] < segs[best])))):
                    best = j
            used[k], used[best] = used[best], used[k]
            perm[k], perm[best] = perm[best], perm[k]
            segs[k], segs[best] = segs[best], segs[k]
            syns[k], syns[best] = syns[best], syns[k]
        for k in range(excess):
            seg = segs[k]
            destroy_synapse(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                            chunk_link, free_segs, free_blocks, free_chunks, meta, seg, syns[k])
            removed += 1
            if seg_i32[S_NSYN, seg] == 0:
                destroy_segment(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32,
                                connected_at, chunk_link, free_segs, free_blocks, free_chunks, meta, seg)
                destroyed += 1
    return removed, destroyed


@kernel
def _mark_presynaptic(seg_i32, syn_i32, syn_link, seg, mask, value):
    block = seg_i32[S_HEAD, seg]
    for k in range(seg_i32[S_NSYN, seg]):
        mask[syn_i32[Y_PRE, block * CHUNK + k % CHUNK]] = value
        if k % CHUNK == CHUNK - 1:
            block = syn_link[L_NEXT, block]


@kernel
def grow_synapses(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                  chunk_link, free_segs, free_blocks, free_chunks, meta, scratch_mask, rand, rand_pos, seg,
                  candidates, candidate_mask, n_desired, initial_permanence, max_synapses_per_segment):
    """Connect segment ``seg`` to up to ``n_desired`` randomly chosen ``candidates`` it is not yet connected to.

    If the segment would exceed ``max_synapses_per_segment``, its weakest synapses (lowest permanence, ties: lowest
    presynaptic index) that do not start from a candidate are removed first, as htm.core does; if that cannot free
    enough room, fewer synapses grow. The sample is a partial Fisher-Yates shuffle of the unconnected candidates (in
    ascending order) driven by ``rand[rand_pos:]`` (uniform floats in [0, 1) drawn by the caller's Generator).

    Args:
        scratch_mask: uint8 per presynaptic cell, all zero on entry and on exit.
        candidates: sorted unique int32 presynaptic indices.
        candidate_mask: uint8 per presynaptic cell, non-zero exactly on ``candidates``.
        initial_permanence: float32.

    Returns:
        (number of synapses grown, new rand_pos).
    """
    _mark_presynaptic(seg_i32, syn_i32, syn_link, seg, scratch_mask, 1)
    pool = np.empty(candidates.shape[0], dtype=np.int32)
    m = 0
    for k in range(candidates.shape[0]):
        c = candidates[k]
        if scratch_mask[c] == 0:
            pool[m] = c
            m += 1
    _mark_presynaptic(seg_i32, syn_i32, syn_link, seg, scratch_mask, 0)
    n = min(n_desired, m)
    if n <= 0:
        return 0, rand_pos
    n_syn = seg_i32[S_NSYN, seg]
    overrun = n_syn + n - max_synapses_per_segment
    if overrun > 0:
        pres, perms = segment_synapses(seg_i32, syn_i32, syn_perm, syn_link, seg)
        victims = np.empty(n_syn, dtype=np.int32)
        n_victims = 0
        for i in range(n_syn):
            if candidate_mask[pres[i]] == 0:
                victims[n_victims] = i
                n_victims += 1
        n_remove = min(overrun, n_victims)
        for k in range(n_remove):
            weakest = k
            for i in range(k + 1, n_victims):
                a = victims[i]
                b = victims[weakest]
                if perms[a] < perms[b] or (perms[a] == perms[b] and pres[a] < pres[b]):
                    weakest = i
            chosen = victims[weakest]
            victims[weakest] = victims[k]
            victims[k] = chosen
            scratch_mask[pres[chosen]] = 1
        k = 0
        block = seg_i32[S_HEAD, seg]
        while k < seg_i32[S_NSYN, seg]:
            syn = block * CHUNK + k % CHUNK
            if scratch_mask[syn_i32[Y_PRE, syn]] != 0:
                destroy_synapse(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32,
                                connected_at, chunk_link, free_segs, free_blocks, free_chunks, meta, seg, syn)
                continue
            k += 1
            if k % CHUNK == 0:
                block = syn_link[L_NEXT, block]
        for k in range(n_remove):
            scratch_mask[pres[victims[k]]] = 0
        n = min(n, max_synapses_per_segment - seg_i32[S_NSYN, seg])
    for i in range(n):
        j = i + int(rand[rand_pos] * (m - i))
        rand_pos += 1
        if j >= m:
            j = m - 1
        chosen = pool[j]
        pool[j] = pool[i]
        pool[i] = chosen
        create_synapse(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                       chunk_link, free_segs, free_blocks, free_chunks, meta, seg, chosen, initial_permanence)
    return max(n, 0), rand_pos


#: Messages of :func:`check_store`'s error codes (code 0: consistent).
STORE_ERRORS = (
    "consistent",
    "meta counters out of range",
    "free segment stack holds an out-of-range, repeated or live slot",
    "a cell's segment count is out of range",
    "a cell's segment list is broken (bad id, wrong owner or back link, a cycle, or a wrong length)",
    "a live segment is on no cell's list, or a slot's owner is out of range",
    "the segment count does not match meta",
    "a segment's synapse count is out of range",
    "a segment's synapse blocks are broken (bad id, shared, wrong back link or tail)",
    "a synapse's presynaptic cell or index entry is out of range, or its permanence is not in [0, 1]",
    "a synapse and its presynaptic index entry disagree",
    "the synapse count does not match meta",
    "free block stack holds an out-of-range, repeated or used block",
    "a presynaptic cell's index list is broken (bad chunk, shared, wrong back link, tail or length)",
    "a presynaptic index entry names a dead or out-of-range segment",
    "free chunk stack holds an out-of-range, repeated or used chunk",
    "blocks or chunks are neither used nor free",
    "the connected threshold is not in [-1, 1]",
)


@kernel
def _walk(owner_i32, owner, row_head, row_tail, row_len, link, used, mark):
    """Check one chunked list (length, links, tail) and mark its chunks in ``used``; return False if broken."""
    n = owner_i32[row_len, owner]
    chunks = (n + CHUNK - 1) // CHUNK
    capacity = link.shape[1]
    chunk = owner_i32[row_head, owner]
    prev = -1
    for _ in range(chunks):
        if chunk < 0 or chunk >= capacity or used[chunk] != 0:
            return False
        if link[L_PREV, chunk] != prev:
            return False
        used[chunk] = mark
        prev = chunk
        chunk = link[L_NEXT, chunk]
    return chunk == -1 and owner_i32[row_tail, owner] == prev and (n > 0 or owner_i32[row_head, owner] == -1)


@kernel
def check_store(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                chunk_link, free_segs, free_blocks, free_chunks, meta, max_segments_per_cell,
                max_synapses_per_segment):
    """Check every index and link of a segment store before any other kernel trusts it (a loaded file).

    Returns ``(code, where)``: code 0 when consistent, else an index into :data:`STORE_ERRORS` and the offending
    slot. Reads only within bounds, whatever the arrays hold.
    """
    n_seg_cap = seg_i32.shape[1]
    n_blocks = syn_link.shape[1]
    n_chunks = chunk_link.shape[1]
    n_cells = cell_i32.shape[1]
    n_pre = pre_i32.shape[1]
    if not (0 <= meta[M_FREE_SEG] <= n_seg_cap and 0 <= meta[M_FREE_BLOCK] <= n_blocks
            and 0 <= meta[M_FREE_CHUNK] <= n_chunks and 0 <= meta[M_NUM_SEG] <= n_seg_cap and meta[M_NUM_SYN] >= 0):
        return 1, -1
    seg_seen = np.zeros(n_seg_cap, dtype=np.uint8)
    for i in range(meta[M_FREE_SEG]):
        s = free_segs[i]
        if s < 0 or s >= n_seg_cap or seg_seen[s] != 0 or seg_i32[S_CELL, s] != -1:
            return 2, i
        seg_seen[s] = 2
    total_segs = 0
    for c in range(n_cells):
        nseg = cell_i32[C_NSEG, c]
        if nseg < 0 or nseg > max_segments_per_cell:
            return 3, c
        s = cell_i32[C_HEAD, c]
        prev = -1
        for _ in range(nseg):
            if s < 0 or s >= n_seg_cap or seg_seen[s] != 0 or seg_i32[S_CELL, s] != c or seg_i32[S_PREV, s] != prev:
                return 4, c
            seg_seen[s] = 1
            prev = s
            s = seg_i32[S_NEXT, s]
        if s != -1:
            return 4, c
        total_segs += nseg
    for s in range(n_seg_cap):
        owner = seg_i32[S_CELL, s]
        if owner < -1 or owner >= n_cells or (owner >= 0 and seg_seen[s] != 1):
            return 5, s
        if owner == -1 and seg_seen[s] != 2:
            return 2, s
    if total_segs != meta[M_NUM_SEG] or n_seg_cap - meta[M_FREE_SEG] != total_segs:
        return 6, -1
    # The presynaptic index first: mark every live entry, so that each synapse can be matched to one.
    if not (-1.0 <= connected_at[0] <= 1.0):  # a connected permanence in [0, 1], less 1e-6; no NaN
        return 17, 0
    chunk_used = np.zeros(n_chunks, dtype=np.uint8)
    entry_owner = np.full(n_chunks * CHUNK, -1, dtype=np.int32)  # the presynaptic cell whose list holds the entry
    entry_claimed = np.zeros(n_chunks * CHUNK, dtype=np.uint8)
    total_entries = 0
    for p in range(n_pre):
        length = pre_i32[P_LEN, p]
        if length < 0 or length > n_chunks * CHUNK:
            return 13, p
        if not _walk(pre_i32, p, P_HEAD, P_TAIL, P_LEN, chunk_link, chunk_used, 1):
            return 13, p
        chunk = pre_i32[P_HEAD, p]
        for k in range(length):
            e = chunk * CHUNK + k % CHUNK
            seg = chunk_i32[E_SEG, e] & SEGMENT
            if seg >= n_seg_cap or seg_i32[S_CELL, seg] < 0:
                return 14, e
            entry_owner[e] = p
            if k % CHUNK == CHUNK - 1:
                chunk = chunk_link[L_NEXT, chunk]
        total_entries += length
    block_used = np.zeros(n_blocks, dtype=np.uint8)
    total_syn = 0
    for s in range(n_seg_cap):
        if seg_i32[S_CELL, s] < 0:
            continue
        n = seg_i32[S_NSYN, s]
        if n < 0 or n > max_synapses_per_segment:
            return 7, s
        if not _walk(seg_i32, s, S_HEAD, S_TAIL, S_NSYN, syn_link, block_used, 1):
            return 8, s
        block = seg_i32[S_HEAD, s]
        for k in range(n):
            syn = block * CHUNK + k % CHUNK
            pre = syn_i32[Y_PRE, syn]
            pos = syn_i32[Y_POS, syn]
            perm = syn_perm[syn]
            if pre < 0 or pre >= n_pre or pos < 0 or pos >= n_chunks * CHUNK or not (0.0 <= perm <= 1.0):
                return 9, syn
            entry = chunk_i32[E_SEG, pos]
            if (entry_owner[pos] != pre or entry_claimed[pos] != 0 or entry & SEGMENT != s
                    or (entry < 0) != (perm >= connected_at[0])):
                return 10, syn
            entry_claimed[pos] = 1  # each entry matches one synapse
            if k % CHUNK == CHUNK - 1:
                block = syn_link[L_NEXT, block]
        total_syn += n
    if total_syn != meta[M_NUM_SYN] or total_entries != total_syn:  # so every entry is some synapse's
        return 11, -1
    for i in range(meta[M_FREE_BLOCK]):
        b = free_blocks[i]
        if b < 0 or b >= n_blocks or block_used[b] != 0:
            return 12, i
        block_used[b] = 2
    for i in range(meta[M_FREE_CHUNK]):
        h = free_chunks[i]
        if h < 0 or h >= n_chunks or chunk_used[h] != 0:
            return 15, i
        chunk_used[h] = 2
    for b in range(n_blocks):
        if block_used[b] == 0:
            return 16, b
    for h in range(n_chunks):
        if chunk_used[h] == 0:
            return 16, h
    return 0, 0


@kernel
def set_connected_threshold(seg_i32, syn_i32, syn_perm, syn_link, chunk_i32, connected_at, threshold):
    """Keep the connected bits for ``threshold`` from now on: store it and re-flag every index entry."""
    connected_at[0] = threshold
    for s in range(seg_i32.shape[1]):
        if seg_i32[S_CELL, s] < 0:
            continue
        block = seg_i32[S_HEAD, s]
        for k in range(seg_i32[S_NSYN, s]):
            syn = block * CHUNK + k % CHUNK
            pos = syn_i32[Y_POS, syn]
            entry = chunk_i32[E_SEG, pos] & SEGMENT
            chunk_i32[E_SEG, pos] = (entry | CONNECTED) if syn_perm[syn] >= threshold else entry
            if k % CHUNK == CHUNK - 1:
                block = syn_link[L_NEXT, block]


@kernel
def retire_segments(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                    chunk_link, free_segs, free_blocks, free_chunks, meta, order, protected, need_segs, need_blocks,
                    need_chunks):
    """Destroy segments in ``order`` (least recently used first), skipping ``protected`` ones (a 0/1 mask over
    segment ids), until the free stacks hold ``need_*`` slots; return how many were destroyed."""
    destroyed = 0
    for i in range(order.shape[0]):
        if meta[M_FREE_SEG] >= need_segs and meta[M_FREE_BLOCK] >= need_blocks and meta[M_FREE_CHUNK] >= need_chunks:
            break
        seg = order[i]
        if protected[seg] != 0 or seg_i32[S_CELL, seg] < 0:
            continue
        destroy_segment(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                        chunk_link, free_segs, free_blocks, free_chunks, meta, seg)
        destroyed += 1
    return destroyed
