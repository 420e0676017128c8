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



def retire(model, protected, count):
    """The memory budget's rule: remove ``count`` unprotected segments, least recently used first (ties: lowest
    id), or all unprotected ones if there are fewer."""
    model = copy.deepcopy(model)
    for _, seg in sorted((s.used, seg) for seg, s in model.items() if seg not in protected)[:count]:
        del model[seg]
    return model
