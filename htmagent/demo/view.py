"""Drawing a frame of the object-recognition demo from plain data (:class:`RecognitionScene`).

Composes the shared drawing functions of :mod:`htmagent.envs.rendering` (the ones the environments' ``human`` and
``rgb_array`` modes use) into the demo's frame: the object and the sensors' paths on the left, one row per cortical
column on the right (L4 cells, the optional grid-cell modules of L6a, the L2/3 vote bars).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from htmagent.envs import rendering as R

__all__ = ["ColumnView", "RecognitionScene", "render_recognition", "FRAME_SIZE", "KEY_HELP"]

FRAME_SIZE = (1280, 760)
KEY_HELP = ("space: one sensation", "enter: play / pause", "r: next object", "1-5: number of columns",
            "p: switch motor policy", "s: screenshot", "q / esc: quit")


@dataclass(frozen=True)
class ColumnView:
    """Plain data of one column for a frame.

    Attributes:
        l4_states: ``(cells_per_column, minicolumns)`` ``CELL_*`` codes (see :func:`~htmagent.envs.rendering.
            tm_cell_states`).
        overlaps: L2/3 overlap with each learned object's code.
        active_cells: L2/3 active cell count.
        bursting: bursting minicolumns; ``predicted``: minicolumns whose input was predicted.
        grid_modules: per grid-cell module, ``(active (n, n) bool, bump phases (k, 2))``; empty without grid cells.
    """

    l4_states: np.ndarray
    overlaps: np.ndarray
    active_cells: int
    bursting: int
    predicted: int
    grid_modules: tuple[tuple[np.ndarray, np.ndarray], ...] = ()


@dataclass(frozen=True)
class RecognitionScene:
    """Plain data of one demo frame (what :func:`render_recognition` draws).

    ``interactive``: a window frame (play/pause state and the keys are shown); still frames and GIFs leave them out.
    ``novel``: the object is one the network never learned (its L4 bursts: the surprise the legend names).
    """

    points: dict
    bounds: tuple[int, int, int, int]
    num_features: int
    paths: tuple[tuple[tuple[int, int], ...], ...]
    columns: tuple[ColumnView, ...]
    target: int
    recognized: Optional[int]
    status: tuple[str, ...]
    sdr_size: int
    threshold: int
    learning: Optional[tuple[int, int]] = None
    playing: bool = False
    footer: str = ""
    interactive: bool = True
    novel: bool = False



def render_recognition(scene: RecognitionScene, size: tuple[int, int] = FRAME_SIZE) -> Any:
    """Draw a whole demo frame from ``scene``: the object and sensors left, one row per column right."""
    pygame = R.require_pygame()
    width, height = size
    surface = pygame.Surface(size)
    surface.fill(R.BACKGROUND)
    R.draw_text(surface, "htmagent - cortical columns recognizing an object by touch", (20, 12), 26, bold=True)
    if scene.interactive:
        mode = "PLAYING" if scene.playing else "PAUSED"
        R.draw_text(surface, mode, (width - 20, 14), 20, (120, 235, 120) if scene.playing else R.MUTED,
                    anchor="topright")
    side = 400
    geometry = R.GridGeometry((20, 46, side, side), scene.bounds)
    R.draw_feature_grid(surface, geometry, scene.points, scene.num_features)
    colours = [R.sensor_colour(i) for i in range(len(scene.columns))]
    R.draw_paths(surface, geometry.to_screen, scene.paths, colours, width=3, marker=geometry.cell * 0.2,
                 spread=geometry.cell * 0.5 / max(len(scene.columns), 1), numbers=True)
    if scene.learning:
        done, total = scene.learning
        box = pygame.Rect(0, 0, side - 60, 70)
        box.center = (20 + side // 2, 46 + side // 2)
        pygame.draw.rect(surface, R.BACKGROUND, box, border_radius=8)
        R.draw_text(surface, f"learning object {done + 1} of {total}", (box.centerx, box.centery - 12), 28,
                    bold=True, anchor="center")
        R.draw_text(surface, "all columns touch every point together", (box.centerx, box.centery + 16), 16,
                    R.MUTED, anchor="center")
    y = 46 + side + 10
    if scene.learning:
        heading = f"object #{scene.target}"
    elif scene.novel:
        heading = "a new object, never learned (a surprise for the network)"
    else:
        heading = f"object #{scene.target} (the true object, hidden from the network)"
    y += R.draw_text(surface, heading, (20, y), 18, (255, 150, 90) if scene.novel else R.TEXT, bold=True) + 4
    y = R.draw_text_lines(surface, scene.status, (20, y), 17, max_width=side + 20) + 6
    y = R.draw_legend(surface, (20, y), [(c, f"column {i + 1}") for i, c in enumerate(colours)],
                      "sensors (ring = now, numbered discs = earlier touches)", columns=5, column_width=88, size=15)
    if scene.interactive:
        R.draw_text(surface, "keys", (20, height - 96), 15, R.MUTED)
        for k, text in enumerate(KEY_HELP):
            R.draw_text(surface, text, (20 + (k % 2) * 210, height - 78 + (k // 2) * 18), 15, R.TEXT)
    _draw_columns(surface, scene, (450, 46, width - 470, height - 66), colours)
    if scene.footer:
        R.draw_text(surface, scene.footer, (450, height - 20), 17, (255, 210, 60))
    return surface


def _draw_columns(surface: Any, scene: RecognitionScene, rect: tuple[int, int, int, int],
                  colours: Sequence[tuple[int, int, int]]) -> None:
    pygame = R.require_pygame()
    left, top, width, height = rect
    legend = [(R.CELL_STATE_COLOURS[R.CELL_CORRECT], "predicted & active"),
              (R.CELL_STATE_COLOURS[R.CELL_BURSTING], "bursting (surprise)"),
              (R.CELL_STATE_COLOURS[R.CELL_PREDICTED], "predicted, not sensed")]
    R.draw_legend(surface, (left, top), legend, "L4 cells as the touch arrives (a pixel column per minicolumn)",
                  columns=3, column_width=170, size=15)
    R.draw_text(surface, "L2/3 vote: each column's overlap with every learned object's code (dashed = recognition "
                "threshold, triangle = true object)", (left, top + 44), 15, R.MUTED)
    n = max(len(scene.columns), 1)
    row_top = top + 66
    row_height = min(330, (top + height - row_top) // n)
    compact = row_height < 200  # four or five columns: grid modules beside the L4 cells, fewer captions
    has_grid = any(view.grid_modules for view in scene.columns)
    for i, (view, colour) in enumerate(zip(scene.columns, colours)):
        y = row_top + i * row_height
        bottom = y + row_height - 8
        pygame.draw.rect(surface, R.PANEL, pygame.Rect(left, y, width, row_height - 8), border_radius=6)
        pygame.draw.rect(surface, colour, pygame.Rect(left, y, 6, row_height - 8), border_radius=3)
        x = left + 16
        R.draw_text(surface, f"column {i + 1}", (x, y + 6), 18, colour, bold=True)
        cells, minicolumns = view.l4_states.shape
        l4_width = 300
        R.draw_text(surface, f"L4 ({minicolumns} x {cells}) at the touch: {view.predicted} predicted, "
                    f"{view.bursting} bursting", (x + 92, y + 8), 15, (255, 150, 90) if view.bursting else R.MUTED,
                    max_width=l4_width + 60 - 92 + (170 if compact else 0))
        if compact:
            l4_height = max(cells, bottom - (y + 28) - 4)
            _, drawn_h = R.draw_cell_states(surface, (x, y + 28, l4_width, l4_height), view.l4_states)
            modules_rect = (x + l4_width + 14, y + 26, 170, bottom - (y + 26) - 2)
            if view.grid_modules:
                _draw_grid_block(surface, view.grid_modules, modules_rect, colour)
            bars_left = modules_rect[0] + modules_rect[2] + 16
        else:
            grid_space = 62 if has_grid else 0
            l4_height = max(cells, min(96, bottom - (y + 28) - 20 - grid_space))
            _, drawn = R.draw_cell_states(surface, (x, y + 28, l4_width, l4_height), view.l4_states)
            below = (x, y + 34 + drawn, l4_width + 60, bottom - (y + 34 + drawn) - 4)
            if view.grid_modules:
                _draw_grid_row(surface, view.grid_modules, below, colour)
            elif below[3] >= 30:
                R.draw_text_lines(surface, ["location input: a fixed random code per point (Hawkins et al. 2017);",
                                            "grid-cell modules are drawn here when the columns use them"],
                                  below[:2], 13, R.MUTED, spacing=2)
            bars_left = x + l4_width + 90
        bars_width = left + width - bars_left - 16
        R.draw_text(surface, f"L2/3: {view.active_cells} active cells; overlap (cells) with each object",
                    (bars_left, y + 8), 15, R.MUTED, max_width=bars_width)
        R.draw_bars(surface, (bars_left, y + 28, bars_width, row_height - 8 - 34), view.overlaps, scene.sdr_size,
                    colour, highlight=scene.recognized, marked=None if scene.learning or scene.novel else scene.target,
                    threshold=scene.threshold, bright_from=scene.threshold, y_ticks=True, labels=not compact)


_GRID_CAPTION = "L6a: {n} grid-cell modules (lit: active cells; dots: location hypotheses)"


def _draw_grid_row(surface: Any, modules: Sequence[tuple[np.ndarray, np.ndarray]], rect: tuple[int, int, int, int],
                   colour: tuple[int, int, int]) -> None:
    left, top, width, height = rect
    R.draw_text(surface, _GRID_CAPTION.format(n=len(modules)), (left, top), 14, R.MUTED, max_width=width)
    side = max(8, min(height - 16, (width - 4 * len(modules)) // max(len(modules), 1)))
    for m, (active, bumps) in enumerate(modules):
        R.draw_grid_module(surface, (left + m * (side + 4), top + 16, side, side), active, bumps, colour)


def _draw_grid_block(surface: Any, modules: Sequence[tuple[np.ndarray, np.ndarray]],
                     rect: tuple[int, int, int, int], colour: tuple[int, int, int]) -> None:
    """The modules in two rows beside the L4 cells (compact layout), with a short caption above."""
    left, top, width, height = rect
    R.draw_text(surface, f"L6a: {len(modules)} grid modules", (left, top), 13, R.MUTED)
    per_row = (len(modules) + 1) // 2
    side = max(8, min((height - 18) // 2 - 3, (width - 3 * per_row) // max(per_row, 1)))
    for m, (active, bumps) in enumerate(modules):
        row, col = divmod(m, per_row)
        R.draw_grid_module(surface, (left + col * (side + 3), top + 16 + row * (side + 3), side, side), active, bumps,
                           colour)
