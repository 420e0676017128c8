"""Category encoder: discrete labels -> (nearly) non-overlapping random SDRs."""

from __future__ import annotations

import hashlib
from typing import Hashable, Sequence

import numpy as np

from htmagent._validation import check_int
from htmagent.sdr import SDR

from .base import Encoder, check_seed

__all__ = ["CategoryEncoder", "UnknownCategoryError"]


class UnknownCategoryError(KeyError, ValueError):
    """A value that is not one of the encoder's categories: a ``KeyError`` (a missing key) and a ``ValueError``
    (bad input, as every other encoder raises)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CategoryEncoder(Encoder):
    """A population where each known category drives its own random group of ``active_bits`` neurons.

    Categories carry no order, so their codes should not overlap. When ``size >= num_categories * active_bits``
    the groups are disjoint (a random permutation of the bits cut into blocks); otherwise each group is an
    independent random draw and two groups share ``active_bits**2 / size`` bits on average.

    Unknown categories raise ``KeyError`` (``unknown="error"``, the default) or, with ``unknown="hash"``, get a
    random code derived from a stable hash of ``repr(value)`` and the seed (the same in every process).

    Args:
        categories: the known categories (hashable, unique), in a fixed order. Give this or ``num_categories``.
        num_categories: alternative to ``categories``: the categories are the ints ``0 .. num_categories - 1``.
        size: number of output bits.
        active_bits: number of active bits per category.
        seed: int (or Generator, consumed once; ``None`` for fresh entropy) that selects the codes.
        unknown: ``"error"`` or ``"hash"``.

    Example:
        >>> enc = CategoryEncoder(["red", "green", "blue"], size=60, active_bits=20, seed=0)
        >>> enc.encode("red").overlap(enc.encode("blue"))
        0
    """

    def __init__(
        self,
        categories: Sequence[Hashable] | None = None,
        num_categories: int | None = None,
        size: int = 256,
        active_bits: int = 21,
        seed: int | np.random.Generator | None = 0,
        unknown: str = "error",
    ):
        if (categories is None) == (num_categories is None):
            raise ValueError(
                "give exactly one of categories and num_categories, "
                f"got categories={categories!r}, num_categories={num_categories!r}"
            )
        if categories is None:
            categories = list(range(check_int(num_categories, "num_categories", 1)))
        elif isinstance(categories, (str, bytes)) or not isinstance(categories, Sequence):
            raise TypeError(f"categories must be a sequence (list or tuple), got {type(categories).__name__}")
        categories = list(categories)
        if not categories:
            raise ValueError("categories must not be empty, got []")
        index: dict = {}
        for i, c in enumerate(categories):
            try:
                if c in index:
                    raise ValueError(f"categories must be unique, got {c!r} more than once")
            except TypeError:
                raise TypeError(f"categories[{i}] must be hashable, got {type(c).__name__}") from None
            index[c] = i
        size = check_int(size, "size", 1)
        active_bits = check_int(active_bits, "active_bits", 1)
        if active_bits > size:
            raise ValueError(f"active_bits must be <= size ({size}), got {active_bits}")
        if unknown not in ("error", "hash"):
            raise ValueError(f"unknown must be 'error' or 'hash', got {unknown!r}")
        self._seed = check_seed(seed)
        rng = np.random.default_rng(self._seed)
        n = len(categories)
        if n * active_bits <= size:
            blocks = rng.permutation(size)[: n * active_bits].reshape(n, active_bits)
        else:
            blocks = np.stack([rng.choice(size, active_bits, replace=False) for _ in range(n)])
        self._codes = np.sort(blocks, axis=1).astype(np.int32)
        self._codes.flags.writeable = False
        self._categories = categories
        self._index = index
        self._size = size
        self._active_bits = active_bits
        self._unknown = unknown

    @property
    def categories(self) -> list:
        """The known categories, in order (a copy)."""
        return list(self._categories)

    @property
    def num_categories(self) -> int:
        """Number of known categories."""
        return len(self._categories)

    def _hashed_code(self, value: Hashable) -> np.ndarray:
        digest = hashlib.blake2b(repr(value).encode(), digest_size=16, key=str(self._seed).encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest, "little"))
        return np.sort(rng.choice(self._size, self._active_bits, replace=False)).astype(np.int32)

    def encode(self, value: Hashable) -> SDR:
        """Encode one category.

        Raises:
            UnknownCategoryError: (a ``KeyError`` and a ``ValueError``) if ``value`` is not a known category and
                ``unknown="error"``.
            TypeError: if ``value`` is not hashable.
        """
        if isinstance(value, (float, np.floating)) and value != value:
            raise ValueError("value must not be NaN")
        try:
            i = self._index.get(value)
        except TypeError:
            raise TypeError(f"value must be hashable, got {type(value).__name__}") from None
        if i is None and isinstance(value, np.generic):
            i = self._index.get(value.item())
        if i is None:
            if self._unknown == "error":
                raise UnknownCategoryError(
                    f"value {value!r} is not a known category (known: {self._categories[:10]!r})")
            return SDR._trusted(self._size, self._hashed_code(value))
        return SDR._trusted(self._size, self._codes[i])

    def __repr__(self) -> str:
        return (
            f"CategoryEncoder(num_categories={len(self._categories)}, size={self._size}, "
            f"active_bits={self._active_bits}, seed={self._seed}, unknown={self._unknown!r})"
        )

