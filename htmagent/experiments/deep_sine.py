"""DeepHTM on the seed's task: predict the next value of a sine wave, trained online (one optimiser step per value).

The structure is the seed's (the 2019 DeepHTM post): two ReLU encoder layers of 256, 256 columns with 5 winners, 5
cells per column, a ReLU decoder of 256 and one output. The table gives the mean squared error of the last 500
predictions at 1,000 / 4,000 / 10,000 steps, and steps per CPU-second on one core (torch limited to one thread), online
and batch-trained over windows (:meth:`DeepHTM.fit`); the figure shows the prediction against the target after each
of those points, and the error curve.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field

import numpy as np

from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import finish, pyplot, save_figure

__all__ = ["SineArgs", "main"]


@dataclass
class SineArgs(FigureArgs):
    """DeepHTM predicting a sine wave online (the seed's structure): error at 1k/4k/10k steps, speed, figure."""

    steps: int = 10_000
    """online training steps"""
    period: float = 25.0
    """period of the sine wave, in steps"""
    checkpoints: list[int] = field(default_factory=lambda: [1000, 4000, 10_000])
    """steps at which the error is reported and the prediction drawn"""
    optimizer: str = "adam"
    """'adam' or 'sgd' (the seed: plain backprop)"""
    lr: float = 1e-3
    """learning rate"""
    bptt: int = 2
    """steps of truncated backpropagation through time"""
    threads: int = 1
    """torch threads (1 = one CPU core, the seed's setting)"""

    counts = ("steps", "checkpoints", "bptt", "threads")

    def validate(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.quick:
            self.steps, self.checkpoints = 300, [100, 300]


def run(args: SineArgs) -> dict:
    """Train online; return the errors, speeds and the traces to draw."""
    import torch

    from htmagent.deep import DeepHTM

    torch.set_num_threads(args.threads)
    model = DeepHTM(1, optimizer=args.optimizer, lr=args.lr, bptt=args.bptt, seed=args.seed, device="cpu")
    xs = np.sin(np.arange(args.steps + 200) * 2 * math.pi / args.period)
    losses, traces = [], {}
    cpu = time.process_time()
    paused = 0.0
    for t in range(args.steps):
        losses.append(model.step([xs[t]], [xs[t + 1]]))
        if t + 1 in args.checkpoints:  # predict the next 100 values from a copy (not timed)
            start = time.process_time()
            buffer = io.BytesIO()
            model.save(buffer)
            buffer.seek(0)
            copy = DeepHTM.load(buffer, device="cpu")
            predictions = []
            for u in range(t + 1, t + 101):
                copy.step([xs[u]], learn=False)
                predictions.append(float(copy.prediction[0]))
            traces[t + 1] = {"prediction": predictions, "target": xs[t + 2:t + 102].tolist()}
            paused += time.process_time() - start
    online = args.steps / max(time.process_time() - cpu - paused, 1e-9)
    batch = DeepHTM(1, optimizer=args.optimizer, lr=args.lr, bptt=args.bptt, seed=args.seed, device="cpu")
    cpu = time.process_time()
    batch.fit(xs[:-1], xs[1:], epochs=1, batch_size=32, window=32)
    batched = (len(xs) - 1) // 32 * 32 / max(time.process_time() - cpu, 1e-9)
    errors = {p: float(np.mean(losses[max(p - 500, 0):p])) for p in args.checkpoints}
    return {"errors": errors, "online_steps_per_second": online, "batch_steps_per_second": batched,
            "losses": losses, "traces": traces}


def table(out: dict) -> str:
    """Errors at the checkpoints and the two speeds."""
    lines = ["| steps | MSE of the last 500 predictions |", "|---|---|"]
    lines += [f"| {p:,} | {e:.4f} |" for p, e in out["errors"].items()]
    lines += ["", f"online: {out['online_steps_per_second']:,.0f} steps per CPU-second (one optimiser step each); "
              f"batch-trained (32 windows of 32 steps a step): {out['batch_steps_per_second']:,.0f} steps per "
              "CPU-second"]
    return "\n".join(lines)


def plot(out: dict, path: str) -> None:
    """Prediction vs target after each checkpoint, and the error curve."""
    plt = pyplot()
    points = list(out["traces"])
    fig, axes = plt.subplots(1, len(points) + 1, figsize=(4 * (len(points) + 1), 3))
    for ax, point in zip(axes, points):
        trace = out["traces"][point]
        ax.plot(trace["target"], label="target (next value)", color="0.6", lw=2)
        ax.plot(trace["prediction"], label="DeepHTM", color="C0")
        ax.set_title(f"after {point:,} steps")
        ax.set_ylim(-1.4, 1.4)
        ax.set_xlabel("step")
    axes[0].legend(loc="lower left", fontsize=8)
    losses = np.asarray(out["losses"])
    window = max(len(losses) // 100, 1)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    axes[-1].semilogy(np.arange(smooth.size) + window, smooth)
    axes[-1].set_title("squared error (moving mean)")
    axes[-1].set_xlabel("step")
    save_figure(fig, path)


def main(args: SineArgs) -> int:
    """Run, print the table, save the figure (and the JSON)."""
    out = run(args)
    finish({k: v for k, v in out.items() if k != "losses"} | {"final_losses": out["losses"][-500:]}, table(out),
           lambda _, path: plot(out, path), args.figure_path("deep_sine.png"), args.json_out)
    return 0
