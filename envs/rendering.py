"""The one pygame renderer of htmagent: drawing functions on plain data, shared by the environments and the demo.

Every drawing function takes a ``pygame.Surface`` and plain data (tuples, dicts, NumPy arrays) and draws one thing:
a feature grid, a grey-level image, sensor paths, a zoomed sensor patch, a legend, lines of text. A *scene*
(:class:`TouchScene`, :class:`SaccadeScene`) is the plain data of one environment frame, and :func:`render_touch` /
:func:`render_saccade` compose the drawing functions into a whole frame. The environments' ``rgb_array`` and ``human``
modes both go through these, so what a user sees in a window is exactly what a test or a GIF gets; the demo builds
larger frames from the same pieces.

pygame is imported lazily (:func:`require_pygame`), so importing this module, or running an environment without
rendering, never needs it. Surfaces are drawn off-screen; only :class:`Viewer` opens a window.
"""

from __future__ import annotations

import colorsys
import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import numpy as np

__all__ = [
    "BACKGROUND",
    "PANEL",
    "TEXT",
    "MUTED",
    "GridGeometry",
    "ImageGeometry",
    "SaccadeScene",
    "TouchScene",
    "Viewer",
    "CELL_STATE_COLOURS",
    "CELL_INACTIVE",
    "CELL_PREDICTED",
    "CELL_CORRECT",
    "CELL_BURSTING",
    "draw_bars",
    "draw_cell_states",
    "draw_chip",
    "draw_feature_grid",
    "draw_grid_module",
    "draw_image",
    "draw_series",
    "draw_legend",
    "draw_patch",
    "draw_paths",
    "draw_text",
    "draw_text_lines",
    "feature_colour",
    "font",
    "render_saccade",
    "render_touch",
    "require_pygame",
    "sensor_colour",
    "surface_to_array",
    "tm_cell_states",
]

Colour = tuple[int, int, int]
Point = tuple[float, float]

BACKGROUND: Colour = (24, 26, 33)
PANEL: Colour = (36, 39, 48)
EMPTY_CELL: Colour = (52, 55, 66)
GRID_LINE: Colour = (16, 17, 22)
TEXT: Colour = (232, 232, 236)
MUTED: Colour = (150, 152, 164)

_SENSOR_COLOURS: tuple[Colour, ...] = (
    (255, 92, 92),
    (80, 200, 255),
    (255, 210, 60),
    (120, 235, 120),
    (220, 120, 255),
    (255, 150, 40),
    (255, 255, 255),
    (60, 230, 200),
)


def require_pygame() -> Any:
    """Import and return pygame (``pygame-ce``), with an install hint if it is missing."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on stdout from a library import
    try:
        pygame = importlib.import_module("pygame")
    except ImportError as error:
        raise ImportError(
            "rendering needs pygame; install it with `pip install pygame-ce` (or `pip install htmagent`, which "
            "depends on it)"
        ) from error
    if not pygame.font.get_init():
        pygame.font.init()
        font.cache_clear()  # fonts made before a pygame.quit() are dead
    return pygame


def save_screenshot(surface: Any, out_dir: str | os.PathLike[str], prefix: str, number: int) -> Path:
    """Save ``surface`` as ``<out_dir>/<prefix>_<number:03d>.png`` (creating the folder) and say where on stdout.

    Returns:
        The path written.
    """
    pygame = require_pygame()
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}_{number:03d}.png"
    pygame.image.save(surface, str(path))
    print(f"screenshot saved to {path}")
    return path


# Text sizes in this module are pygame default-font sizes; DejaVu Sans of the same visual size is about 0.7 of it.
_TTF_SCALE = 0.7


@lru_cache(maxsize=2)
def _font_file(bold: bool) -> Optional[str]:
    """DejaVu Sans (regular or bold), the TTF that matplotlib ships, or ``None`` if it is not installed."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return str(path) if path.is_file() else None


@lru_cache(maxsize=32)
def font(size: int = 16, bold: bool = False) -> Any:
    """A font of visual size ``size`` (cached): DejaVu Sans, real bold, hinted, so that letters keep their spacing at
    small sizes; pygame's default font (synthetic bold) where matplotlib's copy of DejaVu is missing."""
    pygame = require_pygame()
    path = _font_file(bold)
    if path is None:
        face = pygame.font.Font(None, size)
        face.set_bold(bold)
        return face
    return pygame.font.Font(path, max(6, int(round(size * _TTF_SCALE))))


def sensor_colour(index: int) -> Colour:
    """The colour of sensor (column) ``index``; the first eight are fixed, later ones cycle through hues."""
    if index < len(_SENSOR_COLOURS):
        return _SENSOR_COLOURS[index]
    r, g, b = colorsys.hsv_to_rgb((index * 0.618034) % 1.0, 0.75, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def feature_colour(feature: int, num_features: int) -> Colour:
    """A muted colour for feature id ``feature``; hues are spread evenly over the pool (cycling lightness beyond 12)."""
    hue = (feature % max(num_features, 1)) / max(num_features, 1)
    lightness = (0.45, 0.32, 0.58)[(feature // 12) % 3] if num_features > 12 else 0.42
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.55)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_text(
    surface: Any, text: str, position: Point, size: int = 16, colour: Colour = TEXT, bold: bool = False,
    anchor: str = "topleft", max_width: Optional[int] = None,
) -> int:
    """Draw one line of text; ``anchor`` is a pygame ``Rect`` attribute (``"topleft"``, ``"center"``, ...).

    Text wider than ``max_width`` pixels is cut and ends with an ellipsis.

    Returns:
        The line's height in pixels.
    """
    face = font(size, bold)
    if max_width is not None and face.size(text)[0] > max_width:
        while text and face.size(text + "...")[0] > max_width:
            text = text[:-1]
        text += "..."
    image = face.render(text, True, colour)
    rect = image.get_rect(**{anchor: (int(position[0]), int(position[1]))})
    surface.blit(image, rect)
    return rect.height


def draw_text_lines(
    surface: Any, lines: Sequence[str], position: Point, size: int = 16, colour: Colour = TEXT, spacing: int = 4,
    max_width: Optional[int] = None,
) -> float:
    """Draw lines of text top-down from ``position`` (each cut at ``max_width``); returns the y below the last."""
    x, y = position
    for line in lines:
        y += draw_text(surface, line, (x, y), size, colour, max_width=max_width) + spacing
    return y


def draw_chip(surface: Any, text: str, position: Point, size: int = 14, colour: Colour = TEXT,
              background: Colour = GRID_LINE, anchor: str = "topleft") -> Any:
    """Draw ``text`` on a small dark rounded chip, so that it stays readable on any colour; returns the chip's rect."""
    pygame = require_pygame()
    image = font(size, False).render(text, True, colour)
    rect = image.get_rect(**{anchor: (int(position[0]), int(position[1]))})
    pygame.draw.rect(surface, background, rect.inflate(6, 2), border_radius=4)
    surface.blit(image, rect)
    return rect


@dataclass(frozen=True)
class GridGeometry:
    """Maps integer grid cells ``(x, y)`` within ``bounds = (min_x, min_y, max_x, max_y)`` to square screen cells
    inside ``rect = (left, top, width, height)``; y grows downwards on screen as on the grid."""

    rect: tuple[int, int, int, int]
    bounds: tuple[int, int, int, int]

    @property
    def shape(self) -> tuple[int, int]:
        """``(columns, rows)`` of the grid."""
        return self.bounds[2] - self.bounds[0] + 1, self.bounds[3] - self.bounds[1] + 1

    @property
    def cell(self) -> float:
        """Side of one cell in pixels."""
        columns, rows = self.shape
        return min(self.rect[2] / columns, self.rect[3] / rows)

    @property
    def origin(self) -> Point:
        """Screen position of the grid's top-left corner (the grid is centred in ``rect``)."""
        columns, rows = self.shape
        c = self.cell
        return self.rect[0] + (self.rect[2] - columns * c) / 2, self.rect[1] + (self.rect[3] - rows * c) / 2

    def cell_rect(self, x: int, y: int) -> tuple[int, int, int, int]:
        """Screen rectangle of cell ``(x, y)``."""
        c = self.cell
        left, top = self.origin
        side = int(np.ceil(c))
        return int(left + (x - self.bounds[0]) * c), int(top + (y - self.bounds[1]) * c), side, side

    def to_screen(self, point: Point) -> Point:
        """Screen position of the centre of cell ``point``."""
        c = self.cell
        left, top = self.origin
        return left + (point[0] - self.bounds[0] + 0.5) * c, top + (point[1] - self.bounds[1] + 0.5) * c


@dataclass(frozen=True)
class ImageGeometry:
    """Maps image pixel coordinates (``x`` right, ``y`` down, pixel ``(i, j)`` spanning ``[i, i + 1)``) to screen
    positions inside ``rect``, at an integer zoom."""

    rect: tuple[int, int, int, int]
    image_shape: tuple[int, int]

    @property
    def zoom(self) -> int:
        """Screen pixels per image pixel."""
        height, width = self.image_shape
        return max(1, int(min(self.rect[2] / width, self.rect[3] / height)))

    def to_screen(self, point: Point) -> Point:
        """Screen position of image coordinates ``point`` (use ``i + 0.5`` for a pixel's centre)."""
        return self.rect[0] + point[0] * self.zoom, self.rect[1] + point[1] * self.zoom


def draw_feature_grid(
    surface: Any,
    geometry: GridGeometry,
    points: Mapping[tuple[int, int], int],
    num_features: int,
    label_features: bool = True,
) -> None:
    """Draw an object's grid: each point as a cell in its feature's colour with the feature id, empty cells dark."""
    pygame = require_pygame()
    columns, rows = geometry.shape
    for gy in range(rows):
        for gx in range(columns):
            x, y = gx + geometry.bounds[0], gy + geometry.bounds[1]
            rect = pygame.Rect(geometry.cell_rect(x, y))
            feature = points.get((x, y))
            pygame.draw.rect(surface, EMPTY_CELL if feature is None else feature_colour(feature, num_features), rect)
            pygame.draw.rect(surface, GRID_LINE, rect, width=2)
            # Labels sit in the corners so that sensor paths through the cell centres do not hide them.
            if feature is not None and label_features:
                size = max(12, int(geometry.cell * 0.3))
                draw_text(surface, f"f{feature}", (rect.left + 6, rect.top + 5), size, TEXT, bold=True)
            if geometry.cell >= 48:
                draw_chip(surface, f"{x},{y}", (rect.right - 4, rect.bottom - 4), 14, anchor="bottomright")


def draw_image(surface: Any, geometry: ImageGeometry, image: np.ndarray, tint: Colour = (235, 235, 235)) -> None:
    """Draw a grey-level uint8 image zoomed by ``geometry.zoom`` (ink = ``tint``, background = black)."""
    pygame = require_pygame()
    grey = np.asarray(image, dtype=np.float32) / 255.0
    rgb = (grey[..., None] * np.asarray(tint, dtype=np.float32)).astype(np.uint8)
    zoom = geometry.zoom
    big = np.repeat(np.repeat(rgb, zoom, axis=0), zoom, axis=1)
    surface.blit(pygame.surfarray.make_surface(np.ascontiguousarray(big.transpose(1, 0, 2))), geometry.rect[:2])


def draw_paths(
    surface: Any,
    to_screen: Callable[[Point], Point],
    paths: Sequence[Sequence[Point]],
    colours: Sequence[Colour],
    width: int = 3,
    marker: float = 10.0,
    box: Optional[float] = None,
    spread: float = 3.0,
    numbers: bool = False,
) -> None:
    """Draw each sensor's path: a polyline through its visits, dots at earlier visits and a ring (or a square of side
    ``box`` screen pixels, e.g. a sensor patch) at its current position.

    Args:
        spread: sensors are drawn this many pixels apart (along the anti-diagonal, away from the corners where grid
            cells carry their labels), so that paths through the same points stay apart.
        numbers: number every visit (1 = the first sensation) in a disc of the sensor's colour, so crossing paths
            still say which sensor went where and in which order.
    """
    pygame = require_pygame()
    for index, (path, colour) in enumerate(zip(paths, colours)):
        if not path:
            continue
        nudge = (index - (len(paths) - 1) / 2) * spread
        screen = [(p[0] + nudge, p[1] - nudge) for p in (to_screen(q) for q in path)]
        if len(screen) > 1:
            pygame.draw.lines(surface, colour, False, screen, width)
        for step, point in enumerate(screen[:-1], start=1):
            if numbers:
                pygame.draw.circle(surface, colour, point, 9)
                draw_text(surface, str(step), point, 15, BACKGROUND, bold=True, anchor="center")
            else:
                pygame.draw.circle(surface, colour, point, max(2, width))
        current = screen[-1]
        if box is None:
            pygame.draw.circle(surface, colour, current, marker, width=max(2, width))
        else:
            rect = pygame.Rect(0, 0, int(box), int(box))
            rect.center = (int(current[0]), int(current[1]))
            pygame.draw.rect(surface, colour, rect, width=max(2, width - 1))


def draw_patch(surface: Any, rect: tuple[int, int, int, int], patch: np.ndarray, colour: Colour, label: str) -> None:
    """Draw a zoomed sensor patch in ``rect`` (left, top, width, height) with a coloured frame and a label above."""
    pygame = require_pygame()
    draw_text(surface, label, (rect[0], rect[1] - 18), 16, colour)
    geometry = ImageGeometry(rect, tuple(patch.shape))
    draw_image(surface, geometry, patch)
    side_w, side_h = patch.shape[1] * geometry.zoom, patch.shape[0] * geometry.zoom
    pygame.draw.rect(surface, colour, pygame.Rect(rect[0] - 2, rect[1] - 2, side_w + 4, side_h + 4), width=2)


def draw_legend(
    surface: Any, position: Point, entries: Sequence[tuple[Colour, str]], title: str = "", columns: int = 1,
    column_width: int = 110, size: int = 16,
) -> float:
    """Draw a legend of colour swatches and labels; returns the y just below it."""
    pygame = require_pygame()
    x, y = position
    if title:
        y += draw_text(surface, title, (x, y), size, MUTED) + 4
    row_height = size + 4
    for i, (colour, text) in enumerate(entries):
        cx = x + (i % columns) * column_width
        cy = y + (i // columns) * row_height
        pygame.draw.rect(surface, colour, pygame.Rect(int(cx), int(cy + 2), size - 4, size - 4))
        draw_text(surface, text, (cx + size + 2, cy + 1), size, TEXT)
    rows = (len(entries) + columns - 1) // columns
    return y + rows * row_height + 4


# Cell states of a temporal memory, as drawn by :func:`draw_cell_states` (index into CELL_STATE_COLOURS).
CELL_INACTIVE = 0
CELL_PREDICTED = 1  # depolarized by context, but its minicolumn got no input
CELL_CORRECT = 2  # predicted and then active: the input was expected
CELL_BURSTING = 3  # active in a minicolumn that nothing predicted: the input was a surprise
CELL_STATE_COLOURS: tuple[Colour, ...] = (EMPTY_CELL, (70, 110, 230), (90, 220, 110), (255, 90, 70))


def tm_cell_states(
    column_count: int, cells_per_column: int, active_cells: np.ndarray, predictive_cells: np.ndarray,
    bursting_columns: np.ndarray,
) -> np.ndarray:
    """Classify a temporal memory's cells for :func:`draw_cell_states`.

    Args:
        column_count, cells_per_column: the layer's shape (cell ``c * cells_per_column + i`` is cell ``i`` of
            minicolumn ``c``).
        active_cells: indices of the active cells.
        predictive_cells: indices of the cells that were predicted for this step.
        bursting_columns: indices of the minicolumns that burst.

    Returns:
        ``(cells_per_column, column_count)`` uint8 array of ``CELL_*`` codes (one image column per minicolumn).
    """
    states = np.zeros(column_count * cells_per_column, dtype=np.uint8)
    states[np.asarray(predictive_cells, dtype=np.int64)] = CELL_PREDICTED
    states[np.asarray(active_cells, dtype=np.int64)] = CELL_CORRECT
    bursting = np.zeros(column_count, dtype=bool)
    bursting[np.asarray(bursting_columns, dtype=np.int64)] = True
    cells = states.reshape(column_count, cells_per_column)
    cells[bursting & (cells == CELL_CORRECT).any(axis=1)] = CELL_BURSTING
    return np.ascontiguousarray(cells.T)


def draw_cell_states(
    surface: Any, rect: tuple[int, int, int, int], states: np.ndarray,
    palette: Sequence[Colour] = CELL_STATE_COLOURS,
) -> tuple[int, int]:
    """Draw a 2-D array of small-integer states as a block image filling ``rect`` (integer zoom per axis, no gaps).

    Returns:
        The drawn ``(width, height)`` in pixels.
    """
    pygame = require_pygame()
    states = np.asarray(states)
    rows, columns = states.shape
    zoom_x, zoom_y = max(1, rect[2] // max(columns, 1)), max(1, rect[3] // max(rows, 1))
    colours = np.asarray(palette, dtype=np.uint8)[states]
    big = np.repeat(np.repeat(colours, zoom_y, axis=0), zoom_x, axis=1)
    surface.blit(pygame.surfarray.make_surface(np.ascontiguousarray(big.transpose(1, 0, 2))), rect[:2])
    return columns * zoom_x, rows * zoom_y


def draw_bars(
    surface: Any, rect: tuple[int, int, int, int], values: Sequence[float], maximum: float, colour: Colour,
    highlight: Optional[int] = None, marked: Optional[int] = None, threshold: Optional[float] = None,
    labels: bool = True, bright_from: Optional[float] = None, y_ticks: bool = False,
) -> None:
    """Draw one vertical bar per value, from the bottom of ``rect``, scaled to ``maximum``.

    Args:
        highlight: index of a bar drawn in full ``colour`` with a white frame (e.g. the recognized object); the
            others are drawn dimmer.
        bright_from: bars with a value at least this are drawn in full ``colour`` too (e.g. objects still in play).
        marked: index of a bar with a small triangle under it (e.g. the true object).
        threshold: a dashed horizontal line at this value (e.g. the recognition threshold).
        labels: print each bar's index under it when there is room.
        y_ticks: write ``0`` and ``maximum`` at the left end of the axis (the bars then start 26 pixels in).
    """
    pygame = require_pygame()
    left, top, width, height = rect
    if y_ticks:
        draw_text(surface, f"{maximum:g}", (left + 22, top), 13, MUTED, anchor="topright")
        draw_text(surface, "0", (left + 22, top + height - (14 if labels else 0) - (6 if marked is not None else 0)),
                  13, MUTED, anchor="bottomright")
        left, width = left + 26, width - 26
    n = len(values)
    if n == 0:
        return
    label_height = 14 if labels else 0
    plot_height = height - label_height - (6 if marked is not None else 0)
    slot = width / n
    bar = max(1.0, slot * 0.75)
    dim = tuple(int(0.35 * c + 0.65 * v) for c, v in zip(colour, PANEL))
    pygame.draw.line(surface, MUTED, (left, top + plot_height), (left + width, top + plot_height), 1)
    for i, value in enumerate(values):
        fraction = min(max(float(value) / maximum, 0.0), 1.0) if maximum > 0 else 0.0
        bar_height = int(round(fraction * (plot_height - 2)))
        x = left + i * slot + (slot - bar) / 2
        box = pygame.Rect(int(x), top + plot_height - bar_height, max(1, int(bar)), bar_height)
        bright = i == highlight or (bright_from is not None and float(value) >= bright_from)
        pygame.draw.rect(surface, colour if bright else dim, box)
        if i == highlight:
            pygame.draw.rect(surface, TEXT, box.inflate(2, 2), width=1)
        if labels and slot >= 12:
            draw_text(surface, str(i), (x + bar / 2, top + plot_height + 2), 13, MUTED, anchor="midtop")
        if i == marked:
            tip_y = top + height - 1
            pygame.draw.polygon(surface, TEXT, [(x + bar / 2, tip_y - 5), (x + bar / 2 - 4, tip_y),
                                                (x + bar / 2 + 4, tip_y)])
    if threshold is not None and maximum > 0:
        y = top + plot_height - 2 - int(round(min(threshold / maximum, 1.0) * (plot_height - 2)))
        for x in range(int(left), int(left + width), 8):
            pygame.draw.line(surface, MUTED, (x, y), (min(x + 4, left + width), y), 1)


def draw_grid_module(
    surface: Any, rect: tuple[int, int, int, int], active: np.ndarray, bumps: np.ndarray, colour: Colour,
) -> None:
    """Draw one grid-cell module as a small sheet: its active cells lit in ``colour`` and each bump centre as a dot.

    Args:
        active: ``(n, n)`` bool array: ``active[i1, i0]`` is the cell ``i0`` along phase axis 0 (drawn across) and
            ``i1`` along phase axis 1 (drawn down); cell ``i`` spans phases ``[i / n, (i + 1) / n)``.
        bumps: ``(k, 2)`` bump phases in ``[0, 1)`` (axis 0 across, axis 1 down).
    """
    pygame = require_pygame()
    active = np.asarray(active, dtype=bool)
    n_rows, n_columns = active.shape
    dim = tuple(int(0.25 * c + 0.75 * v) for c, v in zip(colour, EMPTY_CELL))
    palette = np.asarray([EMPTY_CELL, colour], dtype=np.uint8)
    width, height = draw_cell_states(surface, rect, active.astype(np.uint8), palette)
    pygame.draw.rect(surface, dim, pygame.Rect(rect[0] - 1, rect[1] - 1, width + 2, height + 2), width=1)
    for phase in np.asarray(bumps, dtype=np.float64).reshape(-1, 2):
        centre = (rect[0] + phase[0] * width, rect[1] + phase[1] * height)
        pygame.draw.circle(surface, TEXT, centre, 2)


def draw_series(
    surface: Any, rect: tuple[int, int, int, int], values: Sequence[float], maximum: float, colour: Colour,
    capacity: Optional[int] = None,
) -> None:
    """Draw a time series left to right in ``rect`` as bars (the last ``capacity`` values, one slot each)."""
    pygame = require_pygame()
    left, top, width, height = rect
    capacity = capacity or max(len(values), 1)
    shown = list(values)[-capacity:]
    slot = width / capacity
    pygame.draw.line(surface, MUTED, (left, top + height), (left + width, top + height), 1)
    for i, value in enumerate(shown):
        fraction = min(max(float(value) / maximum, 0.0), 1.0) if maximum > 0 else 0.0
        bar = max(1, int(round(fraction * height)))
        pygame.draw.rect(surface, colour, pygame.Rect(int(left + i * slot), top + height - bar, max(1, int(slot) - 1),
                                                      bar))


def surface_to_array(surface: Any) -> np.ndarray:
    """The surface's pixels as an ``(height, width, 3)`` uint8 array."""
    pygame = require_pygame()
    return np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2))


@dataclass(frozen=True)
class TouchScene:
    """Plain data of one :class:`~htmagent.envs.ObjectTouchEnv` frame.

    Attributes:
        points: the object's ``{(x, y): feature_id}``.
        bounds: ``(min_x, min_y, max_x, max_y)`` of the grid to draw (the library's, so every object looks alike).
        num_features: feature pool size (for colours).
        paths: per sensor, the cells it visited this episode, in order.
        title: heading of the side panel.
        lines: text lines under the heading (object, step, last action...).
    """

    points: Mapping[tuple[int, int], int]
    bounds: tuple[int, int, int, int]
    num_features: int
    paths: Sequence[Sequence[tuple[int, int]]]
    title: str = ""
    lines: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class SaccadeScene:
    """Plain data of one :class:`~htmagent.envs.ObjectSaccadeEnv` frame.

    Attributes:
        image: the object's ``(height, width)`` uint8 image.
        fixations: ``(n,)`` pixel coordinates of the fixation grid's centres along each axis.
        patch_size: sensor patch side in pixels.
        paths: per sensor, the pixel centres it fixated this episode, in order.
        patches: per sensor, its current ``(patch_size, patch_size)`` patch.
        title: heading of the side panel.
        lines: text lines under the heading.
    """

    image: np.ndarray
    fixations: np.ndarray
    patch_size: int
    paths: Sequence[Sequence[Point]]
    patches: Sequence[np.ndarray]
    title: str = ""
    lines: Sequence[str] = field(default_factory=tuple)


def _panel(surface: Any, rect: tuple[int, int, int, int]) -> None:
    pygame = require_pygame()
    pygame.draw.rect(surface, PANEL, pygame.Rect(rect), border_radius=6)


def render_touch(scene: TouchScene, size: tuple[int, int] = (760, 480)) -> Any:
    """Compose a whole ObjectTouch frame: the object grid with sensor paths left, text and legends right."""
    pygame = require_pygame()
    width, height = size
    surface = pygame.Surface(size)
    surface.fill(BACKGROUND)
    side = height - 40
    geometry = GridGeometry((20, 20, side, side), scene.bounds)
    draw_feature_grid(surface, geometry, scene.points, scene.num_features)
    colours = [sensor_colour(i) for i in range(len(scene.paths))]
    draw_paths(surface, geometry.to_screen, scene.paths, colours, width=4, marker=geometry.cell * 0.38)
    left = side + 40
    _panel(surface, (left, 20, width - left - 20, height - 40))
    x = left + 14
    y = 32 + draw_text(surface, scene.title, (x, 32), 22, TEXT, bold=True) + 8
    y = draw_text_lines(surface, scene.lines, (x, y), 17, max_width=width - x - 34) + 8
    sensors = [
        (colour, f"sensor {i} at {tuple(path[-1])}" if path else f"sensor {i}")
        for i, (colour, path) in enumerate(zip(colours, scene.paths))
    ]
    y = draw_legend(surface, (x, y), sensors, "sensors (ring = now, line = path)")
    if scene.num_features <= 20:
        features = [(feature_colour(f, scene.num_features), f"f{f}") for f in range(scene.num_features)]
        draw_legend(surface, (x, y + 4), features, "features", columns=4, column_width=60, size=15)
    else:
        draw_text(surface, f"{scene.num_features} features; id printed in each cell", (x, y + 4), 15, MUTED)
    return surface


def render_saccade(scene: SaccadeScene, size: tuple[int, int] = (760, 480)) -> Any:
    """Compose a whole ObjectSaccade frame: the image with fixation grid and sensor patches left, zoomed patches and
    text right."""
    pygame = require_pygame()
    width, height = size
    surface = pygame.Surface(size)
    surface.fill(BACKGROUND)
    side = height - 40
    geometry = ImageGeometry((20, 20, side, side), tuple(scene.image.shape))
    draw_image(surface, geometry, scene.image)
    for fy in scene.fixations:
        for fx in scene.fixations:
            pygame.draw.circle(surface, MUTED, geometry.to_screen((fx, fy)), 2)
    colours = [sensor_colour(i) for i in range(len(scene.paths))]
    draw_paths(surface, geometry.to_screen, scene.paths, colours, width=3, box=scene.patch_size * geometry.zoom)
    left = geometry.rect[0] + scene.image.shape[1] * geometry.zoom + 20
    _panel(surface, (left, 20, width - left - 20, height - 40))
    x = left + 14
    y = 32 + draw_text(surface, scene.title, (x, 32), 22, TEXT, bold=True) + 8
    y = draw_text_lines(surface, scene.lines, (x, y), 17, max_width=width - x - 34) + 12
    patch_side = 70
    per_row = max(1, (width - left - 40) // (patch_side + 16))
    for i, (patch, colour) in enumerate(zip(scene.patches, colours)):
        px = x + (i % per_row) * (patch_side + 16)
        py = y + 20 + (i // per_row) * (patch_side + 34)
        draw_patch(surface, (px, py, patch_side, patch_side), patch, colour, f"sensor {i}")
    rows = (len(scene.patches) + per_row - 1) // per_row
    draw_text(
        surface, "squares = sensor patches; dots = fixation grid", (x, y + 24 + rows * (patch_side + 34)), 15, MUTED
    )
    return surface


class Viewer:
    """A pygame window for ``render_mode="human"``: shows surfaces at a steady frame rate and keeps the window
    responsive (events are pumped on every frame).

    Args:
        title: window caption.
        fps: frames per second (the environment's ``metadata["render_fps"]``).
    """

    def __init__(self, title: str, fps: float):
        self.title = title
        self.fps = fps
        self._window = None
        self._clock = None

    def show(self, surface: Any) -> None:
        """Display ``surface`` (opening the window on first use) and wait for the next frame."""
        pygame = require_pygame()
        if self._window is None:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._window = pygame.display.set_mode(surface.get_size())
            self._clock = pygame.time.Clock()
        pygame.event.pump()
        self._window.blit(surface, (0, 0))
        pygame.display.flip()
        self._clock.tick(self.fps)

    def close(self) -> None:
        """Close the window, if one was opened."""
        if self._window is not None:
            pygame = require_pygame()
            pygame.display.quit()
            self._window = None
            self._clock = None
