"""``htmagent demo hierarchy``: two regions, one above the other, playing songs that share a phrase.

The songs of :mod:`htmagent.experiments.hierarchy_sequences`: each song is its own opening phrase, a phrase every
song shares, and its own closing phrase. The demo first learns them (a few seconds), then plays them. Drawn: the upper
region on top, the lower region below, each as its cells (green = active as predicted, red = bursting, blue =
predicted for the next step) and its pooled code; the pooled code of the lower region goes up as the upper region's
input, the upper region's pooled code comes down as the lower region's apical feedback. Below: per step, whether the
lower region predicted the symbol that came.

With **cut** on (key ``c``), the lower region's memory is cleared at every phrase boundary, so at the end of the
shared phrase it cannot know which song is playing: with **feedback** on (key ``f``) the upper region tells it; with
feedback off it predicts every song's continuation at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from htmagent.demo.app import SteppingApp, write_steps
from htmagent.envs import rendering as R
from htmagent.experiments import hierarchy_sequences as S

__all__ = ["HierarchyDemo", "HierarchyApp", "render_hierarchy", "run_hierarchy_headless"]

SIZE = (1180, 640)
HISTORY = 48
KEY_HELP = ("space: one step", "enter: play / pause", "c: cut the lower memory at phrases on/off",
            "f: feedback on/off", "s: screenshot", "q / esc: quit")


class HierarchyDemo:
    """A trained two-level hierarchy playing the songs, with the cut and the feedback switchable.

    Args:
        seed: seed of the songs and the hierarchy.
        train_songs: songs learned before playing.
    """

    def __init__(self, seed: int = 0, train_songs: int = 150):
        self.args = S.SequenceArgs(progress=False, train_songs=train_songs)
        rng = np.random.default_rng(seed)
        self.songs, self.symbols, self.probe = S.build_songs(self.args, rng)
        self.hierarchy = S.make_hierarchy(self.args, seed)
        for _ in range(train_songs):
            song = self.songs[int(rng.integers(len(self.songs)))]
            S._play(self.hierarchy, song, self.symbols, self.probe, self.args.phrase_length, cut=False,
                    feedback=True, learn=True)
        self.cut = True
        self.feedback = True
        self.song = 0
        self.position = 0
        self.step_count = 0
        self.history: list[float] = []  # per step: precision of the lower region's prediction for it
        self._predicted = None
        self.hierarchy.reset()

    def _symbol_columns(self, symbol: int) -> np.ndarray:
        return self.hierarchy.bottom[0].sp.compute(self.symbols[symbol], learn=False).sparse

    def step(self) -> None:
        """Play the next symbol (no learning); a song ends, the next one starts."""
        h, length = self.hierarchy, self.args.phrase_length
        if self.position == len(self.songs[self.song]):
            self.song = (self.song + 1) % len(self.songs)
            self.position = 0
            h.reset()
            self._predicted = None
        if self.cut and self.position % length == 0:
            h.reset(levels=[0])
        symbol = self.songs[self.song][self.position]
        h.step(self.symbols[symbol], learn=False, feedback=self.feedback)
        low = h.bottom[0]
        if self._predicted is not None and self._predicted.size:
            hit = np.intersect1d(self._predicted, low.active_columns.sparse).size
            self.history.append(hit / self._predicted.size)
        else:
            self.history.append(-1.0)
        self._predicted = low.predicted_columns.sparse.copy()
        self.position += 1
        self.step_count += 1

    def scene(self, playing: bool = False, interactive: bool = True) -> dict:
        """The current state as plain data for :func:`render_hierarchy`."""
        h = self.hierarchy
        levels = []
        for region in (h.top[0], h.bottom[0]):
            tm = region.tm
            levels.append({
                "cells": R.tm_cell_states(tm.column_count, tm.cells_per_column, tm.active_cells.sparse,
                                          tm.predictive_cells.sparse, tm.bursting_columns.sparse),
                "pooled": region.pooled.sparse.copy(), "columns": region.column_count, "anomaly": region.anomaly})
        phrase = (self.position - 1) // self.args.phrase_length if self.position else 0
        names = ("opening", "shared", "closing")
        lines = [f"song {self.song + 1} of {len(self.songs)}, {names[min(phrase, 2)]} phrase, symbol "
                 f"{max(self.position, 1)} of {len(self.songs[self.song])}",
                 f"cut the lower memory at phrase boundaries: {'ON' if self.cut else 'off'}    "
                 f"top-down feedback: {'ON' if self.feedback else 'off'}"]
        scored = [v for v in self.history[-60:] if v >= 0]
        if scored:
            lines.append(f"lower region, last {len(scored)} predictions: {np.mean(scored):.0%} of its predicted "
                         "columns were right")
        return {"levels": levels, "history": list(self.history[-HISTORY:]), "lines": lines, "playing": playing,
                "interactive": interactive}


def _draw_pooled(surface: Any, rect: tuple[int, int, int, int], pooled: np.ndarray, columns: int,
                 colour: R.Colour) -> None:
    row = np.zeros((1, columns), dtype=np.uint8)
    row[0, pooled] = 1
    R.draw_cell_states(surface, rect, row, palette=(R.EMPTY_CELL, colour))


def render_hierarchy(scene: dict, size: tuple[int, int] = SIZE) -> Any:
    """Draw a frame: the upper region over the lower one, their pooled codes, the flows, the prediction record."""
    pygame = R.require_pygame()
    width, height = size
    surface = pygame.Surface(size)
    surface.fill(R.BACKGROUND)
    R.draw_text(surface, "htmagent - a hierarchy of two regions: codes go up, predictions come down", (20, 12), 24,
                bold=True)
    if scene["interactive"]:
        R.draw_text(surface, "PLAYING" if scene["playing"] else "PAUSED", (width - 20, 14), 20,
                    (120, 235, 120) if scene["playing"] else R.MUTED, anchor="topright")
    colours = R.CELL_STATE_COLOURS
    R.draw_legend(surface, (20, 46), [(colours[R.CELL_CORRECT], "active, predicted"),
                                      (colours[R.CELL_BURSTING], "active, not predicted (burst)"),
                                      (colours[R.CELL_PREDICTED], "predicted for the next step"),
                                      ((240, 200, 80), "pooled code (the region's output)")],
                  columns=4, column_width=270, size=15)
    left, panel_w = 20, width - 40
    y = 80
    titles = ("level 2 (upper region): sees the lower region's pooled code",
              "level 1 (lower region): sees the song's symbols")
    anchors = []
    for level, title in zip(scene["levels"], titles):
        R.draw_text(surface, f"{title}    anomaly {level['anomaly']:.2f}", (left, y), 17)
        y += 24
        w, h = R.draw_cell_states(surface, (left, y, panel_w, 96), level["cells"])
        y += h + 6
        _draw_pooled(surface, (left, y + 2, w, 12), level["pooled"], level["columns"], (240, 200, 80))
        R.draw_text(surface, "pooled code", (left + w + 10, y), 14, R.MUTED)
        anchors.append(y)
        y += 50
    # the flows between the two panels
    mid = left + panel_w // 2
    top_pool, low_top = anchors[0] + 18, anchors[0] + 44
    pygame.draw.line(surface, (240, 200, 80), (mid - 160, low_top + 4), (mid - 160, top_pool), 3)
    pygame.draw.polygon(surface, (240, 200, 80), [(mid - 167, top_pool + 8), (mid - 153, top_pool + 8),
                                                   (mid - 160, top_pool)])
    R.draw_text(surface, "pooled code up (bottom-up input)", (mid - 150, top_pool + 4), 14, (240, 200, 80))
    pygame.draw.line(surface, (150, 170, 255), (mid + 160, top_pool), (mid + 160, low_top + 4), 3)
    pygame.draw.polygon(surface, (150, 170, 255), [(mid + 153, low_top - 4), (mid + 167, low_top - 4),
                                                    (mid + 160, low_top + 4)])
    R.draw_text(surface, "feedback down (apical input)", (mid + 170, top_pool + 4), 14, (150, 170, 255))
    y += 6
    R.draw_text(surface, "lower region: fraction of its predicted columns that were right, per step (grey: no "
                         "prediction)", (left, y), 15, R.MUTED)
    y += 22
    slot = panel_w / HISTORY
    for i, value in enumerate(scene["history"]):
        colour = R.MUTED if value < 0 else (int(255 * (1 - value)), int(90 + 130 * value), 90)
        bar = 6 if value < 0 else max(2, int(50 * value))
        pygame.draw.rect(surface, colour, pygame.Rect(int(left + i * slot), y + 50 - bar, max(1, int(slot) - 2), bar))
    y += 62
    y = R.draw_text_lines(surface, scene["lines"], (left, y), 17) + 6
    if scene["interactive"]:
        R.draw_text(surface, "keys:  " + "    ".join(KEY_HELP), (20, height - 26), 15, R.MUTED)
    return surface


class HierarchyApp(SteppingApp):
    """Keys and timing of the hierarchy demo (see :data:`KEY_HELP`).

    Args:
        seed: seed of the songs and the hierarchy.
        out_dir: where screenshots go.
        interval: seconds between steps while playing.
    """

    title = "htmagent demo - hierarchy"
    screenshot_prefix = "htmagent_hierarchy"

    def __init__(self, seed: int = 0, out_dir: str | os.PathLike = ".", interval: float = 0.3):
        super().__init__(HierarchyDemo(seed=seed), out_dir, interval)

    def handle_key(self, key: int) -> None:
        """c: cut the lower memory at phrase boundaries on / off; f: feedback on / off."""
        pygame = R.require_pygame()
        if key == pygame.K_c:
            self.demo.cut = not self.demo.cut
        elif key == pygame.K_f:
            self.demo.feedback = not self.demo.feedback

    def render(self, footer: str = "") -> Any:
        """The current frame."""
        return render_hierarchy(self.demo.scene(self.playing))


def run_hierarchy_headless(app: HierarchyApp, steps: int, out_dir: str | os.PathLike, every: int = 3,
                           gif: bool = True, log: Callable[[str], None] = print) -> list[Path]:
    """Play ``steps`` steps off-screen (the first half with feedback, the second without), writing a PNG every
    ``every`` steps (and a GIF with Pillow). Returns the frames written."""
    def step(t: int) -> None:
        app.demo.feedback = t < steps // 2
        app.demo.step()

    return write_steps(step, lambda: render_hierarchy(app.demo.scene(interactive=False)), steps, out_dir,
                       "hierarchy", every, gif, 400, log)
