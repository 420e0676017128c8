"""Slow, obvious NumPy twins of the predictor kernels (``htmagent.predictor``)."""

from __future__ import annotations

import numpy as np


def infer(weights, active, num_categories):
    activation = np.zeros(num_categories)
    for a in active:
        activation += weights[a, :num_categories].astype(np.float64)
    if num_categories == 0:
        return activation
    e = np.exp(activation - activation.max())
    return e / e.sum()


def learn(weights, active, error, alpha):
    n = error.size
    weights[active, :n] += (alpha * error).astype(np.float32)
