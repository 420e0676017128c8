"""Benchmark the grid-cell location layer (speed per sensation) and measure how unique the location codes are.

Speed: a 10-module location layer learns objects (features at locations, with a stand-in for L4 that gives each
(object, feature) fixed random winner cells), then infers them with random movements; ``movement_compute`` and
``sensory_compute`` are timed around each call (the stand-in L4 is not timed).

Uniqueness: every point of an ``area x area`` grid (spacing ``grid_step``) is encoded, points with identical codes
are grouped, and the table reports the widest group (the largest distance between two points that share a code) and
the groups wider than a "near" distance (the bump diameter for the layer, two cell spacings of the finest module for
the encoder) with the closest distance beyond "near" at which two points share a code. A layer with fewer modules
shows where the code starts to repeat. Usage::

    python scripts/bench_gridcells.py --area 1000 --grid-step 1
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from typing import Sequence

import numpy as np

from htmagent.gridcells import GridCellEncoder, LocationLayer
from htmagent.gridcells._uniqueness import collision_report, layer_codes
from htmagent.sdr import SDR
from htmagent.experiments.args import parse_args as parse_dataclass_args


@dataclasses.dataclass
class Args:
    objects: int = 50
    """objects learned before timing inference"""
    features: int = 10
    """features (sensations) per object"""
    feature_pool: int = 40
    """distinct features the objects draw from (shared features make location unions)"""
    sensations: int = 2000
    """inference sensations timed"""
    area: float = 1000.0
    """side of the square area checked for unique codes, world units"""
    grid_step: float = 1.0
    """spacing of the checked grid, world units"""
    seed: int = 0
    """seed of objects, walks, layers and encoder"""


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Parse the command line into :class:`Args`."""
    return parse_dataclass_args(Args, argv, description=__doc__.splitlines()[0])


def timed(fn, *args, **kwargs) -> tuple[float, float]:
    """Run ``fn`` once; return (wall seconds, CPU seconds of this process): on a shared machine CPU time is the
    steadier figure."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn(*args, **kwargs)
    return time.perf_counter() - w0, time.process_time() - c0


class StandInL4:
    """Pair-memory stand-in: fixed random winners per learned (feature, location); prediction by location overlap."""

    def __init__(self, size: int, rng: np.random.Generator, threshold: int):
        self.size, self.rng, self.threshold = size, rng, threshold
        self.by_feature: dict[int, list[tuple[SDR, SDR]]] = {}

    def learn(self, feature: int, location: SDR) -> SDR:
        winners = SDR(self.size, self.rng.choice(self.size, 10, replace=False))
        self.by_feature.setdefault(feature, []).append((location, winners))
        return winners

    def activate(self, feature: int, location: SDR) -> SDR:
        pairs = self.by_feature.get(feature, [])
        chosen = [w for loc, w in pairs if loc.overlap(location) >= self.threshold] or [w for _, w in pairs]
        return chosen[0].union(*chosen[1:]) if chosen else SDR(self.size)


def bench_speed(args: Args) -> dict[str, float]:
    rng = np.random.default_rng(args.seed)
    layer = LocationLayer(num_modules=10, cells_per_axis=10, anchor_input_size=2400, seed=args.seed)
    l4 = StandInL4(2400, rng, threshold=8)
    objects = []
    learn_times = []
    for _ in range(args.objects):
        cells = rng.choice(16, args.features, replace=False)
        points = np.stack([cells // 4, cells % 4], axis=1) * 20.0
        feats = rng.integers(0, args.feature_pool, args.features)
        layer.reset()
        layer.activate_random_location()
        position = np.zeros(2)
        for point, feat in zip(points, feats):
            layer.movement_compute(point - position)
            position = point
            winners = l4.learn(int(feat), layer.learning_cells)
            learn_times.append(timed(layer.sensory_compute, winners, winners, learn=True))
        objects.append((points, feats))
    move_t, sense_t, hyps = [], [], []
    done = 0
    while done < args.sensations:
        points, feats = objects[int(rng.integers(len(objects)))]
        layer.reset()
        position = None
        for i in rng.permutation(len(points)):
            if position is not None:
                move_t.append(timed(layer.movement_compute, points[i] - position))
            position = points[i]
            active = l4.activate(int(feats[i]), layer.active_cells)
            sense_t.append(timed(layer.sensory_compute, active, active, learn=False))
            hyps.append(layer.num_hypotheses)
            done += 1
    move, sense, learn = np.array(move_t), np.array(sense_t), np.array(learn_times)
    hyps = np.array(hyps)
    rows = {}
    for clock, col in (("wall", 0), ("cpu", 1)):
        rows[f"movement_us ({clock}, median)"] = 1e6 * float(np.median(move[:, col]))
        rows[f"sensory_us ({clock}, median)"] = 1e6 * float(np.median(sense[:, col]))
        rows[f"per_sensation_us ({clock}, mean)"] = 1e6 * float(move[:, col].mean() + sense[:, col].mean())
        rows[f"sensory_us, 1 hypothesis ({clock}, mean)"] = 1e6 * float(sense[hyps == 1, col].mean())
        rows[f"sensory_us, >4 hypotheses ({clock}, mean)"] = (1e6 * float(sense[hyps > 4, col].mean())
                                                              if np.any(hyps > 4) else float("nan"))
        rows[f"learn_us ({clock}, median)"] = 1e6 * float(np.median(learn[:, col]))
    rows["mean_hypotheses"] = float(hyps.mean())
    rows["max_hypotheses"] = float(hyps.max())
    return rows


def grid_points(args: Args) -> np.ndarray:
    axis = np.arange(0.0, args.area, args.grid_step)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


def _chunked(fn, points: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    parts = [fn(points[i : i + chunk]) for i in range(0, len(points), chunk)]
    width = max(p.shape[1] for p in parts)
    return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1])), constant_values=-1) for p in parts])


def bench_uniqueness(args: Args) -> list[tuple[str, float, dict]]:
    points = grid_points(args)
    rows = []
    enc = GridCellEncoder(num_modules=10, cells_per_axis=10, seed=args.seed)
    rows.append((f"encoder (scales {enc.scales[0]:g}..{enc.scales[-1]:.0f}, k=5)", 2 * enc.resolution,
                 collision_report(points, _chunked(enc.encode_batch, points), 2 * enc.resolution)))
    layers = [("layer, paper (all scales 40)", {}),
              ("layer, geometric (10 x 1.41^i)", {"scale": 10.0, "scale_ratio": math.sqrt(2.0)})]
    layers += [(f"layer, paper, {m} modules", {"num_modules": m}) for m in (1, 2, 3)]
    for name, kwargs in layers:
        kwargs = {"num_modules": 10, **kwargs}
        layer = LocationLayer(cells_per_axis=10, anchor_input_size=1, seed=args.seed, **kwargs)
        layer.activate_random_location()
        near = 2.0 * layer.bump_radius * float(layer.scales.min())
        codes = _chunked(lambda p: layer_codes(layer, p), points)
        rows.append((name, near, collision_report(points, codes, near)))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.objects < 1 or args.sensations < 1 or args.grid_step <= 0 or args.area <= args.grid_step:
        raise SystemExit("--objects and --sensations must be >= 1, and --area > --grid-step > 0")
    speed = bench_speed(args)
    print(f"speed: 10 modules x 10x10 cells, L4 of 2400 cells, {args.objects} objects learned, "
          f"{args.sensations} inference sensations (median of per-call times)")
    for key, value in speed.items():
        print(f"  {key:<42}{value:>10.1f}")
    print(f"\nuniqueness: {len(grid_points(args))} points, {args.area:g} x {args.area:g} area, step {args.grid_step:g}")
    print(f"{'code':<36}{'near':>7}{'groups':>9}{'widest':>9}{'far groups':>12}{'closest far':>13}")
    for name, near, rep in bench_uniqueness(args):
        print(f"{name:<36}{near:>7.2f}{rep['shared_code_groups']:>9}{rep['largest_shared_code_diameter']:>9.2f}"
              f"{rep['groups_wider_than_near']:>12}{rep['closest_far_collision']:>13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
