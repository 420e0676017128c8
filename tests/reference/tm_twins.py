"""Slow, obvious twins of the temporal-memory kernels (:mod:`htmagent.kernels.temporal_memory`).

They work on the plain store model of :mod:`tests.reference.connections_twins` and on Python sets, one minicolumn
at a time, exactly as the rules are written in the TemporalMemory docstring.
"""

from __future__ import annotations

import numpy as np

from tests.reference import connections_twins as ct


def segment_activity(model, active, connected_threshold, min_potential, min_connected):
    """Kept segments as parallel arrays (segs, cells, connected, potential), sorted by (cell, segment)."""
    counts = ct.compute_activity(model, active, connected_threshold)
    kept = sorted((model[s].cell, s, c, p) for s, (c, p) in counts.items() if p >= min_potential or c >= min_connected)
    cols = list(zip(*kept)) if kept else [(), (), (), ()]
    cells, segs, conn, pot = (np.array(c, dtype=np.int32) for c in cols)
    return segs, cells, conn, pot


def predict(b_cells, b_conn, a_cells, a_conn, activation_threshold, reduced_threshold, apical_threshold,
            cells_per_column):
    """(basal active flags, apical active flags, predicted cells) with the apical tiebreak."""
    a_flag = np.array([c >= apical_threshold for c in a_conn], dtype=np.uint8)
    apical_cells = {int(cell) for cell, f in zip(a_cells, a_flag) if f}
    b_flag = np.array([conn >= (reduced_threshold if int(cell) in apical_cells else activation_threshold)
                       for cell, conn in zip(b_cells, b_conn)], dtype=np.uint8)
    depolarized = {int(cell) for cell, f in zip(b_cells, b_flag) if f}
    predicted = []
    for column in sorted({c // cells_per_column for c in depolarized}):
        cells = sorted(c for c in depolarized if c // cells_per_column == column)
        both = [c for c in cells if c in apical_cells]
        predicted.extend(both if both else cells)
    return b_flag, a_flag, np.array(predicted, dtype=np.int32)


class _Ids:
    """Fresh ids for segments the twin creates (compared id-free through ``ct.canonical``)."""

    def __init__(self):
        self.next = 10**9

    def __call__(self):
        self.next += 1
        return self.next


def _learn(model, seg, active_input, candidates, n_grow, params, rand, pos, iteration):
    model, alive = ct.adapt(model, seg, active_input, np.float32(params.permanence_increment),
                            np.float32(params.permanence_decrement))
    if alive:
        model[seg].used = iteration
        if n_grow > 0:
            model, _, used = ct.grow(model, seg, candidates, n_grow, np.float32(params.initial_permanence),
                                     rand[pos:], params.max_synapses_per_segment)
            pos += used
    return model, pos


def _new_segment(model, cell, candidates, params, rand, pos, iteration, ids):
    seg = ids()
    model = ct.create_segment(model, cell, iteration, params.max_segments_per_cell, seg)
    model, _, used = ct.grow(model, seg, candidates, min(params.max_new_synapse_count, len(candidates)),
                             np.float32(params.initial_permanence), rand[pos:], params.max_synapses_per_segment)
    return model, pos + used


def _punish(model, segs, cells, pot, active_columns, cpc, params, active_input):
    if params.predicted_segment_decrement <= 0:
        return model
    for seg, cell, p in zip(segs.tolist(), cells.tolist(), pot.tolist()):
        if p >= params.min_threshold and cell // cpc not in set(active_columns.tolist()):
            model, _ = ct.punish(model, seg, active_input, np.float32(params.predicted_segment_decrement))
    return model


def activate_learn(bmodel, amodel, rand, pos, active_columns, predicted_cells, b_segs, b_cells, b_pot, b_flag,
                   a_segs, a_cells, a_pot, a_flag, basal_input, basal_cands, apical_input, apical_cands, iteration,
                   learn, cpc, bp, ap, use_apical):
    """One activation step; returns (bmodel, amodel, active, winners, predicted active, bursting, pos)."""
    ids = _Ids()
    predicted = set(predicted_cells.tolist())
    active, winners, predicted_active, bursting = [], [], [], []
    for column in active_columns.tolist():
        cells = list(range(column * cpc, (column + 1) * cpc))
        col_segs = [i for i in range(len(b_segs)) if b_cells[i] // cpc == column]
        mine = [c for c in cells if c in predicted]
        if mine:
            active += mine
            winners += mine
            predicted_active += mine
            if learn:
                for i in col_segs:
                    if b_flag[i] and int(b_cells[i]) in predicted:
                        bmodel, pos = _learn(bmodel, int(b_segs[i]), basal_input, basal_cands,
                                             bp.max_new_synapse_count - int(b_pot[i]), bp, rand, pos, iteration)
            continue
        active += cells
        bursting.append(column)
        matching = [i for i in col_segs if b_pot[i] >= bp.min_threshold]
        if matching:
            best = max(matching, key=lambda i: (b_pot[i], -i))
            winner = int(b_cells[best])
            if learn:
                bmodel, pos = _learn(bmodel, int(b_segs[best]), basal_input, basal_cands,
                                     bp.max_new_synapse_count - int(b_pot[best]), bp, rand, pos, iteration)
        else:
            counts = {c: sum(1 for s in bmodel.values() if s.cell == c) for c in cells}
            fewest = [c for c in cells if counts[c] == min(counts.values())]
            winner = fewest[min(int(rand[pos] * len(fewest)), len(fewest) - 1)]
            pos += 1
            if learn and len(basal_cands) and bp.max_new_synapse_count:
                bmodel, pos = _new_segment(bmodel, winner, basal_cands, bp, rand, pos, iteration, ids)
        winners.append(winner)
    if learn:
        bmodel = _punish(bmodel, b_segs, b_cells, b_pot, active_columns, cpc, bp, basal_input)
        if use_apical:
            for cell in winners:
                idx = [i for i in range(len(a_segs)) if a_cells[i] == cell]
                act = [i for i in idx if a_flag[i]]
                if act:
                    for i in act:
                        amodel, pos = _learn(amodel, int(a_segs[i]), apical_input, apical_cands,
                                             ap.max_new_synapse_count - int(a_pot[i]), ap, rand, pos, iteration)
                    continue
                matching = [i for i in idx if a_pot[i] >= ap.min_threshold]
                if matching:
                    best = max(matching, key=lambda i: (a_pot[i], -i))
                    amodel, pos = _learn(amodel, int(a_segs[best]), apical_input, apical_cands,
                                         ap.max_new_synapse_count - int(a_pot[best]), ap, rand, pos, iteration)
                elif len(apical_cands):
                    amodel, pos = _new_segment(amodel, cell, apical_cands, ap, rand, pos, iteration, ids)
            amodel = _punish(amodel, a_segs, a_cells, a_pot, active_columns, cpc, ap, apical_input)
    as_arr = lambda xs: np.array(xs, dtype=np.int32)  # noqa: E731
    return bmodel, amodel, as_arr(active), as_arr(winners), as_arr(predicted_active), as_arr(bursting), pos
