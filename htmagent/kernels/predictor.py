"""Kernels of the SDR classifier (:mod:`htmagent.predictor`): softmax readout and the delta rule."""

from __future__ import annotations

import math

import numpy as np

from htmagent._numba import kernel

__all__ = ["predictor_infer", "predictor_learn"]


@kernel
def predictor_infer(weights, active, num_categories):
    """Softmax over categories of the summed weight rows of the active inputs.

    Args:
        weights: float32 ``(input_size, capacity)`` weights; only the first ``num_categories`` columns are used.
        active: int32 active input indices.
        num_categories: number of categories in use.

    Returns:
        float64 ``(num_categories,)`` probabilities (empty when there are no categories).
    """
    act = np.zeros(num_categories, dtype=np.float64)
    for k in range(active.shape[0]):
        row = weights[active[k]]
        for j in range(num_categories):
            act[j] += row[j]
    if num_categories == 0:
        return act
    top = act.max()
    total = 0.0
    for j in range(num_categories):
        act[j] = math.exp(act[j] - top)
        total += act[j]
    for j in range(num_categories):
        act[j] /= total
    return act


@kernel
def predictor_learn(weights, active, error, alpha):
    """Delta rule: add ``alpha * error`` to the weight rows of the active inputs.

    Args:
        weights: float32 ``(input_size, capacity)`` weights (mutated).
        active: int32 active input indices.
        error: float64 ``(num_categories,)`` target minus predicted probabilities.
        alpha: learning rate.
    """
    n = error.shape[0]
    for k in range(active.shape[0]):
        row = weights[active[k]]
        for j in range(n):
            row[j] += np.float32(alpha * error[j])
