"""Soak: speed and memory over a long run of worst-case input (``htmagent bench --soak N``).

Four subjects, each fed input that never repeats, which is the case that makes a memory grow for as long as it runs:

- ``tm``: a ``TemporalMemory(2048, 32)`` (default caps and budget) on random input, 40 of 2048 columns per step;
- ``detector``: the default ``AnomalyDetector`` on a random walk (with 5-minute timestamps);
- ``wrapper``: the default ``HTMObservation`` on CartPole-v1 driven by random actions;
- ``grid``: a grid-cell ``LocationColumn`` sensing a random feature after every random movement, learning.

Each subject's table gives, per window of steps: steps per CPU-second, the process's resident memory (RSS, read
from ``/proc`` where there is one, else the peak), the segments and synapses of its synapse stores, the bytes the
stores hold and those bytes per synapse.
"""

from __future__ import annotations

import datetime as _dt
import resource
import time
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["SUBJECTS", "format_soak", "rss_mb", "soak"]


def rss_mb() -> float:
    """Resident memory of this process now, in MiB (the peak where ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        from htmagent.experiments.bench import _peak_rss_mb

        return _peak_rss_mb()


def _stores(tm: Any) -> list:
    return [tm.basal_connections, tm.apical_connections]


def _tm(seed: int, fan_out: int | None = None) -> tuple[Callable[[int], None], Callable[[], list]]:
    from htmagent import SDR, TemporalMemory

    tm = TemporalMemory(2048, 32, seed=seed, max_synapses_per_presynaptic=fan_out)
    rng = np.random.default_rng(seed)

    def step(_: int) -> None:
        tm.compute(SDR(2048, np.sort(rng.choice(2048, 40, replace=False))), learn=True)
    return step, lambda: _stores(tm)


def _detector(seed: int, fan_out: int | None = None) -> tuple[Callable[[int], None], Callable[[], list]]:
    from htmagent import AnomalyDetector

    detector = AnomalyDetector(min_value=-100.0, max_value=100.0, seed=seed)
    rng = np.random.default_rng(seed)
    state = {"x": 0.0}
    start = _dt.datetime(2024, 1, 1)

    def step(i: int) -> None:
        state["x"] = float(np.clip(state["x"] + rng.normal(0.0, 2.0), -100.0, 100.0))
        detector.step(state["x"], start + _dt.timedelta(minutes=5 * i))
    return step, lambda: _stores(detector.tm) if detector.tm is not None else []


def _wrapper(seed: int, fan_out: int | None = None) -> tuple[Callable[[int], None], Callable[[], list]]:
    import gymnasium as gym

    from htmagent import HTMObservation

    env = HTMObservation(gym.make("CartPole-v1"), seed=seed,
                         tm_params=None if fan_out is None else {"max_synapses_per_presynaptic": fan_out})
    env.reset(seed=seed)
    env.action_space.seed(seed)

    def step(_: int) -> None:
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return step, lambda: _stores(env.htm.tm)


def _grid(seed: int, fan_out: int | None = None) -> tuple[Callable[[int], None], Callable[[], list]]:
    from htmagent import SDR
    from htmagent.cortex.location_column import LocationColumn, LocationColumnParams

    params = LocationColumnParams()
    column = LocationColumn(params, seed=seed)
    column.activate_random_location()
    rng = np.random.default_rng(seed)

    def step(_: int) -> None:
        column.movement_compute(rng.normal(0.0, 30.0, 2))
        feature = np.sort(rng.choice(params.l4_column_count, params.feature_active_bits, replace=False))
        column.sensory_compute(SDR(params.l4_column_count, feature), learn=True)

    def stores() -> list:
        return _stores(column.l4) + [column.location_layer._connections]
    return step, stores


#: The soak's subjects: name -> builder(seed, fan_out) returning (step(i), stores()); ``fan_out`` caps the synapses
#: per presynaptic cell of the tm and wrapper subjects (the others ignore it).
SUBJECTS: dict[str, Callable[..., tuple[Callable[[int], None], Callable[[], list]]]] = {
    "tm": _tm, "detector": _detector, "wrapper": _wrapper, "grid": _grid,
}


def soak(subject: str, steps: int, window: int, seed: int = 0, fan_out: int | None = None) -> Iterator[dict]:
    """Run ``subject`` for ``steps`` steps; yield one row per ``window`` steps (see the module docstring)."""
    step, stores = SUBJECTS[subject](seed, fan_out)
    done = 0
    while done < steps:
        n = min(window, steps - done)
        cpu = time.process_time()
        for i in range(done, done + n):
            step(i)
        seconds = time.process_time() - cpu
        done += n
        parts = stores()
        synapses = sum(c.num_synapses() for c in parts)
        nbytes = sum(c.nbytes for c in parts)
        yield {"subject": subject, "steps": done, "steps_per_second": n / max(seconds, 1e-9), "rss_mb": rss_mb(),
               "segments": sum(c.num_segments() for c in parts), "synapses": synapses,
               "store_mb": nbytes / 2**20, "bytes_per_synapse": nbytes / synapses if synapses else float("nan"),
               "retired": sum(c.segments_retired for c in parts)}


def format_soak(row: dict) -> str:
    """One table row (the header is :data:`HEADER`)."""
    return (f"| {row['subject']} | {row['steps']:,} | {row['steps_per_second']:,.0f} | {row['rss_mb']:,.0f} | "
            f"{row['segments']:,} | {row['synapses']:,} | {row['store_mb']:,.1f} | {row['bytes_per_synapse']:.1f} | "
            f"{row['retired']:,} |")


HEADER = ("| subject | steps | steps/CPU-s | RSS MiB | segments | synapses | store MiB | bytes/synapse | retired |\n"
          "|---|---|---|---|---|---|---|---|---|")
