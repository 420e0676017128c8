"""Random number generators: one per object, never the global ``np.random``."""

from __future__ import annotations

import numpy as np

from htmagent._validation import is_int

SeedLike = "int | np.random.Generator | None"


def make_rng(seed: int | np.random.Generator | None, name: str = "seed") -> np.random.Generator:
    """Return a NumPy ``Generator`` for ``seed``.

    Args:
        seed: ``None`` for fresh OS entropy, a non-negative integer for a reproducible stream, or an existing
            ``np.random.Generator``, which is used as is (shared, not copied).
        name: argument name used in error messages.

    Returns:
        A ``np.random.Generator``.

    Raises:
        TypeError: if ``seed`` is of another type.
        ValueError: if ``seed`` is a negative integer.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if not is_int(seed):
        raise TypeError(f"{name} must be an int, a numpy.random.Generator or None, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed}")
    return np.random.default_rng(int(seed))


def rng_state(rng: np.random.Generator) -> dict:
    """Return the JSON-serialisable state of ``rng``'s bit generator."""
    return rng.bit_generator.state


def set_rng_state(rng: np.random.Generator, state: dict) -> None:
    """Restore a state produced by :func:`rng_state` into ``rng`` (same bit-generator type)."""
    rng.bit_generator.state = state


_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def restore_rng(state: dict) -> np.random.Generator:
    """Build a new ``Generator`` whose bit generator has exactly ``state``.

    Raises:
        ValueError: ``state`` is not the state of one of NumPy's bit generators (a malformed saved file).
    """
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"rng state must name one of NumPy's bit generators {list(_BIT_GENERATORS)}, got {name!r}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = state
    except (TypeError, KeyError, ValueError, OverflowError) as error:
        raise ValueError(f"rng state is not a valid {name} state: {error}") from error
    return np.random.Generator(bit_generator)
