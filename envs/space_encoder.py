"""Default encoders of the HTM wrappers: any Gymnasium observation space to an SDR.

:class:`SpaceEncoder` picks an encoder from the space (RDSE per ``Box`` element, category for ``Discrete``,
pass-through for ``MultiBinary``, patches for images, concatenation for ``Dict``/``Tuple``); :class:`ObservationEncoder`
is what a user-given encoder must provide. Used by :mod:`htmagent.envs.wrappers`.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import re
import zlib

import numpy as np
from gymnasium import spaces

from htmagent._rng import make_rng
from htmagent._validation import check_int, is_int
from htmagent.encoders.category import CategoryEncoder
from htmagent.encoders.rdse import RDSE
from htmagent.sdr import SDR
from htmagent._state import StateError, atomic_load, get_array, get_int

__all__ = ["ObservationEncoder", "SpaceEncoder"]

# Distinct hash keys per Box dimension: dimension d's buckets are shifted by d * _DIM_STRIDE before hashing.
_DIM_STRIDE = float(2**32)
# A Box bound this wide (e.g. CartPole's +-float32 max for velocities) counts as "no bound".
_UNBOUNDED_WIDTH = 1e6


class ObservationEncoder(Protocol):
    """What :class:`HTMObservation` needs from a user-given encoder: a fixed ``size`` and ``encode(obs) -> SDR``."""

    size: int

    def encode(self, value: Any) -> SDR:
        """The SDR of one observation (``size`` bits)."""
        ...


def _seed_int(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**62))


class SpaceEncoder:
    """The default encoder for a Gymnasium space: a sensory population chosen from the space's type.

    - ``Box`` (1-D or any non-image shape): one RDSE block of ``size_per_dim`` bits per element. A dimension with
      both bounds finite and less than 1e6 apart gets ``resolution = (high - low) / num_buckets``. An unbounded
      dimension (CartPole's velocities) gets its resolution from running statistics: mean and variance (Welford) of
      the first ``stats_warmup`` observations, ``resolution = 4 * std / num_buckets`` (the +-2 std range is cut
      into ``num_buckets`` buckets), re-estimated when the count reaches 2, 4, 8, ... and frozen at
      ``stats_warmup``. The codes therefore depend only on the sequence of observations seen (no clock, no RNG):
      the same seeds and the same episodes give the same codes, and the statistics are saved with the state.
    - ``Box`` image (``uint8``, shape ``(H, W)`` or ``(H, W, C)``, both sides >= 8): converted to grey, averaged
      down to an ``image_grid x image_grid`` grid, each cell's brightness quantized into ``image_levels`` levels and
      one-hot coded (``image_grid**2`` active bits of ``image_grid**2 * image_levels``).
    - ``Discrete``: a category code (disjoint random groups of ``active_bits``).
    - ``MultiDiscrete``: one category code per element, concatenated.
    - ``MultiBinary``: passed through (the set bits are the active bits).
    - ``Dict`` / ``Tuple``: the sub-spaces' codes, concatenated in key order.
    - Text (``gymnasium.spaces.Text``, MiniGrid's ``MissionSpace``: any space whose observations are strings): a
      bag of words; each distinct word (lower-cased, split on non-letters) sets ``active_bits`` bits of
      ``size_per_dim`` chosen by a seeded hash of the word, so missions that share words share bits.

    Args:
        space: the observation space to encode.
        size_per_dim: bits per Box element or per category block.
        active_bits: active bits per Box element or category.
        num_buckets: buckets across a bounded dimension's range (or +-2 std of an unbounded one).
        stats_warmup: observations after which an unbounded dimension's resolution is frozen.
        image_grid: side of the down-sampled image grid.
        image_levels: brightness levels per grid cell.
        resolution: Box only: bucket width per element (one number for every element, or one per element),
            overriding the width derived from the bounds or the running statistics. Finer buckets make consecutive
            observations of a slowly moving system differ; coarser ones make similar states share one code.
        seed: int (or Generator) that selects the hash codes.
    """

    def __init__(
        self,
        space: spaces.Space,
        size_per_dim: int = 128,
        active_bits: int = 8,
        num_buckets: int = 64,
        stats_warmup: int = 1024,
        image_grid: int = 16,
        image_levels: int = 8,
        resolution: float | Sequence[float] | None = None,
        seed: int | np.random.Generator | None = 0,
    ):
        if not isinstance(space, spaces.Space):
            raise TypeError(f"space must be a gymnasium.spaces.Space, got {type(space).__name__}")
        self.size_per_dim = check_int(size_per_dim, "size_per_dim", 1)
        self.active_bits = check_int(active_bits, "active_bits", 1)
        if self.active_bits > self.size_per_dim:
            raise ValueError(f"active_bits must be <= size_per_dim ({self.size_per_dim}), got {self.active_bits}")
        self.num_buckets = check_int(num_buckets, "num_buckets", 1)
        self.stats_warmup = check_int(stats_warmup, "stats_warmup", 2)
        self.image_grid = check_int(image_grid, "image_grid", 1)
        self.image_levels = check_int(image_levels, "image_levels", 2)
        # The codes are a function of one int seed, kept in the state so that a loaded encoder codes alike.
        if is_int(seed):
            if seed < 0:
                raise ValueError(f"seed must be a non-negative integer, got {seed}")
            self.seed = int(seed)
        else:
            self.seed = _seed_int(make_rng(seed))
        rng = make_rng(self.seed)
        self.space = space
        self.kind = _space_kind(space)
        if resolution is not None and self.kind != "box":
            raise ValueError(f"resolution applies to Box (non-image) spaces only, got a {self.kind} space")
        self.resolution = resolution
        if self.kind == "box":
            self._init_box(space, _seed_int(rng), resolution)
        elif self.kind == "image":
            h, w = space.shape[:2]
            self._image_rows = np.minimum((np.arange(h) * self.image_grid) // h, self.image_grid - 1)
            self._image_cols = np.minimum((np.arange(w) * self.image_grid) // w, self.image_grid - 1)
            self._image_counts = np.bincount(
                (self._image_rows[:, None] * self.image_grid + self._image_cols[None, :]).ravel(),
                minlength=self.image_grid**2,
            ).astype(np.float64)
            self.size = self.image_grid**2 * self.image_levels
        elif self.kind == "discrete":
            self._category = CategoryEncoder(
                num_categories=int(space.n), size=self.size_per_dim, active_bits=self.active_bits, seed=_seed_int(rng)
            )
            self.size = self.size_per_dim
        elif self.kind == "multidiscrete":
            nvec = np.asarray(space.nvec).ravel()
            self._categories = [
                CategoryEncoder(num_categories=int(n), size=self.size_per_dim, active_bits=self.active_bits,
                                seed=_seed_int(rng))
                for n in nvec
            ]
            self.size = self.size_per_dim * len(nvec)
            # One lookup table of every element's codes (row i, category v -> bits of block i), so that encoding a
            # long vector (a MiniGrid view has 148 elements) is one gather instead of a Python loop.
            self._nvec = nvec.astype(np.int64)
            self._code_table = np.zeros((len(nvec), int(nvec.max()), self.active_bits), dtype=np.int32)
            for i, (enc, n) in enumerate(zip(self._categories, nvec)):
                for v in range(int(n)):
                    self._code_table[i, v] = enc.encode(v).sparse + i * self.size_per_dim
        elif self.kind == "multibinary":
            self.size = int(np.prod(space.shape))
        elif self.kind == "text":
            self.size = self.size_per_dim
            self._word_seed = _seed_int(rng)
            self._word_codes: dict[str, np.ndarray] = {}
        else:
            subspaces = list(space.spaces.values()) if isinstance(space, spaces.Dict) else list(space.spaces)
            self._keys = list(space.spaces.keys()) if isinstance(space, spaces.Dict) else list(range(len(subspaces)))
            self._parts = [
                SpaceEncoder(s, size_per_dim, active_bits, num_buckets, stats_warmup, image_grid, image_levels,
                             seed=_seed_int(rng))
                for s in subspaces
            ]
            self._offsets = np.cumsum([0] + [p.size for p in self._parts])
            self.size = int(self._offsets[-1])

    def _init_box(self, space: spaces.Box, seed: int, resolution: float | Sequence[float] | None) -> None:
        low = np.asarray(space.low, dtype=np.float64).ravel()
        high = np.asarray(space.high, dtype=np.float64).ravel()
        self._dims = low.size
        self.size = self._dims * self.size_per_dim
        self._bounded = np.isfinite(low) & np.isfinite(high) & ((high - low) < _UNBOUNDED_WIDTH)
        self._resolution = np.ones(self._dims)
        self._resolution[self._bounded] = (high - low)[self._bounded] / self.num_buckets
        self._resolution[self._bounded & (self._resolution <= 0)] = 1.0
        if resolution is not None:
            given = np.asarray(resolution, dtype=np.float64)
            if given.ndim == 0:
                given = np.full(self._dims, float(given))
            if given.shape != (self._dims,) or not np.all(np.isfinite(given) & (given > 0)):
                raise ValueError(
                    f"resolution must be a positive number or {self._dims} positive numbers, got {resolution!r}"
                )
            self._resolution = given.copy()
            # An explicit width needs no running statistics.
            self._bounded = np.ones(self._dims, dtype=bool)
        self._rdse = RDSE(self.size_per_dim, active_bits=self.active_bits, resolution=1.0, seed=seed)
        self._dim_shift = np.arange(self._dims) * _DIM_STRIDE
        self._block_offsets = (np.arange(self._dims) * self.size_per_dim)[:, None].astype(np.int32)
        self._count = 0
        self._mean = np.zeros(self._dims)
        self._m2 = np.zeros(self._dims)

    def encode(self, value: Any, learn: bool = True) -> SDR:
        """Encode one observation of ``space``.

        Args:
            value: an observation of ``space``.
            learn: let unbounded Box dimensions update their running statistics (during the warm-up only).
        """
        if self.kind == "box":
            return SDR._trusted(self.size, self._encode_box(value, learn))
        if self.kind == "image":
            return SDR._trusted(self.size, self._encode_image(value))
        if self.kind == "discrete":
            return self._category.encode(int(value) - int(self.space.start))
        if self.kind == "multidiscrete":
            values = np.asarray(value).ravel()
            if values.shape != self._nvec.shape:
                raise ValueError(f"observation must have {self._nvec.size} elements, got shape {np.shape(value)}")
            values = values - np.asarray(self.space.start).ravel()
            if not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"observation must hold integers, got dtype {values.dtype}")
            bad = (values < 0) | (values >= self._nvec)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"observation element {i} must be in [0, {self._nvec[i]}) (after the space's start), "
                                 f"got {values[i]}")
            bits = self._code_table[np.arange(self._nvec.size), values].ravel()
            return SDR._trusted(self.size, bits)
        if self.kind == "multibinary":
            arr = np.asarray(value)
            if arr.size != self.size:
                raise ValueError(f"observation must have {self.size} elements, got shape {arr.shape}")
            return SDR._trusted(self.size, np.flatnonzero(arr.ravel()).astype(np.int32))
        if self.kind == "text":
            return SDR._trusted(self.size, self._encode_text(value))
        values = [value[k] for k in self._keys]
        rows = [p.encode(v, learn).sparse + int(off) for p, v, off in zip(self._parts, values, self._offsets)]
        return SDR._trusted(self.size, np.concatenate(rows).astype(np.int32))

    def _encode_box(self, value: Any, learn: bool) -> np.ndarray:
        x = np.asarray(value, dtype=np.float64).ravel()
        if x.size != self._dims:
            raise ValueError(f"observation must have {self._dims} elements, got shape {np.shape(value)}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"observation must be finite, got {x}")
        saved = None
        if learn and self._count < self.stats_warmup and not self._bounded.all():
            saved = (self._count, self._mean.copy(), self._m2.copy(), self._resolution.copy())
            self._update_statistics(x)
        try:
            scaled = x / self._resolution + self._dim_shift
            rows = self._rdse.encode_indices(scaled) + self._block_offsets
        except ValueError:
            if saved is not None:  # a value the encoder refuses leaves the statistics as they were
                self._count, self._mean, self._m2, self._resolution = saved
            raise
        return rows.ravel()

    def _update_statistics(self, x: np.ndarray) -> None:
        self._count += 1
        delta = x - self._mean
        self._mean += delta / self._count
        self._m2 += delta * (x - self._mean)
        # Re-estimate only at powers of two (and at the end of warm-up) so that codes change a few times, not every
        # step, while the statistics settle.
        if self._count >= 2 and (self._count & (self._count - 1) == 0 or self._count == self.stats_warmup):
            std = np.sqrt(self._m2 / (self._count - 1))
            free = ~self._bounded
            self._resolution[free] = np.maximum(4.0 * std[free], 1e-6) / self.num_buckets

    def _encode_text(self, value: Any) -> np.ndarray:
        if not isinstance(value, str):
            raise TypeError(f"observation must be a str for a text space, got {type(value).__name__}")
        bits = [self._word_code(word) for word in sorted(set(text_words(value)))]
        return np.unique(np.concatenate(bits)).astype(np.int32) if bits else np.zeros(0, dtype=np.int32)

    def _word_code(self, word: str) -> np.ndarray:
        code = self._word_codes.get(word)
        if code is None:
            key = zlib.crc32(word.encode("utf-8"))
            rng = np.random.default_rng([self._word_seed, key])
            code = np.sort(rng.choice(self.size, self.active_bits, replace=False)).astype(np.int32)
            if len(self._word_codes) < 100_000:  # a cache, bounded on any stream of words
                self._word_codes[word] = code
        return code

    def _encode_image(self, value: Any) -> np.ndarray:
        img = np.asarray(value)
        if img.shape != self.space.shape:
            raise ValueError(f"observation must have shape {self.space.shape}, got {img.shape}")
        grey = img.astype(np.float64)
        if grey.ndim == 3:
            grey = grey.mean(axis=2)
        cells = (self._image_rows[:, None] * self.image_grid + self._image_cols[None, :]).ravel()
        sums = np.bincount(cells, weights=grey.ravel(), minlength=self.image_grid**2)
        levels = np.minimum((sums / self._image_counts / 256.0 * self.image_levels).astype(np.int64),
                            self.image_levels - 1)
        return (np.arange(self.image_grid**2) * self.image_levels + levels).astype(np.int32)

    def state_dict(self) -> dict:
        """The seed (which fixes the codes) and the running statistics of unbounded Box dimensions."""
        state: dict = {"seed": self.seed}
        if self.kind == "box":
            state.update(count=self._count, mean=self._mean.copy(), m2=self._m2.copy(),
                         resolution=self._resolution.copy())
        elif self.kind in ("dict", "tuple"):
            state.update({str(i): p.state_dict() for i, p in enumerate(self._parts)})
        return state

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (re-deriving the codes if the seed differs)."""
        seed = get_int(state, "seed", 0)
        if self.kind == "box":  # checked before anything changes
            shape = (self._dims,)
            resolution = get_array(state, "resolution", np.float64, shape, 0.0, 1e300)
            if not np.all(resolution > 0):
                raise StateError("resolution must be > 0 in every dimension", field="resolution")
            count = get_int(state, "count", 0)
            mean = get_array(state, "mean", np.float64, shape, -1e300, 1e300)
            m2 = get_array(state, "m2", np.float64, shape, 0.0, 1e300)
        if seed != self.seed:
            # Same settings, other seed: rebuild the codes first (the statistics are loaded below).
            self.__init__(self.space, self.size_per_dim, self.active_bits, self.num_buckets, self.stats_warmup,
                          self.image_grid, self.image_levels, self.resolution, seed=seed)
        if self.kind == "box":
            self._count, self._mean, self._m2, self._resolution = count, mean, m2, resolution
        elif self.kind in ("dict", "tuple"):
            for i, p in enumerate(self._parts):
                p.load_state_dict(state[str(i)])


def is_text_space(space: spaces.Space) -> bool:
    """Whether observations of ``space`` are strings (``spaces.Text``, MiniGrid's ``MissionSpace``)."""
    if isinstance(space, spaces.Text):
        return True
    if space.shape is not None or isinstance(space, (spaces.Dict, spaces.Tuple)):
        return False
    try:
        return isinstance(space.sample(), str)
    except Exception:  # noqa: BLE001 - a space that cannot sample is not one we can recognise
        return False


def text_words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (runs of letters and digits)."""
    return re.findall(r"[a-z0-9]+", text.lower())


def _space_kind(space: spaces.Space) -> str:
    if isinstance(space, spaces.Box):
        shape = space.shape
        if space.dtype == np.uint8 and len(shape) in (2, 3) and min(shape[:2]) >= 8:
            return "image"
        return "box"
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if isinstance(space, spaces.MultiDiscrete):
        return "multidiscrete"
    if isinstance(space, spaces.MultiBinary):
        return "multibinary"
    if isinstance(space, spaces.Dict):
        return "dict"
    if isinstance(space, spaces.Tuple):
        return "tuple"
    if is_text_space(space):
        return "text"
    raise TypeError(
        f"no default encoder for {type(space).__name__} observation spaces; pass encoder= (an object with .size and "
        ".encode(observation) -> SDR)"
    )
