"""NumPy twins of the encoder kernels (``htmagent.encoders.rdse.rdse_kernel``, ``coordinate.coordinate_kernel``)."""

from __future__ import annotations

import numpy as np

_MASK = (1 << 64) - 1


def mix64_py(x: int) -> int:
    """SplitMix64 finaliser on Python ints (arbitrary precision, masked to 64 bits)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def rdse_twin(buckets: np.ndarray, active_bits: int, size: int, key_seed: int, category: bool) -> np.ndarray:
    """Active bits of each bucket, computed key by key with Python ints."""
    out = np.empty((len(buckets), active_bits), dtype=np.int32)
    w = active_bits
    for r, b in enumerate(int(x) for x in buckets):
        keys = [b * w + s for s in range(w)] if category else list(range(b, b + w))
        bits = {}
        for key in keys:
            slot = key % w if not category else key - b * w
            lo = slot * size // w
            width = (slot + 1) * size // w - lo
            bits[slot] = lo + mix64_py((key & _MASK) ^ int(key_seed)) % width
        out[r] = [bits[s] for s in range(w)]
    return out


def coordinate_twin(neighbours: np.ndarray, active_bits: int, order_seed: int, bit_seed: int, size: int) -> np.ndarray:
    """Bits of the highest-priority neighbours, skipping bits already taken (unsorted, in pick order)."""
    scored = []
    for i, coord in enumerate(neighbours.tolist()):
        ho, hb = int(order_seed), int(bit_seed)
        for c in coord:
            ho = mix64_py(ho ^ (c & _MASK))
            hb = mix64_py(hb ^ (c & _MASK))
        scored.append((ho, i, hb % size))
    # Highest priority first; among equal priorities the later neighbour first (as a stable ascending sort read
    # backwards).
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    picked: list[int] = []
    for _, _, bit in scored:
        if len(picked) == active_bits:
            break
        if bit not in picked:
            picked.append(bit)
    return np.array(picked, dtype=np.int32)
