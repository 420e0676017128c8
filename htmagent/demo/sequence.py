"""``htmagent demo sequence``: a temporal memory learning a melody (or a sine wave) online, one note per step.

Each step the note is encoded (one group of minicolumns per note, :class:`~htmagent.encoders.CategoryEncoder`; a sine
sample goes through a :class:`~htmagent.encoders.ScalarEncoder`), the temporal memory activates those minicolumns in
``"sequence"`` mode and learns. At first every note bursts (nothing predicted it); after a few passes over the melody
the cells of each note in each context predict the next one, bursting stops and the anomaly score falls to zero. The
melody repeats notes in different contexts ("C C G G A A G, F F E E D D C"), so predicting it needs the cells' context,
not just the current note: a first-order model could not.

:class:`SequenceDemo` is the model, :func:`render_sequence` draws it with the shared drawing functions of
:mod:`htmagent.envs.rendering`, :class:`SequenceApp` maps keys to actions for :func:`htmagent.demo.app.run_window`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from htmagent.demo.app import SteppingApp, write_steps
from htmagent.encoders import CategoryEncoder, ScalarEncoder
from htmagent.envs import rendering as R
from htmagent.temporal_memory import TemporalMemory

__all__ = ["SequenceDemo", "SequenceScene", "SequenceApp", "render_sequence", "run_sequence_headless", "MELODY",
           "SIGNALS"]

# "Twinkle, twinkle, little star": every note comes twice, and the same pair of notes leads to different next notes.
MELODY: tuple[str, ...] = tuple("C C G G A A G F F E E D D C".split())
NOTES: tuple[str, ...] = ("C", "D", "E", "F", "G", "A")
SINE_PERIOD = 16
SIGNALS = ("melody", "sine")
HISTORY = 56
SIZE = (1180, 680)
KEY_HELP = ("space: one step", "enter: play / pause", "m: melody <-> sine", "r: start again (new memory)",
            "s: screenshot", "q / esc: quit")


@dataclass(frozen=True)
class SequenceScene:
    """Plain data of one sequence-demo frame.

    Attributes:
        signal: ``"melody"`` or ``"sine"``.
        symbols: the rows of the timeline, bottom to top (note names or sine values).
        history: per past step, ``(row sensed, row predicted for it or -1, anomaly)``, oldest first.
        next_row: row the memory predicts for the coming step, or -1.
        cells: ``(cells_per_column, minicolumns)`` cell states of the last step.
        step: steps done; ``period``: steps per pass over the signal.
        lines: status text.
        playing: whether the demo plays by itself.
        interactive: a window frame (play state and keys shown); still frames and GIFs leave them out.
    """

    signal: str
    symbols: tuple[str, ...]
    history: tuple[tuple[int, int, float], ...]
    next_row: int
    cells: np.ndarray
    step: int
    period: int
    lines: tuple[str, ...]
    playing: bool = False
    interactive: bool = True


class SequenceDemo:
    """A temporal memory (sequence mode) fed a repeating melody or sine wave, learning at every step.

    Args:
        signal: ``"melody"`` or ``"sine"``.
        cells_per_column: cells per minicolumn (more = more contexts per note).
        seed: seed of the memory.
    """

    def __init__(self, signal: str = "melody", cells_per_column: int = 8, seed: int = 0):
        if signal not in SIGNALS:
            raise ValueError(f"signal must be one of {SIGNALS}, got {signal!r}")
        self.signal = signal
        self.seed = seed
        if signal == "melody":
            self.symbols: tuple[str, ...] = NOTES
            encoder = CategoryEncoder(list(NOTES), size=len(NOTES) * 20, active_bits=20, seed=seed)
            self._codes = [encoder.encode(note) for note in NOTES]
            self.sequence: tuple[int, ...] = tuple(NOTES.index(note) for note in MELODY)
        else:
            # One period of a sine, 16 samples; rising and falling halves pass through the same values.
            values = np.round(np.sin(2 * np.pi * np.arange(SINE_PERIOD) / SINE_PERIOD), 3).tolist()
            levels = sorted(set(values))
            self.symbols = tuple(f"{v:+.2f}" for v in levels)
            # Neighbouring levels (0.92 and 1.0) are 0.076 apart: a radius below that keeps their codes disjoint.
            encoder = ScalarEncoder(-1.0, 1.0, radius=0.07, active_bits=20)
            self._codes = [encoder.encode(float(v)) for v in levels]
            self.sequence = tuple(levels.index(v) for v in values)
        self.column_count = self._codes[0].size
        self.tm = TemporalMemory(column_count=self.column_count, cells_per_column=cells_per_column,
                                 activation_threshold=13, min_threshold=10, max_new_synapse_count=32,
                                 initial_permanence=0.41, connected_permanence=0.5, permanence_increment=0.1,
                                 permanence_decrement=0.05, predicted_segment_decrement=0.004, seed=seed)
        self.step_count = 0
        self.history: list[tuple[int, int, float]] = []
        self.anomalies: list[float] = []
        self._predicted_row = -1

    @property
    def period(self) -> int:
        """Steps per pass over the melody (or per sine period)."""
        return len(self.sequence)

    def decode(self, columns: np.ndarray) -> int:
        """The symbol whose code best matches predicted minicolumns ``columns`` (-1 if none covers half its bits)."""
        mark = np.zeros(self.column_count, dtype=bool)
        mark[np.asarray(columns, dtype=np.int64)] = True
        scores = np.array([mark[code.sparse].sum() for code in self._codes])
        best = int(np.argmax(scores))
        return best if scores[best] * 2 >= self._codes[best].num_active else -1

    def step(self) -> None:
        """Feed the next symbol of the signal, learning on."""
        row = self.sequence[self.step_count % self.period]
        self.tm.compute(self._codes[row], learn=True)
        anomaly = float(self.tm.anomaly)
        self.history.append((row, self._predicted_row, anomaly))
        self.anomalies.append(anomaly)
        self._predicted_row = self.decode(self.tm.predicted_columns.sparse)
        self.step_count += 1

    def pass_statistics(self) -> list[tuple[int, float, float]]:
        """Per completed pass over the signal: ``(pass, mean anomaly, fraction of steps predicted correctly)``."""
        out = []
        for p in range(len(self.history) // self.period):
            chunk = self.history[p * self.period:(p + 1) * self.period]
            out.append((p + 1, float(np.mean([a for _, _, a in chunk])),
                        float(np.mean([sensed == predicted for sensed, predicted, _ in chunk]))))
        return out

    def scene(self, playing: bool = False, interactive: bool = True) -> SequenceScene:
        """The current state as plain data for :func:`render_sequence` (``interactive=False``: a still frame)."""
        tm = self.tm
        cells = R.tm_cell_states(tm.column_count, tm.cells_per_column, tm.active_cells.sparse,
                                 tm.predictive_cells.sparse, tm.bursting_columns.sparse)
        passes = self.step_count / self.period
        lines = [f"step {self.step_count}   pass {int(passes) + 1} over the {self.signal} "
                 f"({self.period} steps per pass)"]
        if self.history:
            row, predicted, anomaly = self.history[-1]
            said = self.symbols[predicted] if predicted >= 0 else "nothing"
            lines.append(f"sensed {self.symbols[row]}, memory had predicted {said}; anomaly {anomaly:.2f}")
        stats = self.pass_statistics()
        if stats:
            _, mean_anomaly, accuracy = stats[-1]
            lines.append(f"last full pass: mean anomaly {mean_anomaly:.2f}, {accuracy:.0%} of steps predicted")
        lines.append(f"memory: {tm.num_segments()} dendrite segments, {tm.num_synapses()} synapses")
        return SequenceScene(self.signal, tuple(str(s) for s in self.symbols), tuple(self.history[-HISTORY:]),
                             self._predicted_row, cells, self.step_count, self.period, tuple(lines), playing,
                             interactive)


def render_sequence(scene: SequenceScene, size: tuple[int, int] = SIZE) -> Any:
    """Draw a sequence-demo frame: the timeline of sensed and predicted symbols, the anomaly, and the cells."""
    pygame = R.require_pygame()
    width, height = size
    surface = pygame.Surface(size)
    surface.fill(R.BACKGROUND)
    what = "a melody" if scene.signal == "melody" else "a sine wave"
    R.draw_text(surface, f"htmagent - temporal memory learning {what} online", (20, 12), 26, bold=True)
    if scene.interactive:
        R.draw_text(surface, "PLAYING" if scene.playing else "PAUSED", (width - 20, 14), 20,
                    (120, 235, 120) if scene.playing else R.MUTED, anchor="topright")
    good, bad = R.CELL_STATE_COLOURS[R.CELL_CORRECT], R.CELL_STATE_COLOURS[R.CELL_BURSTING]
    guess = R.CELL_STATE_COLOURS[R.CELL_PREDICTED]
    R.draw_legend(surface, (20, 48), [(good, "sensed, was predicted"), (bad, "sensed, not predicted (burst)"),
                                      (guess, "predicted (outline = wrong guess; filled, far right = next step)")],
                  columns=3, column_width=260, size=15)
    rows = len(scene.symbols)
    left, top, right = 80, 80, width - 40
    slot = (right - left) / (HISTORY + 1)
    row_height = min(30, 300 / rows)
    def row_top(row: int) -> float:  # the first symbol (lowest note or value) at the bottom
        return top + (rows - 1 - row) * row_height

    for r, symbol in enumerate(scene.symbols):
        y = row_top(r)
        pygame.draw.line(surface, R.PANEL, (left, y + row_height / 2), (right, y + row_height / 2), 1)
        R.draw_text(surface, symbol, (left - 10, y + row_height / 2), 16, R.TEXT, anchor="midright")
    first = scene.step - len(scene.history)
    for i, (row, predicted, _) in enumerate(scene.history):
        x = left + i * slot
        box = pygame.Rect(int(x + 1), int(row_top(row) + 2), max(2, int(slot) - 2), int(row_height) - 4)
        pygame.draw.rect(surface, good if predicted == row else bad, box, border_radius=2)
        if 0 <= predicted != row:
            wrong = box.move(0, int(row_top(predicted) - row_top(row)))
            pygame.draw.rect(surface, guess, wrong, width=2, border_radius=2)
        if (first + i) % scene.period == 0:
            pygame.draw.line(surface, R.MUTED, (x, top - 4), (x, top + rows * row_height), 1)
    if scene.next_row >= 0:
        x = left + len(scene.history) * slot
        box = pygame.Rect(int(x + 1), int(row_top(scene.next_row) + 2), max(2, int(slot) - 2),
                          int(row_height) - 4)
        pygame.draw.rect(surface, guess, box, border_radius=2)
    y = top + rows * row_height + 8
    R.draw_text(surface, f"time ->   (last {HISTORY} steps; a vertical line starts each pass)", (left, y), 14, R.MUTED)
    y += 26
    R.draw_text(surface, "anomaly (fraction of minicolumns not predicted)", (20, y), 15, R.MUTED)
    R.draw_series(surface, (left, y + 20, (right - left) * HISTORY / (HISTORY + 1), 50),
                  [a for _, _, a in scene.history], 1.0, bad, capacity=HISTORY)
    y += 84
    cells_per_column, minicolumns = scene.cells.shape
    R.draw_text(surface, f"cells: {minicolumns} minicolumns across, {cells_per_column} cells each down "
                         "(green = active as predicted, red = bursting, blue = predicting the next step)",
                (20, y), 15, R.MUTED)
    zoom = max(1, int((right - 20) // minicolumns))
    drawn = R.draw_cell_states(surface, (20, y + 20, zoom * minicolumns, min(8 * cells_per_column, 96)), scene.cells)
    y += 28 + drawn[1]
    y = R.draw_text_lines(surface, scene.lines, (20, y), 17) + 6
    if scene.interactive:
        R.draw_text(surface, "keys:  " + "    ".join(KEY_HELP), (20, height - 26), 15, R.MUTED)
    return surface


class SequenceApp(SteppingApp):
    """Keys and timing of the sequence demo. Keys: space = one step, enter = play / pause, m = switch between
    melody and sine, r = start again with a new memory, s = screenshot, q / escape = quit.

    Args:
        signal: ``"melody"`` or ``"sine"`` at start.
        seed: seed of the memory.
        out_dir: where screenshots go.
        interval: seconds between steps while playing.
    """

    title = "htmagent demo - sequence memory"
    screenshot_prefix = "htmagent_sequence"

    def __init__(self, signal: str = "melody", seed: int = 0, out_dir: str | os.PathLike = ".",
                 interval: float = 0.15):
        super().__init__(SequenceDemo(signal, seed=seed), out_dir, interval)

    def handle_key(self, key: int) -> None:
        """m: melody <-> sine; r: start again with a new memory."""
        pygame = R.require_pygame()
        if key == pygame.K_m:
            other = SIGNALS[(SIGNALS.index(self.demo.signal) + 1) % len(SIGNALS)]
            self.demo = SequenceDemo(other, seed=self.demo.seed)
        elif key == pygame.K_r:
            self.demo = SequenceDemo(self.demo.signal, seed=self.demo.seed)

    def render(self, footer: str = "") -> Any:
        """The current frame."""
        return render_sequence(self.demo.scene(self.playing))


def run_sequence_headless(app: SequenceApp, steps: int, out_dir: str | os.PathLike, every: int = 4,
                          gif: bool = True, log: Callable[[str], None] = print) -> list[Path]:
    """Run ``steps`` steps off-screen, writing a PNG every ``every`` steps (and a GIF with Pillow); prints the
    anomaly and prediction accuracy per pass.

    Returns:
        The PNG frames written.
    """
    frames = write_steps(lambda t: app.demo.step(), lambda: render_sequence(app.demo.scene(interactive=False)),
                         steps, out_dir, "sequence", every, gif, 300, log)
    log(format_passes(app.demo.pass_statistics(), app.demo.signal))
    return frames


def format_passes(stats: Sequence[tuple[int, float, float]], signal: str) -> str:
    """A table of mean anomaly and prediction accuracy per pass over the signal."""
    lines = [f"pass over the {signal}  mean anomaly  predicted correctly", "-" * 52]
    lines += [f"{p:>17}  {a:>12.2f}  {c:>19.0%}" for p, a, c in stats]
    return "\n".join(lines)
