"""Slow, obvious twins of the segment-store kernels (:mod:`htmagent.kernels.connections`).

The twins work on a plain model of the store: ``{segment id: Segment}``, where a :class:`Segment` holds its cell,
its last-used iteration and a dict ``{presynaptic cell: float32 permanence}``. No linked list, no index, no chunk:
only the rules.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

EPSILON = np.float32(1e-6)


@dataclass
class Segment:
    cell: int
    used: int
    synapses: dict = field(default_factory=dict)


def export(conn) -> dict[int, Segment]:
    """Plain model of a :class:`~htmagent.connections.Connections`, read through its public queries."""
    model = {}
    for cell in range(conn.num_cells):
        for seg in conn.segments_for_cell(cell).tolist():
            pre, perm = conn.synapses_for_segment(seg)
            model[seg] = Segment(cell, conn.segment_last_used(seg),
                                 {int(p): np.float32(v) for p, v in zip(pre.tolist(), perm)})
    return model


def canonical(model: dict[int, Segment]) -> list:
    """An id-free, order-free description of a model (for comparing stores whose new segments got other ids)."""
    return sorted((s.cell, s.used, tuple(sorted((p, float(v)) for p, v in s.synapses.items())))
                  for s in model.values())


def compute_activity(model, active, connected_threshold):
    """{segment: (connected, potential)} for the segments with a synapse onto an active cell."""
    active = set(int(a) for a in active)
    out = {}
    for seg, s in model.items():
        pot = sum(1 for p in s.synapses if p in active)
        conn = sum(1 for p, v in s.synapses.items() if p in active and v >= connected_threshold)
        if pot:
            out[seg] = (conn, pot)
    return out


def adapt(model, seg, active, increment, decrement):
    """Hebbian update; returns (new model, segment still alive)."""
    model = copy.deepcopy(model)
    active = set(int(a) for a in active)
    inc, dec = np.float32(increment), np.float32(decrement)
    s = model[seg]
    for p in sorted(s.synapses):
        v = s.synapses[p] + inc if p in active else s.synapses[p] - dec
        v = min(v, np.float32(1.0))
        if v <= EPSILON:
            del s.synapses[p]
        else:
            s.synapses[p] = np.float32(v)
    if not s.synapses:
        del model[seg]
        return model, False
    return model, True


def punish(model, seg, active, decrement):
    """Weaken synapses onto active cells by ``decrement``."""
    return adapt(model, seg, active, -np.float32(decrement), np.float32(0.0))


def grow(model, seg, candidates, n_desired, initial_permanence, rand, max_synapses):
    """Grow up to ``n_desired`` synapses to unconnected candidates; returns (new model, grown, floats used)."""
    model = copy.deepcopy(model)
    s = model[seg]
    cands = [int(c) for c in candidates]
    pool = [c for c in cands if c not in s.synapses]
    n = min(n_desired, len(pool))
    if n <= 0:
        return model, 0, 0
    overrun = len(s.synapses) + n - max_synapses
    if overrun > 0:
        victims = sorted((v, p) for p, v in s.synapses.items() if p not in set(cands))
        for _, p in victims[:overrun]:
            del s.synapses[p]
        n = min(n, max_synapses - len(s.synapses))
    m = len(pool)
    used = 0
    for i in range(max(n, 0)):
        j = min(i + int(rand[used] * (m - i)), m - 1)
        used += 1
        pool[i], pool[j] = pool[j], pool[i]
        s.synapses[pool[i]] = np.float32(initial_permanence)
    return model, max(n, 0), used


def create_segment(model, cell, iteration, max_segments, new_id):
    """Add an empty segment ``new_id`` to ``cell``, first removing its least recently used ones at the cap."""
    model = copy.deepcopy(model)
    while sum(1 for s in model.values() if s.cell == cell) >= max_segments:
        victim = min((s.used, seg) for seg, s in model.items() if s.cell == cell)[1]
        del model[victim]
    model[new_id] = Segment(cell, iteration, {})
    return model



def enforce_fan_out(model, presynaptic, cap, keep):
    """The fan-out cap: each cell of ``presynaptic`` feeding more than ``cap`` segments loses its synapses on the
    segments that learned longest ago (ties: weaker synapse, then lower segment id), never those of ``keep``;
    segments left empty are removed."""
    model = copy.deepcopy(model)
    for pre in (int(p) for p in presynaptic):
        holders = [seg for seg, s in model.items() if pre in s.synapses]
        excess = len(holders) - cap
        if excess <= 0:
            continue
        ranked = sorted((model[seg].used, model[seg].synapses[pre], seg) for seg in holders if seg != keep)
        for _, _, seg in ranked[:excess]:
            del model[seg].synapses[pre]
            if not model[seg].synapses:
                del model[seg]
    return model


def retire(model, protected, count):
    """The memory budget's rule: remove ``count`` unprotected segments, least recently used first (ties: lowest
    id), or all unprotected ones if there are fewer."""
    model = copy.deepcopy(model)
    for _, seg in sorted((s.used, seg) for seg, s in model.items() if seg not in protected)[:count]:
        del model[seg]
    return model


CHUNK = 16


def _chain(head: int, tail: int, length: int, links: np.ndarray, used: set) -> list[int] | None:
    """The chunks of one chunked list (``ceil(length / CHUNK)`` of them, linked both ways, ending at -1, its tail
    the last, none shared with ``used``), or None if it is not such a list."""
    chunks, prev, chunk = [], -1, head
    for _ in range(-(-length // CHUNK)):
        if not 0 <= chunk < links.shape[1] or chunk in used or chunk in chunks or links[1, chunk] != prev:
            return None
        chunks.append(chunk)
        prev, chunk = chunk, int(links[0, chunk])
    if chunk != -1 or tail != prev or (length == 0 and head != -1):
        return None
    return chunks


def store_is_consistent(seg_i32, seg_used, syn_i32, syn_perm, syn_link, cell_i32, pre_i32, chunk_i32, connected_at,
                        chunk_link, free_segs, free_blocks, free_chunks, meta, max_segments, max_synapses) -> bool:
    """NumPy/Python twin of ``kernels.connections.check_store``: True when every index and link of the store holds
    (the store's rules restated with sets and lists, not its kernel's loops)."""
    seg_cap, n_blocks, n_chunks = seg_i32.shape[1], syn_link.shape[1], chunk_link.shape[1]
    n_cells, n_pre = cell_i32.shape[1], pre_i32.shape[1]
    m_seg, m_block, m_chunk, n_seg, n_syn = (int(v) for v in meta)
    if not (0 <= m_seg <= seg_cap and 0 <= m_block <= n_blocks and 0 <= m_chunk <= n_chunks
            and 0 <= n_seg <= seg_cap and n_syn >= 0):
        return False
    free = [int(s) for s in free_segs[:m_seg]]
    if len(set(free)) != len(free) or any(not 0 <= s < seg_cap or seg_i32[0, s] != -1 for s in free):
        return False
    live: dict[int, int] = {}  # segment -> cell, from the cells' lists
    for c in range(n_cells):
        count, s, prev = int(cell_i32[1, c]), int(cell_i32[0, c]), -1
        if not 0 <= count <= max_segments:
            return False
        for _ in range(count):
            if not 0 <= s < seg_cap or s in live or s in free or seg_i32[0, s] != c or seg_i32[2, s] != prev:
                return False
            live[s], prev, s = c, s, int(seg_i32[1, s])
        if s != -1:
            return False
    owners = seg_i32[0]
    if any(o < -1 or o >= n_cells for o in owners.tolist()):
        return False
    if set(np.flatnonzero(owners >= 0).tolist()) != set(live) or set(np.flatnonzero(owners == -1).tolist()) != set(free):
        return False
    if len(live) != n_seg or seg_cap - m_seg != len(live):
        return False
    threshold = float(connected_at[0])
    if not -1.0 <= threshold <= 1.0:
        return False
    used_chunks: set[int] = set()
    entries: dict[int, tuple[int, int, bool]] = {}  # index entry -> (presynaptic cell, segment, connected bit)
    for p in range(n_pre):
        length = int(pre_i32[2, p])
        if not 0 <= length <= n_chunks * CHUNK:
            return False
        chunks = _chain(int(pre_i32[0, p]), int(pre_i32[1, p]), length, chunk_link, used_chunks)
        if chunks is None:
            return False
        used_chunks.update(chunks)
        for k in range(length):
            e = chunks[k // CHUNK] * CHUNK + k % CHUNK
            value = int(chunk_i32[0, e])
            seg, connected = value % 2**31, value < 0  # the low 31 bits, and the sign bit
            if not (0 <= seg < seg_cap and seg_i32[0, seg] >= 0):
                return False
            entries[e] = (p, seg, connected)
    used_blocks: set[int] = set()
    claimed: set[int] = set()
    for s in sorted(live):
        count = int(seg_i32[3, s])
        if not 0 <= count <= max_synapses:
            return False
        blocks = _chain(int(seg_i32[4, s]), int(seg_i32[5, s]), count, syn_link, used_blocks)
        if blocks is None:
            return False
        used_blocks.update(blocks)
        for k in range(count):
            syn = blocks[k // CHUNK] * CHUNK + k % CHUNK
            pre, pos, perm = int(syn_i32[0, syn]), int(syn_i32[1, syn]), syn_perm[syn]
            if not (0 <= pre < n_pre and 0 <= pos < n_chunks * CHUNK and 0.0 <= perm <= 1.0):
                return False
            if pos not in entries or pos in claimed or entries[pos] != (pre, s, bool(perm >= threshold)):
                return False
            claimed.add(pos)
    if len(claimed) != n_syn or len(entries) != n_syn:
        return False
    free_b, free_c = [int(b) for b in free_blocks[:m_block]], [int(h) for h in free_chunks[:m_chunk]]
    for pool, n, used in ((free_b, n_blocks, used_blocks), (free_c, n_chunks, used_chunks)):
        if len(set(pool)) != len(pool) or any(not 0 <= x < n or x in used for x in pool):
            return False
        if set(pool) | used != set(range(n)):
            return False
    return True
