"""The encoder protocol and the small helpers every encoder shares (seeds, seeded hashing).

An encoder plays the part of a sensory organ: it turns a value into the activity of a fixed population of neurons
(an :class:`~htmagent.sdr.SDR`). Every encoder obeys four rules (Purdy 2016, "Encoding Data for HTM Systems"):

1. semantically similar inputs give overlapping SDRs,
2. the same input always gives the same SDR,
3. the output always has the same size,
4. the output always has (about) the same number of active bits.
"""

from __future__ import annotations

import abc
from typing import Any, Iterable

import numpy as np

from htmagent._numba import kernel
from htmagent._validation import is_int
from htmagent.sdr import SDR

__all__ = ["Encoder", "mix64", "seed_hash", "check_seed"]

# SplitMix64 constants (Steele, Lea & Flood 2014): a bijective 64-bit mixer with full avalanche.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


@kernel
def mix64(x):
    """SplitMix64 finaliser of a ``uint64`` (scalar or array): a seedable, platform-independent hash."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MUL1
    z = (z ^ (z >> _S27)) * _MUL2
    return z ^ (z >> _S31)


def seed_hash(seed: int, salt: int = 0) -> np.uint64:
    """Hash an encoder seed (and a salt that separates the uses of one seed) into a ``uint64`` key."""
    with np.errstate(over="ignore"):
        return np.uint64(mix64(np.uint64(mix64(np.uint64(seed))) ^ np.uint64(salt)))


def check_seed(seed: Any, name: str = "seed") -> int:
    """Validate an encoder seed: encoders hash with it, so it must be a fixed non-negative int (not a Generator).

    A ``np.random.Generator`` is accepted and consumed once to draw the int, so that callers who thread one
    generator through a whole model still get a reproducible encoder.
    """
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if seed is None:
        return int(np.random.default_rng().integers(0, 2**63 - 1))
    if not is_int(seed):
        raise TypeError(f"{name} must be an int, a numpy.random.Generator or None, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"{name} must be an integer in [0, 2**64), got {seed}")
    return int(seed)


class Encoder(abc.ABC):
    """Base class of every encoder: a fixed population of sensory neurons whose activity describes one input.

    Subclasses set ``self._size`` (and ``self._active_bits`` where every code has the same number of active bits), or
    override the properties, and implement :meth:`encode`; they hold no state that changes with use, so the same input
    always activates the same neurons.
    """

    _size: int
    _active_bits: int

    @property
    def size(self) -> int:
        """Number of output bits."""
        return self._size

    @property
    def active_bits(self) -> int:
        """Number of active bits in every code."""
        return self._active_bits

    @property
    def dimensions(self) -> tuple[int, ...]:
        """Shape of the output (flat by default)."""
        return (self.size,)

    @abc.abstractmethod
    def encode(self, value: Any) -> SDR:
        """Encode one input as an SDR of :attr:`size` bits."""

    def encode_many(self, values: Iterable[Any]) -> list[SDR]:
        """Encode each of ``values`` in turn."""
        return [self.encode(v) for v in values]

    def __call__(self, value: Any) -> SDR:
        return self.encode(value)
