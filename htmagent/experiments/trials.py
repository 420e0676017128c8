"""The library's experiments as trials, for ``htmagent sweep`` and ``htmagent tune`` (see :mod:`.sweep`).

- ``fig4a`` / ``fig4b``: Hawkins, Ahmad & Cui 2017 Figs 4A/4B; one trial = one (feature pool, objects or columns)
  point with one seed (new objects, new network), the metrics of :func:`.hawkins2017.run_convergence`.
- ``recognition``: one Fig 4A point (F=5, 50 objects; quick: 10) with tunable network parameters; the objective is
  the mean number of sensations until the object is recognised for good (minimised).
- ``nab-dev``: the anomaly detector on the NAB files under ``--data``; one trial = one seed and one set of detector
  parameters; the objective is the standard-profile score (maximised). Quick: two files, 1,500 rows each.
- ``rl-cartpole``: PPO with the HTM observation wrapper on masked-velocity CartPole (:mod:`.rl`), one trial = one
  seed; the objective is the mean return of the last tenth of training (maximised). Quick: 256 steps, a small HTM.
"""

from __future__ import annotations

import dataclasses
import os
import numpy as np

from htmagent.experiments.sweep import Experiment, Param, records_by_point, register_experiment

__all__: list[str] = []


def _mean(records: list[dict], key: str) -> float:
    return float(np.mean([r["result"][key] for r in records]))


def _signature_defaults(fn, names) -> dict:
    """The default values of the arguments ``names`` of ``fn``."""
    import inspect

    parameters = inspect.signature(fn).parameters
    return {k: parameters[k].default for k in names}


def _point_table(columns: list[tuple[str, str, str]]):
    """A summary: one row per parameter point with its seeds, and the mean of each ``(header, key, format)``."""
    def summarize(records: list[dict]) -> str:
        lines = ["| parameters | seeds | " + " | ".join(h for h, _, _ in columns) + " |",
                 "|---|---|" + "---|" * len(columns)]
        for _, group in records_by_point(records).items():
            params = {k: v for k, v in group[0]["params"].items() if k != "data"}
            lines.append(f"| {params} | {len(group)} | " +
                         " | ".join(format(_mean(group, key), fmt) for _, key, fmt in columns) + " |")
        return "\n".join(lines)
    return summarize


# ---------------------------------------------------------------------------------------------------- Fig 4A/4B
def _figure_trial(figure: str):
    def trial(params: dict, seed: int) -> dict:
        from htmagent.experiments.hawkins2017 import convergence_point

        p = dict(params)
        return convergence_point(figure, int(p.pop("pool")), int(p.pop("x")), seed, **p)
    return trial


def fig4a_trial(params: dict, seed: int) -> dict:
    """One Fig 4A point: ``pool`` features, ``x`` objects, one column."""
    return _figure_trial("4a")(params, seed)


def fig4b_trial(params: dict, seed: int) -> dict:
    """One Fig 4B point: ``pool`` features, ``x`` columns, ``num_objects`` objects."""
    return _figure_trial("4b")(params, seed)


def _fig4a_grid(quick: bool) -> list[dict]:
    if quick:  # the --quick form of scripts/hawkins2017_convergence.py
        return [{"pool": 5, "x": x} for x in (5, 10)]
    return [{"pool": f, "x": x} for f in (5, 10, 20, 30) for x in (10, 20, 30, 40, 50, 60, 80, 100)]


def _fig4b_grid(quick: bool) -> list[dict]:
    if quick:
        return [{"pool": 5, "x": x, "num_objects": 8} for x in (1, 2)]
    return [{"pool": f, "x": x, "num_objects": 100} for f in (5, 10, 20, 30) for x in range(1, 9)]


def _convergence_out(records: list[dict], figure: str) -> dict:
    results: dict = {}
    for _, group in records_by_point(records).items():
        p = group[0]["params"]
        metrics = {k: _mean(group, k) for k in group[0]["result"]}
        results.setdefault(int(p["pool"]), {})[int(p["x"])] = metrics
    return {"figure": figure, "results": results, "wall_time_s": sum(r["wall_s"] for r in records)}  # trial time


def _convergence_summary(figure: str):
    def summarize(records: list[dict]) -> str:
        from htmagent.experiments.hawkins2017 import convergence_table

        seeds = sorted({r["seed"] for r in records})
        return f"Fig {figure.upper()}, mean over seeds {seeds}:\n" + convergence_table(
            _convergence_out(records, figure))
    return summarize


def _convergence_plot(figure: str):
    def plot(records: list[dict], path: str) -> None:
        from htmagent.experiments.hawkins2017 import plot_convergence

        plot_convergence(_convergence_out(records, figure), path)
    return plot


register_experiment(Experiment(
    "fig4a", "Hawkins 2017 Fig 4A: sensations to recognize vs objects (1 column)", fig4a_trial, _fig4a_grid,
    _convergence_summary("4a"), _convergence_plot("4a")))
register_experiment(Experiment(
    "fig4b", "Hawkins 2017 Fig 4B: sensations to recognize vs columns", fig4b_trial, _fig4b_grid,
    _convergence_summary("4b"), _convergence_plot("4b")))


# ---------------------------------------------------------------------------------------------------- recognition
_RECOGNITION_SPACE = {
    "l4_column_count": Param("int", 100, 300),
    "cells_per_column": Param("int", 8, 32),
    "l2_sdr_size": Param("int", 30, 60),
    "recognition_threshold": Param("int", 15, 30),
}


def recognition_defaults(quick: bool) -> dict:
    """The network's defaults on the recognition point (10 objects with ``quick``, else 50)."""
    from htmagent.cortex.network import Network

    return {"objects": 10 if quick else 50, **_signature_defaults(Network.__init__, _RECOGNITION_SPACE)}


def recognition_trial(params: dict, seed: int) -> dict:
    """One Fig 4A point (F=5) with the network parameters in ``params``."""
    from htmagent.experiments.hawkins2017 import convergence_point

    p = dict(params)
    objects = int(p.pop("objects"))
    if p.get("recognition_threshold", 0) > p.get("l2_sdr_size", 40):
        p["recognition_threshold"] = p["l2_sdr_size"]
    return convergence_point("4a", 5, objects, seed, **p)


register_experiment(Experiment(
    "recognition", "one Fig 4A point (F=5) with tunable network parameters; minimises sensations to recognize",
    recognition_trial, lambda quick: [recognition_defaults(quick)],
    _point_table([("sensations to recognize", "recognition", ".2f"), ("accuracy", "accuracy", ".2f")]),
    space=_RECOGNITION_SPACE, objective="recognition", direction="minimize", defaults=recognition_defaults))


# ---------------------------------------------------------------------------------------------------- NAB
#: The detector parameters ``tune nab-dev`` searches (ranges around the defaults).
NAB_SPACE = {
    "num_buckets": Param("int", 60, 260),
    "encoder_active_bits": Param("int", 11, 41),
    "spatial_tolerance": Param("float", 0.0, 0.2),
    "averaging_window": Param("int", 1, 30),
    "estimation_samples": Param("int", 50, 400),
    "reestimation_period": Param("int", 20, 400),
    "learning_period": Param("int", 100, 600),
}


def nab_defaults(quick: bool) -> dict:
    """The detector's defaults for the searched parameters."""
    from htmagent.anomaly import AnomalyDetector

    return {"quick": bool(quick), **_signature_defaults(AnomalyDetector.__init__, NAB_SPACE)}


def nab_trial(params: dict, seed: int) -> dict:
    """The detector with ``params`` over the NAB files under ``params['data']``: the three profiles' scores."""
    from htmagent.experiments.nab import _quick_corpus, load_corpus, run_corpus, score_corpus

    p = dict(params)
    data, quick = p.pop("data"), bool(p.pop("quick", False))
    corpus = load_corpus(data)
    if quick:
        corpus = _quick_corpus(corpus)
    scores, speed = run_corpus(corpus, seed=seed, workers=1, detector_kwargs=p, show_progress=False)
    summary = score_corpus(corpus, scores)
    out = {name: float(v["score"]) for name, v in summary["profiles"].items()}
    out["rows_per_second"] = speed
    return out


register_experiment(Experiment(
    "nab-dev", "the anomaly detector's NAB score on the files under --data (standard profile)", nab_trial,
    lambda quick: [nab_defaults(quick)],
    _point_table([(p, p, ".1f") for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")]),
    space=NAB_SPACE, objective="standard",
    direction="maximize", defaults=nab_defaults, needs_data=True))


# ---------------------------------------------------------------------------------------------------- RL
_RL_SPACE = {
    "active_bits": Param("int", 4, 32),
    "column_count": Param("int", 64, 1024, log=True),
    "cells_per_column": Param("int", 2, 16),
}


def rl_defaults(quick: bool) -> dict:
    """The htm arm on masked CartPole: the solving setting of docs/results_rl.md (quick: 256 steps)."""
    from htmagent.experiments.rl import RLArgs

    base = RLArgs(quick=quick, progress=False)
    return {"task": "masked-cartpole", "arm": "htm", "quick": bool(quick), "total_timesteps": base.total_timesteps,
            "active_bits": 8, "column_count": base.column_count, "cells_per_column": base.cells_per_column}


def rl_trial(params: dict, seed: int) -> dict:
    """One PPO run of :func:`htmagent.experiments.rl.run_one` with ``params`` (fields of ``RLArgs``)."""
    from htmagent.experiments.rl import RLArgs, run_one

    p = dict(params)
    arm, quick = p.pop("arm"), bool(p.pop("quick", False))
    fields = {f.name for f in dataclasses.fields(RLArgs)}
    args = RLArgs(quick=quick, progress=False, trials=1, out_dir=os.devnull,
                  **{k: v for k, v in p.items() if k in fields})
    if quick:  # RLArgs' quick form fixes the sizes; the searched ones win
        for key in ("column_count", "cells_per_column"):
            if key in p:
                setattr(args, key, p[key])
    run = run_one(args, arm, seed)
    return {k: run[k] for k in ("final_return", "final_success", "eval_return", "eval_success", "solved_at",
                                "train_seconds")}


register_experiment(Experiment(
    "rl-cartpole", "PPO + HTMObservation on masked-velocity CartPole; maximises the final training return",
    rl_trial, lambda quick: [rl_defaults(quick)],
    _point_table([("final return", "final_return", ".1f"), ("eval return", "eval_return", ".1f")]),
    space=_RL_SPACE, objective="final_return",
    direction="maximize", defaults=rl_defaults))


# ---------------------------------------------------------------------------------------------------- self-test
def selftest_trial(params: dict, seed: int) -> dict:
    """A check of the sweep machinery itself: returns ``seed ** 2`` after ``sleep`` seconds; with ``die_once``
    (a file path) the first attempt kills its own worker process (and leaves the file), as an out-of-memory kill
    would, so the trial must be retried to finish."""
    import signal
    import time

    marker = params.get("die_once", "")
    if marker and not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(float(params.get("sleep", 0.0)))
    return {"value": seed ** 2, "pid": os.getpid()}


register_experiment(Experiment(
    "selftest", "checks the sweep machinery (a trial that can kill its own worker once)", selftest_trial,
    lambda quick: [{"sleep": 0.0}], lambda records: f"{len(records)} self-test trials, values "
    f"{sorted(r['result']['value'] for r in records)}"))
