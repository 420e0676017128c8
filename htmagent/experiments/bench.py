"""``htmagent bench``: speed of the spatial pooler and temporal memory on two named configurations.

Prints one table row per stage (encoders, SP alone, TM alone, SP+TM, all with learning on) with steps per second and
microseconds per step measured in process CPU time (steady on a shared machine), steps per second in wall-clock time,
the temporal memory's segment and synapse counts, the model size (bytes of its state arrays) and the process's peak
resident memory, then the cold start (import + numba cache load + build + first step) measured in a fresh
subprocess.

- ``hotgym`` (htm.core's hotgym example): RDSE 700 bits at 2% plus a date encoder (time of day 30 bits, weekend 21),
  SP 1638 columns at 4.4% with global inhibition, TM 13 cells per column; input = a deterministic hourly power-like
  stream with daily and weekly cycles plus noise.
- ``classic``: 1,000-bit random inputs at 2% (a repeating sequence of 100 patterns with 10% of the steps random),
  SP 2048 columns with 40 active, TM 32 cells per column.

Stages run on fresh models with the same inputs: "TM" consumes the SP's recorded output, so it times the temporal
memory alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import resource
import subprocess
import sys
import time
from typing import Any, Callable, Sequence

import numpy as np

from htmagent.experiments.args import int_at_least

__all__ = ["CONFIGS", "BenchConfig", "build_models", "make_inputs", "run_benchmark", "main", "register"]


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """A named benchmark configuration.

    Attributes:
        name: configuration name.
        description: one line for the table header.
        sp: SpatialPooler keyword arguments (``input_dimensions`` is filled in from the encoders).
        tm: TemporalMemory keyword arguments (``column_count`` is filled in from the SP).
        default_steps: steps when ``--steps`` is not given.
    """

    name: str
    description: str
    sp: dict
    tm: dict
    default_steps: int


CONFIGS: dict[str, BenchConfig] = {
    "hotgym": BenchConfig(
        name="hotgym",
        description="RDSE 700 bits @2% + date (time of day 30, weekend 21); SP 1638 cols @4.4%; TM 13 cells",
        sp=dict(
            column_dimensions=1638,
            potential_pct=0.85,
            global_inhibition=True,
            local_area_density=0.044,
            syn_perm_connected=0.14,
            syn_perm_active_inc=0.04,
            syn_perm_inactive_dec=0.006,
            boost_strength=3.0,
            wrap_around=True,
        ),
        tm=dict(
            cells_per_column=13,
            activation_threshold=17,
            min_threshold=10,
            max_new_synapse_count=32,
            initial_permanence=0.21,
            connected_permanence=0.14,
            permanence_increment=0.1,
            permanence_decrement=0.1,
            predicted_segment_decrement=0.0,
            max_segments_per_cell=128,
            max_synapses_per_segment=64,
        ),
        default_steps=5000,
    ),
    "classic": BenchConfig(
        name="classic",
        description="1000-bit inputs @2%; SP 2048 cols, 40 active; TM 32 cells",
        sp=dict(
            column_dimensions=2048,
            potential_pct=0.5,
            global_inhibition=True,
            num_active_columns_per_inh_area=40,
            syn_perm_connected=0.1,
            syn_perm_active_inc=0.05,
            syn_perm_inactive_dec=0.008,
            boost_strength=0.0,
        ),
        tm=dict(
            cells_per_column=32,
            activation_threshold=13,
            min_threshold=10,
            max_new_synapse_count=20,
            initial_permanence=0.21,
            connected_permanence=0.5,
            permanence_increment=0.1,
            permanence_decrement=0.1,
            predicted_segment_decrement=0.0,
            max_segments_per_cell=255,
            max_synapses_per_segment=255,
        ),
        default_steps=5000,
    ),
}


def hotgym_stream(steps: int, seed: int) -> tuple[np.ndarray, list[datetime.datetime]]:
    """A deterministic hourly power-consumption-like stream: daily and weekly cycles plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    start = datetime.datetime(2010, 7, 2)
    stamps = [start + datetime.timedelta(hours=i) for i in range(steps)]
    hours = np.arange(steps)
    daily = 0.5 - 0.5 * np.cos(2 * np.pi * ((hours % 24) - 4) / 24)
    weekend = np.array([t.weekday() >= 5 for t in stamps])
    weekly = 3.0 * np.sin(2 * np.pi * hours / (24 * 7))
    values = 5.0 + 35.0 * daily * np.where(weekend, 0.55, 1.0) + weekly + rng.normal(0.0, 1.5, steps)
    return values, stamps


def make_inputs(config: BenchConfig, steps: int, seed: int) -> tuple[list, int, Callable[[], Any]]:
    """Encode the configuration's input stream.

    Returns:
        (list of input SDRs, input size, a zero-argument callable that re-encodes the whole stream, for timing).
    """
    from htmagent.sdr import SDR

    if config.name == "hotgym":
        from htmagent.encoders import RDSE, DateEncoder

        values, stamps = hotgym_stream(steps, seed)
        rdse = RDSE(700, sparsity=0.02, resolution=0.88, seed=seed)
        date = DateEncoder(time_of_day=(30, 1.0), weekend=21)

        def encode_all() -> list:
            return [SDR.concatenate([rdse.encode(float(v)), date.encode(t)]) for v, t in zip(values, stamps)]

        return encode_all(), rdse.size + date.size, encode_all
    rng = np.random.default_rng(seed)
    size = 1000
    sequence = [SDR.random(size, 0.02, seed=rng) for _ in range(100)]
    noise_rng = np.random.default_rng(seed + 1)
    noisy = noise_rng.random(steps) < 0.1

    def encode_all() -> list:
        draw = np.random.default_rng(seed + 2)
        return [SDR.random(size, 0.02, seed=draw) if noisy[i] else sequence[i % 100] for i in range(steps)]

    return encode_all(), size, encode_all


def build_models(config: BenchConfig, input_size: int, seed: int):
    """A fresh (SpatialPooler, TemporalMemory) pair for ``config``."""
    from htmagent.spatial_pooler import SpatialPooler
    from htmagent.temporal_memory import TemporalMemory

    sp = SpatialPooler(input_size, potential_radius=input_size, seed=seed, **config.sp)
    tm = TemporalMemory(sp.num_columns, seed=seed + 1, **config.tm)
    return sp, tm


def _state_bytes(state: Any) -> int:
    if isinstance(state, dict):
        return sum(_state_bytes(v) for v in state.values())
    if isinstance(state, np.ndarray):
        return int(state.nbytes)
    return 0


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _timed(step: Callable[[int], None], steps: int) -> dict:
    # CPU time is reported next to wall time: on a shared machine it is the steadier of the two.
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        step(i)
    return dict(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu, steps=steps)


def run_benchmark(config_name: str, steps: int | None = None, seed: int = 42) -> list[dict]:
    """Run every stage and return one dict per table row."""
    config = CONFIGS[config_name]
    steps = config.default_steps if steps is None else steps
    inputs, input_size, encode_all = make_inputs(config, steps, seed)
    rows = []

    rows.append(dict(stage="encoders", **_timed(lambda i: encode_all(), 1), per_call_steps=steps))

    sp, _ = build_models(config, input_size, seed)
    sp.compute(inputs[0], learn=False)  # make sure every kernel is loaded before timing
    columns = [None] * steps

    def sp_step(i: int) -> None:
        columns[i] = sp.compute(inputs[i], learn=True)

    rows.append(dict(stage="SP", **_timed(sp_step, steps), model_mb=_state_bytes(sp.state_dict()) / 2**20))

    _, tm = build_models(config, input_size, seed)

    def tm_step(i: int) -> None:
        tm.compute(columns[i], learn=True)

    rows.append(dict(stage="TM", **_timed(tm_step, steps), segments=tm.num_segments(),
                     synapses=tm.num_synapses(), model_mb=_state_bytes(tm.state_dict()) / 2**20))

    sp2, tm2 = build_models(config, input_size, seed)
    anomaly = np.zeros(steps)

    def both_step(i: int) -> None:
        tm2.compute(sp2.compute(inputs[i], learn=True), learn=True)
        anomaly[i] = tm2.anomaly

    rows.append(dict(stage="SP+TM", **_timed(both_step, steps), segments=tm2.num_segments(),
                     synapses=tm2.num_synapses(),
                     model_mb=(_state_bytes(sp2.state_dict()) + _state_bytes(tm2.state_dict())) / 2**20,
                     anomaly_last=float(anomaly[-min(500, steps):].mean())))
    for row in rows:
        row["peak_rss_mb"] = _peak_rss_mb()
        if "per_call_steps" in row:
            row["steps"] = row.pop("per_call_steps")
    return rows


_COLD_START = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from htmagent.experiments import bench
from htmagent.kernels import spatial_pooler as _sp_kernels
from htmagent.spatial_pooler import SpatialPooler
from htmagent.temporal_memory import TemporalMemory
t1 = time.perf_counter()
# numba's one-off start-up (type registries, BLAS probe) is paid by whichever cached kernel is loaded first; pay it
# here on a tiny kernel so the other phases show htmagent's own costs.
_sp_kernels.sp_update_duty_cycles(np.zeros(1), np.zeros(1), np.zeros(1, np.int32), np.zeros(0, np.int32), 1.0)
t2 = time.perf_counter()
config = bench.CONFIGS[sys.argv[1]]
inputs, size, _ = bench.make_inputs(config, 1, int(sys.argv[2]))
t3 = time.perf_counter()
sp, tm = bench.build_models(config, size, int(sys.argv[2]))
t4 = time.perf_counter()
tm.compute(sp.compute(inputs[0], learn=True), learn=True)
t5 = time.perf_counter()
print(json.dumps(dict(imports=t1 - t0, numba_init=t2 - t1, encode=t3 - t2, build=t4 - t3, first_step=t5 - t4,
                      total=t5 - t0)))
"""


def measure_cold_start(config_name: str, seed: int = 42) -> dict:
    """Import, build and run one step in a fresh interpreter (numba's on-disk cache is used when warm)."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _COLD_START, config_name, str(seed)], capture_output=True,
                            text=True, check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"cold-start subprocess failed:\n{result.stderr}")
    timing = json.loads(result.stdout.strip().splitlines()[-1])
    timing["process_wall"] = wall
    return timing


def format_table(config_name: str, steps: int, seed: int, rows: list[dict], cold: dict | None) -> str:
    """The benchmark table as text."""
    config = CONFIGS[config_name]
    lines = [
        f"htmagent bench: config {config_name} ({config.description}), {steps} steps, seed {seed}, learning on",
        f"{'stage':<10}{'steps/s':>10}{'us/step':>10}{'wall st/s':>11}{'segments':>10}{'synapses':>11}"
        f"{'model MB':>10}{'peak RSS MB':>13}",
    ]
    for row in rows:
        cpu_rate = row["steps"] / max(row["cpu_seconds"], 1e-9)
        wall_rate = row["steps"] / max(row["seconds"], 1e-9)
        seg = f"{row['segments']:,}" if "segments" in row else "-"
        syn = f"{row['synapses']:,}" if "synapses" in row else "-"
        model = f"{row['model_mb']:.1f}" if "model_mb" in row else "-"
        lines.append(
            f"{row['stage']:<10}{cpu_rate:>10,.0f}{1e6 / cpu_rate:>10.1f}{wall_rate:>11,.0f}{seg:>10}{syn:>11}"
            f"{model:>10}{row['peak_rss_mb']:>13.0f}"
        )
    lines.append("steps/s and us/step use process CPU time; 'wall st/s' uses wall-clock time")
    both = [r for r in rows if r["stage"] == "SP+TM"]
    if both and "anomaly_last" in both[0]:
        lines.append(f"mean raw anomaly over the last steps of SP+TM: {both[0]['anomaly_last']:.3f}")
    if cold is not None:
        lines.append(
            f"cold start: {cold['total']:.2f} s (imports {cold['imports']:.2f}, numba start-up "
            f"{cold['numba_init']:.2f}, encode {cold['encode']:.2f}, build {cold['build']:.2f}, first step "
            f"{cold['first_step']:.2f}); "
            f"subprocess wall {cold['process_wall']:.2f} s"
        )
    return "\n".join(lines)


def bench_hierarchy(steps: int, seed: int) -> str:
    """Steps per second (CPU and wall) of the two 2-level hierarchies of the experiments, learning: the songs
    stream of :mod:`htmagent.experiments.hierarchy_sequences` (one region over another) and the digits of
    :mod:`htmagent.experiments.hierarchy_digits` (nine patch regions under one, an image per step)."""
    from htmagent.experiments import hierarchy_digits as D
    from htmagent.experiments import hierarchy_sequences as S

    rows = []
    args = S.SequenceArgs(progress=False)
    rng = np.random.default_rng(seed)
    songs, symbols, _ = S.build_songs(args, rng)
    h = S.make_hierarchy(args, seed)
    stream = [symbols[s] for _ in range(steps // len(songs[0]) + 1) for s in songs[int(rng.integers(len(songs)))]]
    wall, cpu = time.perf_counter(), time.process_time()
    for x in stream[:steps]:
        h.step(x)
    rows.append(("songs: 256 -> 256 columns x 8 cells, 2 levels, feedback", steps, time.perf_counter() - wall,
                 time.process_time() - cpu))
    dargs = D.DigitsArgs(progress=False)
    images, _ = D.load_binary_digits()
    h = D.make_digit_hierarchy(dargs, seed)
    order = rng.permutation(len(images))
    n = min(steps, len(images))
    wall, cpu = time.perf_counter(), time.process_time()
    for i in order[:n]:
        h.reset()
        h.step(D._patches(images[i], dargs.patch, dargs.stride))
    rows.append(("digits: 9 patch regions -> 1, 256 columns each, an image per step", n, time.perf_counter() - wall,
                 time.process_time() - cpu))
    lines = ["| hierarchy | steps | steps/s (wall) | steps/CPU-s |", "|---|---|---|---|"]
    for name, count, w, c in rows:
        lines.append(f"| {name} | {count:,} | {count / max(w, 1e-9):,.0f} | {count / max(c, 1e-9):,.0f} |")
    return "\n".join(lines)


def bench_columns(columns: Sequence[int], objects: int, seed: int, episodes: int = 50) -> str:
    """Sensorimotor speed: a grid-cell ``Network`` of each column count inferring learned objects, and the
    ``HTMAgent`` playing ObjectTouch-v0 with as many sensors.

    The network learns ``objects`` objects of Lewis et al. 2019 (10 features from a pool of 10 on a 4 x 4 grid,
    three repetitions), then infers each object once for 5 sensations with the random policy; with several columns
    a sensation settles for 3 time steps. The agent learns ObjectTouch-v0's library and plays ``episodes`` episodes.
    Rates are per wall-clock second and per second of this process's CPU time.
    """
    import gymnasium as gym

    import htmagent.envs  # noqa: F401  (registers the environments)
    from htmagent.agent import HTMAgent
    from htmagent.cortex.network import Network
    from htmagent.cortex.objects import ObjectSet

    library = ObjectSet.lewis2019(objects, num_features=10, seed=seed)
    lines = ["| subject | columns | sensations | sensations/s (wall) | sensations/CPU-s | time steps/CPU-s |",
             "|---|---|---|---|---|---|"]
    for n in columns:
        net = Network(num_columns=n, location="grid", seed=seed)
        net.learn(library, repetitions=3)
        net.infer(library[0], max_sensations=5, seed=0)  # loads every kernel before the clock starts
        wall, cpu = time.perf_counter(), time.process_time()
        for i, obj in enumerate(library):
            net.infer(obj, max_sensations=5, seed=i)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        count = 5 * len(library)
        lines.append(f"| grid network, {objects} objects | {n} | {count:,} | {count / max(wall, 1e-9):,.0f} | "
                     f"{count / max(cpu, 1e-9):,.0f} | {count * net.default_settling_steps / max(cpu, 1e-9):,.0f} |")
    lines += ["", "| subject | sensors | episodes | episodes/s (wall) | episodes/CPU-s | accuracy |",
              "|---|---|---|---|---|---|"]
    for n in columns:
        env = gym.make("htmagent/ObjectTouch-v0", num_sensors=n)
        agent = HTMAgent.for_env(env, seed=seed)
        agent.learn(env, seed=seed)
        agent.evaluate(env, 2, seed=seed)
        wall, cpu = time.perf_counter(), time.process_time()
        result = agent.evaluate(env, episodes, seed=seed + 1)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        lines.append(f"| HTMAgent on ObjectTouch-v0 | {n} | {episodes} | {episodes / max(wall, 1e-9):,.1f} | "
                     f"{episodes / max(cpu, 1e-9):,.1f} | {result.accuracy:.0%} |")
        env.close()
    return "\n".join(lines)


#: ``bench --sp-storage`` configurations: (name, SpatialPooler arguments); ``quick`` shrinks the inputs for tests.
SP_STORAGE_CONFIGS = (
    ("image 128x128 -> 64x64, radius 8, local inhibition",
     dict(input_dimensions=(128, 128), column_dimensions=(64, 64), potential_radius=8, global_inhibition=False,
          local_area_density=0.02)),
    ("image 128x128 -> 64x64, radius 8, global inhibition",
     dict(input_dimensions=(128, 128), column_dimensions=(64, 64), potential_radius=8,
          num_active_columns_per_inh_area=80)),
    ("hotgym-sized 1462 -> 1638, pools of 85% of the input",
     dict(input_dimensions=1462, column_dimensions=1638, potential_radius=1462, potential_pct=0.85,
          num_active_columns_per_inh_area=32)),
)


def bench_sp_storage(seed: int, steps: int = 250, quick: bool = False) -> str:
    """The spatial pooler's two storages side by side: synapse memory, bytes per potential synapse, build time and
    learning steps per CPU-second (random inputs of 3% density), and which one ``storage="auto"`` picks."""
    from htmagent.sdr import SDR
    from htmagent.spatial_pooler import SpatialPooler

    names = ("_perm", "_connected", "_connected_t", "_pool_ptr", "_pool_idx", "_pool_perm", "_rev_ptr", "_rev_col",
             "_rev_slot")
    lines = ["| pooler | storage | synapse memory MiB | bytes per potential synapse | build s (CPU) | "
             "learning steps/CPU-s | auto picks |", "|---|---|---|---|---|---|---|"]
    for name, kwargs in SP_STORAGE_CONFIGS:
        if quick:
            kwargs = {**kwargs, "input_dimensions": tuple(max(d // 8, 4) for d in np.atleast_1d(
                kwargs["input_dimensions"])), "column_dimensions": tuple(max(d // 8, 4) for d in np.atleast_1d(
                    kwargs["column_dimensions"])), "potential_radius": min(kwargs["potential_radius"], 200)}
            name = f"{name} (quick: 1/8 of each side)"
        auto = SpatialPooler(seed=seed, **kwargs).storage if not quick else None
        for storage in ("dense", "pool"):
            cpu = time.process_time()
            sp = SpatialPooler(storage=storage, seed=seed, **kwargs)
            build = time.process_time() - cpu
            rng = np.random.default_rng(seed)
            inputs = [SDR.random(sp.num_inputs, 0.03, seed=int(rng.integers(2**31))) for _ in range(steps + 20)]
            for x in inputs[:20]:
                sp.compute(x)
            cpu = time.process_time()
            for x in inputs[20:]:
                sp.compute(x)
            rate = steps / max(time.process_time() - cpu, 1e-9)
            memory = sum(getattr(sp, n).nbytes for n in names if hasattr(sp, n))
            synapses = sum(sp.permanences(c)[0].size for c in range(sp.num_columns))
            picked = "" if auto is None else ("yes" if auto == storage else "")
            lines.append(f"| {name} | {storage} | {memory / 2**20:,.1f} | {memory / max(synapses, 1):.1f} | "
                         f"{build:.2f} | {rate:,.0f} | {picked} |")
    return "\n".join(lines)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", choices=sorted(CONFIGS), default="hotgym", help="named configuration")
    parser.add_argument("--steps", type=int_at_least(1), default=None, help="steps per stage (default: 5000)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the input stream and the models")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the cold-start subprocess")
    parser.add_argument("--soak", type=int_at_least(1), default=None, metavar="N",
                        help="instead: N steps of never-repeating input for each --subject, a row per --window "
                             "steps (speed, resident memory, segments, synapses, bytes per synapse)")
    parser.add_argument("--window", type=int_at_least(1), default=None, help="soak rows every N steps "
                        "(default: N/10)")
    parser.add_argument("--subject", nargs="+", default=None, choices=["tm", "detector", "wrapper", "grid"],
                        help="soak subjects (default: all four)")
    parser.add_argument("--fan-out", type=int_at_least(1), default=None, metavar="N",
                        help="--soak: cap the tm and wrapper subjects' synapses per presynaptic cell at N "
                             "(max_synapses_per_presynaptic)")
    parser.add_argument("--hierarchy", action="store_true", help="instead: steps per second of a 2-level hierarchy "
                        "on the songs stream and on digits")
    parser.add_argument("--sweep", action="store_true", help="instead: time a Fig 4A sweep sequentially, in a "
                        "process pool and on Ray (htmagent sweep), and check that they agree")
    parser.add_argument("--workers", type=int_at_least(0), default=0, help="--sweep: workers (0 = every core)")
    parser.add_argument("--columns", type=int_at_least(1), nargs="+", default=None, metavar="N",
                        help="instead: sensations per second of a grid-cell network with N columns inferring "
                             "learned objects, and episodes per second of the agent with N sensors")
    parser.add_argument("--objects", type=int_at_least(1), default=50, help="--columns: objects learned")
    parser.add_argument("--episodes", type=int_at_least(1), default=50, help="--columns: agent episodes timed")
    parser.add_argument("--sp-storage", action="store_true", help="instead: the spatial pooler's dense and pool "
                        "storages side by side (memory, bytes per synapse, build time, steps per second)")
    parser.add_argument("--quick", action="store_true", help="--sweep: the test's 4 trials; --sp-storage: small "
                        "inputs")


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "sweep", False):
        from htmagent.experiments.sweep import bench_sweep

        print(bench_sweep(args.workers, 0, args.quick))
        return 0
    if getattr(args, "soak", None):
        from htmagent.experiments.soak import HEADER, SUBJECTS, format_soak, soak

        window = args.window or max(args.soak // 10, 1)
        print(f"soak: {args.soak:,} steps of never-repeating input, a row per {window:,} steps, seed {args.seed}")
        print(HEADER)
        for subject in args.subject or list(SUBJECTS):
            for row in soak(subject, args.soak, window, args.seed, fan_out=args.fan_out):
                print(format_soak(row), flush=True)
        return 0
    if getattr(args, "hierarchy", False):
        print(bench_hierarchy(args.steps or 3000, args.seed))
        return 0
    if getattr(args, "sp_storage", False):
        print(bench_sp_storage(args.seed, args.steps or 250, args.quick))
        return 0
    if getattr(args, "columns", None):
        print(bench_columns(args.columns, args.objects, args.seed, args.episodes))
        return 0
    config = CONFIGS[args.config]
    steps = config.default_steps if args.steps is None else args.steps
    cold = None if args.no_cold_start else measure_cold_start(args.config, args.seed)
    rows = run_benchmark(args.config, steps, args.seed)
    print(format_table(args.config, steps, args.seed, rows, cold))
    return 0


def register(subparsers: Any) -> None:
    """Add the ``bench`` subcommand to the ``htmagent`` command line."""
    parser = subparsers.add_parser("bench", help="steps per second of SP, TM and SP+TM on hotgym / classic",
                                   description=__doc__.strip().splitlines()[0])
    _add_arguments(parser)
    parser.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark as a standalone program (``python -m htmagent.experiments.bench`` or ``scripts/bench.py``)."""
    parser = argparse.ArgumentParser(prog="htmagent bench", description=__doc__.splitlines()[0])
    _add_arguments(parser)
    return _run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
