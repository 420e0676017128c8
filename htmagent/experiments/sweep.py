"""Sweeps and parameter search: an experiment's trials as units of work, run in a loop, a process pool or on Ray.

A *trial* is a function of its parameters and its seed that returns a result record (a JSON-able dict). An
:class:`Experiment` declares its trial function, the grid of parameter points a sweep runs (each for ``--trials``
seeds), how to summarise the records (a table and a figure), and for search its tunable parameters, their ranges and
the objective. The same trial function runs in a loop, in a local process pool or as a Ray task, so a sweep gives
the same numbers whichever way it runs.

- ``htmagent sweep EXPERIMENT --trials N [--workers K] [--address ray://...]`` runs every (point, seed) trial in
  parallel. Each finished trial is appended at once to the sweep's store (a JSON-lines file, flushed and synced), so
  an interrupted sweep rerun with the same command skips what is done and finishes the rest. A worker that dies
  mid-trial (killed, out of memory) has its trial run again, up to ``--retries`` times.
- ``htmagent tune EXPERIMENT --budget N`` searches the declared space with Optuna (TPE by default; the default
  parameters are the first trial, so the search is measured against them) in an Optuna storage (SQLite by default,
  any SQLAlchemy URL for a shared database); its trials run in parallel through the same executors. It prints the
  best parameters and their score beside the default's, the parameter importances, and draws the search.

Backends (``--backend``): ``auto`` (Ray when it is installed, else a process pool), ``ray`` (a local Ray started on
``--workers`` cores, or the cluster at ``--address``), ``process`` (a local process pool), ``serial`` (one process).
Ray and Optuna are the ``sweep`` extra; nothing of this module is imported by the core.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from htmagent.experiments.args import OUT_DIR, ExperimentArgs, add_experiment_parser

__all__ = ["EXPERIMENTS", "Experiment", "Param", "SweepArgs", "Trial", "TrialStore", "TuneArgs", "register_experiment",
           "run_trials", "sweep", "tune"]


# ---------------------------------------------------------------------------------------------------- trials
@dataclass(frozen=True)
class Trial:
    """One unit of work: ``experiment``'s trial function at ``params`` with ``seed``."""

    experiment: str
    params: tuple[tuple[str, Any], ...]
    seed: int

    @classmethod
    def make(cls, experiment: str, params: Mapping[str, Any], seed: int) -> "Trial":
        """A trial with its parameters in a canonical (sorted) order."""
        return cls(experiment, tuple(sorted(dict(params).items())), int(seed))

    @property
    def key(self) -> str:
        """A stable text key: the same trial always has the same key (used to resume)."""
        return json.dumps([self.experiment, [list(p) for p in self.params], self.seed], sort_keys=True)

    @property
    def kwargs(self) -> dict:
        """The parameters as a dict."""
        return dict(self.params)


@dataclass(frozen=True)
class Param:
    """A tunable parameter: ``kind`` ``"int"``, ``"float"`` (``log`` for a log scale) or ``"categorical"``."""

    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial: Any, name: str) -> Any:
        """The value an Optuna trial suggests for this parameter."""
        if self.kind == "int":
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        if self.kind == "float":
            return trial.suggest_float(name, float(self.low), float(self.high), log=self.log)
        return trial.suggest_categorical(name, list(self.choices))


@dataclass
class Experiment:
    """An experiment as trials.

    Args:
        name: the name on the command line.
        description: one line for ``--help`` and the tables.
        trial: ``trial(params: dict, seed: int) -> dict``, a module-level function (it is sent to workers).
        grid: ``grid(quick: bool) -> list[dict]``, the parameter points of a sweep.
        summarize: ``summarize(records) -> str``, the results table (records: ``{"params", "seed", "result"}``).
        plot: ``plot(records, path)`` or None.
        space: the tunable parameters (None: ``tune`` refuses the experiment).
        objective: the result key ``tune`` optimises.
        direction: ``"maximize"`` or ``"minimize"``.
        defaults: ``defaults(quick: bool) -> dict``, the parameters ``tune`` starts from and holds fixed for what it
            does not search (the experiment's defaults, in their quick form with ``--quick``).
        needs_data: the trial reads files named by ``--data`` (passed to it as the parameter ``data``).
    """

    name: str
    description: str
    trial: Callable[[dict, int], dict]
    grid: Callable[[bool], list[dict]]
    summarize: Callable[[list[dict]], str]
    plot: Callable[[list[dict], str], None] | None = None
    space: dict[str, Param] | None = None
    objective: str = ""
    direction: str = "maximize"
    defaults: Callable[[bool], dict] = field(default=lambda quick: {})
    needs_data: bool = False


#: The experiments ``sweep`` and ``tune`` know, by name (see :func:`register_experiment`).
EXPERIMENTS: dict[str, Experiment] = {}


def register_experiment(experiment: Experiment) -> Experiment:
    """Make ``experiment`` available to :func:`sweep`, :func:`tune` and the command line (by its name)."""
    if experiment.direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got {experiment.direction!r}")
    EXPERIMENTS[experiment.name] = experiment
    return experiment


def _lookup(name: str) -> Experiment:
    from htmagent.experiments import trials  # noqa: F401  (registers the library's experiments)

    if name not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {sorted(EXPERIMENTS)}, got {name!r}")
    return EXPERIMENTS[name]


# ---------------------------------------------------------------------------------------------------- the store
class TrialStore:
    """Finished trials, one JSON line each, appended (flushed and synced) as each trial finishes.

    A line cut short by a crash is ignored when the file is read back; a trial is done once its line is whole.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)

    def done(self) -> dict[str, dict]:
        """``{trial key: record}`` of the finished trials."""
        records: dict[str, dict] = {}
        if not os.path.exists(self.path):
            return records
        with open(self.path) as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the half-written last line of an interrupted run
                if isinstance(record, dict) and "key" in record and "result" in record:
                    records[record["key"]] = record
        return records

    def add(self, record: dict) -> None:
        """Append one finished trial."""
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record, default=_jsonable) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# ---------------------------------------------------------------------------------------------------- executing
def _execute(experiment: str, params: dict, seed: int) -> dict:
    """Run one trial (in whichever process): the result and its wall time and process id."""
    fn = _lookup(experiment).trial
    start = time.perf_counter()
    result = fn(dict(params), int(seed))
    return {"result": result, "wall_s": time.perf_counter() - start, "pid": os.getpid()}


def _record(trial: Trial, outcome: dict, attempts: int) -> dict:
    return {"key": trial.key, "experiment": trial.experiment, "params": trial.kwargs, "seed": trial.seed,
            "result": outcome["result"], "wall_s": outcome["wall_s"], "pid": outcome["pid"], "attempts": attempts}


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(os.cpu_count() or 1, 1)


def pick_backend(backend: str, address: str = "") -> str:
    """``auto`` resolved: Ray when it is installed (or an address is given), else a process pool."""
    if backend not in ("auto", "ray", "process", "serial"):
        raise ValueError(f"backend must be one of auto, ray, process, serial, got {backend!r}")
    if backend != "auto":
        return backend
    if address:
        return "ray"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "process"
    return "ray"


def run_trials(trials: Sequence[Trial], workers: int = 0, backend: str = "auto", address: str = "",
               store: TrialStore | None = None, retries: int = 2, show_progress: bool = True,
               on_record: Callable[[dict], None] | None = None) -> tuple[list[dict], list[tuple[Trial, str]]]:
    """Run ``trials`` (those already in ``store`` are skipped) and return ``(records in trial order, failures)``.

    Args:
        trials: the trials.
        workers: parallel workers (0 = every core; with a Ray ``address``, the cluster decides).
        backend: see :func:`pick_backend`.
        address: a Ray cluster's address (``ray://host:10001`` or ``auto``); empty = local.
        store: where finished trials are appended (None: nowhere).
        retries: runs again of a trial whose worker died (not of a trial that raised an exception: a failure).
        show_progress: draw a progress bar over the trials.
        on_record: called with each record as its trial finishes.
    """
    workers = workers or default_workers()
    done = store.done() if store is not None else {}
    pending = [t for t in trials if t.key not in done]
    records = dict(done)
    failures: list[tuple[Trial, str]] = []
    bar = _Bar(len(trials), len(trials) - len(pending), show_progress)

    def finish(trial: Trial, outcome: dict, attempts: int) -> None:
        record = _record(trial, outcome, attempts)
        records[trial.key] = record
        if store is not None:
            store.add(record)
        if on_record is not None:
            on_record(record)
        bar.step()

    chosen = pick_backend(backend, address)
    if chosen == "serial" or (chosen == "process" and workers == 1):
        for trial in pending:
            try:
                finish(trial, _execute(trial.experiment, trial.kwargs, trial.seed), 1)
            except Exception as error:  # a trial's own failure: recorded, the sweep goes on
                failures.append((trial, f"{type(error).__name__}: {error}"))
    elif chosen == "process":
        failures += _run_process(pending, workers, retries, finish)
    else:
        failures += _run_ray(pending, workers, address, retries, finish)
    bar.close()
    ordered = [records[t.key] for t in trials if t.key in records]
    return ordered, failures


def _run_process(pending: list[Trial], workers: int, retries: int, finish) -> list[tuple[Trial, str]]:
    """A local process pool; a pool broken by a dead worker is replaced and the unfinished trials resubmitted."""
    attempts = {t.key: 0 for t in pending}
    todo = list(pending)
    failures = []
    while todo:
        broken: list[Trial] = []
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            futures = {}
            for trial in todo:
                attempts[trial.key] += 1
                futures[pool.submit(_execute, trial.experiment, trial.kwargs, trial.seed)] = trial
            remaining = set(futures)
            while remaining:
                finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in finished:
                    trial = futures[future]
                    try:
                        finish(trial, future.result(), attempts[trial.key])
                    except BrokenProcessPool:
                        broken.append(trial)
                    except Exception as error:
                        failures.append((trial, f"{type(error).__name__}: {error}"))
        todo = []
        for trial in broken:
            if attempts[trial.key] <= retries:
                todo.append(trial)
            else:
                failures.append((trial, f"its worker died {attempts[trial.key]} times"))
    return failures


def _run_ray(pending: list[Trial], workers: int, address: str, retries: int, finish) -> list[tuple[Trial, str]]:
    """Ray tasks (retried by Ray when their worker dies), each stored as it finishes."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        options = dict(address=address, log_to_driver=False) if address else dict(
            num_cpus=workers, include_dashboard=False, log_to_driver=False)
        ray.init(**options)
    try:
        task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(_execute)
        refs = {task.remote(t.experiment, t.kwargs, t.seed): t for t in pending}
        failures = []
        remaining = list(refs)
        while remaining:
            ready, remaining = ray.wait(remaining, num_returns=1)
            trial = refs[ready[0]]
            try:
                finish(trial, ray.get(ready[0]), None)  # Ray counts the attempts itself
            except ray.exceptions.WorkerCrashedError as error:
                failures.append((trial, f"its worker died {retries + 1} times ({error})"))
            except ray.exceptions.RayTaskError as error:
                cause = error.cause if getattr(error, "cause", None) is not None else error
                failures.append((trial, f"{type(cause).__name__}: {cause}"))
        return failures
    finally:
        if started_here:
            ray.shutdown()


class _Bar:
    """A progress bar over trials, counting the ones a resumed sweep already had."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled, self.start = total, done, enabled, time.perf_counter()
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        sys.stderr.write(f"\rtrials [{'#' * filled}{' ' * (width - filled)}] {self.done}/{self.total}  "
                         f"{time.perf_counter() - self.start:.0f}s")
        sys.stderr.flush()

    def step(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ---------------------------------------------------------------------------------------------------- sweep
@dataclass
class _RunArgs(ExperimentArgs):
    """What sweep and tune share: the experiment, where its trials run, its data."""

    experiment: str = ""
    """the experiment (htmagent sweep --list shows them, and marks the tunable ones)"""
    workers: int = 0
    """trials run at once (0 = every core)"""
    backend: str = "auto"
    """auto (Ray if installed, else processes), ray, process or serial"""
    address: str = ""
    """a Ray cluster's address (ray://host:10001, or auto); empty = this machine"""
    data: str = ""
    """data folder the experiment reads (nab-dev: a NAB checkout or ../shared/nab-dev)"""
    out: str = ""
    """PNG path of the figure (default under htmagent_out/)"""

    non_negative = ("workers",)
    positional = ("experiment",)

    def validate(self) -> None:
        pick_backend(self.backend, self.address)
        if getattr(self, "list", False):
            return
        experiment = _lookup(self.experiment)
        if experiment.needs_data and not self.data:
            raise ValueError(f"data must name the folder {self.experiment!r} reads its files from, got ''")


@dataclass
class SweepArgs(_RunArgs):
    """Run an experiment's trials in parallel (every core by default, a Ray cluster with --address); resumable."""

    trials: int = 1
    """seeds per parameter point (seed, seed + 1, ...)"""
    store: str = ""
    """the store of finished trials (default htmagent_out/sweeps/<experiment>[-quick].jsonl)"""
    fresh: bool = False
    """forget the store's finished trials and start over"""
    retries: int = 2
    """runs again of a trial whose worker died"""
    list: bool = False
    """list the experiments and exit"""

    counts = ("trials",)
    non_negative = ("workers", "retries")

    def store_path(self) -> str:
        """Where the finished trials go."""
        return self.store or os.path.join(OUT_DIR, "sweeps", f"{self.experiment}{'-quick' if self.quick else ''}.jsonl")


def sweep_trials(experiment: Experiment, trials: int, seed: int, quick: bool, data: str = "") -> list[Trial]:
    """Every (grid point, seed) trial of a sweep."""
    extra = {"data": os.path.abspath(data)} if experiment.needs_data else {}
    return [Trial.make(experiment.name, dict(point, **extra), seed + t) for point in experiment.grid(quick)
            for t in range(trials)]


def sweep(args: SweepArgs) -> int:
    """Run the sweep, print the table, draw the figure; exit code 1 if a trial failed."""
    if args.list:
        from htmagent.experiments import trials as _library  # noqa: F401  (registers the library's experiments)

        width = max(len(n) for n in EXPERIMENTS)
        for name, exp in sorted(EXPERIMENTS.items()):
            print(f"{name:<{width}}  {exp.description}{'  (tunable)' if exp.space else ''}")
        return 0
    experiment = _lookup(args.experiment)
    store = TrialStore(args.store_path())
    if args.fresh and os.path.exists(store.path):
        os.remove(store.path)
    trials = sweep_trials(experiment, args.trials, args.seed, args.quick, args.data)
    finished = store.done()  # read the store once, not once per trial
    already = sum(t.key in finished for t in trials)
    backend = pick_backend(args.backend, args.address)
    print(f"{experiment.name}: {len(trials)} trials ({already} already in {store.path}), backend {backend}, "
          f"{args.workers or default_workers()} workers", flush=True)
    start = time.perf_counter()
    records, failures = run_trials(trials, args.workers, args.backend, args.address, store, args.retries,
                                   args.progress)
    wall = time.perf_counter() - start
    print(experiment.summarize(records))
    print(f"\n{len(records) - already} trials run in {wall:.1f} s wall; {len(records)} of {len(trials)} done")
    if experiment.plot is not None and records:
        path = args.out or os.path.join(OUT_DIR, "sweeps", f"{experiment.name}.png")
        experiment.plot(records, path)
        print(f"figure saved to {path}")
    if args.json_out:
        from htmagent.experiments.report import write_json

        write_json({"records": records, "failures": [(t.key, why) for t, why in failures]}, args.json_out)
    for trial, why in failures:
        print(f"FAILED {trial.key}: {why}", file=sys.stderr)
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------------- tune
@dataclass
class TuneArgs(_RunArgs):
    """Search an experiment's declared parameters with Optuna (TPE), trials in parallel; resumable study."""

    budget: int = 40
    """trials of the search, the default parameters' included"""
    storage: str = ""
    """an Optuna storage URL (default sqlite:///htmagent_out/tune/<study>.db; any SQLAlchemy URL)"""
    study: str = ""
    """the study's name (default: the experiment's; an existing study is continued)"""
    sampler: str = "tpe"
    """tpe or random"""

    counts = ("budget",)

    def validate(self) -> None:
        super().validate()
        if _lookup(self.experiment).space is None:
            tunable = sorted(n for n, e in EXPERIMENTS.items() if e.space)
            raise ValueError(f"experiment must be a tunable one ({tunable}), got {self.experiment!r}")
        if self.sampler not in ("tpe", "random"):
            raise ValueError(f"sampler must be 'tpe' or 'random', got {self.sampler!r}")


def tune(args: TuneArgs) -> int:
    """Run the search to ``budget`` finished trials; print the best beside the default; importances; figure."""
    import optuna

    experiment = _lookup(args.experiment)
    name = args.study or experiment.name + ("-quick" if args.quick else "")
    storage = args.storage or "sqlite:///" + os.path.join(OUT_DIR, "tune", f"{name}.db")
    if storage.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(os.path.abspath(storage[len("sqlite:///"):])), exist_ok=True)
    sampler = (optuna.samplers.TPESampler(seed=args.seed) if args.sampler == "tpe"
               else optuna.samplers.RandomSampler(seed=args.seed))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, direction=experiment.direction,
                                load_if_exists=True)
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)  # left running by an interrupted search
    fixed = dict(experiment.defaults(args.quick))
    if experiment.needs_data:
        fixed["data"] = os.path.abspath(args.data)
    searched = experiment.space or {}
    if not study.trials:
        study.enqueue_trial({k: fixed[k] for k in searched if k in fixed}, user_attrs={"default": True})
    workers = args.workers or default_workers()
    finished = lambda: [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]  # noqa: E731
    print(f"{experiment.name}: study {name!r} in {storage}, {len(finished())} of {args.budget} trials done, "
          f"{workers} at a time, backend {pick_backend(args.backend, args.address)}", flush=True)
    ray_here = False
    if pick_backend(args.backend, args.address) == "ray":  # one Ray for the whole search, not one per batch
        import ray

        if not ray.is_initialized():
            ray.init(**(dict(address=args.address, log_to_driver=False) if args.address else dict(
                num_cpus=workers, include_dashboard=False, log_to_driver=False)))
            ray_here = True
    try:
        _search(study, experiment, fixed, searched, workers, args)
    finally:
        if ray_here:
            ray.shutdown()
    print(tune_report(study, experiment))
    path = args.out or os.path.join(OUT_DIR, "tune", f"{name}.png")
    plot_study(study, experiment, path)
    print(f"figure saved to {path}")
    if args.json_out:
        from htmagent.experiments.report import write_json

        write_json(study_summary(study, experiment), args.json_out)
    return 0


def _search(study: Any, experiment: Experiment, fixed: dict, searched: dict, workers: int, args: "TuneArgs") -> None:
    """Ask, run (``workers`` at a time) and tell until the study holds ``args.budget`` finished trials."""
    import optuna

    finished = lambda: [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]  # noqa: E731
    while len(finished()) < args.budget:
        batch = []
        for _ in range(min(workers, args.budget - len(finished()))):
            trial = study.ask()
            params = dict(fixed, **{k: p.suggest(trial, k) for k, p in searched.items()})
            batch.append((trial, Trial.make(experiment.name, params, args.seed)))
        records, failures = run_trials([t for _, t in batch], workers, args.backend, args.address,
                                       show_progress=False)
        by_key = {r["key"]: r for r in records}
        for trial, unit in batch:
            if unit.key in by_key:
                value = float(by_key[unit.key]["result"][experiment.objective])
                trial.set_user_attr("result", by_key[unit.key]["result"])
                study.tell(trial, value)
                print(f"  trial {trial.number}: {experiment.objective} = {value:.4g}", flush=True)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                print(f"  trial {trial.number} failed: {dict(failures).get(unit, '?')}", flush=True)


def _default_trial(study: Any) -> Any:
    from optuna.trial import TrialState

    for t in study.trials:
        if t.user_attrs.get("default") and t.state == TrialState.COMPLETE:
            return t
    return None


def study_summary(study: Any, experiment: Experiment) -> dict:
    """Best and default values and parameters, the importances, every trial's value."""
    from optuna.trial import TrialState

    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    default = _default_trial(study)
    importances: dict = {}
    if len(done) >= 4 and len(study.best_params) > 1:
        import optuna

        try:
            importances = optuna.importance.get_param_importances(study)
        except Exception as error:  # too few distinct values for the evaluator
            importances = {"unavailable": str(error)}
    return {"objective": experiment.objective, "direction": experiment.direction, "best_value": study.best_value,
            "best_params": study.best_params, "default_value": None if default is None else default.value,
            "default_params": None if default is None else default.params, "importances": importances,
            "values": [t.value for t in done], "trials": len(done)}


def tune_report(study: Any, experiment: Experiment) -> str:
    """The best parameters and score beside the default's, and the importances."""
    s = study_summary(study, experiment)
    lines = [f"\n{experiment.name}: {s['trials']} trials, objective {s['objective']} ({s['direction']})",
             f"best    {s['best_value']:.4g}  {json.dumps(s['best_params'])}"]
    if s["default_value"] is not None:
        better = (s["best_value"] > s["default_value"]) == (s["direction"] == "maximize") and \
            s["best_value"] != s["default_value"]
        lines.append(f"default {s['default_value']:.4g}  {json.dumps(s['default_params'])}")
        lines.append("the search beat the default" if better else "the search did not beat the default")
    if s["importances"]:
        lines.append("parameter importance: " + ", ".join(
            f"{k} {v:.2f}" if isinstance(v, float) else f"{k}: {v}" for k, v in s["importances"].items()))
    return "\n".join(lines)


def plot_study(study: Any, experiment: Experiment, path: str) -> None:
    """Objective per trial with the best so far, and the parameter importances."""
    from htmagent.experiments.report import pyplot, save_figure

    s = study_summary(study, experiment)
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    values = np.asarray(s["values"], dtype=float)
    ax1.plot(np.arange(1, values.size + 1), values, "o", ms=4, color="C0", label="trial")
    best = np.maximum.accumulate(values) if s["direction"] == "maximize" else np.minimum.accumulate(values)
    ax1.plot(np.arange(1, values.size + 1), best, "-", color="C1", label="best so far")
    if s["default_value"] is not None:
        ax1.axhline(s["default_value"], color="0.5", ls="--", lw=1, label="default parameters")
    ax1.set_xlabel("trial")
    ax1.set_ylabel(s["objective"])
    ax1.set_title(f"tune {experiment.name}")
    ax1.legend(fontsize=8)
    imp = {k: v for k, v in s["importances"].items() if isinstance(v, float)}
    if imp:
        ax2.barh(list(imp)[::-1], list(imp.values())[::-1], color="C2")
        ax2.set_title("parameter importance (fANOVA)")
    else:
        ax2.text(0.5, 0.5, "too few trials for importances", ha="center", va="center")
        ax2.set_axis_off()
    save_figure(fig, path)


# ---------------------------------------------------------------------------------------------------- benchmark
def bench_sweep(workers: int = 0, seed: int = 0, quick: bool = False) -> str:
    """Time one Fig 4A sweep run sequentially, in a process pool and on a local Ray with ``workers`` workers (0 =
    every core): F = 5 and 10, 10 to 50 objects, 2 seeds (20 trials; ``quick``: the test's 4). Returns the table,
    with the speed-up over the sequential run and whether every backend gave the same numbers."""
    workers = workers or default_workers()
    points = [{"pool": 5, "x": x} for x in (5, 10)] if quick else [
        {"pool": f, "x": x} for f in (5, 10) for x in (10, 20, 30, 40, 50)]
    trials = [Trial.make("fig4a", p, seed + t) for p in points for t in range(2)]
    _lookup("fig4a")
    backends = ["serial", "process"]
    try:
        import ray  # noqa: F401

        backends.append("ray")
    except ImportError:
        pass
    rows, reference = [], None
    for backend in backends:
        start = time.perf_counter()
        records, failures = run_trials(trials, 1 if backend == "serial" else workers, backend, show_progress=False)
        wall = time.perf_counter() - start
        results = {r["key"]: r["result"] for r in records}
        reference = results if reference is None else reference
        rows.append((backend, 1 if backend == "serial" else workers, wall, results == reference and not failures,
                     sum(r["wall_s"] for r in records)))
    base = rows[0][2]
    lines = [f"Fig 4A sweep: {len(trials)} trials ({len(points)} points x 2 seeds)",
             "| backend | workers | wall s | speed-up | same numbers as sequential | sum of trial times s |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {b} | {w} | {wall:.1f} | {base / wall:.2f}x | {'yes' if same else 'NO'} | {cpu:.1f} |"
              for b, w, wall, same, cpu in rows]
    lines.append("wall s includes starting the pool (Ray: starting a local Ray instance, about 5 s here)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- CLI
def register(subparsers: Any) -> None:
    """Add ``htmagent sweep`` and ``htmagent tune``."""
    add_experiment_parser(subparsers, "sweep", SweepArgs, sweep, description=SweepArgs.__doc__ + "\n\n" +
                          "Experiments: fig4a, fig4b, recognition, nab-dev, rl-cartpole, selftest (--list).")
    add_experiment_parser(subparsers, "tune", TuneArgs, tune)


def records_by_point(records: Iterable[dict]) -> dict[tuple, list[dict]]:
    """Records grouped by their parameters (the seeds of one point together), in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(sorted((k, v) for k, v in r["params"].items() if k != "data")), []).append(r)
    return groups

