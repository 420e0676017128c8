"""DeepHTM on the seed's task: predict the next value of a sine wave, trained online (one optimiser step per value).

The structure is the seed's (the 2019 DeepHTM post): two ReLU encoder layers of 256, 256 columns with 5 winners, 5
cells per column, a ReLU decoder of 256 and one output, trained by plain backprop (SGD) as the seed was. The table
gives the mean squared error of the last 500 predictions at 1,000 / 4,000 / 10,000 steps, and steps per CPU-second on
one core (torch limited to one thread), online and batch-trained over windows (:meth:`DeepHTM.fit`); a second table
times the online step for both engines (``"torch"``: autograd; ``"numba"``: the hand-written kernel of
:mod:`htmagent.kernels.deep`) and both optimisers. The figure shows the prediction against the target after each of
those points, and the error curve.
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
    optimizer: str = "sgd"
    """'sgd' (the seed: plain backprop) or 'adam'"""
    lr: float = 1e-2
    """learning rate"""
    engine: str = "numba"
    """what runs the online steps: 'numba' (the hand-written kernel) or 'torch' (autograd)"""
    speed_steps: int = 2000
    """online steps timed per engine and optimiser in the speed table (0: no table)"""
    bptt: int = 2
    """steps of truncated backpropagation through time"""
    threads: int = 1
    """torch threads (1 = one CPU core, the seed's setting)"""

    counts = ("steps", "checkpoints", "bptt", "threads")

    def validate(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.engine not in ("numba", "torch"):
            raise ValueError(f"engine must be 'numba' or 'torch', got {self.engine!r}")
        if self.speed_steps < 0:
            raise ValueError(f"speed_steps must be >= 0, got {self.speed_steps}")
        if self.quick:
            self.steps, self.checkpoints, self.speed_steps = 300, [100, 300], min(self.speed_steps, 50)


def run(args: SineArgs) -> dict:
    """Train online; return the errors, speeds and the traces to draw."""
    import torch

    from htmagent.deep import DeepHTM

    torch.set_num_threads(args.threads)
    model = DeepHTM(1, optimizer=args.optimizer, lr=args.lr, bptt=args.bptt, seed=args.seed, device="cpu",
                    engine=args.engine)
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
            copy = DeepHTM.load(buffer)
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
            "losses": losses, "traces": traces, "speeds": speeds(args, xs) if args.speed_steps else {}}


def speeds(args: SineArgs, xs: np.ndarray) -> dict:
    """Online steps per CPU-second of each engine with each optimiser (after 100 untimed steps), on the sine."""
    from htmagent.deep import DeepHTM

    out = {}
    for engine in ("torch", "numba"):
        for optimizer, lr in (("sgd", 1e-2), ("adam", 1e-3)):
            model = DeepHTM(1, optimizer=optimizer, lr=lr, bptt=args.bptt, seed=args.seed, device="cpu",
                            engine=engine)
            for t in range(100):
                model.step([xs[t]], [xs[t + 1]])
            cpu = time.process_time()
            for t in range(args.speed_steps):
                u = t % (len(xs) - 1)
                model.step([xs[u]], [xs[u + 1]])
            out[f"{engine}/{optimizer}"] = args.speed_steps / max(time.process_time() - cpu, 1e-9)
    return out


def table(out: dict) -> str:
    """Errors at the checkpoints and the two speeds."""
    lines = ["| steps | MSE of the last 500 predictions |", "|---|---|"]
    lines += [f"| {p:,} | {e:.4f} |" for p, e in out["errors"].items()]
    lines += ["", f"online: {out['online_steps_per_second']:,.0f} steps per CPU-second (one optimiser step each); "
              f"batch-trained (32 windows of 32 steps a step): {out['batch_steps_per_second']:,.0f} steps per "
              "CPU-second"]
    if out.get("speeds"):
        lines += ["", "| online step, one core | SGD steps per CPU-second | Adam steps per CPU-second |", "|---|---|---|"]
        lines += [f"| engine={engine} | {out['speeds'][engine + '/sgd']:,.0f} | {out['speeds'][engine + '/adam']:,.0f} |"
                  for engine in ("torch", "numba")]
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
