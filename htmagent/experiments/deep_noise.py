"""Sparse against dense networks on handwritten digits with noisy test images (after Ahmad & Scheinkman 2019).

The paper ("How Can We Be So Dense? The Benefits of Using Highly Sparse Representations") trains networks whose
layers have sparse weights and k-winner activations with boosting, and reports that they are as accurate as dense
networks on clean digits and much more robust when the test images are corrupted by random noise. Our protocol on
``sklearn.datasets.load_digits`` (1,797 8x8 images, the fixed 70/30 split of
:func:`htmagent.experiments.predictive_coding.digits_split`; nothing is downloaded):

- dense: ``64 -> 256 ReLU -> 256 ReLU -> 10``;
- sparse: the same widths, each hidden layer a :class:`~htmagent.deep.SparseWeights` layer (``weight_sparsity`` of
  its weights held at zero) followed by :class:`~htmagent.deep.KWinners` (``k`` of 256 units on, boosting);
- both trained on clean images only, with the same Adam optimiser, batch and epochs, several seeds;
- tested with a fraction ``eta`` of the pixels of every test image replaced by uniform random intensities, for
  ``eta`` = 0, 0.05, ... 0.5. The *noise score* is the sum of the accuracies over the noise levels (as the paper
  sums correct classifications over its noise levels).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import finish, pyplot, save_figure

__all__ = ["NoiseArgs", "main"]


@dataclass
class NoiseArgs(FigureArgs):
    """Sparse (k-winners + sparse weights) vs dense networks on digits with noisy test images."""

    epochs: int = 30
    """training epochs (clean images)"""
    seeds: int = 5
    """seeds per network (seed, seed + 1, ...)"""
    k: int = 64
    """winners of each sparse hidden layer (of 256)"""
    weight_sparsity: float = 0.5
    """fraction of each sparse layer's weights held at zero"""
    boost_strength: float = 1.5
    """k-winners boosting"""
    noise_levels: list[float] = field(default_factory=lambda: [round(0.05 * i, 2) for i in range(11)])
    """fractions of the pixels replaced by random intensities"""
    lr: float = 1e-3
    """Adam's learning rate"""
    batch: int = 32
    """rows per optimiser step"""

    counts = ("epochs", "seeds", "k", "batch")
    fractions = ("weight_sparsity", "noise_levels")

    def validate(self) -> None:
        if self.k > 256:
            raise ValueError(f"k must be <= 256 (the hidden width), got {self.k}")
        if self.weight_sparsity >= 1:
            raise ValueError(f"weight_sparsity must be < 1, got {self.weight_sparsity}")
        if self.quick:
            self.epochs, self.seeds, self.noise_levels = 2, 1, [0.0, 0.3]


def network(kind: str, seed: int, args: NoiseArgs):
    """The dense or the sparse MLP, seeded."""
    from torch import nn

    from htmagent.deep import KWinners, SparseWeights, seeded_weights

    with seeded_weights(seed):
        if kind == "dense":
            return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                 nn.Linear(256, 10))
        return nn.Sequential(nn.Flatten(), SparseWeights(64, 256, args.weight_sparsity),
                             KWinners(256, args.k, boost_strength=args.boost_strength),
                             SparseWeights(256, 256, args.weight_sparsity),
                             KWinners(256, args.k, boost_strength=args.boost_strength), nn.Linear(256, 10))


def noisy(images: np.ndarray, eta: float, rng: np.random.Generator) -> np.ndarray:
    """``images`` with a fraction ``eta`` of each image's pixels replaced by uniform random intensities in [0, 1]."""
    out = images.copy().reshape(len(images), -1)
    count = int(round(eta * out.shape[1]))
    for row in out:
        idx = rng.choice(out.shape[1], size=count, replace=False)
        row[idx] = rng.random(count)
    return out.reshape(images.shape)


def run_one(kind: str, seed: int, args: NoiseArgs, data: tuple) -> dict:
    """Train one network on clean images; its accuracy at every noise level (the same noisy sets for both)."""
    import torch
    from torch import nn

    x_train, y_train, x_test, y_test = data
    model = network(kind, seed, args)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    xt, yt = torch.as_tensor(x_train), torch.as_tensor(y_train)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(args.epochs):
        order = torch.as_tensor(rng.permutation(len(xt)))
        for b in range(0, len(order), args.batch):
            idx = order[b:b + args.batch]
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            optimizer.step()
    model.eval()
    accuracy = {}
    with torch.no_grad():
        for eta in args.noise_levels:
            images = noisy(x_test, eta, np.random.default_rng([seed, int(eta * 1000)]))
            accuracy[eta] = float((model(torch.as_tensor(images)).argmax(1).numpy() == y_test).mean())
    return {"kind": kind, "seed": seed, "accuracy": accuracy, "noise_score": float(sum(accuracy.values()))}


def run(args: NoiseArgs) -> dict:
    """Both networks, every seed."""
    import torch

    from htmagent.experiments.predictive_coding import digits_split

    torch.set_num_threads(1)
    data = digits_split(0)
    return {"runs": {kind: [run_one(kind, args.seed + s, args, data) for s in range(args.seeds)]
                     for kind in ("dense", "sparse")}, "noise_levels": args.noise_levels}


def table(out: dict) -> str:
    """Accuracy per noise level (mean over seeds) and the noise score (mean, min-max)."""
    levels = out["noise_levels"]
    lines = ["| network | " + " | ".join(f"noise {eta:g}" for eta in levels) + " | noise score (mean, min-max) |",
             "|---|" + "---|" * (len(levels) + 1)]
    for kind, runs in out["runs"].items():
        means = [100 * np.mean([r["accuracy"][eta] for r in runs]) for eta in levels]
        scores = [r["noise_score"] for r in runs]
        lines.append(f"| {kind} | " + " | ".join(f"{m:.1f}%" for m in means) +
                     f" | {np.mean(scores):.2f} ({min(scores):.2f}-{max(scores):.2f}) |")
    return "\n".join(lines)


def plot(out: dict, path: str) -> None:
    """Accuracy against the noise level, mean and every seed, per network."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    levels = out["noise_levels"]
    for kind, color in (("dense", "C3"), ("sparse", "C0")):
        runs = out["runs"][kind]
        curves = np.array([[100 * r["accuracy"][eta] for eta in levels] for r in runs])
        for c in curves:
            ax.plot(levels, c, color=color, alpha=0.25, lw=0.8)
        label = "sparse (k-winners + sparse weights)" if kind == "sparse" else "dense (ReLU)"
        ax.plot(levels, curves.mean(0), color=color, lw=2, marker="o", ms=3, label=f"{label}, {len(runs)} seeds")
    ax.set_xlabel("fraction of test pixels replaced by noise")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Digits: sparse vs dense networks under input noise")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(args: NoiseArgs) -> int:
    """Run, print the table, save the figure (and the JSON)."""
    out = run(args)
    finish(out, table(out), plot, args.figure_path("deep_noise.png"), args.json_out)
    return 0
