"""Encode a short timestamped stream (a noisy daily sine) and print the SDR metrics of each encoder stage.

The value goes through an RDSE and the timestamp through a DateEncoder (time of day + weekend), joined by a
MultiEncoder, the set-up of htm.core's hotgym example. Usage::

    python scripts/encode_stream.py --steps 2000 --seed 1
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import sys
import time
from typing import Sequence

import numpy as np

from htmagent.encoders import RDSE, DateEncoder, MultiEncoder
from htmagent.sdr import SDRMetrics
from htmagent.experiments.args import parse_args as parse_dataclass_args


@dataclasses.dataclass
class Args:
    steps: int = 2000
    """number of samples in the stream"""
    seed: int = 1
    """seed of the noise and of the RDSE hash"""
    size: int = 700
    """RDSE size (bits)"""
    sparsity: float = 0.02
    """RDSE fraction of active bits"""
    resolution: float = 0.05
    """RDSE bucket width, in units of the signal (amplitude 1)"""
    noise: float = 0.1
    """standard deviation of the Gaussian noise added to the sine"""
    step_minutes: int = 15
    """minutes between samples; the sine has a period of one day"""
    start: str = "2024-01-01T00:00"
    """timestamp of the first sample (ISO format)"""
    bench_values: int = 100_000
    """how many random values to time the RDSE on (0 skips the throughput table)"""


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Parse the command line into :class:`Args`."""
    return parse_dataclass_args(Args, argv, description=__doc__.splitlines()[0])


def make_stream(args: Args) -> tuple[np.ndarray, list[dt.datetime]]:
    """The noisy daily sine and its timestamps."""
    rng = np.random.default_rng(args.seed)
    start = dt.datetime.fromisoformat(args.start)
    times = [start + dt.timedelta(minutes=args.step_minutes * t) for t in range(args.steps)]
    hours = np.array([(t - start).total_seconds() / 3600.0 for t in times])
    values = np.sin(2 * np.pi * hours / 24.0) + rng.normal(0.0, args.noise, args.steps)
    return values, times


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.steps < 2:
        raise SystemExit(f"--steps must be >= 2, got {args.steps}")
    encoder = MultiEncoder(
        {
            "value": RDSE(args.size, sparsity=args.sparsity, resolution=args.resolution, seed=args.seed),
            "time": DateEncoder(time_of_day=(21, 1.0), weekend=21),
        }
    )
    print(encoder)
    values, times = make_stream(args)
    metrics = {"value": SDRMetrics(encoder.encoders["value"].size), "time": SDRMetrics(encoder.encoders["time"].size),
               "all": SDRMetrics(encoder.size)}
    start = time.perf_counter()
    codes = [encoder.encode({"value": v, "time": t}) for v, t in zip(values, times)]
    elapsed = time.perf_counter() - start
    for code in codes:
        bits = code.sparse
        metrics["all"].add(code)
        for name in ("value", "time"):
            lo = encoder.offsets[name]
            hi = lo + encoder.encoders[name].size
            metrics[name].add(bits[(bits >= lo) & (bits < hi)] - lo)

    columns = ["sparsity_mean", "frequency_max", "entropy", "overlap_min", "overlap_mean", "overlap_max"]
    print(f"\n{args.steps} steps encoded in {elapsed * 1e3:.1f} ms ({elapsed / args.steps * 1e6:.1f} us/step)\n")
    print(f"{'stage':<8}{'bits':>6}" + "".join(f"{c:>15}" for c in columns))
    for name, m in metrics.items():
        s = m.summary()
        print(f"{name:<8}{m.size:>6}" + "".join(f"{s[c]:>15.4f}" for c in columns))
    if args.bench_values > 0:
        bench_rdse(encoder.encoders["value"], args.bench_values, args.seed)
    return 0


def bench_rdse(rdse: RDSE, n: int, seed: int) -> None:
    """Print how long the RDSE takes to encode ``n`` random values by each entry point (best of 3)."""
    values = np.random.default_rng(seed).normal(0.0, 1000.0, n)
    rdse.encode_indices(values[:2])  # compile / load the numba kernel outside the timing
    paths = {
        "encode_indices (2-D array)": lambda: rdse.encode_indices(values),
        "encode_many (list of SDR)": lambda: rdse.encode_many(values),
        "encode, one call per value": lambda: [rdse.encode(v) for v in values.tolist()],
    }
    print(f"\nRDSE throughput on {n} values ({rdse})")
    print(f"{'entry point':<30}{'total ms':>10}{'us/value':>10}")
    for name, run in paths.items():
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        print(f"{name:<30}{best * 1e3:>10.1f}{best / n * 1e6:>10.2f}")


if __name__ == "__main__":
    sys.exit(main())
