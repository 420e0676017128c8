"""``htmagent demo [objects|sequence|hierarchy]``: the command line of the pygame demos."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from htmagent._numba import kernels_cached
from htmagent.demo.app import display_available, open_window
from htmagent.demo.recognition import (
    POLICIES,
    DemoApp,
    DemoConfig,
    RecognitionDemo,
    format_summary,
    run_headless,
)
from htmagent.experiments.args import int_at_least, real_at_least

__all__ = ["register", "main"]


def register(subparsers: Any) -> None:
    """Add ``htmagent demo [objects|sequence|hierarchy]`` to the command line."""
    parser = subparsers.add_parser(
        "demo", help="watch object recognition (or sequence learning) in a pygame window, or write frames",
        description="Watch cortical columns recognize objects by touch (default), or, with 'sequence', a temporal "
                    "memory learn a melody or a sine wave, or, with 'hierarchy', two stacked regions play songs that share a "
                    "phrase. Without a display (or with --headless) the same episodes "
                    "run off-screen and PNG frames (and an animated GIF) go to --out.")
    parser.add_argument("mode", nargs="?", choices=("objects", "sequence", "hierarchy"), default="objects",
                        help="objects (default): object recognition; sequence: temporal memory on a melody/sine; "
                             "hierarchy: two regions, pooled codes up, feedback down")
    parser.add_argument("--headless", action="store_true", help="no window: write frames to --out")
    parser.add_argument("--out", default="demo_frames", help="folder for frames and screenshots")
    parser.add_argument("--episodes", type=int_at_least(1), default=3, help="headless: recognition episodes to play")
    parser.add_argument("--columns", type=int_at_least(1, 5), default=3, help="columns (sensors) at start, 1-5")
    parser.add_argument("--policy", choices=POLICIES, default="random", help="motor policy at start")
    parser.add_argument("--objects", type=int_at_least(2), default=DemoConfig.num_objects,
                        help="objects in the built-in library, >= 2")
    parser.add_argument("--features", type=int_at_least(2), default=DemoConfig.num_features,
                        help="feature pool of the library, >= 2 (one feature cannot tell objects apart)")
    parser.add_argument("--location", choices=("grid", "random"), default=DemoConfig.location,
                        help="location signal: grid cells that path-integrate movements (2019) or random codes (2017)")
    parser.add_argument("--signal", choices=("melody", "sine"), default="melody", help="sequence: input stream")
    parser.add_argument("--steps", type=int_at_least(1), default=120, help="sequence / hierarchy, headless: time steps to run")
    parser.add_argument("--fps", type=real_at_least(0.0, open_low=True), default=30.0, help="window frame rate")
    parser.add_argument("--interval", type=real_at_least(0.0), default=0.7,
                        help="seconds between steps while playing (>= 0)")
    parser.add_argument("--no-gif", action="store_true", help="headless: PNG frames only")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the library, networks and episodes")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the demo chosen by ``args`` (see :func:`register`); returns the exit code."""
    start = time.perf_counter()
    headless = args.headless or not display_available()
    if headless:
        reason = "--headless" if args.headless else "no display"
        print(f"htmagent demo: {reason}: writing PNG frames{'' if args.no_gif else ' and a GIF'} to {args.out}/",
              flush=True)
    if not kernels_cached():
        print("htmagent demo: first run: compiling the numba kernels (about 15-40 s; later runs load them from the "
              "cache)", flush=True)
    if args.mode in ("hierarchy", "sequence"):
        if args.mode == "hierarchy":
            from htmagent.demo.hierarchy import HierarchyApp, run_hierarchy_headless as run_stepping

            app = HierarchyApp(seed=args.seed, out_dir=args.out, interval=args.interval / 2)
        else:
            from htmagent.demo.sequence import SequenceApp, run_sequence_headless as run_stepping

            app = SequenceApp(signal=args.signal, seed=args.seed, out_dir=args.out, interval=args.interval / 4)
        if not headless and open_window(app, args.fps):
            return 0
        try:
            run_stepping(app, args.steps, args.out, gif=not args.no_gif)
        except ValueError as error:
            print(f"htmagent demo: {error}", file=sys.stderr)
            return 2
        return 0
    try:
        config = DemoConfig(num_objects=args.objects, num_features=args.features, num_columns=args.columns,
                            policy=args.policy, location=args.location, seed=args.seed)
        demo = RecognitionDemo(config)
        if not headless and open_window(DemoApp(demo, out_dir=args.out, interval=args.interval, warm_up=True), args.fps):
            print(format_summary(demo.summaries))
            return 0
        run_headless(demo, args.episodes, args.out, gif=not args.no_gif)
    except ValueError as error:
        print(f"htmagent demo: {error}", file=sys.stderr)
        return 2
    print(f"wall time {time.perf_counter() - start:.1f} s")
    return 0
