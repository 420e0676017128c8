"""Procedural 2-D glyphs: small grey-level images drawn with strokes, for :class:`~htmagent.envs.ObjectSaccadeEnv`.

Every glyph is a few strokes - straight lines, corners (two lines meeting at an anchor) and circular arcs - laid on a
common lattice of anchor points. Because all glyphs draw from the same small vocabulary on the same lattice, different
glyphs share local parts (the same corner, the same arc at the same place), so a small sensor patch alone is
ambiguous and an agent has to combine several fixations, as with real objects. Strokes are polylines in unit
coordinates (``0..1`` across the canvas) and are rasterized with anti-aliased edges by :func:`draw_strokes`, in pure
NumPy (no pygame needed).

Example:
    >>> library = GlyphLibrary.generate(5, size=32, seed=0)
    >>> library.images.shape, library.images.dtype
    ((5, 32, 32), dtype('uint8'))
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from htmagent._rng import make_rng

__all__ = ["GlyphLibrary", "anchor_lattice", "draw_strokes", "random_strokes"]

Stroke = np.ndarray  # (points, 2) float64 polyline in unit coordinates


def anchor_lattice(anchors: int, size: int) -> np.ndarray:
    """The ``(anchors, anchors, 2)`` lattice (unit coordinates) on which strokes start and end, on a canvas of
    ``size`` pixels.

    The lattice spans about three quarters of the canvas, centred. Anchors sit on pixel centres a whole number of
    pixels apart (rounded down to a multiple of 4 when possible), so that the same stroke part drawn at two anchors
    is the same picture shifted by whole pixels - and, when the step is a multiple of the sensor's fixation spacing
    (4 by default), the same patch seen from two fixations.
    """
    if not isinstance(anchors, numbers.Integral) or anchors < 2:
        raise ValueError(f"anchors must be an integer >= 2, got {anchors!r}")
    step = max(1, int(size * 0.75) // (anchors - 1))
    if step >= 4:
        step -= step % 4
    offset = (size - step * (anchors - 1)) // 2
    ticks = (offset + step * np.arange(anchors) + 0.5) / size
    return np.stack(np.meshgrid(ticks, ticks, indexing="xy"), axis=-1)


def random_strokes(rng: np.random.Generator, num_strokes: int, lattice: np.ndarray) -> list[Stroke]:
    """Draw ``num_strokes`` random strokes (lines, corners, arcs) between the anchors of ``lattice``.

    Strokes mostly start at an anchor an earlier stroke touched, so that a glyph is one connected shape.

    Args:
        rng: the random generator to draw from.
        num_strokes: number of strokes.
        lattice: ``(anchors, anchors, 2)`` unit coordinates (see :func:`anchor_lattice`); fewer anchors means more
            shared parts between glyphs.

    Returns:
        A list of polylines, each a ``(points, 2)`` float array of ``(x, y)`` unit coordinates.
    """
    anchors = lattice.shape[0]
    step = lattice[0, 1, 0] - lattice[0, 0, 0]
    strokes: list[Stroke] = []
    used: list[tuple[int, int]] = []  # lattice anchors already touched, so that strokes join into one shape
    neighbours = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)]
    while len(strokes) < num_strokes:
        kind = rng.choice(["line", "corner", "arc"], p=[0.4, 0.3, 0.3])
        if used and rng.random() < 0.8:
            ax, ay = used[int(rng.integers(0, len(used)))]
        else:
            ax, ay = (int(v) for v in rng.integers(0, anchors, size=2))
        if kind == "arc":
            # A quarter or half circle of one or two lattice steps that starts and ends on lattice anchors.
            radius = step * int(rng.integers(1, 3))
            start = float(rng.integers(0, 4)) * np.pi / 2
            sweep = np.pi / 2 * int(rng.integers(1, 3)) * (1 if rng.random() < 0.5 else -1)
            centre = lattice[ay, ax] - radius * np.array([np.cos(start), np.sin(start)])
            angles = np.linspace(start, start + sweep, 9 if abs(sweep) < np.pi else 17)
            points = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
            if points.min() < lattice[0, 0, 0] - step / 2 or points.max() > lattice[-1, -1, 0] + step / 2:
                continue
            end = np.rint((points[-1] - lattice[0, 0]) / step).astype(int)
            strokes.append(points)
            used.extend([(ax, ay), (int(end[0]), int(end[1]))])
            continue
        legs = 1 if kind == "line" else 2
        points = [lattice[ay, ax]]
        x, y = ax, ay
        used.append((x, y))
        for _ in range(legs):
            options = [(dx, dy) for dx, dy in neighbours if 0 <= x + dx < anchors and 0 <= y + dy < anchors]
            dx, dy = options[int(rng.integers(0, len(options)))]
            length = int(rng.integers(1, anchors))
            while not (0 <= x + dx * length < anchors and 0 <= y + dy * length < anchors):
                length -= 1
            x, y = x + dx * length, y + dy * length
            points.append(lattice[y, x])
            used.append((x, y))
        strokes.append(np.asarray(points, dtype=np.float64))
    return strokes


def draw_strokes(strokes: list[Stroke], size: int = 32, width: float = 2.0) -> np.ndarray:
    """Rasterize polylines onto a ``size x size`` uint8 canvas (ink = 255, background = 0), anti-aliased.

    A pixel's ink is 255 within ``width / 2`` pixels of a stroke and fades linearly to 0 over the next pixel.

    Args:
        strokes: polylines in unit coordinates.
        size: canvas side in pixels.
        width: stroke width in pixels.
    """
    if not isinstance(size, numbers.Integral) or size < 4:
        raise ValueError(f"size must be an integer >= 4, got {size!r}")
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    segments = [np.stack([s[:-1], s[1:]], axis=1) for s in strokes if len(s) >= 2]
    if not segments:
        return np.zeros((size, size), dtype=np.uint8)
    seg = np.concatenate(segments) * size  # (m, 2, 2) in pixel units
    centres = np.arange(size) + 0.5
    px = np.stack(np.meshgrid(centres, centres, indexing="xy"), axis=-1).reshape(-1, 1, 2)
    a, b = seg[None, :, 0], seg[None, :, 1]
    ab = b - a
    t = np.clip(np.sum((px - a) * ab, axis=-1) / np.maximum(np.sum(ab * ab, axis=-1), 1e-12), 0.0, 1.0)
    nearest = a + t[..., None] * ab
    distance = np.min(np.linalg.norm(px - nearest, axis=-1), axis=1)
    ink = np.clip(1.0 - (distance - width / 2.0), 0.0, 1.0)
    return np.round(ink * 255.0).astype(np.uint8).reshape(size, size)


@dataclass(frozen=True)
class GlyphLibrary:
    """A seeded library of distinct stroke glyphs.

    Attributes:
        images: ``(num_glyphs, size, size)`` uint8 canvases, 0 = background, 255 = ink.
        strokes: per glyph, its polylines in unit coordinates (what was drawn).
        names: per glyph, a short name (``"glyph 3"``).
    """

    images: np.ndarray
    strokes: tuple[tuple[Stroke, ...], ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @classmethod
    def generate(
        cls,
        num_glyphs: int,
        size: int = 32,
        min_strokes: int = 2,
        max_strokes: int = 4,
        anchors: int = 4,
        width: float = 2.0,
        max_similarity: float = 0.7,
        seed: int | np.random.Generator | None = None,
    ) -> "GlyphLibrary":
        """Draw ``num_glyphs`` glyphs of ``min_strokes..max_strokes`` strokes each.

        A candidate glyph is redrawn when its ink overlaps an earlier glyph's too much (intersection over union above
        ``max_similarity``), so that every glyph can be told apart from every other.

        Args:
            num_glyphs: library size.
            size: canvas side in pixels.
            min_strokes: fewest strokes per glyph.
            max_strokes: most strokes per glyph.
            anchors: lattice points per side (see :func:`anchor_lattice`).
            width: stroke width in pixels.
            max_similarity: the largest ink IoU allowed between two glyphs, in ``(0, 1]``.
            seed: random seed or generator.

        Raises:
            ValueError: for invalid sizes, or when the lattice cannot yield that many distinct glyphs.
        """
        checks = (("num_glyphs", num_glyphs, 1), ("min_strokes", min_strokes, 1), ("anchors", anchors, 2))
        for name, value, minimum in checks:
            if not isinstance(value, numbers.Integral) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if not isinstance(max_strokes, numbers.Integral) or max_strokes < min_strokes:
            raise ValueError(f"max_strokes must be an integer >= min_strokes ({min_strokes}), got {max_strokes!r}")
        if not 0 < max_similarity <= 1:
            raise ValueError(f"max_similarity must lie in (0, 1], got {max_similarity!r}")
        rng = make_rng(seed)
        lattice = anchor_lattice(anchors, size)
        images: list[np.ndarray] = []
        strokes: list[tuple[Stroke, ...]] = []
        masks: list[np.ndarray] = []
        attempts = 0
        while len(images) < num_glyphs:
            attempts += 1
            if attempts > 200 * num_glyphs:
                raise ValueError(
                    f"could not draw {num_glyphs} glyphs with ink IoU <= {max_similarity}; got {len(images)} "
                    f"(raise max_similarity, anchors or max_strokes)"
                )
            glyph = random_strokes(rng, int(rng.integers(min_strokes, max_strokes + 1)), lattice)
            image = draw_strokes(glyph, size, width)
            mask = image >= 128
            if mask.sum() < 0.08 * size * size:
                continue  # a glyph too small to be worth several fixations
            if any((mask & m).sum() / (mask | m).sum() > max_similarity for m in masks):
                continue
            images.append(image)
            masks.append(mask)
            strokes.append(tuple(glyph))
        stack = np.stack(images)
        stack.flags.writeable = False
        return cls(stack, tuple(strokes), tuple(f"glyph {i}" for i in range(num_glyphs)))
