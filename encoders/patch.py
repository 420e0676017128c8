"""Patch encoder: a small grayscale or RGB image patch -> an SDR (kernel features, random projection, top-k)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from htmagent._validation import check_int, check_real
from htmagent.sdr import SDR

from .base import Encoder, check_seed

__all__ = ["PatchEncoder"]


class PatchEncoder(Encoder):
    """Retina-like neurons with random receptive fields over a small image patch; the most driven ones fire.

    Design: per-pixel kernel features, a fixed random projection, then k-winners-take-all.

    1. The patch is scaled to ``[0, 1]`` (``uint8`` / 255, floats as given) and flattened into ``D = h * w * c``
       intensities ``v_i``.
    2. Each intensity is lifted to ``m = features_per_pixel`` random Fourier features
       ``cos(omega_ik * v_i + b_ik) - mu_ik`` (``omega ~ N(0, 1 / radius**2)``, ``b`` uniform, ``mu`` the feature's
       mean over uniform intensities). The dot product of two patches' lifted vectors approximates the sum over
       pixels of the Gaussian kernel ``exp(-(v_i - w_i)**2 / (2 * radius**2))``, minus its value for unrelated
       intensities: pixels that match (within ``radius``) add similarity, pixels that differ add none.
    3. Neuron ``j`` is driven by a fixed Gaussian random combination of all lifted features; the ``active_bits``
       most driven neurons fire. Random projection followed by winners-take-all is a locality-sensitive hash
       (as in the fly olfactory circuit, Dasgupta et al. 2017): the more correlated two drives, the more winners
       they share.

    Consequences: a patch and a slightly noisy copy (noise << ``radius``) share most bits; unrelated patches share
    about chance, ``active_bits**2 / size`` bits; uniform black and white share none beyond chance, and uniform
    grey levels overlap less the more their intensities differ (by ``~2 * radius`` they are unrelated). The code
    depends on absolute intensities, not only on the pattern.

    Memory: the projection holds ``size * D * features_per_pixel`` float32 numbers (4 MB for an 8x8 RGB patch with
    the defaults).

    Args:
        patch_shape: ``(h, w)`` for grayscale or ``(h, w, c)`` (e.g. ``c = 3`` for RGB).
        size: number of output bits.
        active_bits: number of active bits in every code.
        seed: int (or Generator, consumed once; ``None`` for fresh entropy) that draws the receptive fields.
        radius: intensity difference (``[0, 1]`` scale) over which one pixel's contribution to similarity fades;
            rule of thumb 0.05-0.2 (larger tolerates more noise, tells fewer grey levels apart).
        features_per_pixel: random Fourier features per intensity (more = closer to the exact kernel).

    Example:
        >>> enc = PatchEncoder((5, 5), size=512, active_bits=16, seed=0)
        >>> black, white = np.zeros((5, 5), np.uint8), np.full((5, 5), 255, np.uint8)
        >>> enc.encode(black).overlap(enc.encode(white)) < 4
        True
    """

    def __init__(
        self,
        patch_shape: Sequence[int],
        size: int = 1024,
        active_bits: int = 21,
        seed: int | np.random.Generator | None = 0,
        radius: float = 0.1,
        features_per_pixel: int = 8,
    ):
        if not isinstance(patch_shape, (tuple, list)) or len(patch_shape) not in (2, 3):
            raise ValueError(f"patch_shape must be (h, w) or (h, w, c), got {patch_shape!r}")
        self._patch_shape = tuple(check_int(d, "patch_shape", 1) for d in patch_shape)
        self._size = check_int(size, "size", 1)
        self._active_bits = check_int(active_bits, "active_bits", 1)
        if self._active_bits >= self._size:
            raise ValueError(f"active_bits must be < size ({self._size}), got {self._active_bits}")
        r = check_real(radius, "radius")
        if r <= 0:
            raise ValueError(f"radius must be > 0, got {r}")
        self._radius = r
        self._features = check_int(features_per_pixel, "features_per_pixel", 1)
        self._seed = check_seed(seed)
        rng = np.random.default_rng(self._seed)
        dim = math.prod(self._patch_shape)
        omega = rng.normal(0.0, 1.0 / r, size=(dim, self._features))
        # A zero frequency would make the mean formula below 0/0; it has measure zero but is cheap to rule out.
        omega[omega == 0.0] = 1.0 / r
        phase = rng.uniform(0.0, 2.0 * math.pi, size=(dim, self._features))
        self._omega = omega
        self._phase = phase
        # Mean of cos(omega * v + phase) over v uniform in [0, 1]: subtracting it makes unrelated patches uncorrelated.
        self._mean = (np.sin(omega + phase) - np.sin(phase)) / omega
        self._weights = rng.standard_normal((self._size, dim * self._features), dtype=np.float32)

    @property
    def patch_shape(self) -> tuple[int, ...]:
        """Shape of the accepted patches."""
        return self._patch_shape

    @property
    def radius(self) -> float:
        """Intensity difference over which a pixel's contribution to similarity fades."""
        return self._radius

    @property
    def features_per_pixel(self) -> int:
        """Random Fourier features per intensity."""
        return self._features

    @property
    def chance_overlap(self) -> float:
        """Expected overlap of the codes of two unrelated patches."""
        return self._active_bits**2 / self._size

    def _normalise(self, patch: np.ndarray) -> np.ndarray:
        if not isinstance(patch, np.ndarray):
            raise TypeError(f"patch must be a numpy array, got {type(patch).__name__}")
        shape = self._patch_shape
        accepted = {shape}
        if len(shape) == 3 and shape[2] == 1:
            accepted.add(shape[:2])
        if len(shape) == 2:
            accepted.add(shape + (1,))
        if patch.shape not in accepted:
            raise ValueError(f"patch must have shape {shape}, got {patch.shape}")
        if patch.dtype == np.uint8:
            return patch.reshape(-1).astype(np.float64) / 255.0
        if patch.dtype.kind != "f":
            raise TypeError(f"patch must be uint8 or float in [0, 1], got dtype {patch.dtype}")
        x = patch.reshape(-1).astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("patch must be finite, got NaN or inf")
        if x.min() < 0.0 or x.max() > 1.0:
            raise ValueError(f"float patch values must be in [0, 1], got range [{x.min()}, {x.max()}]")
        return x

    def responses(self, patch: np.ndarray) -> np.ndarray:
        """Each neuron's drive by ``patch`` (before k-winners-take-all), as float32."""
        v = self._normalise(patch)
        lifted = np.cos(v[:, None] * self._omega + self._phase) - self._mean
        return self._weights @ lifted.reshape(-1).astype(np.float32)

    def encode(self, patch: np.ndarray) -> SDR:
        """Encode one patch (``uint8`` or float in ``[0, 1]``, shape ``patch_shape``).

        Raises:
            TypeError: for non-arrays or other dtypes.
            ValueError: for the wrong shape, NaN/inf, or floats outside ``[0, 1]``.
        """
        scores = self.responses(patch)
        winners = np.argpartition(-scores, self._active_bits - 1)[: self._active_bits]
        return SDR._trusted(self._size, np.sort(winners).astype(np.int32))

    def __repr__(self) -> str:
        return (
            f"PatchEncoder(patch_shape={self._patch_shape}, size={self._size}, active_bits={self._active_bits}, "
            f"radius={self._radius:g}, features_per_pixel={self._features}, seed={self._seed})"
        )
