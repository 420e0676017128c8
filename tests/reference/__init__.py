"""Slow, obvious NumPy twins of the numba kernels; the tests check that each kernel agrees with its twin."""
