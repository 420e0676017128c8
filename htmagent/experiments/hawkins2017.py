"""Hawkins, Ahmad & Cui 2017 reproductions (Figs 4A, 4B, 4C, 5, 6A) and the ``htmagent recognize`` command.

Each experiment has an arguments dataclass (every field documented in its ``help`` metadata), a ``run_*`` function
returning plain results, a ``*_table`` function printing "published vs ours", and a ``plot_*`` function saving a PNG.
The scripts in ``scripts/hawkins2017_*.py`` and the ``htmagent recognize fig4a|fig4b|fig4c|fig5|fig6a`` subcommands
both call these.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from htmagent.experiments.args import FigureArgs, parse_args
from htmagent.experiments.report import finish, pyplot, save_figure
from htmagent._progress import progress

__all__ = [
    "ConvergenceArgs", "SensationsArgs", "CapacityArgs", "NoiseArgs", "run_convergence", "run_sensations",
    "run_capacity", "run_noise", "parse_args", "COMMANDS", "PUBLISHED",
]

PUBLISHED = {
    "fig4a": {  # single column, mean touches vs number of objects, per feature pool [fig]
        5: {10: 2.15, 20: 2.70, 30: 3.00, 40: 3.22, 50: 3.33, 60: 3.42, 80: 3.58, 100: 3.75},
        10: {10: 1.79, 20: 2.10, 30: 2.26, 40: 2.38, 50: 2.45, 60: 2.54, 80: 2.65, 100: 2.78},
        20: {10: 1.43, 20: 1.70, 30: 1.86, 40: 1.97, 50: 2.03, 60: 2.08, 80: 2.15, 100: 2.22},
        30: {10: 1.22, 20: 1.46, 30: 1.65, 40: 1.79, 50: 1.83, 60: 1.90, 80: 2.00, 100: 2.08},
    },
    "fig4b": {  # 100 objects, mean touches vs number of columns [fig]
        5: {1: 3.75, 2: 2.38, 3: 1.95, 4: 1.48, 5: 1.18, 6: 1.02, 7: 1.0, 8: 1.0},
        10: {1: 2.78, 2: 1.70, 3: 1.10, 4: 1.0, 5: 1.0},
        20: {1: 2.22, 2: 1.23, 3: 1.0},
        30: {1: 2.08, 2: 1.10, 3: 1.0},
    },
    "fig4c": {  # cumulative fraction recognized by sensation 1..10 [fig]
        "network": [0, 0.01, 0.70, 0.975, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "ideal": [0, 0.36, 0.90, 0.99, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "bag": [0, 0, 0, 0, 0.03, 0.19, 0.53, 0.84, 0.975, 1.0],
    },
    "fig5": {  # accuracy vs number of objects [fig]
        "150 minicolumns, 4096 cells, 1 column": {350: 1.0, 400: 0.98, 450: 0.80, 500: 0.35, 550: 0.1},
        "200 minicolumns, 4096 cells, 1 column": {500: 1.0, 550: 0.97, 600: 0.80, 650: 0.65, 700: 0.42, 750: 0.1},
        "250 minicolumns, 4096 cells, 1 column": {600: 1.0, 650: 0.97, 700: 0.91, 750: 0.86},
        "150 minicolumns, 2048 cells, 1 column": {150: 1.0, 200: 0.96, 250: 0.67, 300: 0.1},
        "150 minicolumns, 6144 cells, 1 column": {550: 1.0, 600: 0.93, 650: 0.77, 700: 0.45, 750: 0.17},
        "150 minicolumns, 4096 cells, 2 columns": {500: 0.98, 550: 0.89, 600: 0.76, 650: 0.34, 700: 0.1},
        "150 minicolumns, 4096 cells, 3 columns": {500: 0.99, 550: 0.97, 600: 0.91, 650: 0.84, 700: 0.60, 750: 0.21},
    },
    "fig6a": {  # accuracy after 30 touches vs noise [fig]
        "feature": {0.0: 1.0, 0.1: 1.0, 0.2: 1.0, 0.3: 0.95, 0.4: 0.82, 0.5: 0.60, 0.6: 0.40, 0.7: 0.19},
        "location": {0.0: 1.0, 0.1: 1.0, 0.2: 1.0, 0.3: 1.0, 0.4: 1.0, 0.5: 0.93, 0.6: 0.22, 0.7: 0.02},
    },
}


@dataclass
class ConvergenceArgs(FigureArgs):
    """Figs 4A/4B: mean sensations to recognize vs number of objects (1 column) and vs number of columns."""

    counts = ("pools", "objects", "columns", "num_objects", "trials", "settling_steps", "max_sensations")
    non_negative = ("max_columns_after_one", "test_objects")

    figure: str = '4a'
    """which sweep: '4a' (objects, 1 column) or '4b' (columns, fixed objects)"""
    pools: list[int] = field(default_factory=lambda: [5, 10, 20, 30])
    """feature pool sizes F"""
    objects: list[int] = field(default_factory=lambda: [10, 20, 30, 40, 50, 60, 80, 100])
    """numbers of objects (4A)"""
    columns: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7, 8])
    """numbers of columns (4B)"""
    num_objects: int = 100
    """objects in the 4B sweep"""
    max_columns_after_one: int = 1
    """4B: stop a pool's sweep this many column counts after the mean reaches 1.0"""
    trials: int = 1
    """independent trials (new objects and network each); the paper used 10"""
    test_objects: int = 0
    """objects tested per condition, a random subset of the learned ones (0 = all)"""
    settling_steps: int = 3
    """time steps per sensation (3 in the paper)"""
    max_sensations: int = 10
    """sensations per object"""

    def validate(self) -> None:
        if self.figure not in ("4a", "4b"):
            raise ValueError(f"figure must be '4a' or '4b', got {self.figure!r}")


@dataclass
class SensationsArgs(FigureArgs):
    """Fig 4C: cumulative fraction recognized by sensation k, beside the ideal observer and bag of features."""

    counts = ("num_objects", "num_features", "num_locations", "num_columns", "trials", "settling_steps", "max_sensations")

    num_objects: int = 100
    """objects"""
    num_features: int = 10
    """feature pool"""
    num_locations: int = 10
    """shared locations (= points per object)"""
    num_columns: int = 1
    """columns"""
    policy: str = 'random'
    """motor policy: 'random' or 'hypothesis'"""
    trials: int = 3
    """independent trials"""
    settling_steps: int = 1
    """time steps per sensation (1 in the paper's Fig 4C)"""
    max_sensations: int = 10
    """sensations per object"""

    def validate(self) -> None:
        if self.policy not in ("random", "hypothesis"):
            raise ValueError(f"policy must be 'random' or 'hypothesis', got {self.policy!r}")


@dataclass
class CapacityArgs(FigureArgs):
    """Fig 5: accuracy vs number of learned objects (unique feature/location pairs, all 10 points sensed)."""

    counts = ("objects", "num_targets", "trials")
    fractions = ("stop_below",)

    configs: list[str] = field(default_factory=lambda: ['150:4096:1', '200:4096:1', '250:4096:1', '150:2048:1', '150:6144:1'])
    """configurations minicolumns:l2_cells:columns"""
    objects: list[int] = field(default_factory=lambda: [100, 200, 300, 350, 400, 450, 500, 550, 600, 650, 700, 750])
    """object counts (increasing)"""
    num_targets: int = 100
    """random target objects tested at each count"""
    stop_below: float = 0.15
    """stop a configuration's sweep once accuracy falls below this"""
    trials: int = 1
    """independent trials"""

    def validate(self) -> None:
        if not self.configs:
            raise ValueError("configs needs at least one value, got none")
        for text in self.configs:
            _parse_config(text)


@dataclass
class NoiseArgs(FigureArgs):
    """Fig 6A: accuracy after 30 touches vs feature noise and vs location noise (feedback off, as in the paper)."""

    counts = ("num_objects", "num_features", "trials", "settling_steps", "max_sensations")
    fractions = ("levels",)

    num_objects: int = 50
    """objects"""
    num_features: int = 10
    """feature pool"""
    levels: list[float] = field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    """noise levels"""
    enable_feedback: bool = False
    """L2/3 -> L4 feedback (off in the paper's Fig 6)"""
    trials: int = 2
    """independent trials"""
    settling_steps: int = 3
    """time steps per sensation"""
    max_sensations: int = 10
    """sensations per object (10 x 3 = 30 touches)"""


# --------------------------------------------------------------------------------------------------- helpers
def _network(num_columns: int, seed: int, **kw):
    from htmagent.cortex.network import Network

    return Network(num_columns=num_columns, seed=seed, **kw)


def _mean_touches(net, learned, tested, trial_seed: int, settling: int, max_sensations: int) -> dict:
    from htmagent.cortex.baselines import IdealObserver

    ideal = IdealObserver(learned, mode="location")
    conv, rec, bound, correct = [], [], [], 0
    for obj in tested:
        r = net.infer(obj, settling_steps=settling, max_sensations=max_sensations,
                      seed=trial_seed * 100_003 + obj.label)
        conv.append(r.convergence)
        rec.append(r.sensation if r.correct else max_sensations + 1)
        correct += r.correct
        bound.append(ideal.sensations_to_recognize(r.sensations) or max_sensations + 1)
    return {"convergence": float(np.mean(conv)), "recognition": float(np.mean(rec)), "ideal": float(np.mean(bound)),
            "accuracy": correct / len(tested)}


def _average(rows: list[dict]) -> dict:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


# ------------------------------------------------------------------------------------------------ Fig 4A/4B
def convergence_point(figure: str, pool: int, x: int, seed: int, num_objects: int = 100, test_objects: int = 0,
                      settling_steps: int = 3, max_sensations: int = 10, **network: Any) -> dict:
    """One trial of Fig 4A (``x`` objects, one column) or 4B (``x`` columns, ``num_objects`` objects): new objects
    and a new network from ``seed``, all of them learned, the tested ones (all, or ``test_objects`` of them)
    inferred. ``network`` overrides :class:`~htmagent.cortex.network.Network`'s defaults. Returns the metrics of
    :func:`run_convergence`."""
    from htmagent.cortex.objects import ObjectSet

    count = x if figure == "4a" else num_objects
    objects = ObjectSet.hawkins2017(count, num_points=10, num_locations=10, num_features=pool, seed=seed)
    net = _network(1 if figure == "4a" else x, seed, **network)
    net.learn(objects)
    tested = list(objects)
    if 0 < test_objects < len(tested):
        pick = np.random.default_rng(seed).choice(len(tested), test_objects, replace=False)
        tested = [tested[i] for i in sorted(pick)]
    return _mean_touches(net, objects, tested, seed, settling_steps, max_sensations)


def run_convergence(args: ConvergenceArgs) -> dict:
    """Run the Fig 4A (``figure='4a'``) or 4B (``'4b'``) sweep; returns ``{"results": {pool: {x: metrics}}, ...}``.

    Metrics per point: ``convergence`` (the paper's metric: sensations until every column's L2/3 holds 30-40 cells
    for good), ``recognition`` (our stricter one: sensations until the target is recognized for good, 11 if never) and
    ``accuracy`` (fraction recognized correctly after the last sensation).
    """
    if args.figure not in ("4a", "4b"):
        raise ValueError(f"figure must be '4a' or '4b', got {args.figure!r}")
    pools, xs, n_obj = list(args.pools), list(args.objects), args.num_objects
    columns = list(args.columns)
    if args.quick:
        pools, xs, n_obj, columns = pools[:1], [5, 10], 8, [1, 2]
    start = time.perf_counter()
    results: dict = {}
    jobs = [(f, x) for f in pools for x in (xs if args.figure == "4a" else columns)]
    done_after_one: dict = {}
    for pool, x in progress(jobs, desc=f"fig{args.figure}", enabled=args.progress):
        if args.figure == "4b" and done_after_one.get(pool, 0) > args.max_columns_after_one:
            continue
        rows = [convergence_point(args.figure, pool, x, args.seed + t, n_obj, args.test_objects, args.settling_steps,
                                  args.max_sensations) for t in range(args.trials)]
        results.setdefault(pool, {})[x] = _average(rows)
        if args.json_out:  # partial results survive an interrupted sweep
            with open(args.json_out, "w") as handle:
                json.dump({"figure": args.figure, "results": results, "partial": True,
                           "wall_time_s": time.perf_counter() - start, "args": dataclasses.asdict(args)}, handle)
        if args.figure == "4b" and results[pool][x]["convergence"] <= 1.0:
            done_after_one[pool] = done_after_one.get(pool, 0) + 1
    return {"figure": args.figure, "results": results, "wall_time_s": time.perf_counter() - start,
            "args": dataclasses.asdict(args)}


def convergence_table(out: dict) -> str:
    """Published vs ours (paper metric; our strict recognition metric in brackets)."""
    fig = out["figure"]
    published = PUBLISHED["fig4" + fig[-1]]
    what = "objects" if fig == "4a" else "columns"
    lines = [f"Fig {fig.upper()}: mean sensations to recognize vs {what} (published | ours, paper's metric | ours, "
             f"strict recognition | ideal observer on the same sequences)",
             f"{'pool':>5} {what:>8} {'published':>10} {'ours':>7} {'strict':>7} {'ideal':>7} {'accuracy':>8}"]
    for pool, row in out["results"].items():
        for x, m in row.items():
            pub = published.get(int(pool), {}).get(int(x))
            pub_s = f"{pub:.2f}" if pub is not None else "-"
            lines.append(f"{pool:>5} {x:>8} {pub_s:>10} {m['convergence']:>7.2f} {m['recognition']:>7.2f} "
                         f"{m.get('ideal', float('nan')):>7.2f} {m['accuracy']:>8.2f}")
    lines.append(f"wall time {out['wall_time_s']:.1f} s")
    return "\n".join(lines)


def plot_convergence(out: dict, path: str) -> None:
    """Ours (solid) vs published (dashed), one colour per pool."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    published = PUBLISHED["fig4" + out["figure"][-1]]
    for i, (pool, row) in enumerate(out["results"].items()):
        colour = f"C{i}"
        xs = [int(x) for x in row]
        ax.plot(xs, [row[x]["convergence"] for x in row], "o-", color=colour, label=f"ours, paper metric, F={pool}")
        ax.plot(xs, [row[x]["recognition"] for x in row], "x-.", color=colour, alpha=0.7, lw=1,
                label=f"ours, strict recognition, F={pool}")
        pub = published.get(int(pool), {})
        if pub:
            ax.plot(list(pub), list(pub.values()), "s--", color=colour, alpha=0.5, label=f"published, F={pool}")
        if all("ideal" in m for m in row.values()):
            ax.plot(xs, [row[x]["ideal"] for x in row], ":", color=colour, alpha=0.8, label=f"ideal observer, F={pool}")
    ax.set_xlabel("number of objects" if out["figure"] == "4a" else "number of columns")
    ax.set_ylabel("mean sensations to recognize")
    ax.set_title(f"Hawkins et al. 2017, Fig {out['figure'].upper()}")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    save_figure(fig, path)


# ------------------------------------------------------------------------------------------------- Fig 4C
def run_sensations(args: SensationsArgs) -> dict:
    """Cumulative fraction recognized by sensation k: network (strict recognition and paper convergence), ideal
    observer (location mode) and bag of features stepping on the network's own sequences."""
    from htmagent.cortex.baselines import (
        BagOfFeatures,
        IdealObserver,
        recognition_curve,
    )
    from htmagent.cortex.objects import ObjectSet

    n_obj, trials = args.num_objects, args.trials
    if args.quick:
        n_obj, trials = 12, 1
    k = args.max_sensations
    start = time.perf_counter()
    curves = {"network": np.zeros(k), "network_convergence": np.zeros(k), "ideal": np.zeros(k), "bag": np.zeros(k)}
    never_beats_ideal = True
    for t in progress(range(trials), desc="fig4c", enabled=args.progress):
        seed = args.seed + t
        objects = ObjectSet.hawkins2017(n_obj, num_points=args.num_locations, num_locations=args.num_locations,
                                        num_features=args.num_features, seed=seed)
        net = _network(args.num_columns, seed)
        net.learn(objects)
        ideal, bag = IdealObserver(objects, mode="location"), BagOfFeatures(objects)
        sequences = []
        for obj in objects:
            r = net.infer(obj, policy=args.policy, settling_steps=args.settling_steps, max_sensations=k,
                          seed=seed * 100_003 + obj.label)
            sequences.append(r.sensations)
            if r.correct:
                curves["network"][r.sensation - 1:] += 1
            if r.convergence <= k and r.classified[-1]:
                curves["network_convergence"][r.convergence - 1:] += 1
            ideal.reset()
            for s, obs in enumerate(r.sensations):
                ideal.step(obs)
                if r.recognized[s] is not None and ideal.recognized is None:
                    never_beats_ideal = False
        curves["ideal"] += recognition_curve(ideal, sequences, k) * len(objects)
        curves["bag"] += recognition_curve(bag, sequences, k) * len(objects)
    total = n_obj * trials
    return {"curves": {name: (c / total).tolist() for name, c in curves.items()},
            "never_ahead_of_ideal": never_beats_ideal, "wall_time_s": time.perf_counter() - start,
            "args": dataclasses.asdict(args)}


def sensations_table(out: dict) -> str:
    """Published vs ours, per sensation."""
    pub, ours = PUBLISHED["fig4c"], out["curves"]
    lines = ["Fig 4C: cumulative fraction recognized by sensation k (pub = published; net conv = the paper's "
             "size-based convergence metric)",
             f"{'k':>3} {'net pub':>8} {'net ours':>9} {'net conv':>9} {'ideal pub':>10} {'ideal ours':>11} "
             f"{'bag pub':>8} {'bag ours':>9}"]
    for i in range(len(ours["network"])):
        pn = pub["network"][i] if i < 10 else float("nan")
        pi = pub["ideal"][i] if i < 10 else float("nan")
        pb = pub["bag"][i] if i < 10 else float("nan")
        lines.append(f"{i + 1:>3} {pn:>8.3f} {ours['network'][i]:>9.3f} {ours['network_convergence'][i]:>9.3f} "
                     f"{pi:>10.3f} {ours['ideal'][i]:>11.3f} {pb:>8.3f} {ours['bag'][i]:>9.3f}")
    lines.append(f"network never ahead of the ideal observer: {out['never_ahead_of_ideal']}; "
                 f"wall time {out['wall_time_s']:.1f} s")
    return "\n".join(lines)


def plot_sensations(out: dict, path: str) -> None:
    """Three curves, ours solid, published dashed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    k = np.arange(1, len(out["curves"]["network"]) + 1)
    for name, label, colour in (("network", "sensorimotor network", "C0"), ("ideal", "ideal observer", "C1"),
                                ("bag", "bag of features", "C2")):
        ax.plot(k, out["curves"][name], "o-", color=colour, label=f"{label} (ours)")
        ax.plot(np.arange(1, 11), PUBLISHED["fig4c"][name], "s--", color=colour, alpha=0.5,
                label=f"{label} (published)")
    ax.set_xlabel("sensations")
    ax.set_ylabel("fraction recognized")
    ax.set_title("Hawkins et al. 2017, Fig 4C")
    ax.legend(fontsize=7)
    save_figure(fig, path)


# -------------------------------------------------------------------------------------------------- Fig 5
def _parse_config(text: str) -> tuple[int, int, int]:
    try:
        minicolumns, cells, columns = (int(v) for v in text.split(":"))
    except ValueError:
        raise ValueError(f"config must look like 'minicolumns:l2_cells:columns', e.g. '150:4096:1', got {text!r}")
    return minicolumns, cells, columns


def config_name(text: str) -> str:
    """``'150:4096:1'`` -> ``'150 minicolumns, 4096 cells, 1 column'``."""
    m, c, n = _parse_config(text)
    return f"{m} minicolumns, {c} cells, {n} column{'s' if n > 1 else ''}"


def run_capacity(args: CapacityArgs) -> dict:
    """Learn objects incrementally; at each count, test ``num_targets`` random learned objects: all 10 points sensed
    (one step each, random order); success iff the target is the unique object of maximal L2/3 overlap in every
    column (the paper's criterion). ``converged`` additionally requires every column to hold at most 1.5 x sdr_size
    active cells (the 2017 code's classification rule), i.e. the union has really narrowed to one object."""
    from htmagent.cortex.column import hawkins2017_l4_params
    from htmagent.cortex.objects import ObjectSet

    configs, counts, n_targets = list(args.configs), sorted(args.objects), args.num_targets
    if args.quick:
        configs, counts, n_targets = configs[:1], [10, 20], 10
    start = time.perf_counter()
    results: dict = {}
    settled_results: dict = {}
    for cfg in configs:
        minicolumns, cells, columns = _parse_config(cfg)
        per_trial, per_trial_converged = [], []
        for t in range(args.trials):
            seed = args.seed + t
            objects = ObjectSet.capacity(counts[-1], num_points=10, num_features=5000, num_locations=5000, seed=seed)
            net = _network(columns, seed, l4_column_count=minicolumns, l2_cell_count=cells,
                           l4_params=hawkins2017_l4_params(20, capacity=True),
                           l2_params={"activation_threshold_distal": 18})
            rng = np.random.default_rng(seed)
            learned = 0
            accuracy, converged = {}, {}
            for count in progress(counts, desc=f"fig5 {cfg}", enabled=args.progress):
                net.learn(objects[learned:count])
                learned = count
                targets = rng.choice(count, min(n_targets, count), replace=False)
                hits, settled = 0, 0
                for label in targets:
                    r = net.infer(objects[int(label)], max_sensations=10, settling_steps=1,
                                  seed=int(rng.integers(2**31)))
                    final = r.overlaps[-1]
                    ok = all(row[label] == row.max() and np.count_nonzero(row == row.max()) == 1 for row in final)
                    hits += ok
                    settled += ok and r.classified[-1]
                accuracy[count] = hits / len(targets)
                converged[count] = settled / len(targets)
                if accuracy[count] < args.stop_below:
                    break
            per_trial.append(accuracy)
            per_trial_converged.append(converged)
        keys = sorted(set.intersection(*[set(a) for a in per_trial]))
        results[config_name(cfg)] = {c: float(np.mean([a[c] for a in per_trial])) for c in keys}
        settled_results[config_name(cfg)] = {c: float(np.mean([a[c] for a in per_trial_converged])) for c in keys}
        if args.json_out:  # partial results survive an interrupted sweep
            with open(args.json_out, "w") as handle:
                json.dump({"results": results, "converged": settled_results, "partial": True,
                           "wall_time_s": time.perf_counter() - start, "args": dataclasses.asdict(args)}, handle,
                          indent=1)
    return {"results": results, "converged": settled_results, "wall_time_s": time.perf_counter() - start,
            "args": dataclasses.asdict(args)}


def capacity_table(out: dict) -> str:
    """Published vs ours per configuration and object count."""
    lines = ["Fig 5: accuracy vs number of learned objects (published | ours)"]
    for name, row in out["results"].items():
        pub = PUBLISHED["fig5"].get(name, {})
        lines.append(f"  {name}")
        conv = out.get("converged", {}).get(name, {})
        for count, acc in row.items():
            p = pub.get(int(count))
            c = conv.get(count)
            c_s = f"  converged {c:.2f}" if c is not None else ""
            lines.append(f"    {count:>5} objects  published {p if p is not None else '-':>5}  ours {acc:.2f}{c_s}")
        ok = [int(c) for c, a in row.items() if a >= 0.99]
        lines.append(f"    largest count with accuracy >= 0.99: {max(ok) if ok else 0}")
    lines.append(f"wall time {out['wall_time_s']:.1f} s")
    return "\n".join(lines)


def plot_capacity(out: dict, path: str) -> None:
    """Accuracy vs objects: ours by the paper's criterion (solid), ours converged to <= 60 cells (dotted, if run),
    published (dashed)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    for i, (name, row) in enumerate(out["results"].items()):
        ax.plot([int(c) for c in row], list(row.values()), "o-", color=f"C{i}", label=f"{name}: ours, paper criterion")
        conv = out.get("converged", {}).get(name)
        if conv:
            ax.plot([int(c) for c in conv], list(conv.values()), "x:", color=f"C{i}", label="   ours, converged")
        pub = PUBLISHED["fig5"].get(name)
        if pub:
            ax.plot(list(pub), list(pub.values()), "s--", color=f"C{i}", alpha=0.5, label="   published")
    ax.set_xlabel("number of learned objects")
    ax.set_ylabel("accuracy")
    ax.set_title("Hawkins et al. 2017, Fig 5: capacity")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    save_figure(fig, path)


# ------------------------------------------------------------------------------------------------- Fig 6A
def run_noise(args: NoiseArgs) -> dict:
    """Accuracy after ``max_sensations * settling_steps`` touches vs noise; accuracy = the paper's classification
    (every column overlaps the target code by >= 30 with <= 60 active cells) after the last touch; our strict
    recognition is reported beside it."""
    from htmagent.cortex.objects import ObjectSet

    n_obj, trials, levels = args.num_objects, args.trials, list(args.levels)
    if args.quick:
        n_obj, trials, levels = 10, 1, [0.0, 0.5]
    start = time.perf_counter()
    acc = {kind: {lv: [] for lv in levels} for kind in ("feature", "location")}
    strict = {kind: {lv: [] for lv in levels} for kind in ("feature", "location")}
    jobs = [(t, kind, lv) for t in range(trials) for kind in ("feature", "location") for lv in levels]
    nets: dict = {}
    for t, kind, lv in progress(jobs, desc="fig6a", enabled=args.progress):
        seed = args.seed + t
        if t not in nets:
            nets.clear()
            objects = ObjectSet.hawkins2017(n_obj, num_points=10, num_locations=10, num_features=args.num_features,
                                            seed=seed)
            net = _network(1, seed, enable_feedback=args.enable_feedback)
            net.learn(objects)
            nets[t] = (net, objects)
        net, objects = nets[t]
        noise = {"feature_noise": lv} if kind == "feature" else {"location_noise": lv}
        ok, ok_strict = 0, 0
        for obj in objects:
            r = net.infer(obj, settling_steps=args.settling_steps, max_sensations=args.max_sensations,
                          seed=seed * 100_003 + obj.label, **noise)
            ok += r.classified[-1]
            ok_strict += r.recognized[-1] == r.target
        acc[kind][lv].append(ok / len(objects))
        strict[kind][lv].append(ok_strict / len(objects))
    mean = {k: {lv: float(np.mean(v)) for lv, v in d.items()} for k, d in acc.items()}
    mean_strict = {k: {lv: float(np.mean(v)) for lv, v in d.items()} for k, d in strict.items()}
    return {"accuracy": mean, "strict": mean_strict, "wall_time_s": time.perf_counter() - start,
            "args": dataclasses.asdict(args)}


def noise_table(out: dict) -> str:
    """Published vs ours per noise level."""
    lines = ["Fig 6A: accuracy after 30 touches vs noise (published | ours | ours, strict recognition)",
             f"{'noise':>6} {'feat pub':>9} {'feat ours':>10} {'strict':>7} {'loc pub':>8} {'loc ours':>9} "
             f"{'strict':>7}"]
    for lv in out["accuracy"]["feature"]:
        fp = PUBLISHED["fig6a"]["feature"].get(float(lv), float("nan"))
        lp = PUBLISHED["fig6a"]["location"].get(float(lv), float("nan"))
        lines.append(f"{float(lv):>6.1f} {fp:>9.2f} {out['accuracy']['feature'][lv]:>10.2f} "
                     f"{out['strict']['feature'][lv]:>7.2f} {lp:>8.2f} {out['accuracy']['location'][lv]:>9.2f} "
                     f"{out['strict']['location'][lv]:>7.2f}")
    lines.append(f"wall time {out['wall_time_s']:.1f} s")
    return "\n".join(lines)


def plot_noise(out: dict, path: str) -> None:
    """Accuracy vs noise, ours solid, published dashed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, kind in enumerate(("feature", "location")):
        row = out["accuracy"][kind]
        ax.plot([float(v) for v in row], list(row.values()), "o-", color=f"C{i}", label=f"{kind} noise (ours)")
        pub = PUBLISHED["fig6a"][kind]
        ax.plot(list(pub), list(pub.values()), "s--", color=f"C{i}", alpha=0.5, label=f"{kind} noise (published)")
    ax.set_xlabel("noise level")
    ax.set_ylabel("accuracy after 30 touches")
    ax.set_title("Hawkins et al. 2017, Fig 6A")
    ax.legend(fontsize=7)
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------- command line
def main_convergence(args: ConvergenceArgs) -> int:
    """Run, print and plot Fig 4A or 4B."""
    out = run_convergence(args)
    path = args.figure_path(f"hawkins2017_fig{args.figure}.png")
    finish(out, convergence_table(out), plot_convergence, path, args.json_out)
    return 0


def main_sensations(args: SensationsArgs) -> int:
    """Run, print and plot Fig 4C."""
    out = run_sensations(args)
    finish(out, sensations_table(out), plot_sensations, args.figure_path("hawkins2017_fig4c.png"), args.json_out)
    return 0


def main_capacity(args: CapacityArgs) -> int:
    """Run, print and plot Fig 5."""
    out = run_capacity(args)
    finish(out, capacity_table(out), plot_capacity, args.figure_path("hawkins2017_fig5.png"), args.json_out)
    return 0


def main_noise(args: NoiseArgs) -> int:
    """Run, print and plot Fig 6A."""
    out = run_noise(args)
    finish(out, noise_table(out), plot_noise, args.figure_path("hawkins2017_fig6a.png"), args.json_out)
    return 0


# The ``htmagent recognize`` subcommands of this paper (assembled by :mod:`htmagent.experiments.recognize`).
COMMANDS = {
    "fig4a": (ConvergenceArgs, main_convergence, {
        "figure": "4a", "description": "Fig 4A: mean sensations to recognize vs number of objects (one column)."}),
    "fig4b": (ConvergenceArgs, main_convergence, {
        "figure": "4b", "description": "Fig 4B: mean sensations to recognize vs number of columns (fixed objects)."}),
    "fig4c": (SensationsArgs, main_sensations, {}),
    "fig5": (CapacityArgs, main_capacity, {}),
    "fig6a": (NoiseArgs, main_noise, {}),
}
