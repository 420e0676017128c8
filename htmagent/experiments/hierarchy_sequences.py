"""Hierarchy on sequences: songs made of phrases, one phrase shared by every song (``htmagent hierarchy sequences``).

The stream: ``num_songs`` songs, each three phrases of ``phrase_length`` symbols: its own opening phrase, then a
phrase that every song shares, then its own closing phrase. What follows the shared phrase depends on the song, i.e.
on the opening phrase, ``phrase_length`` or more symbols back. A two-level :class:`~htmagent.hierarchy.Hierarchy`
learns the songs online (random order, the context cleared between songs). The test then plays each song with the
lower region's memory cleared at every phrase boundary: its own context spans one phrase, so at the end of the
shared phrase it cannot know which song it is in; the upper region, whose memory is not cleared, can. Measured:

- (a) stability: the mean overlap of consecutive representations (active columns and pooled codes) at each level;
- (b) the lower region's prediction of the symbol after the shared phrase, with and without top-down feedback
  (precision: the fraction of its predicted columns that the next symbol activates; recall: the fraction of the next
  symbol's columns it predicted), and for reference with its memory not cleared (full context);
- (c) the upper region predicting its next input at phrase boundaries (precision and recall of its predicted columns).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from htmagent._progress import progress
from htmagent.experiments.args import ExperimentArgs
from htmagent.experiments.report import finish
from htmagent.hierarchy import Hierarchy, RegionParams
from htmagent.predictor import Predictor
from htmagent.sdr import SDR

__all__ = ["SequenceArgs", "build_songs", "make_hierarchy", "run_sequences", "sequences_table", "main_sequences"]


@dataclass
class SequenceArgs(ExperimentArgs):
    """Two-level hierarchy on songs that share a phrase: stability, feedback, the upper region's predictions."""

    counts = ("num_songs", "phrase_length", "train_songs", "test_passes", "input_size", "symbol_bits", "columns",
              "active_columns", "cells_per_column", "trials")
    fractions = ("pool_decay", "burst_weight", "upper_pool_decay")

    num_songs: int = 3
    """songs (each: its own opening phrase, the shared phrase, its own closing phrase)"""
    phrase_length: int = 4
    """symbols per phrase"""
    train_songs: int = 150
    """songs presented while learning (random order)"""
    test_passes: int = 5
    """test plays of every song"""
    input_size: int = 256
    """bits per symbol SDR"""
    symbol_bits: int = 16
    """active bits per symbol"""
    columns: int = 256
    """minicolumns per region"""
    active_columns: int = 10
    """active minicolumns per region"""
    cells_per_column: int = 8
    """cells per minicolumn"""
    pool_decay: float = 0.7
    """lower region's pooling decay per step"""
    burst_weight: float = 0.3
    """what an unpredicted active column adds to the lower region's pool (a predicted one adds 1)"""
    upper_pool_decay: float = 0.95
    """upper region's pooling decay per step"""
    trials: int = 3
    """seeds"""
    feedback_signal: str = "pooled"
    """what the upper region sends down: predicted_cells, active_cells or pooled"""


def build_songs(args: SequenceArgs, rng: np.random.Generator) -> tuple[list[list[int]], list[SDR], int]:
    """Songs as symbol ids, the symbols' SDRs, and the index within a song of the shared phrase's last symbol."""
    length = args.phrase_length
    n_symbols = length * (2 * args.num_songs + 1)
    shared = list(range(length))
    songs = []
    for s in range(args.num_songs):
        opening = list(range(length * (1 + 2 * s), length * (2 + 2 * s)))
        closing = list(range(length * (2 + 2 * s), length * (3 + 2 * s)))
        songs.append(opening + shared + closing)
    symbols = [SDR(args.input_size, np.sort(rng.choice(args.input_size, args.symbol_bits, replace=False)))
               for _ in range(n_symbols)]
    return songs, symbols, 2 * length - 1


def make_hierarchy(args: SequenceArgs, seed: int, feedback: bool = True) -> Hierarchy:
    """One lower region on the symbols, one upper region on the lower region's pooled code."""
    low = RegionParams(input_dimensions=args.input_size, column_dimensions=args.columns,
                       cells_per_column=args.cells_per_column, active_columns=args.active_columns,
                       pool_decay=args.pool_decay, burst_weight=args.burst_weight)
    high = RegionParams(input_dimensions=args.columns, column_dimensions=args.columns,
                        cells_per_column=args.cells_per_column, active_columns=args.active_columns,
                        pool_decay=args.upper_pool_decay)
    return Hierarchy([[low], [high]], feedback=feedback, feedback_signal=args.feedback_signal, seed=seed)


def _overlap(a: SDR, b: SDR) -> float:
    if not a.num_active and not b.num_active:
        return 1.0
    return len(np.intersect1d(a.sparse, b.sparse)) / max(a.num_active, b.num_active)


def _score(predicted: SDR, actual: SDR) -> tuple[float, float]:
    hit = len(np.intersect1d(predicted.sparse, actual.sparse))
    return hit / max(predicted.num_active, 1), hit / max(actual.num_active, 1)


def _play(h: Hierarchy, song: list[int], symbols: list[SDR], probe: int, phrase_length: int, cut: bool,
          feedback: bool, learn: bool, reps: dict | None = None, ends: list | None = None) -> tuple[float, float, list]:
    """One song; returns the lower region's (precision, recall) for the symbol after ``probe`` and the upper
    region's (precision, recall) at each phrase boundary; appends (upper active cells, next phrase id) at the end
    of each phrase but the last to ``ends``."""
    h.reset()
    low, high = h.bottom[0], h.top[0]
    result, upper = (0.0, 0.0), []
    previous = None
    predicted_low = predicted_high = SDR(low.column_count)
    for i, s in enumerate(song):
        if cut and i % phrase_length == 0:  # the prediction made before the cut is the one scored
            h.reset(levels=[0])
        h.step(symbols[s], learn=learn, feedback=feedback)
        if i == probe + 1:
            result = _score(predicted_low, low.active_columns)
        if i % phrase_length == 0 and i > 0:
            upper.append(_score(predicted_high, high.active_columns))
        if reps is not None:
            now = {"level 1 columns": low.active_columns, "level 1 pooled": low.pooled,
                   "level 2 columns": high.active_columns, "level 2 pooled": high.pooled}
            if previous is not None:
                for key, sdr in now.items():
                    reps.setdefault(key, []).append(_overlap(previous[key], sdr))
            previous = now
        if ends is not None and i % phrase_length == phrase_length - 1 and i + 1 < len(song):
            ends.append((high.active_cells, song[i + 1] // phrase_length))
        predicted_low, predicted_high = low.predicted_columns, high.predicted_columns
    return result[0], result[1], upper


def run_sequences(args: SequenceArgs) -> dict:
    """Train one hierarchy per seed, then test it three ways (see the module docstring); returns the per-seed
    numbers and their means."""
    trials = 1 if args.quick else args.trials
    train = args.train_songs
    rows = []
    for t in progress(range(trials), "seeds", enabled=args.progress):
        seed = args.seed + t
        rng = np.random.default_rng(seed)
        songs, symbols, probe = build_songs(args, rng)
        h = make_hierarchy(args, seed)
        start = time.process_time()
        steps = 0
        ends: list = []
        for _ in range(train):
            song = songs[int(rng.integers(len(songs)))]
            _play(h, song, symbols, probe, args.phrase_length, cut=False, feedback=True, learn=True, ends=ends)
            steps += len(song)
        seconds = time.process_time() - start
        row = {"seed": seed, "steps_per_second": steps / max(seconds, 1e-9)}
        # (c) a readout of the upper region's cells at the end of each phrase, trained on the second half of the
        # training phrases (the first half is the upper region still learning), names the next phrase
        reader = Predictor(steps=[0], alpha=0.2, input_size=h.top[0].num_cells)
        for k, (cells, phrase) in enumerate(ends[len(ends) // 2:]):
            reader.learn(k, cells, phrase)
        for name, cut, feedback in (("full context", False, False), ("cut, feedback", True, True),
                                    ("cut, no feedback", True, False)):
            trained = copy.deepcopy(h)
            reps: dict = {}
            scores, upper, test_ends = [], [], []
            for _ in range(args.test_passes):
                for song in songs:
                    p, r, u = _play(trained, song, symbols, probe, args.phrase_length, cut, feedback, learn=False,
                                    reps=reps, ends=test_ends)
                    scores.append((p, r))
                    upper.extend(u)
            row[name] = np.mean(scores, axis=0).tolist()
            row[f"next phrase, {name}"] = float(np.mean([int(np.argmax(reader.infer(cells)[0])) == phrase
                                                          for cells, phrase in test_ends]))
            if name == "cut, feedback":
                row["upper"] = np.mean(upper, axis=0).tolist()
                row["stability"] = {key: float(np.mean(v)) for key, v in reps.items()}
        rows.append(row)
    keys = [k for k in rows[0] if k not in ("seed", "stability")]
    mean = {key: np.mean([r[key] for r in rows], axis=0).tolist() for key in keys}
    mean["stability"] = {key: float(np.mean([r["stability"][key] for r in rows])) for key in rows[0]["stability"]}
    return {"args": dataclasses.asdict(args), "rows": rows, "mean": mean}


def sequences_table(result: dict) -> str:
    """Markdown tables of :func:`run_sequences`' means."""
    m = result["mean"]
    lines = ["| lower region, symbol after the shared phrase | precision | recall |", "|---|---|---|"]
    for key in ("full context", "cut, feedback", "cut, no feedback"):
        lines.append(f"| {key} | {m[key][0]:.2f} | {m[key][1]:.2f} |")
    lines += ["", "| upper region | full context | lower cut, feedback | lower cut, no feedback |", "|---|---|---|---|",
              "| readout of its cells names the next phrase | " + " | ".join(
                  f"{m[f'next phrase, {k}']:.2f}" for k in ("full context", "cut, feedback", "cut, no feedback"))
              + " |",
              "", f"upper region's own next-step prediction at phrase boundaries: precision {m['upper'][0]:.2f}, "
              f"recall {m['upper'][1]:.2f}",
              "", "| representation | mean overlap of consecutive steps | change per step |", "|---|---|---|"]
    for key, value in m["stability"].items():
        lines.append(f"| {key} | {value:.2f} | {1 - value:.2f} |")
    lines.append(f"\ntraining speed: {m['steps_per_second']:,.0f} hierarchy steps per CPU-second")
    return "\n".join(lines)


def main_sequences(args: SequenceArgs) -> int:
    """Run and print the sequences experiment."""
    out = run_sequences(args)
    finish(out, sequences_table(out), None, "", args.json_out)
    return 0
