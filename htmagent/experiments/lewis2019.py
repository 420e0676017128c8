"""Lewis, Purdy, Ahmad & Hawkins 2019 reproductions (Figs 7B, 8A, 8B, 8C) with the grid-cell column.

Each experiment has an arguments dataclass (every field documented in its ``help`` metadata), a ``run_*`` function
returning plain results, a ``*_table`` function printing "published vs ours" and a ``plot_*`` function saving a PNG.
``scripts/lewis2019_capacity.py``, ``scripts/lewis2019_sensations.py`` and the ``htmagent recognize lewis-capacity |
lewis-sensations | lewis-speed`` subcommands (see :func:`add_experiments`) all call these.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from htmagent.experiments.args import FigureArgs, parse_args
from htmagent.experiments.report import finish, pyplot, save_figure
from htmagent._progress import progress
from htmagent.cortex.baselines import (
    BagOfFeatures,
    IdealObserver,
    observations_from_points,
)
from htmagent.cortex.location_column import LocationColumnParams
from htmagent.cortex.location_network import LocationNetwork, random_traversals
from htmagent.cortex.objects import ObjectSet

__all__ = [
    "PUBLISHED", "CapacityArgs", "SensationsArgs", "find_capacity", "run_capacity", "run_sensations",
    "search_capacity", "early_stop_accuracy", "capacity_table", "sensations_table", "parse_args", "COMMANDS",
    "main_capacity", "main_sensations",
]

#: Published figures (references/papers.md section 2.2; medians over the paper's repeats).
PUBLISHED = {
    "modules": {5: 130, 10: 148, 15: 157, 20: 163, 25: 168, 30: 169, 35: 171, 40: 172},
    "modules_threshold_n": {1: 148, 5: 181, 10: 223, 15: 248, 20: 263, 25: 275, 30: 289, 35: 296, 40: 304},
    "cells": {2: 16, 3: 16, 4: 28, 5: 43, 6: 63, 7: 83, 8: 104, 9: 125, 10: 148, 11: 175, 12: 203, 13: 232,
              14: 259, 15: 291, 16: 325, 17: 357, 18: 394, 19: 432, 20: 467},
    "pool": {5: 10, 10: 21, 20: 40, 50: 84, 75: 120, 100: 148, 150: 207, 200: 265, 250: 324, 300: 374, 350: 428,
             400: 480},
    "fig7b": {
        "ideal": [0, .115, .91, .995, 1.0, 1, 1, 1, 1, 1],
        "40x40": [0, .085, .90, .995, 1.0, 1, 1, 1, 1, 1],
        "30x30": [0, 0, .23, .725, .945, .99, 1.0, 1, 1, 1],
        "27x27": [0, 0, 0, .035, .09, .165, .20, .285, .38, .44],
        "bag": [0, 0, 0, 0, 0, 0, .01, .035, .095, .135],
    },
}

_SWEEPS = {"modules": "num_modules", "cells": "cells_per_axis", "pool": "num_features"}


@dataclass
class CapacityArgs(FigureArgs):
    """Figs 8A/8B/8C: capacity (most objects with >= 90% recognized) vs modules, cells per module or feature pool."""

    counts = ("values", "num_modules", "cells_per_axis", "num_features", "start", "resolution", "max_traversals", "trials")
    non_negative = ("test_objects",)
    fractions = ("min_accuracy",)

    sweep: str = 'modules'
    """what varies: 'modules' (8A), 'cells' (cells per axis, 8B) or 'pool' (8C)"""
    values: list[int] = field(default_factory=lambda: [5, 10, 20, 40])
    """values of the varied quantity"""
    threshold: str = '0.8n'
    """L4 basal threshold: '0.8n' (ceil(0.8 x modules), the paper's) or 'n' (8A, 2nd)"""
    num_modules: int = 10
    """modules when not swept"""
    cells_per_axis: int = 10
    """cells per module axis when not swept"""
    num_features: int = 100
    """feature pool when not swept"""
    min_accuracy: float = 0.9
    """fraction of objects that must be recognized"""
    start: int = 64
    """first object count and first step of the search (the paper used 128)"""
    resolution: int = 4
    """stop the search once the step is below this many objects (the paper used 1)"""
    test_objects: int = 100
    """objects tested per count, a random subset of the learned ones (0 = all)"""
    max_traversals: int = 4
    """passes over each object during inference (4 in the paper)"""
    trials: int = 1
    """independent trials per value (the paper used 5 and reports medians)"""

    def validate(self) -> None:
        if self.sweep not in _SWEEPS:
            raise ValueError(f"sweep must be one of {sorted(_SWEEPS)}, got {self.sweep!r}")
        if self.threshold not in ("0.8n", "n"):
            raise ValueError(f"threshold must be '0.8n' or 'n', got {self.threshold!r}")


@dataclass
class SensationsArgs(FigureArgs):
    """Fig 7B: cumulative fraction recognized by sensation k, beside the ideal observer and bag of features."""

    counts = ("num_objects", "num_features", "num_modules", "cells", "trials", "max_sensations", "max_traversals")

    num_objects: int = 100
    """objects"""
    num_features: int = 10
    """feature pool"""
    num_modules: int = 10
    """modules"""
    cells: list[int] = field(default_factory=lambda: [40, 30, 27, 10])
    """cells per module axis, one network each"""
    trials: int = 3
    """independent trials (new objects and networks; the paper used 10)"""
    max_sensations: int = 12
    """length of the curve"""
    max_traversals: int = 4
    """passes over each object"""


# ---------------------------------------------------------------------------------------------------- capacity
def early_stop_accuracy(recognizes: Callable[[int], bool], test: np.ndarray,
                        min_accuracy: float) -> tuple[float, bool]:
    """Fraction of the objects ``test`` for which ``recognizes(index)`` holds; stops early once the fraction can no
    longer reach ``min_accuracy`` (returns the bound reached and ``True`` then)."""
    allowed = int(np.floor((1.0 - min_accuracy) * test.size + 1e-9))
    failed = 0
    for i, index in enumerate(test.tolist()):
        failed += not recognizes(index)
        if failed > allowed:
            return 1.0 - failed / (i + 1), True
    return 1.0 - failed / test.size, False


def find_capacity(params: LocationColumnParams, num_features: int, start: int = 64, resolution: int = 4,
                  test_objects: int = 100, min_accuracy: float = 0.9, max_traversals: int = 4, seed: int = 0,
                  max_objects: int = 4096, on_evaluation: Callable[[int, float, bool], None] | None = None) -> dict:
    """Search the largest number of objects of which at least ``min_accuracy`` are recognized.

    The search steps up by ``start`` objects until a count fails, then halves the step around the boundary (the
    paper's procedure) until the step is below ``resolution``. Networks grow incrementally: the network that passed
    at the lower bound is copied and learns only the extra objects (objects are a fixed seeded sequence, so this is
    the network that would have learned them all from scratch).

    Args:
        on_evaluation: called with ``(count, accuracy, stopped_early)`` after each evaluated count (for logging).

    Returns:
        ``{"capacity": int, "evaluations": [[count, accuracy, stopped_early], ...], "wall_time_s": float}``.
    """
    objects = ObjectSet.lewis2019(max_objects, num_features=num_features, seed=seed)
    rng = np.random.default_rng(seed + 7)

    def accuracy(net, n):
        test = (np.arange(n) if test_objects <= 0 or test_objects >= n
                else np.sort(rng.choice(n, test_objects, replace=False)))
        return early_stop_accuracy(
            lambda index: net.infer(objects[index], max_traversals=max_traversals,
                                    seed=seed * 1_000_003 + index).correct, test, min_accuracy)

    return search_capacity(LocationNetwork(params, seed=seed), lambda net, lo, n: net.learn(objects[lo:n]), accuracy,
                           start, resolution, max_objects, min_accuracy, on_evaluation)


def search_capacity(network, learn: Callable, accuracy: Callable, start: int, resolution: int, max_objects: int,
                    min_accuracy: float, on_evaluation: Callable[[int, float, bool], None] | None = None) -> dict:
    """The paper's capacity search for any network: step up by ``start`` objects until a count fails, then halve the
    step around the boundary until it is below ``resolution``.

    The network that passed at the lower bound is copied and learns only the extra objects, which is the network
    that would have learned them all from scratch when objects are a fixed seeded sequence.

    Args:
        network: the network before learning any object (it is copied, never changed).
        learn: ``learn(net, lo, n)`` makes ``net`` learn objects ``lo .. n - 1``.
        accuracy: ``accuracy(net, n) -> (fraction recognized, stopped_early)`` once ``n`` objects are learned.
        start, resolution: first step and the step below which the search stops.
        max_objects: largest count tried.
        min_accuracy: fraction that must be recognized.
        on_evaluation: called with ``(count, accuracy, stopped_early)`` after each evaluated count.

    Returns:
        ``{"capacity": int, "evaluations": [[count, accuracy, stopped_early], ...], "wall_time_s": float}``.
    """
    t0 = time.perf_counter()
    net_lo = copy.deepcopy(network)
    lo, hi, step = 0, None, int(start)
    evaluations = []
    while step >= resolution:
        n = lo + step
        if (hi is not None and n >= hi) or n > max_objects:
            step //= 2
            continue
        net = copy.deepcopy(net_lo)
        learn(net, lo, n)
        acc, stopped = accuracy(net, n)
        evaluations.append([n, acc, stopped])
        if on_evaluation is not None:
            on_evaluation(n, acc, stopped)
        if acc >= min_accuracy:
            lo, net_lo = n, net
        else:
            hi, step = n, step // 2
    return {"capacity": lo, "evaluations": evaluations, "wall_time_s": time.perf_counter() - t0}


def _capacity_setup(args: CapacityArgs, value: int) -> tuple[LocationColumnParams, int]:
    fields = {"num_modules": args.num_modules, "cells_per_axis": args.cells_per_axis}
    pool = args.num_features
    if args.sweep == "pool":
        pool = value
    else:
        fields[_SWEEPS[args.sweep]] = value
    if args.threshold == "n":
        fields["basal_threshold"] = fields["num_modules"]
    return LocationColumnParams(**fields), pool


def run_capacity(args: CapacityArgs) -> dict:
    """Run the capacity sweep of ``args`` and return per-value capacities (median over trials)."""
    if args.sweep not in _SWEEPS:
        raise ValueError(f"sweep must be one of {sorted(_SWEEPS)}, got {args.sweep!r}")
    if args.threshold not in ("0.8n", "n"):
        raise ValueError(f"threshold must be '0.8n' or 'n', got {args.threshold!r}")
    values = list(args.values)
    start, resolution, test_objects, trials = args.start, args.resolution, args.test_objects, args.trials
    if args.quick:
        values, start, resolution, test_objects, trials = values[:2], 8, 4, 10, 1
    t0 = time.perf_counter()
    rows = {}
    jobs = [(v, t) for v in values for t in range(trials)]
    for value, trial in progress(jobs, desc=f"capacity vs {args.sweep}", enabled=args.progress):
        params, pool = _capacity_setup(args, int(value))

        def log(n, acc, stopped, value=value):
            print(f"  {args.sweep}={value}: {n} objects -> accuracy {acc:.3f}{' (stopped early)' if stopped else ''}",
                  file=sys.stderr, flush=True)

        found = find_capacity(params, pool, start, resolution, test_objects, args.min_accuracy, args.max_traversals,
                              seed=args.seed + trial, max_objects=64 if args.quick else 4096,
                              on_evaluation=log if args.progress else None)
        rows.setdefault(int(value), []).append(found)
    key = args.sweep if not (args.sweep == "modules" and args.threshold == "n") else "modules_threshold_n"
    return {
        "sweep": args.sweep, "threshold": args.threshold, "published_key": key,
        "capacity": {v: float(np.median([r["capacity"] for r in runs])) for v, runs in rows.items()},
        "runs": rows, "settings": dataclasses.asdict(args), "wall_time_s": time.perf_counter() - t0,
    }


def capacity_table(out: dict) -> str:
    """'published vs ours' table of a capacity sweep."""
    fig = {"modules": "Fig 8A", "cells": "Fig 8B", "pool": "Fig 8C"}[out["sweep"]]
    published = PUBLISHED[out["published_key"]]
    label = {"modules": "modules", "cells": "cells/axis", "pool": "feature pool"}[out["sweep"]]
    lines = [f"{fig}: capacity (>= 90% recognized) vs {label} (L4 threshold {out['threshold']})",
             f"{label:>12} | published | ours  | wall s", "-" * 44]
    for value, ours in out["capacity"].items():
        wall = sum(r["wall_time_s"] for r in out["runs"][value])
        pub = published.get(int(value))
        lines.append(f"{value:>12} | {pub if pub is not None else '-':>9} | {ours:>5.0f} | {wall:6.0f}")
    lines.append(f"total wall time {out['wall_time_s']:.0f} s")
    return "\n".join(lines)


def plot_capacity(out: dict, path: str) -> None:
    """Capacity vs the swept quantity, ours beside the published curve."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5, 3.6))
    published = PUBLISHED[out["published_key"]]
    xs = sorted(published)
    ax.plot(xs, [published[x] for x in xs], "o--", color="gray", label="published (Lewis et al. 2019)")
    ours = sorted((int(v), c) for v, c in out["capacity"].items())
    ax.plot([v for v, _ in ours], [c for _, c in ours], "s-", color="C0", label="ours")
    xlabel = {"modules": "number of modules", "cells": "cells per module axis", "pool": "unique features"}
    ax.set_xlabel(xlabel[out["sweep"]])
    ax.set_ylabel("capacity (objects, >= 90% recognized)")
    ax.set_title(f"capacity vs {xlabel[out['sweep']]} (threshold {out['threshold']})", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------------- Fig 7B
def run_sensations(args: SensationsArgs) -> dict:
    """Fig 7B: per network size, the cumulative fraction recognized by sensation k, and the baselines' curves on the
    very same touch sequences (ideal observer with the paper's unique-placement criterion, the object-level ideal
    observer, and bag of features with feature sets as in the paper's ``bof_sim.py``)."""
    cells, num_objects, trials, k = list(args.cells), args.num_objects, args.trials, args.max_sensations
    if args.quick:
        cells, num_objects, trials, k = cells[:1], 12, 1, 6
    t0 = time.perf_counter()
    curves = {f"{c}x{c}": np.zeros(k) for c in cells}
    for name in ("ideal", "ideal_object", "bag"):
        curves[name] = np.zeros(k)
    never_ahead = True
    total = 0
    timing = {f"{c}x{c}": [0, 0.0] for c in cells}
    for trial in progress(range(trials), desc="Fig 7B trials", enabled=args.progress):
        seed = args.seed + trial
        objects = ObjectSet.lewis2019(num_objects, num_features=args.num_features, seed=seed)
        sequences = [random_traversals(o.locations, args.max_traversals, np.random.default_rng([seed, o.label]))
                     for o in objects]
        observers = {"ideal": IdealObserver(objects, mode="displacement", unique_origin=True),
                     "ideal_object": IdealObserver(objects, mode="displacement"),
                     "bag": BagOfFeatures(objects, counts=False)}
        ideal_first = []
        for obj, seq in zip(objects, sequences):
            obs = observations_from_points(obj, [[p] for p in seq[:k]], mode="displacement")
            for name, observer in observers.items():
                needed = observer.sensations_to_recognize(obs)
                if needed is not None:
                    curves[name][needed - 1:] += 1
                if name == "ideal_object":
                    ideal_first.append(needed)
        for c in cells:
            net = LocationNetwork(seed=seed, num_modules=args.num_modules, cells_per_axis=c)
            net.learn(objects)
            for obj, seq, limit in zip(objects, sequences, ideal_first):
                start = time.perf_counter()
                result = net.infer(obj, points=seq)
                timing[f"{c}x{c}"][0] += len(result.points)
                timing[f"{c}x{c}"][1] += time.perf_counter() - start
                if result.sensation is not None and (limit is None or result.sensation < limit):
                    never_ahead = False
                if result.correct and result.sensation <= k:
                    curves[f"{c}x{c}"][result.sensation - 1:] += 1
        total += num_objects
    return {
        "curves": {name: (curve / total).tolist() for name, curve in curves.items()},
        "never_ahead_of_ideal": never_ahead,
        "sensations_per_second": {name: n / s if s else 0.0 for name, (n, s) in timing.items()},
        "settings": dataclasses.asdict(args), "wall_time_s": time.perf_counter() - t0,
    }


def sensations_table(out: dict) -> str:
    """'published vs ours' table of Fig 7B (cumulative fraction recognized by sensation k)."""
    curves = out["curves"]
    k = len(next(iter(curves.values())))
    shown = min(k, 10)
    header = "model".ljust(27) + " ".join(f"{i:>5}" for i in range(1, shown + 1))
    lines = ["Fig 7B: cumulative fraction recognized by sensation k (pool 10, 10 modules)", header, "-" * len(header)]
    names = {"ideal": "ideal observer", "bag": "bag of features"}
    pub = PUBLISHED["fig7b"]
    for name, curve in curves.items():
        label = names.get(name, "ideal (object level)" if name == "ideal_object" else f"network {name}")
        if name in pub:
            lines.append(f"published {label}".ljust(27) + " ".join(f"{v:5.3f}" for v in pub[name][:shown]))
        lines.append(f"ours {label}".ljust(27) + " ".join(f"{v:5.3f}" for v in curve[:shown]))
    lines.append(f"network never ahead of the ideal observer: {out['never_ahead_of_ideal']}")
    for name, rate in out["sensations_per_second"].items():
        lines.append(f"inference speed {name}: {rate:.0f} sensations/s")
    lines.append(f"wall time {out['wall_time_s']:.0f} s")
    return "\n".join(lines)


def plot_sensations(out: dict, path: str) -> None:
    """Cumulative recognition curves, ours (solid) and published (dashed)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    pub = PUBLISHED["fig7b"]
    for i, (name, curve) in enumerate(out["curves"].items()):
        color = f"C{i}"
        ks = np.arange(1, len(curve) + 1)
        ax.plot(ks, curve, "-o", ms=3, color=color, label=f"ours {name}")
        if name in pub:
            ax.plot(np.arange(1, 11), pub[name], "--", color=color, alpha=0.6, label=f"published {name}")
    ax.set_xlabel("sensation")
    ax.set_ylabel("cumulative fraction recognized")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Fig 7B: 100 objects, 10 unique features, 10 modules", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------------- CLI
def main_capacity(args: CapacityArgs) -> int:
    """Run, print and plot Fig 8A, 8B or 8C."""
    out = run_capacity(args)
    letter = {"modules": "a", "cells": "b", "pool": "c"}[args.sweep]
    suffix = "_threshold_n" if args.threshold == "n" else ""
    finish(out, capacity_table(out), plot_capacity, args.figure_path(f"lewis2019_fig8{letter}{suffix}.png"),
            args.json_out)
    return 0


def main_sensations(args: SensationsArgs) -> int:
    """Run, print and plot Fig 7B."""
    out = run_sensations(args)
    finish(out, sensations_table(out), plot_sensations, args.figure_path("lewis2019_fig7b.png"), args.json_out)
    return 0


# The ``htmagent recognize`` subcommands of this paper (assembled by :mod:`htmagent.experiments.recognize`).
COMMANDS = {
    "lewis-capacity": (CapacityArgs, main_capacity, {}),
    "lewis-sensations": (SensationsArgs, main_sensations, {}),
}
