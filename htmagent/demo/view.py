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
    """Plain data of one demo frame (what :func:`render_recognition` draws)."""

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



def render_recognition(scene: RecognitionScene, size: tuple[int, int] = FRAME_SIZE) -> Any:
    """Draw a whole demo frame from ``scene``: the object and sensors left, one row per column right."""
    pygame = R.require_pygame()
    width, height = size
    surface = pygame.Surface(size)
    surface.fill(R.BACKGROUND)
    R.draw_text(surface, "htmagent - cortical columns recognizing an object by touch", (20, 12), 26, bold=True)
    mode = "PLAYING" if scene.playing else "PAUSED"
    R.draw_text(surface, mode, (width - 20, 14), 20, (120, 235, 120) if scene.playing else R.MUTED,
                anchor="topright")
    side = 400
    geometry = R.GridGeometry((20, 46, side, side), scene.bounds)
    R.draw_feature_grid(surface, geometry, scene.points, scene.num_features)
    colours = [R.sensor_colour(i) for i in range(len(scene.columns))]
    R.draw_paths(surface, geometry.to_screen, scene.paths, colours, width=4, marker=geometry.cell * 0.36)
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
    heading = f"object #{scene.target}" + ("" if scene.learning else " (the true object, hidden from the network)")
    y += R.draw_text(surface, heading, (20, y), 18, bold=True) + 4
    y = R.draw_text_lines(surface, scene.status, (20, y), 17, max_width=side + 20) + 6
    y = R.draw_legend(surface, (20, y), [(c, f"column {i + 1}") for i, c in enumerate(colours)],
                      "sensors (ring = now, line = path)", columns=5, column_width=88, size=15)
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
    R.draw_legend(surface, (left, top), legend, "L4 cells", columns=3, column_width=170, size=15)
    R.draw_text(surface, "L2/3 vote: overlap with each learned object's code (dashed = recognition threshold,"
                " triangle = true object)", (left, top + 44), 15, R.MUTED)
    n = max(len(scene.columns), 1)
    row_top = top + 66
    row_height = min(330, (top + height - row_top) // n)
    has_grid = any(view.grid_modules for view in scene.columns)
    for i, (view, colour) in enumerate(zip(scene.columns, colours)):
        y = row_top + i * row_height
        pygame.draw.rect(surface, R.PANEL, pygame.Rect(left, y, width, row_height - 8), border_radius=6)
        pygame.draw.rect(surface, colour, pygame.Rect(left, y, 6, row_height - 8), border_radius=3)
        x = left + 16
        R.draw_text(surface, f"column {i + 1}", (x, y + 6), 18, colour, bold=True)
        l4_width = 300
        R.draw_text(surface, f"L4: {view.predicted} predicted, {view.bursting} bursting minicolumns",
                    (x + 90, y + 8), 15, R.MUTED)
        bottom = y + row_height - 8
        cells = view.l4_states.shape[0]
        grid_space = 50 if has_grid else 0
        l4_height = max(cells, min(96, bottom - (y + 28) - 20 - grid_space))
        _, drawn = R.draw_cell_states(surface, (x, y + 28, l4_width, l4_height), view.l4_states)
        R.draw_text(surface, f"{view.l4_states.shape[1]} minicolumns across, {cells} cells each down",
                    (x, y + 30 + drawn), 13, R.MUTED)
        below = (x, y + 46 + drawn, l4_width + 60, bottom - (y + 46 + drawn) - 4)
        if view.grid_modules:
            _draw_grid_row(surface, view.grid_modules, below, colour)
        elif below[3] >= 30:
            R.draw_text_lines(surface, ["location input: a fixed random code per point (Hawkins et al. 2017);",
                                        "grid-cell modules are drawn here when the columns use them"],
                              below[:2], 13, R.MUTED, spacing=2)
        bars_left = x + l4_width + 80 if not has_grid else x + l4_width + 90
        bars_width = left + width - bars_left - 16
        R.draw_text(surface, f"L2/3: {view.active_cells} active cells", (bars_left, y + 8), 15, R.MUTED)
        R.draw_bars(surface, (bars_left, y + 28, bars_width, row_height - 8 - 34), view.overlaps, scene.sdr_size,
                    colour, highlight=scene.recognized, marked=None if scene.learning else scene.target,
                    threshold=scene.threshold, bright_from=scene.threshold)


def _draw_grid_row(surface: Any, modules: Sequence[tuple[np.ndarray, np.ndarray]], rect: tuple[int, int, int, int],
                   colour: tuple[int, int, int]) -> None:
    left, top, width, height = rect
    R.draw_text(surface, f"L6a grid-cell modules ({len(modules)}), dots = bumps", (left, top), 14, R.MUTED)
    side = max(8, min(height - 16, (width - 4 * len(modules)) // max(len(modules), 1)))
    for m, (active, bumps) in enumerate(modules):
        R.draw_grid_module(surface, (left + m * (side + 4), top + 16, side, side), active, bumps, colour)
