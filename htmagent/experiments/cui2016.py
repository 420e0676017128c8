"""Cui, Ahmad & Hawkins 2016, Figure 4: online learning of high-order sequences, with a switch.

A stream of eight sequences of 7-8 symbols (0-9) that share their middle parts, so that the last symbol depends on
the first one (e.g. 6-8-7-4-2-3-0 and 1-8-7-4-2-3-5). Each sequence is followed by one noise symbol drawn from a pool
of 5,000 others, and sequences are picked at random. After element 10,000 the endings of the paired sequences swap.
The temporal memory sees each symbol's category SDR (2,048 bits, 41 active, random per symbol) directly as its active
minicolumns, with no spatial pooler, and learns online with no reset.

Prediction of a sequence's last element: after the second-to-last element, the temporal memory's predicted columns
are decoded into the sequence symbol (0-9) whose SDR overlaps them most (ties: lowest symbol; as the paper's
``classify``). Accuracy is the moving average of these predictions over the last ``--window`` (100) sequence endings,
plotted against the element index.

Example:
    python scripts/cui2016_high_order.py --trials 5
    python scripts/cui2016_high_order.py --quick
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from htmagent._progress import progress
from htmagent._validation import check_int, check_real
from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import pyplot, save_figure, write_json
from htmagent.sdr import SDR
from htmagent.temporal_memory import TemporalMemory

__all__ = ["HighOrderArgs", "MODELS", "SEQUENCES", "SWITCHED", "make_stream", "run_seed", "seed_inputs", "summarise",
           "main"]

#: The eight sequences of the paper's HighOrderDataset, before the switch.
SEQUENCES = (
    (6, 8, 7, 4, 2, 3, 0), (1, 8, 7, 4, 2, 3, 5), (6, 3, 4, 2, 7, 8, 5), (1, 3, 4, 2, 7, 8, 0),
    (0, 9, 7, 8, 5, 3, 4, 1), (2, 9, 7, 8, 5, 3, 4, 6), (0, 4, 3, 5, 8, 7, 9, 6), (2, 4, 3, 5, 8, 7, 9, 1),
)
#: After the switch: the endings of each pair are swapped.
SWITCHED = tuple(s[:-1] + (SEQUENCES[i ^ 1][-1],) for i, s in enumerate(SEQUENCES))
NUM_SYMBOLS = 10
#: The models the experiment can run, and their names in the tables.
MODELS = {"tm": "htmagent TM", "deephtm": "DeepHTM", "deephtm-pc": "DeepHTM by predictive coding",
          "lstm": "LSTM (128 units)"}

#: Published HTM curve of Figure 4 (read from the plot; papers.md section 4.3).
PUBLISHED = {"reach_1.0": "~6,000", "dip_after_switch": "~0.36", "recovered_by": "~13,500-14,000"}


@dataclass
class HighOrderArgs(FigureArgs):
    """Cui, Ahmad & Hawkins 2016, Fig 4: online learning of high-order sequences, with a switch."""

    trials: int = 3
    """runs, run t with seed + t (a new stream and a new temporal memory each)"""
    num_elements: int = 20_000
    """stream length in elements"""
    switch_at: int = 10_000
    """element index after which the endings swap"""
    noise_symbols: int = 5_000
    """size of the pool of separating noise symbols"""
    window: int = 100
    """moving-average window, in sequence endings"""
    column_count: int = 2048
    """SDR size = minicolumns"""
    active_bits: int = 41
    """active bits per symbol SDR"""
    cells_per_column: int = 32
    """cells per minicolumn"""
    threshold: int = 15
    """activation threshold = min threshold"""
    models: list[str] = dataclasses.field(default_factory=lambda: ["tm"])
    """models to run on the same streams: tm (the binary temporal memory), deephtm, deephtm-pc (trained by
    predictive coding), lstm (all but tm need torch)"""
    deep_bptt: int = 2
    """DeepHTM's truncated backpropagation window, in elements"""
    deep_pc_iterations: int = 3
    """deephtm-pc: inference sweeps per element (fixed-prediction form)"""
    deep_pc_value_lr: float = 0.5
    """deephtm-pc: value learning rate (1 with one sweep is backprop exactly)"""
    lstm_bptt: int = 10
    """the LSTM's truncated backpropagation window, in elements"""

    def validate(self) -> None:
        for name in ("trials", "num_elements", "noise_symbols", "window", "column_count", "active_bits",
                     "cells_per_column", "threshold"):
            check_int(getattr(self, name), name, 1)
        for name in ("deep_bptt", "lstm_bptt", "deep_pc_iterations"):
            check_int(getattr(self, name), name, 1)
        check_real(self.deep_pc_value_lr, "deep_pc_value_lr", 0.0, 1.0, low_open=True)
        bad = [m for m in self.models if m not in MODELS]
        if not self.models or bad:
            raise ValueError(f"models must be some of {list(MODELS)}, got {self.models}")
        if self.quick:  # a tiny run for the tests: 3,000 elements, one run
            self.trials, self.num_elements, self.switch_at = 1, 3000, 1500
        check_int(self.switch_at, "switch_at", 1, self.num_elements - 1)

    @property
    def seeds(self) -> list[int]:
        """The runs' seeds."""
        return [self.seed + t for t in range(self.trials)]


def make_stream(rng: np.random.Generator, args: HighOrderArgs) -> tuple[np.ndarray, np.ndarray]:
    """Symbols of the stream, and a mask of the elements that are a sequence's second-to-last element."""
    symbols, before_end = [], []
    while len(symbols) < args.num_elements:
        table = SWITCHED if len(symbols) > args.switch_at else SEQUENCES
        seq = table[int(rng.integers(len(table)))]
        symbols.extend(seq)
        before_end.extend([False] * (len(seq) - 2) + [True, False])
        symbols.append(NUM_SYMBOLS + int(rng.integers(args.noise_symbols)))
        before_end.append(False)
    return np.array(symbols[: args.num_elements]), np.array(before_end[: args.num_elements])


def seed_inputs(seed: int, args: HighOrderArgs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What every model of run ``seed`` sees: the symbols' SDRs (rows of active bits), the stream and its mask of
    second-to-last elements."""
    rng = np.random.default_rng(seed)
    encodings = np.array([np.sort(rng.choice(args.column_count, args.active_bits, replace=False))
                          for _ in range(NUM_SYMBOLS + args.noise_symbols)], dtype=np.int32)
    symbols, before_end = make_stream(rng, args)
    return encodings, symbols, before_end


def run_seed(seed: int, args: HighOrderArgs) -> dict:
    """One run: returns the element index and correctness of every sequence-ending prediction."""
    encodings, symbols, before_end = seed_inputs(seed, args)
    decoder = np.zeros((NUM_SYMBOLS, args.column_count), dtype=np.int32)
    for s in range(NUM_SYMBOLS):
        decoder[s, encodings[s]] = 1
    tm = TemporalMemory(
        args.column_count, args.cells_per_column, activation_threshold=args.threshold,
        min_threshold=args.threshold, max_new_synapse_count=32, initial_permanence=0.21, connected_permanence=0.5,
        permanence_increment=0.1, permanence_decrement=0.1, predicted_segment_decrement=0.02,
        max_segments_per_cell=128, max_synapses_per_segment=128, seed=seed)
    at, correct = [], []
    start = time.perf_counter()
    for t in progress(range(args.num_elements), desc=f"seed {seed}", enabled=args.progress):
        tm.compute(SDR._trusted(args.column_count, encodings[symbols[t]]))
        if before_end[t] and t + 1 < args.num_elements:
            predicted = tm.predicted_columns.sparse
            overlaps = decoder[:, predicted].sum(axis=1)
            at.append(t + 1)
            correct.append(int(np.argmax(overlaps)) == symbols[t + 1] and overlaps.max() > 0)
    return {"seed": seed, "at": at, "correct": correct, "wall_time_s": time.perf_counter() - start,
            "segments": tm.num_segments(), "synapses": tm.num_synapses()}


def moving_average(values: list[bool], window: int) -> np.ndarray:
    """Trailing mean of ``values`` over ``window`` entries (shorter at the start)."""
    x = np.asarray(values, dtype=np.float64)
    csum = np.concatenate(([0.0], np.cumsum(x)))
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(0, idx - window)
    return (csum[idx] - csum[lo]) / (idx - lo)


def summarise(run: dict, args: HighOrderArgs) -> dict:
    at = np.asarray(run["at"])
    acc = moving_average(run["correct"], args.window)
    full = acc >= 0.95
    before = at <= args.switch_at
    after = ~before
    reach = int(at[before & full][0]) if np.any(before & full) else None
    dip = float(acc[after].min()) if after.any() else float("nan")
    # recovered: first ending after the dip from which the moving accuracy stays >= 0.95 to the end of the run
    recovered = None
    if after.any():
        late = np.flatnonzero(after)
        ok = full[late]
        bad = np.flatnonzero(~ok)
        if not bad.size or bad[-1] < ok.size - 1:  # good at the last ending
            first_good = late[bad[-1] + 1] if bad.size else late[0]
            recovered = int(at[first_good])
    out = {"reach_0.95": reach, "dip_after_switch": dip, "recovered_0.95": recovered,
           "final": float(acc[-1]), "curve_at": at.tolist(), "curve": acc.tolist()}
    good = acc >= 0.9
    out["reach_0.9"] = int(at[before & good][0]) if np.any(before & good) else None
    out["recovered_0.9"] = None
    if after.any():
        late = np.flatnonzero(after)
        bad = np.flatnonzero(~good[late])
        if not bad.size or bad[-1] < late.size - 1:
            out["recovered_0.9"] = int(at[late[bad[-1] + 1]] if bad.size else at[late[0]])
    return out


def plot(results: dict[str, list[dict]], args: HighOrderArgs, path: str) -> None:
    """The accuracy curve of every run and their mean, per model, with the switch marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    colors = {"tm": "tab:red", "deephtm": "tab:blue", "deephtm-pc": "tab:purple", "lstm": "tab:green"}
    for model, summaries in results.items():
        start = max(s["curve_at"][0] for s in summaries)
        grid = np.arange(start, args.num_elements, 50)
        curves = []
        for summ in summaries:
            curve = np.interp(grid, summ["curve_at"], summ["curve"])
            curves.append(curve)
            ax.plot(grid, curve, color=colors[model], alpha=0.25, linewidth=0.8)
        ax.plot(grid, np.mean(curves, axis=0), color=colors[model], linewidth=2,
                label=f"{MODELS[model]} (mean of {len(summaries)} seed{'s' if len(summaries) > 1 else ''})")
    ax.axvline(args.switch_at, color="black", linestyle="--", linewidth=1, label="endings swapped")
    ax.set_xlabel("element")
    ax.set_ylabel(f"accuracy of last-element prediction\n(moving average over {args.window} sequences)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, args.num_elements)
    ax.set_title("High-order sequence prediction with a switch (Cui, Ahmad & Hawkins 2016, Fig. 4)")
    ax.legend(loc="lower right")
    save_figure(fig, path, dpi=120)


def fmt(value) -> str:
    if value is None:
        return "never"
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}"


def _run(model: str, seed: int, args: HighOrderArgs) -> dict:
    if model == "tm":
        return run_seed(seed, args)
    from htmagent.experiments.cui2016_deep import run_seed_learned

    return run_seed_learned(seed, args, model)


def _mean(values: list) -> str:
    known = [v for v in values if v is not None]
    return fmt(type(known[0])(np.mean(known))) if known and len(known) == len(values) else "never"


def main(args: HighOrderArgs) -> int:
    """Run every trial of every model, print the tables, draw the figure, write the JSON."""
    all_runs = {m: [_run(m, seed, args) for seed in args.seeds] for m in args.models}
    results = {m: [summarise(run, args) for run in runs] for m, runs in all_runs.items()}
    print(f"\nCui, Ahmad & Hawkins 2016, Fig 4: high-order sequences, switch after element {args.switch_at:,} "
          f"of {args.num_elements:,} (seeds {args.seeds})")
    if "tm" in results:
        runs, summaries = all_runs["tm"], results["tm"]
        rows = [
            ("accuracy reaches 1.0 (ours: >= 0.95) at element", PUBLISHED["reach_1.0"], "reach_0.95"),
            ("lowest accuracy after the switch", PUBLISHED["dip_after_switch"], "dip_after_switch"),
            ("back to 1.0 (ours: >= 0.95 for good) at element", PUBLISHED["recovered_by"], "recovered_0.95"),
            ("final accuracy", "1.0", "final"),
        ]
        print(f"| {'measure':<48} | {'published HTM':<15} | {'ours, mean':<10} | ours, per seed")
        print(f"|{'-' * 50}|{'-' * 17}|{'-' * 12}|{'-' * 40}")
        for label, published, key in rows:
            values = [s[key] for s in summaries]
            print(f"| {label:<48} | {published:<15} | {_mean(values):<10} | {', '.join(fmt(v) for v in values)}")
        speed = sum(args.num_elements for _ in runs) / sum(r["wall_time_s"] for r in runs)
        print(f"speed: {speed:,.0f} elements/s with learning; segments at the end: "
              f"{', '.join(str(r['segments']) for r in runs)}")
    if len(results) > 1:
        print("\nhead to head (mean over seeds; 'never' if a seed never got there):")
        print("| model | reaches 0.9 at | reaches 0.95 at | lowest after switch | regains 0.9 at | regains 0.95 at "
              "| final | elements/s |")
        print("|---|---|---|---|---|---|---|---|")
        for model, summaries in results.items():
            runs = all_runs[model]
            speed = sum(args.num_elements for _ in runs) / sum(r["wall_time_s"] for r in runs)
            cells = [_mean([s[k] for s in summaries]) for k in ("reach_0.9", "reach_0.95", "dip_after_switch",
                                                                  "recovered_0.9", "recovered_0.95", "final")]
            print(f"| {MODELS[model]} | " + " | ".join(cells) + f" | {speed:,.0f} |")
    path = args.figure_path("cui2016_high_order.png" if args.models == ["tm"] else "cui2016_models.png")
    plot(results, args, path)
    print(f"figure saved to {path}")
    if args.json_out:
        write_json({"args": dataclasses.asdict(args), "runs": {m: [
            {k: v for k, v in {**run, **summ}.items() if k not in ("at", "correct")}
            for run, summ in zip(all_runs[m], results[m])] for m in results}}, args.json_out)
    return 0
