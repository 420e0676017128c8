"""Multi-encoder: several named encoders side by side, e.g. one RDSE per dimension of a Gymnasium ``Box``."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from htmagent._validation import check_int
from htmagent.sdr import SDR

from .base import Encoder, check_seed
from .rdse import RDSE

__all__ = ["MultiEncoder"]


class MultiEncoder(Encoder):
    """Several sensory populations read together: the output concatenates each named encoder's code.

    Part ``name`` occupies bits ``offsets[name] .. offsets[name] + encoders[name].size - 1``. The overlap of two
    outputs is the sum of the parts' overlaps, so each part keeps its own notion of similarity.

    Args:
        encoders: mapping from part name to encoder, in output order.

    Example:
        >>> enc = MultiEncoder({"speed": RDSE(400, active_bits=8, resolution=0.1), "angle": RDSE(400, active_bits=8,
        ...                     resolution=0.05, seed=1)})
        >>> enc.encode({"speed": 1.2, "angle": -0.3}).num_active
        16
        >>> enc.encode([1.2, -0.3]) == enc.encode({"speed": 1.2, "angle": -0.3})
        True
    """

    def __init__(self, encoders: Mapping[str, Encoder]):
        if not isinstance(encoders, Mapping):
            raise TypeError(f"encoders must be a mapping of name -> encoder, got {type(encoders).__name__}")
        if not encoders:
            raise ValueError("encoders must not be empty, got {}")
        offsets, offset = {}, 0
        for name, enc in encoders.items():
            if not isinstance(name, str):
                raise TypeError(f"encoder names must be str, got {type(name).__name__} {name!r}")
            if not isinstance(enc, Encoder):
                raise TypeError(f"encoders[{name!r}] must be an Encoder, got {type(enc).__name__}")
            offsets[name] = offset
            offset += enc.size
        self._encoders = dict(encoders)
        self._offsets = offsets
        self._size = offset

    @classmethod
    def for_box(
        cls,
        space_or_low_high: Any,
        size_per_dim: int = 400,
        sparsity: float = 0.02,
        seed: int | np.random.Generator | None = 0,
        num_buckets: int = 100,
        resolution: float | Sequence[float] | np.ndarray | None = None,
    ) -> "MultiEncoder":
        """One RDSE per dimension of a box, named ``x0, x1, ...`` (flattened row-major).

        A bounded dimension gets resolution ``(high - low) / num_buckets``. A dimension is unbounded when a bound is
        infinite or at least ``float32``'s largest value (Gymnasium's convention for "no limit", e.g. CartPole's
        velocities); it takes ``resolution``, which must then be given.

        Args:
            space_or_low_high: a ``gymnasium.spaces.Box`` or a ``(low, high)`` pair of arrays/scalars.
            size_per_dim: bits per dimension.
            sparsity: fraction of active bits per dimension.
            seed: int (or Generator, consumed once) from which each dimension's seed is derived.
            num_buckets: number of distinct codes across a bounded dimension's range.
            resolution: a number, used for the unbounded dimensions only, or one number per dimension (flattened
                order), used for every dimension.

        Raises:
            ValueError: for mismatched or reversed bounds, a wrong number or non-positive resolutions, or an
                unbounded dimension without ``resolution``.
        """
        if hasattr(space_or_low_high, "low") and hasattr(space_or_low_high, "high"):
            low, high = space_or_low_high.low, space_or_low_high.high
        elif isinstance(space_or_low_high, (tuple, list)) and len(space_or_low_high) == 2:
            low, high = space_or_low_high
        else:
            raise TypeError(
                "space_or_low_high must be a gymnasium Box or a (low, high) pair, "
                f"got {type(space_or_low_high).__name__}"
            )
        low = np.asarray(low, dtype=np.float64)
        high = np.asarray(high, dtype=np.float64)
        try:
            low, high = np.broadcast_arrays(low, high)
        except ValueError:
            raise ValueError(f"low and high must have the same shape, got {low.shape} and {high.shape}") from None
        low, high = low.reshape(-1), high.reshape(-1)
        if low.size == 0:
            raise ValueError("the box must have at least one dimension, got shape ()")
        if np.isnan(low).any() or np.isnan(high).any():
            raise ValueError("low and high must not contain NaN")
        if np.any(high <= low):
            i = int(np.flatnonzero(high <= low)[0])
            raise ValueError(f"high must be > low in every dimension, got low={low[i]}, high={high[i]} at {i}")
        num_buckets = check_int(num_buckets, "num_buckets", 1)
        limit = float(np.finfo(np.float32).max)
        bounded = (np.abs(low) < limit) & (np.abs(high) < limit)
        resolutions = np.where(bounded, (high - low) / num_buckets, np.nan)
        if resolution is not None:
            given = np.asarray(resolution, dtype=np.float64)
            if given.ndim == 0:
                resolutions = np.where(bounded, resolutions, float(given))
            elif given.size == low.size:
                resolutions = given.reshape(-1).copy()
            else:
                raise ValueError(f"resolution must be a number or have {low.size} entries, got {given.size}")
            if not np.all(np.isfinite(resolutions)) or np.any(resolutions <= 0):
                raise ValueError(f"resolution must be finite and > 0, got {resolution!r}")
        elif not bounded.all():
            i = int(np.flatnonzero(~bounded)[0])
            raise ValueError(f"dimension {i} is unbounded (low={low[i]}, high={high[i]}): pass resolution=...")
        rng = np.random.default_rng(check_seed(seed))
        seeds = rng.integers(0, 2**63 - 1, size=low.size)
        encoders = {
            f"x{i}": RDSE(size_per_dim, sparsity=sparsity, resolution=float(resolutions[i]), seed=int(seeds[i]))
            for i in range(low.size)
        }
        return cls(encoders)

    @property
    def encoders(self) -> dict[str, Encoder]:
        """The parts, in output order (a copy of the mapping)."""
        return dict(self._encoders)

    @property
    def offsets(self) -> dict[str, int]:
        """First output bit of each part."""
        return dict(self._offsets)

    @property
    def names(self) -> list[str]:
        """Part names, in output order."""
        return list(self._encoders)

    def encode(self, value: Mapping[str, Any] | Sequence[Any] | np.ndarray) -> SDR:
        """Encode a dict with one value per part, or a sequence/array with one value per part in order.

        Arrays are flattened (row-major), so a Box observation of any shape can be passed directly.

        Raises:
            TypeError: for other input types.
            ValueError: if a part is missing, unknown, or the sequence has the wrong length; errors of a part are
                re-raised with the part's name.
        """
        names = list(self._encoders)
        if isinstance(value, Mapping):
            missing = [n for n in names if n not in value]
            extra = [k for k in value if k not in self._encoders]
            if missing or extra:
                raise ValueError(f"value must have exactly the keys {names}, missing {missing}, unexpected {extra}")
            items = [value[n] for n in names]
        elif isinstance(value, np.ndarray):
            items = list(value.reshape(-1))
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise TypeError(f"value must be a dict, sequence or array, got {type(value).__name__}")
        if len(items) != len(names):
            raise ValueError(f"value must have {len(names)} parts ({names}), got {len(items)}")
        chunks = []
        for name, item in zip(names, items):
            try:
                code = self._encoders[name].encode(item)
            except (TypeError, ValueError, KeyError) as exc:
                raise type(exc)(f"part {name!r}: {exc}") from exc
            chunks.append(code.sparse.astype(np.int32) + self._offsets[name])
        return SDR._trusted(self._size, np.concatenate(chunks))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {e!r}" for n, e in self._encoders.items())
        return f"MultiEncoder({{{inner}}}, size={self._size})"
