"""Slow, obvious NumPy twins of the spatial pooler kernels (``htmagent.kernels.spatial_pooler``).

Each twin takes the same arguments and returns / mutates the same way as its kernel, written for clarity rather than
speed, so the tests can check the kernels against them.
"""

from __future__ import annotations

import numpy as np


def overlaps(overlaps_out, boosted_out, active_inputs, connected_t, boost):
    overlaps_out[:] = connected_t[active_inputs].astype(np.int64).sum(axis=0)
    boosted_out[:] = overlaps_out * boost


def _ranked(overlaps_arr, boosted, tie_breaker, stimulus_threshold):
    eligible = (overlaps_arr > 0) & (boosted >= stimulus_threshold)
    scores = boosted + tie_breaker
    index = np.arange(overlaps_arr.size)
    # Sort by score descending, then by index ascending.
    order = np.lexsort((index, -scores))
    return order[eligible[order]], scores, eligible


def inhibit_global(overlaps_arr, boosted, tie_breaker, stimulus_threshold, k):
    ranked, _, _ = _ranked(overlaps_arr, boosted, tie_breaker, stimulus_threshold)
    return np.sort(ranked[: max(k, 0)]).astype(np.int32)


def inhibit_local(overlaps_arr, boosted, tie_breaker, stimulus_threshold, neigh_ptr, neigh_idx, density):
    _, scores, eligible = _ranked(overlaps_arr, boosted, tie_breaker, stimulus_threshold)
    winners = []
    for c in range(overlaps_arr.size):
        if not eligible[c]:
            continue
        neighbours = neigh_idx[neigh_ptr[c]:neigh_ptr[c + 1]]
        quota = int(0.5 + density * (neighbours.size + 1))
        stronger = eligible[neighbours] & (
            (scores[neighbours] > scores[c]) | ((scores[neighbours] == scores[c]) & (neighbours < c))
        )
        if stronger.sum() < quota:
            winners.append(c)
    return np.array(winners, dtype=np.int32)


def _set_row(perm, connected, connected_t, connected_count, column, new_row, threshold):
    perm[column] = new_row
    is_connected = new_row >= np.float32(threshold)
    connected[column] = is_connected
    connected_t[:, column] = is_connected
    connected_count[column] = is_connected.sum()


def _raise_row(perm, connected, connected_t, connected_count, column, increment, threshold):
    row = perm[column]
    potential = row >= 0
    new = row.copy()
    new[potential] = np.minimum(row[potential] + np.float32(increment), np.float32(1.0))
    _set_row(perm, connected, connected_t, connected_count, column, new, threshold)


def adapt(perm, connected, connected_t, connected_count, winners, input_dense, active_inc, inactive_dec, threshold,
          stimulus_threshold, below_stimulus_inc):
    for c in winners:
        row = perm[c]
        potential = row >= 0
        delta = np.where(input_dense > 0, np.float32(active_inc), -np.float32(inactive_dec)).astype(np.float32)
        new = row.copy()
        new[potential] = np.clip(row[potential] + delta[potential], np.float32(0.0), np.float32(1.0))
        _set_row(perm, connected, connected_t, connected_count, c, new, threshold)
        if below_stimulus_inc > 0 and potential.sum() >= stimulus_threshold:
            while connected_count[c] < stimulus_threshold:
                _raise_row(perm, connected, connected_t, connected_count, c, below_stimulus_inc, threshold)


def bump_weak(perm, connected, connected_t, connected_count, overlap_duty, min_overlap_duty, increment, threshold):
    weak = np.flatnonzero(overlap_duty < min_overlap_duty)
    for c in weak:
        _raise_row(perm, connected, connected_t, connected_count, c, increment, threshold)
    return weak.size


def update_duty_cycles(overlap_duty, active_duty, overlaps_arr, winners, period):
    active = np.zeros(active_duty.size)
    active[winners] = 1.0
    overlap_duty[:] = overlap_duty * ((period - 1.0) / period) + np.where(overlaps_arr > 0, 1.0 / period, 0.0)
    active_duty[:] = active_duty * ((period - 1.0) / period) + active * (1.0 / period)


def learn(perm, connected, connected_t, connected_count, overlap_duty, active_duty, boost, input_dense, active_inputs,
          winners, overlaps_arr, min_overlap_duty, period, active_inc, inactive_dec, threshold, stimulus_threshold,
          below_stimulus_inc, boost_strength, target_density):
    dense = np.zeros_like(input_dense)
    dense[active_inputs] = 1
    adapt(perm, connected, connected_t, connected_count, winners, dense, active_inc, inactive_dec, threshold,
          stimulus_threshold, below_stimulus_inc)
    update_duty_cycles(overlap_duty, active_duty, overlaps_arr, winners, period)
    bumped = bump_weak(perm, connected, connected_t, connected_count, overlap_duty, min_overlap_duty,
                       below_stimulus_inc, threshold)
    if boost_strength != 0 and target_density >= 0:
        boost[:] = np.exp((target_density - active_duty) * boost_strength)
    return bumped


def neighbourhood_mean(out, values, neigh_ptr, neigh_idx):
    for c in range(values.size):
        members = np.concatenate([[c], neigh_idx[neigh_ptr[c]:neigh_ptr[c + 1]]]).astype(np.int64)
        out[c] = values[members].sum() / members.size


def neighbourhood_max(out, values, neigh_ptr, neigh_idx):
    for c in range(values.size):
        members = np.concatenate([[c], neigh_idx[neigh_ptr[c]:neigh_ptr[c + 1]]]).astype(np.int64)
        out[c] = values[members].max()
