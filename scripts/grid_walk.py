"""Walk a sensor through the world and draw how each grid-cell module's activity bump path-integrates the walk.

A location layer starts at a random location; the sensor takes a smooth random walk. The figure shows the walk in
world coordinates (left) and, for each module, its sheet of cells drawn in the module's own rhombus (the tile that
repeats over the world): the bump's trail over the walk (colour = time), the cells active at the end (filled) and
the learning cell (ringed); the sheet wraps around, so a bump at one edge also lights cells at the opposite edge.
Modules with other orientations or scales see the same walk as different trails, which
is why together they name the location uniquely. Usage::

    python scripts/grid_walk.py --steps 80 --seed 0 --out docs/img/grid_walk.png
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Sequence

import numpy as np

from htmagent.gridcells import LocationLayer
from htmagent.experiments.args import parse_args as parse_dataclass_args


@dataclasses.dataclass
class Args:
    steps: int = 80
    """number of moves in the walk"""
    seed: int = 0
    """seed of the walk and of the layer"""
    num_modules: int = 6
    """grid-cell modules in the layer (all are drawn)"""
    cells_per_axis: int = 10
    """cells per module axis"""
    scale: float = 40.0
    """grid spacing of the first module, world units"""
    scale_ratio: float = 1.0
    """spacing ratio between successive modules (1.0 = equal scales, as in Lewis et al. 2019)"""
    step_size: float = 4.0
    """length of each move, world units"""
    turn: float = 0.4
    """standard deviation of the heading change per move, radians"""
    out: str = "docs/img/grid_walk.png"
    """where to save the PNG"""


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Parse the command line into :class:`Args`."""
    return parse_dataclass_args(Args, argv, description=__doc__.splitlines()[0])


def walk(args: Args) -> tuple[LocationLayer, np.ndarray, list[list[np.ndarray]]]:
    """Run the walk; return the layer, the world positions and each module's bump phase at every step."""
    rng = np.random.default_rng(args.seed)
    layer = LocationLayer(num_modules=args.num_modules, cells_per_axis=args.cells_per_axis, scale=args.scale,
                          scale_ratio=args.scale_ratio, anchor_input_size=1, seed=args.seed)
    layer.activate_random_location()
    heading = rng.uniform(0, 2 * np.pi)
    positions = [np.zeros(2)]
    trails = [[layer.bump_phases(m)[0]] for m in range(layer.num_modules)]
    for _ in range(args.steps):
        heading += rng.normal(0.0, args.turn)
        move = args.step_size * np.array([np.cos(heading), np.sin(heading)])
        layer.movement_compute(move)
        positions.append(positions[-1] + move)
        for m in range(layer.num_modules):
            trails[m].append(layer.bump_phases(m)[0])
    return layer, np.array(positions), [[p for p in trail] for trail in trails]


def draw(layer: LocationLayer, positions: np.ndarray, trails: list[list[np.ndarray]], path: str) -> None:
    """Save the figure (world walk + one panel per module) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = layer.cells_per_axis
    cols = int(np.ceil(layer.num_modules / 2)) + 1
    fig = plt.figure(figsize=(3.0 * cols + 2.0, 6.0))
    grid = fig.add_gridspec(2, cols, width_ratios=[1.8] + [1.0] * (cols - 1))
    world = fig.add_subplot(grid[:, 0])
    steps = np.arange(len(positions))
    world.plot(positions[:, 0], positions[:, 1], color="0.7", lw=1)
    world.scatter(positions[:, 0], positions[:, 1], c=steps, cmap="viridis", s=10, zorder=3)
    world.plot(*positions[0], "k^", ms=8, label="start")
    world.plot(*positions[-1], "ks", ms=7, label="end")
    world.set_aspect("equal")
    world.set_title("sensor walk (world units)")
    world.legend(loc="best", fontsize=8)
    cell_phases = layer.cell_phases
    active = layer.active_cells.sparse
    learning = layer.learning_cells.sparse
    for m in range(layer.num_modules):
        ax = fig.add_subplot(grid[m % 2, 1 + m // 2])
        basis = layer.tile_bases[m]
        corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]) @ basis.T
        ax.plot(corners[:, 0], corners[:, 1], color="0.5", lw=0.8)
        cells = cell_phases @ basis.T
        local_active = active[(active // (n * n)) == m] - m * n * n
        local_learning = learning[(learning // (n * n)) == m] - m * n * n
        ax.scatter(cells[:, 0], cells[:, 1], s=14, facecolors="none", edgecolors="0.6", lw=0.6)
        ax.scatter(cells[local_active, 0], cells[local_active, 1], s=28, color="tab:red", zorder=3)
        ax.scatter(cells[local_learning, 0], cells[local_learning, 1], s=90, facecolors="none",
                   edgecolors="k", lw=1.2, zorder=4)
        phases = np.array(trails[m])
        points = phases @ basis.T
        # break the trail where the bump wraps around the torus
        jumps = np.flatnonzero(np.abs(np.diff(phases, axis=0)).max(axis=1) > 0.5) + 1
        for segment in np.split(np.arange(len(phases)), jumps):
            ax.plot(points[segment, 0], points[segment, 1], color="0.3", lw=0.6)
        ax.scatter(points[:, 0], points[:, 1], c=steps, cmap="viridis", s=6, zorder=2)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"module {m}: {np.degrees(layer.orientations[m]):.0f} deg, scale {layer.scales[m]:g}",
                     fontsize=9)
    fig.suptitle("Grid-cell modules path-integrating a walk: bump trails (colour = time), active cells at the end")
    fig.tight_layout()
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.steps < 1 or args.num_modules < 1:
        raise SystemExit(f"--steps and --num-modules must be >= 1, got {args.steps} and {args.num_modules}")
    layer, positions, trails = walk(args)
    print(f"{args.steps} moves, {layer.num_modules} modules of {layer.cells_per_axis}x{layer.cells_per_axis} cells")
    print(f"{'module':>6}{'orientation':>13}{'scale':>8}{'end phase':>20}{'active':>8}")
    n2 = layer.module_size
    for m in range(layer.num_modules):
        phase = trails[m][-1]
        count = int(np.sum(layer.active_cells.sparse // n2 == m))
        print(f"{m:>6}{np.degrees(layer.orientations[m]):>12.1f}d{layer.scales[m]:>8.1f}"
              f"{f'({phase[0]:.3f}, {phase[1]:.3f})':>20}{count:>8}")
    draw(layer, positions, trails, args.out)
    print(f"figure saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
