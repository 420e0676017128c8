"""How fast the sensorimotor columns run with learning off: ``htmagent recognize speed`` and ``lewis-speed``.

- :func:`run_column_speed`: one column of Hawkins et al. 2017 (150 x 16 L4, 4096-cell L2/3) — raw sensations, whole
  ``Network.infer`` runs and the L2/3 layer alone, with and without feedback.
- :func:`run_grid_speed`: one grid-cell column of Lewis et al. 2019 (L6a 10 x 100 cells + L4 150 x 16) after learning
  N objects.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable

from htmagent._progress import progress
from htmagent.cortex.location_network import LocationNetwork
from htmagent.cortex.network import Network
from htmagent.cortex.objects import ObjectSet
from htmagent.experiments.args import ExperimentArgs
from htmagent.experiments.report import finish

__all__ = ["ColumnSpeedArgs", "GridSpeedArgs", "run_column_speed", "run_grid_speed", "column_speed_table",
           "grid_speed_table", "main_column_speed", "main_grid_speed"]


@dataclass
class ColumnSpeedArgs(ExperimentArgs):
    """Speed: sensations per second of one column (150 x 16 L4, 4096-cell L2/3) with learning off."""

    counts = ("num_objects", "num_features", "repeats")

    num_objects: int = 100
    """objects learned before timing (2017 protocol)"""
    num_features: int = 10
    """feature pool"""
    repeats: int = 3
    """timing repeats (the best is reported)"""


# -------------------------------------------------------------------------------------------------- speed
def run_column_speed(args: ColumnSpeedArgs) -> dict:
    """Time one column with learning off: raw ``sensory_compute`` steps on learned sensations (L2/3 settled and
    after a reset, i.e. a union), whole ``Network.infer`` runs (10 sensations, recognition bookkeeping included), with
    and without L2/3 -> L4 feedback, and the L2/3 layer alone. Rates are given per wall-clock second and per second
    of this process's CPU time (the latter is what a dedicated core would give on a shared machine); best of
    ``repeats``."""
    n_obj = 10 if args.quick else args.num_objects
    objects = ObjectSet.hawkins2017(n_obj, num_features=args.num_features, seed=args.seed)
    rows: dict = {}

    def timed(name: str, count: int, fn: Callable[[], None]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best = rows.setdefault(name, [0.0, 0.0])
        best[0] = max(best[0], count / wall)
        best[1] = max(best[1], count / max(cpu, 1e-9))

    for feedback in (True, False):
        net = Network(num_columns=1, seed=args.seed, enable_feedback=feedback)
        net.learn(objects)
        col, src = net.columns[0], net.location_sources[0]
        inputs = [(net.feature_sdr(0, f), src.locate(p)) for o in objects for p, f in o.points.items()]
        tag = "feedback on" if feedback else "feedback off"
        l4_out = []
        for feat, loc in inputs[:200]:
            col.reset()
            col.sensory_compute(feat, loc, learn=False)
            l4_out.append(col.l4.active_cells)

        def settled():
            for obj in objects:
                col.reset()
                for p, f in obj.points.items():
                    for _ in range(3):
                        col.sensory_compute(net.feature_sdr(0, f), src.locate(p), learn=False)

        def after_reset():
            for feat, loc in inputs:
                col.reset()
                col.sensory_compute(feat, loc, learn=False)

        def infer():
            for obj in objects:
                net.infer(obj, max_sensations=10, seed=obj.label)

        def layer_alone():
            col.l2.reset()
            for a in l4_out:
                col.l2.compute(a, learn=False)

        for _ in range(args.repeats):
            timed(f"column sensory_compute, {tag}, sensing each object's points in turn", 3 * len(inputs), settled)
            timed(f"column sensory_compute, {tag}, first sensation after a reset (L2/3 union)", len(inputs),
                  after_reset)
            timed(f"Network.infer, {tag}, incl. recognition bookkeeping", 10 * len(objects), infer)
            timed(f"L2/3 ObjectLayer.compute alone ({tag} network)", len(l4_out), layer_alone)
    return {"sensations_per_second": {k: {"wall": v[0], "cpu": v[1]} for k, v in rows.items()},
            "args": dataclasses.asdict(args)}


def column_speed_table(out: dict) -> str:
    """Sensations per second (target >= 2,000 for one column with learning off)."""
    lines = ["Speed, one column (150 x 16 L4, 4096-cell L2/3), learning off; target >= 2,000 sensations/s",
             f"{'measurement':<80} {'per wall s':>10} {'per CPU s':>10}"]
    for name, value in out["sensations_per_second"].items():
        lines.append(f"{name:<80} {value['wall']:>10,.0f} {value['cpu']:>10,.0f}")
    return "\n".join(lines)


def main_column_speed(args: ColumnSpeedArgs) -> int:
    """Run and print the speed table."""
    out = run_column_speed(args)
    finish(out, column_speed_table(out), None, "", args.json_out)
    return 0


@dataclass
class GridSpeedArgs(ExperimentArgs):
    """Speed: sensations per second of one grid-cell column (L6a + L4) with learning off, after learning N objects."""

    counts = ("objects", "num_features", "sensations")

    objects: list[int] = field(default_factory=lambda: [50, 100, 150])
    """numbers of learned objects"""
    num_features: int = 100
    """feature pool"""
    sensations: int = 2000
    """sensations timed per count"""


# ---------------------------------------------------------------------------------------------------- speed
def run_grid_speed(args: GridSpeedArgs) -> dict:
    """Sensations per second (learning off) of one 10-module x 100-cell column with a 150 x 16 L4."""
    counts, sensations = list(args.objects), args.sensations
    if args.quick:
        counts, sensations = counts[:1], 50
    rows = {}
    for n in progress(counts, desc="speed", enabled=args.progress):
        objects = ObjectSet.lewis2019(n, num_features=args.num_features, seed=args.seed)
        net = LocationNetwork(seed=args.seed)
        start = time.perf_counter()
        net.learn(objects)
        learn_rate = n * len(objects[0]) / (time.perf_counter() - start)
        done, elapsed, cpu, i = 0, 0.0, 0.0, 0
        while done < sensations:
            obj = objects[i % n]
            start, start_cpu = time.perf_counter(), time.process_time()
            result = net.infer(obj, stop_on_recognition=False, seed=i)
            elapsed += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            done += len(result.points)
            i += 1
        rows[n] = {"infer_per_s": done / elapsed, "infer_per_cpu_s": done / cpu, "learn_per_s": learn_rate,
                   "sensations": done}
    return {"rows": rows, "settings": dataclasses.asdict(args)}


def grid_speed_table(out: dict) -> str:
    """Speed table."""
    lines = ["grid-cell column speed (L6a 10 x 100 cells + L4 150 x 16), one column",
             "objects | inference sensations/s (wall) | per CPU-second | learning sensations/s (wall)", "-" * 84]
    for n, row in out["rows"].items():
        lines.append(f"{n:>7} | {row['infer_per_s']:>29.0f} | {row['infer_per_cpu_s']:>14.0f} | "
                     f"{row['learn_per_s']:>28.0f}")
    lines.append("target: >= 1,000 sensations/s per column with learning off")
    return "\n".join(lines)


def main_grid_speed(args: GridSpeedArgs) -> int:
    """Run and print the speed table."""
    out = run_grid_speed(args)
    finish(out, grid_speed_table(out), None, "", args.json_out)
    return 0
