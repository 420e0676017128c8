"""Several grid-cell columns voting: sensations to recognize, capacity and speed vs the number of columns.

No published figure covers this experiment (issue 6): ``N`` columns, each with its own sensor moving over the same
object, each with L6a grid-cell modules (:class:`~htmagent.cortex.grid_source.GridLocationSource`), L4 and L2/3, voting
through L2/3 (``Network(location="grid")``). Each column knows only its own sensor's movements; no column is told
where the other sensors are. ``scripts/grid_columns.py`` and ``htmagent recognize grid-columns`` call
:func:`main_columns`.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import finish, pyplot, save_figure
from htmagent._progress import progress
from htmagent.cortex.baselines import IdealObserver, observations_from_points
from htmagent.cortex.network import Network
from htmagent.cortex.objects import ObjectSet
from htmagent.experiments.lewis2019 import early_stop_accuracy, search_capacity

__all__ = ["ColumnsArgs", "run_columns", "columns_table", "plot_columns", "main_columns"]


@dataclass
class ColumnsArgs(FigureArgs):
    """Grid-cell columns voting through L2/3: mean sensations to recognize and capacity vs the number of columns."""

    counts = ("columns", "num_objects", "num_features", "max_sensations", "settling_steps", "trials", "capacity_start", "capacity_resolution", "capacity_sensations")
    non_negative = ("test_objects",)
    fractions = ("min_accuracy",)

    columns: list[int] = field(default_factory=lambda: [1, 2, 3, 5, 8])
    """numbers of columns (one sensor each)"""
    num_objects: int = 30
    """objects learned for the sensations experiment (within one column's capacity)"""
    num_features: int = 10
    """feature pool (10, as in the 2019 paper's Fig 7B)"""
    max_sensations: int = 10
    """sensations per recognition attempt"""
    settling_steps: int = 3
    """time steps per sensation, so that a vote reaches every column (1 column: 1)"""
    trials: int = 3
    """independent trials (new objects and networks)"""
    capacity: bool = True
    """also search the capacity (most objects with >= min_accuracy recognized) per N"""
    capacity_start: int = 16
    """first object count and first step of the capacity search"""
    capacity_resolution: int = 2
    """stop the capacity search once the step is below this many objects"""
    capacity_sensations: int = 20
    """sensations allowed per object in the capacity search (2 passes)"""
    test_objects: int = 40
    """objects tested per count in the capacity search (0 = all)"""
    min_accuracy: float = 0.9
    """fraction of objects that must be recognized for a count to pass"""


def _network(num_columns: int, seed: int) -> Network:
    return Network(num_columns=num_columns, location="grid", seed=seed)


def _settling(args: ColumnsArgs, num_columns: int) -> int:
    return 1 if num_columns == 1 else int(args.settling_steps)


def _sensations(args: ColumnsArgs, n: int, objects: ObjectSet, seed: int) -> dict:
    """Learn ``objects`` with ``n`` columns, then try to recognize each one. Two ideal observers see the same
    touches: one with each sensor's own movements only (the columns' information: the fewest sensations any model
    could need with it), one that also knows where the sensors are relative to each other (which no column is
    told)."""
    net = _network(n, seed)
    start = time.perf_counter()
    net.learn(objects)
    learn_s = time.perf_counter() - start
    ideal = IdealObserver(objects, mode="displacement", shared_origin=False)
    shared = IdealObserver(objects, mode="displacement")
    rows = []
    infer_s, sensed = 0.0, 0
    for obj in objects:
        # CPU time, not wall time: the figure must not depend on what else the machine runs.
        start = time.process_time()
        result = net.infer(obj, max_sensations=args.max_sensations, settling_steps=_settling(args, n),
                           seed=np.random.default_rng([seed, n, obj.label]))
        infer_s += time.process_time() - start
        sensed += n * len(result.points)
        touches = observations_from_points(obj, result.points, mode="displacement")
        rows.append({"label": obj.label, "recognized": result.label, "sensation": result.sensation,
                     "ideal": ideal.sensations_to_recognize(touches),
                     "ideal_shared": shared.sensations_to_recognize(touches)})
    return {"rows": rows, "learn_s": learn_s, "infer_s": infer_s, "column_sensations": sensed}


def _capacity(args: ColumnsArgs, n: int, seed: int, start: int, resolution: int, test_objects: int,
              max_objects: int) -> dict:
    objects = ObjectSet.lewis2019(max_objects, num_features=args.num_features, seed=seed + 1000)
    rng = np.random.default_rng([seed, n, 7])

    def learn(net, lo, hi):
        net.learn(objects[lo:hi])

    def accuracy(net, count):
        test = (np.arange(count) if test_objects <= 0 or test_objects >= count
                else np.sort(rng.choice(count, test_objects, replace=False)))
        return early_stop_accuracy(
            lambda index: net.infer(objects[index], max_sensations=args.capacity_sensations,
                                    settling_steps=_settling(args, n),
                                    seed=np.random.default_rng([seed, n, index])).correct,
            test, args.min_accuracy)

    def log(count, acc, stopped):
        if args.progress:
            print(f"  {n} columns: {count} objects -> accuracy {acc:.3f}{' (stopped early)' if stopped else ''}",
                  file=sys.stderr, flush=True)

    return search_capacity(_network(n, seed), learn, accuracy, start, resolution, max_objects, args.min_accuracy,
                           log)


def run_columns(args: ColumnsArgs) -> dict:
    """Run the experiment: per number of columns, sensations to recognize (and the ideal observer's on the same
    touches), fraction recognized, wrong names, speed, and (optionally) capacity.

    Raises:
        ValueError: a column count < 1 or an empty list.
    """
    columns = [int(c) for c in args.columns]
    if not columns or min(columns) < 1:
        raise ValueError(f"columns must be a non-empty list of ints >= 1, got {args.columns!r}")
    num_objects, trials = args.num_objects, args.trials
    start, resolution, test_objects, max_objects = (args.capacity_start, args.capacity_resolution,
                                                    args.test_objects, 1024)
    if args.quick:
        columns, num_objects, trials = columns[:2], 12, 1
        start, resolution, test_objects, max_objects = 8, 4, 8, 32
    t0 = time.perf_counter()
    runs: dict[int, list] = {n: [] for n in columns}
    for trial, n in progress([(t, n) for t in range(trials) for n in columns], desc="columns x trials",
                             enabled=args.progress):
        objects = ObjectSet.lewis2019(num_objects, num_features=args.num_features, seed=args.seed + trial)
        runs[n].append(_sensations(args, n, objects, args.seed + trial))
    summary = {}
    for n, trial_runs in runs.items():
        rows = [r for run in trial_runs for r in run["rows"]]
        hits = [r for r in rows if r["recognized"] == r["label"]]
        ideal = [r["ideal"] for r in rows if r["ideal"] is not None]
        shared = [r["ideal_shared"] for r in rows if r["ideal_shared"] is not None]
        infer_s = sum(run["infer_s"] for run in trial_runs)
        summary[n] = {
            "recognized": len(hits) / len(rows),
            "wrong": sum(r["recognized"] not in (None, r["label"]) for r in rows) / len(rows),
            "mean_sensations": float(np.mean([r["sensation"] for r in hits])) if hits else float("nan"),
            "ideal_mean_sensations": float(np.mean(ideal)) if ideal else float("nan"),
            "ideal_shared_mean_sensations": float(np.mean(shared)) if shared else float("nan"),
            "ahead_of_ideal": sum(r["sensation"] is not None and r["ideal"] is not None and r["sensation"] < r["ideal"]
                                  for r in hits),
            "column_sensations_per_s": sum(run["column_sensations"] for run in trial_runs) / infer_s,
            "learn_s": sum(run["learn_s"] for run in trial_runs) / len(trial_runs),
        }
    capacity = {}
    if args.capacity:
        for n in progress(columns, desc="capacity", enabled=args.progress):
            capacity[n] = _capacity(args, n, args.seed, start, resolution, test_objects, max_objects)
    settings = dict(dataclasses.asdict(args), columns=columns, num_objects=num_objects, trials=trials,
                    capacity_start=start, capacity_resolution=resolution, test_objects=test_objects)
    return {"summary": summary, "capacity": capacity, "settings": settings,
            "wall_time_s": time.perf_counter() - t0}


def columns_table(out: dict) -> str:
    """Markdown table of :func:`run_columns`'s output."""
    s = out["settings"]
    lines = [f"Grid-cell columns voting ({s['num_objects']} objects, pool {s['num_features']}, "
             f"{s['trials']} trial{'s' if s['trials'] != 1 else ''}, up to {s['max_sensations']} sensations, random "
             "policy)", "",
             "| columns | recognized | wrong | mean sensations | ideal observer, own movements | "
             "ideal observer, sensor offsets known | ahead of ideal | capacity | column-sensations per CPU-s | "
             "learn s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for n, row in out["summary"].items():
        cap = out["capacity"].get(n)
        lines.append(f"| {n} | {row['recognized']:.3f} | {row['wrong']:.3f} | {row['mean_sensations']:.2f} | "
                     f"{row['ideal_mean_sensations']:.2f} | {row['ideal_shared_mean_sensations']:.2f} | "
                     f"{row['ahead_of_ideal']} | "
                     f"{cap['capacity'] if cap else '-'} | {row['column_sensations_per_s']:.0f} | "
                     f"{row['learn_s']:.1f} |")
    lines.append("")
    lines.append(f"wall time {out['wall_time_s']:.0f} s")
    return "\n".join(lines)


def plot_columns(out: dict, path: str) -> None:
    """Mean sensations (ours and the ideal observer) and capacity vs the number of columns."""
    plt = pyplot()

    ns = [int(n) for n in out["summary"]]
    rows = list(out["summary"].values())
    fig, axes = plt.subplots(1, 2 if out["capacity"] else 1, figsize=(9 if out["capacity"] else 4.8, 3.6),
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(ns, [r["mean_sensations"] for r in rows], "o-", label="grid-cell network")
    ax.plot(ns, [r["ideal_mean_sensations"] for r in rows], "s--", color="gray",
            label="ideal observer, own movements")
    ax.plot(ns, [r["ideal_shared_mean_sensations"] for r in rows], "^:", color="silver",
            label="ideal observer, sensor offsets known")
    ax.set_xlabel("columns (sensors)")
    ax.set_ylabel("mean sensations to recognize")
    ax.set_title(f"{out['settings']['num_objects']} objects, pool {out['settings']['num_features']}", fontsize=9)
    ax.legend(fontsize=8)
    if out["capacity"]:
        ax = axes[0, 1]
        caps = sorted((int(n), c["capacity"]) for n, c in out["capacity"].items())
        ax.plot([n for n, _ in caps], [c for _, c in caps], "o-", color="C1")
        ax.set_xlabel("columns (sensors)")
        ax.set_ylabel(f"capacity (objects, >= {out['settings']['min_accuracy']:.0%} recognized)")
        ax.set_title(f"capacity, pool {out['settings']['num_features']}, "
                     f"{out['settings']['capacity_sensations']} sensations", fontsize=9)
    save_figure(fig, path)


def main_columns(args: ColumnsArgs) -> int:
    """Run, print and plot the multi-column experiment."""
    out = run_columns(args)
    finish(out, columns_table(out), plot_columns, args.figure_path("grid_columns.png"), args.json_out)
    return 0
