"""Predictive coding against backpropagation: gradient agreement, digits, DeepHTM sequences, and inside PPO.

Four experiments (a script each under ``scripts/``, results in ``docs/results_pc.md``):

- :func:`main_gradients`: on a random MLP, a small CNN, an RNN cell unrolled over 5 steps and the DeepHTM graph
  unrolled over 2 steps, the relative error and cosine similarity of predictive coding's weight updates against
  autograd's gradients, per layer, against inference iterations, for the fixed-prediction form at several value
  learning rates and for the standard form (with a small output nudge).
- :func:`main_digits`: ``sklearn.datasets.load_digits`` (1,797 8x8 images; a fixed 70/30 split), an MLP and a small
  CNN trained by backprop and by predictive coding (exact and approximate forms) with the same Adam optimiser, batch
  and epochs: test accuracy and wall time per epoch and per training step.
- :func:`main_sequences`: the DeepHTM on the seed's sine, trained online by backprop and by predictive coding: mean
  squared error at 1k/4k/10k steps and the error curves side by side.
- :func:`main_ppo`: PPO on CartPole-v1 (full observation) with a :class:`~htmagent.sb3.DeepHTMExtractor` trained by
  autograd and by predictive coding under PPO's loss: return against steps.

Torch is imported inside the functions (the experiments room is importable without it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import finish, pyplot, save_figure

__all__ = ["DigitsArgs", "GradientArgs", "PPOArgs", "SequenceArgs", "TRAINERS", "main_digits", "main_gradients",
           "main_ppo", "main_sequences"]

#: The trainers the experiments compare: name -> PredictiveCoding options (None: autograd).
TRAINERS: dict[str, dict | None] = {
    "bp": None,
    "pc": dict(iterations=1, value_lr=1.0, fixed_prediction=True),
    "pc-approx": dict(iterations=3, value_lr=0.5, fixed_prediction=True),
    "pc-standard": dict(iterations=20, value_lr=0.5, fixed_prediction=False, nudge=0.1),
}
_LABELS = {"bp": "backprop (autograd)", "pc": "PC, fixed prediction, 1 sweep (value lr 1)",
           "pc-approx": "PC, fixed prediction, 3 sweeps (value lr 0.5)",
           "pc-standard": "PC, standard form, 20 iterations (value lr 0.5, nudge 0.1)"}


def _check_trainers(names: list[str], allowed: tuple[str, ...] = tuple(TRAINERS)) -> None:
    bad = [n for n in names if n not in allowed]
    if not names or bad:
        raise ValueError(f"trainers must be some of {list(allowed)}, got {names}")


def _seeded(seed: int, build):
    """``build()`` inside :func:`htmagent.deep.seeded_weights`."""
    from htmagent.deep import seeded_weights

    with seeded_weights(seed):
        return build()


def _report(out: dict, table, plot, args: FigureArgs, png: str) -> int:
    finish(out, table(out), plot, args.figure_path(png), args.json_out)
    return 0


# ====================================================================== 1. gradient agreement
@dataclass
class GradientArgs(FigureArgs):
    """Predictive coding's weight updates against autograd's gradients, per layer, vs iterations and value lr."""

    iterations: list[int] = field(default_factory=lambda: [1, 2, 5, 10, 20, 50, 100, 200])
    """inference iterations to measure"""
    value_lrs: list[float] = field(default_factory=lambda: [1.0, 0.5, 0.2])
    """value learning rates of the fixed-prediction form"""
    standard_lrs: list[float] = field(default_factory=lambda: [0.5])
    """value learning rates of the standard form"""
    nudges: list[float] = field(default_factory=lambda: [0.01, 0.001])
    """output nudges of the standard form"""
    standard_dtypes: list[str] = field(default_factory=lambda: ["float32", "float64"])
    """precisions the standard form runs in (the whole graph cast to it; float64 lets the nudge go small)"""
    batch: int = 16
    """rows per batch"""

    counts = ("iterations", "batch")

    def validate(self) -> None:
        if any(not 0 < v <= 1 for v in self.value_lrs + self.standard_lrs) or not all(n > 0 for n in self.nudges):
            raise ValueError(f"value lrs must be in (0, 1] and nudges > 0, got {self.value_lrs}, {self.standard_lrs}, "
                             f"{self.nudges}")
        bad = [d for d in self.standard_dtypes if d not in ("float32", "float64")]
        if bad:
            raise ValueError(f"standard_dtypes must be float32 or float64, got {bad}")
        if self.quick:
            self.iterations, self.batch = [1, 5, 20], 4


def agreement_graphs(seed: int, batch: int, dtype: str = "float32") -> dict[str, tuple[Any, list, Any, str]]:
    """The four graphs of the agreement experiment: ``name -> (graph, inputs, target, loss)``, their weights, inputs
    and real-valued targets cast to ``dtype`` (the same numbers for either precision: built in float32, then cast)."""
    import torch
    from torch import nn

    from htmagent.deep import DeepHTM
    from htmagent.deep.pc import PCGraph

    g = torch.Generator().manual_seed(seed)
    graphs = {}
    mlp = _seeded(seed, lambda: nn.Sequential(nn.Linear(20, 64), nn.Tanh(), nn.Linear(64, 64), nn.ReLU(),
                                              nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 5)))
    graphs["MLP 20-64-64-64-5"] = (PCGraph.from_sequential(mlp), [torch.randn(batch, 20, generator=g)],
                                   torch.randn(batch, 5, generator=g), "mse")
    cnn = _seeded(seed, lambda: nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                              nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                              nn.Flatten(), nn.Linear(64, 10)))
    graphs["CNN 2 conv + pool"] = (PCGraph.from_sequential(cnn), [torch.randn(batch, 1, 8, 8, generator=g)],
                                   torch.randint(0, 10, (batch,), generator=g), "cross_entropy")
    cell, head = _seeded(seed, lambda: (nn.RNNCell(6, 32), nn.Linear(32, 3)))
    rnn = PCGraph([f"x{t}" for t in range(5)] + ["h"])
    h = "h"
    for t in range(5):
        h = rnn.add(f"h{t + 1}", cell, f"x{t}", h)
    rnn.add("y", head, h)
    graphs["RNN unrolled 5 steps"] = (rnn, [torch.randn(batch, 6, generator=g) for _ in range(5)]
                                      + [torch.zeros(batch, 32)], torch.randn(batch, 3, generator=g), "mse")
    deep = DeepHTM(1, hidden=64, columns=64, k=4, cells_per_column=4, context_rank=16, seed=seed, device="cpu")
    deep.train(False)  # the duty cycles stay put, so every form sees the same winners
    graphs["DeepHTM unrolled 2 steps"] = (deep.pc_graph(2), [torch.randn(batch, 1, generator=g),
                                                               torch.randn(batch, 1, generator=g),
                                                               torch.zeros(batch, deep.tm.num_cells)],
                                          torch.randn(batch, 1, generator=g), "mse")
    if dtype == "float64":
        for name, (graph, inputs, target, loss) in list(graphs.items()):
            for module in graph.modules():
                module.double()
            graphs[name] = (graph, [x.double() for x in inputs], target if loss == "cross_entropy" else
                            target.double(), loss)
    return graphs


def agreement(graph, inputs, target, loss: str, options: dict | None) -> list[tuple[str, float, float]]:
    """Per layer (node with weights): ``(node, relative error, cosine)`` of the predictive-coding update against
    autograd's gradient on the same forward pass."""
    import torch

    from htmagent.deep.pc import PredictiveCoding, _loss_function

    params = graph.parameters()
    values = dict(zip(graph.inputs, inputs))
    for name, (module, parents) in graph.nodes.items():
        values[name] = module(*(values[p] for p in parents))
    reference = torch.autograd.grad(_loss_function(loss)(values[graph.output], target), params)
    reference = {id(p): r for p, r in zip(params, reference)}
    for p in params:
        p.grad = None
    pc = PredictiveCoding(graph, loss=loss, **(options or {}))
    pc.backward(inputs, target)
    rows = []
    for name, (module, _) in graph.nodes.items():
        mine = [p for p in module.parameters() if p.requires_grad]
        if not mine:
            continue
        ours = torch.cat([p.grad.reshape(-1) for p in mine])
        theirs = torch.cat([reference[id(p)].reshape(-1) for p in mine])
        rel = float((ours - theirs).norm() / theirs.norm().clamp_min(1e-30))
        cos = float(torch.nn.functional.cosine_similarity(ours, theirs, dim=0))
        rows.append((name, rel, cos))
    for p in params:
        p.grad = None
    return rows


def run_gradients(args: GradientArgs) -> dict:
    """Worst layer's relative error and cosine per graph, form and number of iterations."""
    import torch

    torch.set_num_threads(1)
    forms = {f"fixed prediction, value lr {lr:g}": ("float32", dict(value_lr=lr, fixed_prediction=True))
             for lr in args.value_lrs}
    for dtype in args.standard_dtypes:
        for nudge in args.nudges:
            for lr in args.standard_lrs:
                forms[f"standard, value lr {lr:g}, nudge {nudge:g}, {dtype}"] = (
                    dtype, dict(value_lr=lr, fixed_prediction=False, nudge=nudge))
    built = {dtype: agreement_graphs(args.seed, args.batch, dtype) for dtype in {"float32"} | set(args.standard_dtypes)}
    out: dict = {"graphs": {}}
    for name, (graph, inputs, target, loss) in built["float32"].items():
        exact = agreement(graph, inputs, target, loss, dict(iterations=1, value_lr=1.0))
        curves = {}
        for form, (dtype, options) in forms.items():
            graph, inputs, target, loss = built[dtype][name]
            curve = []
            for n in args.iterations:
                rows = agreement(graph, inputs, target, loss, dict(options, iterations=n))
                curve.append({"iterations": n, "max_rel": max(r for _, r, _ in rows),
                              "min_cos": min(c for _, _, c in rows)})
            curves[form] = curve
        out["graphs"][name] = {"exact_layers": exact, "curves": curves}
    return out


def _first_below(curve: list[dict], threshold: float) -> str:
    hit = [c["iterations"] for c in curve if c["max_rel"] < threshold]
    return f"{hit[0]}" if hit else "not within " + str(curve[-1]["iterations"])


def gradients_table(out: dict) -> str:
    """One row per graph: the exact sweep's worst layer, and per form the iterations to a relative error < 1e-2."""
    graphs = out["graphs"]
    forms = list(next(iter(graphs.values()))["curves"])
    lines = ["| graph | layers | 1 sweep, value lr 1: max rel. error / min cosine | " +
             " | ".join(f"{f}: iterations to rel. error < 1e-2 (error at the last)" for f in forms) + " |",
             "|---|---|---|" + "---|" * len(forms)]
    for name, g in graphs.items():
        layers = g["exact_layers"]
        cells = [f"{_first_below(g['curves'][f], 1e-2)} ({g['curves'][f][-1]['max_rel']:.1e})" for f in forms]
        lines.append(f"| {name} | {len(layers)} | {max(r for _, r, _ in layers):.1e} / "
                     f"{min(c for _, _, c in layers):.7f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_gradients(out: dict, path: str) -> None:
    """Worst layer's relative error against iterations, one panel per graph."""
    plt = pyplot()
    graphs = out["graphs"]
    fig, axes = plt.subplots(1, len(graphs), figsize=(4.2 * len(graphs), 3.4), sharey=True)
    for ax, (name, g) in zip(np.atleast_1d(axes), graphs.items()):
        for form, curve in g["curves"].items():
            ax.loglog([c["iterations"] for c in curve], [max(c["max_rel"], 1e-9) for c in curve], marker="o",
                      ms=3, label=form)
        ax.axhline(1e-2, color="0.6", lw=1, ls="--")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("inference iterations")
    np.atleast_1d(axes)[0].set_ylabel("relative error vs autograd (worst layer)")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower left")
    save_figure(fig, path)


def main_gradients(args: GradientArgs) -> int:
    """Run, print the table, save the figure (and the JSON)."""
    return _report(run_gradients(args), gradients_table, plot_gradients, args, "pc_gradients.png")


# ====================================================================== 2. digits
@dataclass
class DigitsArgs(FigureArgs):
    """Handwritten digits: an MLP and a small CNN trained by backprop and by predictive coding, same optimiser."""

    epochs: int = 20
    """training epochs"""
    batch: int = 32
    """rows per optimiser step"""
    lr: float = 1e-3
    """Adam's learning rate"""
    seeds: int = 3
    """seeds per network and trainer (seed, seed + 1, ...)"""
    trainers: list[str] = field(default_factory=lambda: ["bp", "pc", "pc-approx", "pc-standard"])
    """trainers to compare (bp, pc, pc-approx, pc-standard)"""
    networks: list[str] = field(default_factory=lambda: ["mlp", "cnn"])
    """networks: mlp (64-256-256-10, ReLU), cnn (2 conv 3x3 + max-pool, linear read-out)"""
    threads: int = 1
    """torch threads"""

    counts = ("epochs", "batch", "seeds", "threads")

    def validate(self) -> None:
        _check_trainers(self.trainers)
        bad = [n for n in self.networks if n not in ("mlp", "cnn")]
        if not self.networks or bad:
            raise ValueError(f"networks must be some of ['mlp', 'cnn'], got {self.networks}")
        if self.quick:
            self.epochs, self.seeds = 1, 1


def digits_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``load_digits`` scaled to [0, 1], split 70/30 by a fixed permutation (``seed``)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.7 * len(x))
    return x[order[:cut]], data.target[order[:cut]], x[order[cut:]], data.target[order[cut:]]


def digits_network(kind: str, seed: int):
    """The digits MLP or CNN, seeded."""
    from torch import nn

    if kind == "mlp":
        return _seeded(seed, lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256),
                                                   nn.ReLU(), nn.Linear(256, 10)))
    return _seeded(seed, lambda: nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                               nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                               nn.Flatten(), nn.Linear(32 * 2 * 2, 10)))


def train_digits(kind: str, trainer: str, seed: int, args: DigitsArgs, data: tuple) -> dict:
    """One network trained by one trainer: test accuracy, seconds per epoch and per step."""
    import torch
    from torch import nn

    from htmagent.deep.pc import PredictiveCoding

    x_train, y_train, x_test, y_test = (torch.as_tensor(a) for a in data)
    x_train, x_test = x_train[:, None], x_test[:, None]
    model = digits_network(kind, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    pc = None if TRAINERS[trainer] is None else PredictiveCoding(model, loss="cross_entropy", **TRAINERS[trainer])
    rng = np.random.default_rng(seed)
    steps, wall = 0, 0.0
    for _ in range(args.epochs):
        order = torch.as_tensor(rng.permutation(len(x_train)))
        start = time.perf_counter()
        for b in range(0, len(order), args.batch):
            idx = order[b:b + args.batch]
            optimizer.zero_grad(set_to_none=True)
            if pc is None:
                nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            else:
                pc.backward(x_train[idx], y_train[idx])
            optimizer.step()
            steps += 1
        wall += time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
    return {"accuracy": accuracy, "seconds_per_epoch": wall / args.epochs, "ms_per_step": 1000 * wall / steps}


def run_digits(args: DigitsArgs) -> dict:
    """Every network x trainer x seed."""
    import torch

    torch.set_num_threads(args.threads)
    data = digits_split(0)
    runs: dict = {}
    for kind in args.networks:
        for trainer in args.trainers:
            runs[f"{kind}/{trainer}"] = [train_digits(kind, trainer, args.seed + s, args, data)
                                         for s in range(args.seeds)]
    return {"runs": runs, "train_size": len(data[0]), "test_size": len(data[2]), "epochs": args.epochs}


def digits_table(out: dict) -> str:
    """Accuracy (mean and range over seeds), time per epoch and per step, and the step-time ratio to backprop."""
    lines = ["| network | trainer | test accuracy (mean, min-max) | s per epoch | ms per step | step time / BP's |",
             "|---|---|---|---|---|---|"]
    for key, runs in out["runs"].items():
        kind, trainer = key.split("/")
        acc = [r["accuracy"] for r in runs]
        ms = float(np.mean([r["ms_per_step"] for r in runs]))
        bp = out["runs"].get(f"{kind}/bp")
        ratio = f"{ms / float(np.mean([r['ms_per_step'] for r in bp])):.2f}x" if bp else "-"
        lines.append(f"| {kind} | {_LABELS[trainer]} | {100 * np.mean(acc):.2f}% ({100 * min(acc):.1f}-"
                     f"{100 * max(acc):.1f}) | {np.mean([r['seconds_per_epoch'] for r in runs]):.3f} | {ms:.2f} | "
                     f"{ratio} |")
    return "\n".join(lines)


def plot_digits(out: dict, path: str) -> None:
    """Accuracy and step time per trainer, one group per network."""
    plt = pyplot()
    keys = list(out["runs"])
    kinds = sorted({k.split("/")[0] for k in keys}, key=lambda k: keys.index(next(x for x in keys if
                                                                                   x.startswith(k + "/"))))
    trainers = [t for t in TRAINERS if any(k.endswith("/" + t) for k in keys)]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    width = 0.8 / len(trainers)
    for i, t in enumerate(trainers):
        acc = [100 * np.mean([r["accuracy"] for r in out["runs"].get(f"{k}/{t}", [{"accuracy": np.nan}])])
               for k in kinds]
        ms = [np.mean([r["ms_per_step"] for r in out["runs"].get(f"{k}/{t}", [{"ms_per_step": np.nan}])])
              for k in kinds]
        pos = np.arange(len(kinds)) + i * width
        ax1.bar(pos, acc, width, label=_LABELS[t])
        ax2.bar(pos, ms, width)
    for ax, title in ((ax1, "test accuracy (%)"), (ax2, "ms per training step")):
        ax.set_xticks(np.arange(len(kinds)) + width * (len(trainers) - 1) / 2, [k.upper() for k in kinds])
        ax.set_title(title)
    ax1.set_ylim(80, 100)
    ax2.set_yscale("log")
    ax1.legend(fontsize=7, loc="lower right")
    save_figure(fig, path)


def main_digits(args: DigitsArgs) -> int:
    """Run, print the table, save the figure (and the JSON)."""
    return _report(run_digits(args), digits_table, plot_digits, args, "pc_digits.png")


# ====================================================================== 3. DeepHTM sequences
@dataclass
class SequenceArgs(FigureArgs):
    """The DeepHTM's sine trained online by backprop and by predictive coding: error at 1k/4k/10k, curves."""

    steps: int = 10_000
    """online training steps"""
    period: float = 25.0
    """period of the sine wave, in steps"""
    checkpoints: list[int] = field(default_factory=lambda: [1000, 4000, 10_000])
    """steps at which the error (mean of the last 500) is reported"""
    trainers: list[str] = field(default_factory=lambda: ["bp", "pc", "pc-approx"])
    """trainers (bp, pc, pc-approx, pc-standard)"""

    counts = ("steps", "checkpoints")

    def validate(self) -> None:
        _check_trainers(self.trainers)
        if self.quick:
            self.steps, self.checkpoints = 200, [100, 200]


def _deep_options(trainer: str) -> dict:
    options = TRAINERS[trainer]
    if options is None:
        return {}
    return dict(trainer="pc", pc_iterations=options["iterations"], pc_value_lr=options["value_lr"],
                pc_fixed_prediction=options["fixed_prediction"], pc_nudge=options.get("nudge", 1.0))


def run_sequences(args: SequenceArgs) -> dict:
    """Train one DeepHTM per trainer on the same stream (the same seed)."""
    import torch

    from htmagent.deep import DeepHTM

    torch.set_num_threads(1)
    xs = np.sin(np.arange(args.steps + 1) * 2 * math.pi / args.period)
    out: dict = {"runs": {}}
    for trainer in args.trainers:
        model = DeepHTM(1, seed=args.seed, device="cpu", **_deep_options(trainer))
        losses = []
        cpu = time.process_time()
        for t in range(args.steps):
            losses.append(model.step([xs[t]], [xs[t + 1]]))
        speed = args.steps / max(time.process_time() - cpu, 1e-9)
        out["runs"][trainer] = {"errors": {p: float(np.mean(losses[max(p - 500, 0):p])) for p in args.checkpoints},
                                "steps_per_second": speed, "losses": losses}
    return out


def sequences_table(out: dict) -> str:
    """MSE at the checkpoints and speed, per trainer."""
    points = list(next(iter(out["runs"].values()))["errors"])
    lines = ["| trainer | " + " | ".join(f"MSE at {p:,}" for p in points) + " | steps per CPU-second |",
             "|---|" + "---|" * (len(points) + 1)]
    for trainer, run in out["runs"].items():
        lines.append(f"| {_LABELS[trainer]} | " + " | ".join(f"{run['errors'][p]:.4f}" for p in points) +
                     f" | {run['steps_per_second']:,.0f} |")
    return "\n".join(lines)


def plot_sequences(out: dict, path: str) -> None:
    """The squared-error curves (moving mean), one line per trainer."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    styles = {"bp": dict(lw=3, color="0.7"), "pc": dict(lw=1.2, ls="--", color="C0"), "pc-approx": dict(color="C1"),
              "pc-standard": dict(color="C2")}
    for trainer, run in out["runs"].items():
        losses = np.asarray(run["losses"])
        window = max(len(losses) // 100, 1)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.semilogy(np.arange(smooth.size) + window, smooth, label=_LABELS[trainer], **styles.get(trainer, {}))
    ax.set_xlabel("online step")
    ax.set_ylabel("squared error (moving mean)")
    ax.set_title("DeepHTM on the sine, trained online")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def main_sequences(args: SequenceArgs) -> int:
    """Run, print the table, save the figure (and the JSON)."""
    return _report(run_sequences(args), sequences_table, plot_sequences, args, "pc_sequences.png")


# ====================================================================== 4. inside PPO
@dataclass
class PPOArgs(FigureArgs):
    """PPO on CartPole-v1 with a DeepHTM features extractor trained by autograd or by predictive coding."""

    timesteps: int = 50_000
    """environment steps per run"""
    seeds: int = 3
    """seeds per trainer (seed, seed + 1, ...)"""
    trainers: list[str] = field(default_factory=lambda: ["bp", "pc", "pc-approx"])
    """trainers of the extractor (bp, pc, pc-approx)"""
    n_envs: int = 4
    """environment copies"""

    counts = ("timesteps", "seeds", "n_envs")

    def validate(self) -> None:
        _check_trainers(self.trainers, ("bp", "pc", "pc-approx"))
        if self.quick:
            self.timesteps, self.seeds = 512, 1


def train_ppo(trainer: str, seed: int, args: PPOArgs) -> dict:
    """One PPO run: episode returns with the step at which each ended, and the wall time."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from htmagent.sb3 import DeepHTMExtractor

    torch.set_num_threads(1)
    options = TRAINERS[trainer]
    extractor = dict(seed=seed) if options is None else dict(
        seed=seed, trainer="pc", pc_iterations=options["iterations"], pc_value_lr=options["value_lr"])
    env = make_vec_env("CartPole-v1", n_envs=args.n_envs, seed=seed)
    # RL Zoo's CartPole-v1 PPO settings (n_steps 32 x 8 envs there; 4 copies here, n_steps 64).
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, seed=seed, device="cpu",
                policy_kwargs=dict(features_extractor_class=DeepHTMExtractor,
                                   features_extractor_kwargs=extractor))
    returns, ends = [], []
    start = time.perf_counter()
    from stable_baselines3.common.callbacks import BaseCallback

    class Record(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    returns.append(float(info["episode"]["r"]))
                    ends.append(int(self.num_timesteps))
            return True

    model.learn(args.timesteps, callback=Record())
    return {"trainer": trainer, "seed": seed, "returns": returns, "ends": ends,
            "wall_s": time.perf_counter() - start}


def run_ppo(args: PPOArgs) -> dict:
    """Every trainer x seed."""
    return {"runs": {t: [train_ppo(t, args.seed + s, args) for s in range(args.seeds)] for t in args.trainers},
            "timesteps": args.timesteps}


def _mean_return_at(run: dict, step: int, window: int = 20) -> float:
    done = [r for r, e in zip(run["returns"], run["ends"]) if e <= step][-window:]
    return float(np.mean(done)) if done else float("nan")


def ppo_table(out: dict) -> str:
    """Mean return of the last 20 episodes at quarters of the budget, and the wall time, per trainer."""
    total = out["timesteps"]
    points = [total // 4, total // 2, 3 * total // 4, total]
    lines = ["| extractor trained by | " + " | ".join(f"return at {p:,} (mean of seeds)" for p in points) +
             " | wall s per run |", "|---|" + "---|" * (len(points) + 1)]
    for trainer, runs in out["runs"].items():
        cells = [f"{np.nanmean([_mean_return_at(r, p) for r in runs]):.0f}" for p in points]
        lines.append(f"| {_LABELS[trainer]} | " + " | ".join(cells) +
                     f" | {np.mean([r['wall_s'] for r in runs]):.0f} |")
    return "\n".join(lines)


def plot_ppo(out: dict, path: str) -> None:
    """Mean return (last 20 episodes, mean over seeds) against steps."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    grid = np.linspace(out["timesteps"] / 40, out["timesteps"], 40)
    styles = {"bp": dict(lw=3, color="0.7"), "pc": dict(lw=1.2, ls="--", color="C0"), "pc-approx": dict(color="C1")}
    for trainer, runs in out["runs"].items():
        curve = [np.nanmean([_mean_return_at(r, s) for r in runs]) for s in grid]
        ax.plot(grid, curve, label=_LABELS[trainer], **styles.get(trainer, {}))
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return (last 20 episodes)")
    ax.set_title("PPO on CartPole-v1, DeepHTM extractor")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def main_ppo(args: PPOArgs) -> int:
    """Run, print the table, save the figure (and the JSON)."""
    return _report(run_ppo(args), ppo_table, plot_ppo, args, "pc_ppo.png")
