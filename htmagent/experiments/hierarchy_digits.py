"""Hierarchy on images: handwritten digits, a two-level hierarchy against one flat pooler and a small CNN
(``htmagent hierarchy digits``).

Data: scikit-learn's 8 x 8 digits (1,797 images, shipped with the package), binarized (a pixel is on at 8 of 16 or
more), split in a seeded stratified way into a training pool and a test set.

- **hierarchy**: level-1 regions, each on a ``patch`` x ``patch`` patch of the image (every ``stride`` pixels;
  by default nine 4 x 4 patches overlapping by two pixels), and one level-2 region on their pooled codes; every image is shown once, for one step, learning online
  (one pass); the codes of the top region (and, concatenated, of the four below) are read out by the library's
  :class:`~htmagent.Predictor` (softmax regression, trained on the stored codes for ``readout_epochs`` epochs).
- **flat pooler**: one region over the whole image with as many columns as the hierarchy's two levels together,
  the same readout.
- **shared pooler + union pooling** (``models=["shared"]``): one pooler for every 4 x 4 patch, then the union of
  its codes over neighbourhoods of positions, the counterpart of convolution and max-pooling.
- **CNN**: :class:`htmagent.deep.cnn.SmallCNN`, two 3 x 3 convolutions with max-pooling and a linear layer (torch,
  the ``deep`` extra), trained by Adam for ``cnn_epochs`` full-batch epochs on the same training images.

Measured: test accuracy against the number of training examples per class (seeded draws from the pool), and the
accuracy of the models trained on every training image when a fraction of each test image's pixels is flipped.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from htmagent._progress import progress
from htmagent.experiments.args import FigureArgs
from htmagent.experiments.report import finish, pyplot, save_figure
from htmagent.hierarchy import Hierarchy, Region, RegionParams
from htmagent.predictor import Predictor
from htmagent.sdr import SDR

__all__ = ["DigitsArgs", "SaccadeArgs", "load_binary_digits", "flip_pixels", "run_digits", "digits_table",
           "plot_digits", "main_digits", "run_saccades", "saccades_table", "main_saccades"]

def patch_corners(patch: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of the level-1 patches (``patch`` x ``patch``, every ``stride`` pixels) on the 8 x 8 image."""
    starts = list(range(0, 8 - patch + 1, stride))
    if starts[-1] != 8 - patch:
        starts.append(8 - patch)
    return [(r, c) for r in starts for c in starts]


@dataclass
class DigitsArgs(FigureArgs):
    """Digits: a two-level hierarchy, a flat pooler and a CNN, by examples per class and under pixel noise."""

    counts = ("trials", "test_size", "readout_epochs", "cnn_epochs", "columns", "active_columns", "patch", "stride")
    fractions = ("alpha",)

    shots: list[int] = field(default_factory=lambda: [1, 5, 10, 50, 0])
    """training examples per class (0 = every training image)"""
    noise: list[float] = field(default_factory=lambda: [0.0, 0.05, 0.1, 0.2, 0.3, 0.4])
    """fractions of pixels flipped in the test images (models trained on every training image)"""
    trials: int = 3
    """seeds (each: its own split, draws and models)"""
    test_size: int = 500
    """test images"""
    columns: int = 256
    """minicolumns of each level-1 region and of the top region"""
    active_columns: int = 24
    """active minicolumns per region"""
    patch: int = 4
    """side of a level-1 region's patch (pixels)"""
    stride: int = 2
    """pixels between neighbouring patches (patches overlap when it is below ``patch``)"""
    readout_epochs: int = 30
    """epochs of the readout over the stored codes"""
    alpha: float = 0.05
    """the readout's learning rate"""
    cnn_epochs: int = 150
    """full-batch Adam epochs of the CNN"""
    models: list[str] = field(default_factory=lambda: ["hierarchy", "flat", "cnn"])
    """models to run: hierarchy, flat, shared (one pooler for every patch, union pooling), cnn"""

    def validate(self) -> None:
        for n in self.shots:
            if not isinstance(n, int) or n < 0:
                raise ValueError(f"shots must be ints >= 0, got {n!r}")
        for f in self.noise:
            if not 0.0 <= float(f) <= 1.0:
                raise ValueError(f"noise must be fractions in [0, 1], got {f!r}")
        for m in self.models:
            if m not in ("hierarchy", "flat", "shared", "cnn"):
                raise ValueError(f"models must be among hierarchy, flat, shared, cnn, got {m!r}")


def load_binary_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 scikit-learn digits as ``(images bool (n, 8, 8), labels int (n,))``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images >= 8.0, data.target.astype(np.int64)


def flip_pixels(images: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Flip ``round(fraction * 64)`` randomly chosen pixels of each image."""
    out = images.copy().reshape(len(images), -1)
    k = int(round(fraction * out.shape[1]))
    for row in out:
        idx = rng.choice(out.shape[1], k, replace=False)
        row[idx] = ~row[idx]
    return out.reshape(images.shape)


def _split(labels: np.ndarray, test_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    test = []
    per_class = test_size // 10
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        test.extend(rng.choice(idx, min(per_class, idx.size // 2), replace=False).tolist())
    test = np.array(sorted(test))
    train = np.setdiff1d(np.arange(labels.size), test)
    return train, test


def _draw(train: np.ndarray, labels: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    if shots == 0:
        return rng.permutation(train)
    picks = [rng.choice(train[labels[train] == c], shots, replace=False) for c in range(10)]
    return rng.permutation(np.concatenate(picks))


# ------------------------------------------------------------------------------------------------ HTM models
def make_digit_hierarchy(args: DigitsArgs, seed: int) -> Hierarchy:
    """One region per patch under one top region (no feedback: an image is shown for one step)."""
    n = len(patch_corners(args.patch, args.stride))
    low = RegionParams(input_dimensions=args.patch ** 2, column_dimensions=args.columns, cells_per_column=1,
                       active_columns=args.active_columns, potential_pct=0.8, pool_size=args.active_columns)
    top = RegionParams(input_dimensions=n * args.columns, column_dimensions=args.columns, cells_per_column=1,
                       active_columns=args.active_columns, potential_pct=0.5, pool_size=args.active_columns)
    return Hierarchy([[low] * n, [top]], feedback=False, seed=seed)


def make_flat_region(args: DigitsArgs, seed: int) -> Region:
    """One region over the whole image, as many columns as the hierarchy's regions together."""
    n = len(patch_corners(args.patch, args.stride)) + 1
    return Region(RegionParams(input_dimensions=64, column_dimensions=n * args.columns, cells_per_column=1,
                               active_columns=n * args.active_columns, potential_pct=0.8,
                               pool_size=n * args.active_columns), seed=seed)


def _patches(image: np.ndarray, patch: int, stride: int) -> list[SDR]:
    return [SDR(patch * patch, np.flatnonzero(image[r:r + patch, c:c + patch].reshape(-1)).astype(np.int32))
            for r, c in patch_corners(patch, stride)]


def _hierarchy_code(h: Hierarchy, image: np.ndarray, learn: bool, args: DigitsArgs) -> SDR:
    h.reset()
    h.step(_patches(image, args.patch, args.stride), learn=learn)
    top = h.top[0].active_columns.sparse
    low = h.active_columns(0).sparse
    n_low = sum(r.column_count for r in h.bottom)
    return SDR(n_low + h.top[0].column_count, np.concatenate([low, top + n_low]).astype(np.int32))


def _flat_code(region: Region, image: np.ndarray, learn: bool, args: DigitsArgs) -> SDR:
    region.reset()
    return region.step(SDR(64, np.flatnonzero(image.reshape(-1)).astype(np.int32)), learn=learn)


def _readout(codes: list[SDR], labels: np.ndarray, args: DigitsArgs, rng: np.random.Generator) -> Predictor:
    reader = Predictor(steps=[0], alpha=args.alpha, input_size=codes[0].size)
    k = 0
    for _ in range(args.readout_epochs):
        for i in rng.permutation(len(codes)):
            reader.learn(k, codes[i], int(labels[i]))
            k += 1
    return reader


def _accuracy(reader: Predictor, codes: list[SDR], labels: np.ndarray) -> float:
    return float(np.mean([int(np.argmax(reader.infer(c)[0])) == int(y) for c, y in zip(codes, labels)]))


class _HTMModel:
    """Train by one online pass (codes of the training images), read out, then code test images without learning."""

    def __init__(self, kind: str, args: DigitsArgs, seed: int):
        self.kind, self.args = kind, args
        self.model = make_digit_hierarchy(args, seed) if kind == "hierarchy" else make_flat_region(args, seed)
        self.rng = np.random.default_rng(seed + 17)

    def code(self, image: np.ndarray, learn: bool) -> SDR:
        return (_hierarchy_code if self.kind == "hierarchy" else _flat_code)(self.model, image, learn, self.args)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> None:
        for x in images:  # the one online pass
            self.code(x, learn=True)
        codes = [self.code(x, learn=False) for x in images]  # the readout sees the final codes
        self.reader = _readout(codes, labels, self.args, self.rng)

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        return _accuracy(self.reader, [self.code(x, learn=False) for x in images], labels)


class _SharedModel:
    """The HTM counterpart of convolution and max-pooling: one pooler shared by every 4 x 4 patch (stride 1, 25
    positions), then the union of its codes over each 3 x 3 neighbourhood of positions (four overlapping ones): a
    max over positions for every column, as a CNN's max-pooling takes one per feature map."""

    def __init__(self, args: DigitsArgs, seed: int):
        from htmagent.spatial_pooler import SpatialPooler

        self.args = args
        self.columns, self.active = 4 * args.columns, 16
        self.sp = SpatialPooler(16, self.columns, potential_radius=16, potential_pct=0.8, global_inhibition=True,
                                local_area_density=self.active / self.columns, boost_strength=0.0,
                                wrap_around=False, seed=seed)
        self.rng = np.random.default_rng(seed + 17)

    def code(self, image: np.ndarray, learn: bool) -> SDR:
        maps = np.zeros((5, 5, self.columns), dtype=bool)
        for r in range(5):
            for c in range(5):
                bits = np.flatnonzero(image[r:r + 4, c:c + 4].reshape(-1)).astype(np.int32)
                maps[r, c, self.sp.compute(SDR(16, bits), learn=learn).sparse] = True
        pooled = np.concatenate([maps[r:r + 3, c:c + 3].any(axis=(0, 1)) for r in (0, 2) for c in (0, 2)])
        return SDR(pooled.size, np.flatnonzero(pooled).astype(np.int32))

    fit = _HTMModel.fit
    score = _HTMModel.score


class _CNNModel:
    """:class:`htmagent.deep.cnn.SmallCNN` (the torch room) behind the same fit / score as the HTM models."""

    def __init__(self, args: DigitsArgs, seed: int):
        import torch

        from htmagent.deep.cnn import SmallCNN

        torch.set_num_threads(1)
        self.args, self.cnn = args, SmallCNN(seed)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.cnn.fit(images, labels, epochs=self.args.cnn_epochs)

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.cnn.predict(images) == labels))


def _make(kind: str, args: DigitsArgs, seed: int):
    if kind == "shared":
        return _SharedModel(args, seed)
    return _CNNModel(args, seed) if kind == "cnn" else _HTMModel(kind, args, seed)


def run_digits(args: DigitsArgs) -> dict:
    """Accuracy by examples per class and under noise, for every model and seed (see the module docstring)."""
    images, labels = load_binary_digits()
    trials = 1 if args.quick else args.trials
    shots = [1, 10] if args.quick else args.shots
    noise = [0.0, 0.2] if args.quick else args.noise
    test_size = 100 if args.quick else args.test_size
    by_shots = {m: {n: [] for n in shots} for m in args.models}
    by_noise = {m: {f: [] for f in noise} for m in args.models}
    seconds = {m: [] for m in args.models}
    for t in progress(range(trials), "seeds", enabled=args.progress):
        seed = args.seed + t
        rng = np.random.default_rng(seed)
        train, test = _split(labels, test_size, rng)
        noisy = {f: flip_pixels(images[test], f, np.random.default_rng(seed * 1000 + int(f * 100))) for f in noise}
        for n in shots:
            chosen = _draw(train, labels, n, np.random.default_rng(seed * 100 + n))
            for kind in args.models:
                model = _make(kind, args, seed)
                start = time.process_time()
                model.fit(images[chosen], labels[chosen])
                seconds[kind].append((time.process_time() - start) / max(len(chosen), 1))
                by_shots[kind][n].append(model.score(images[test], labels[test]))
                if n == shots[-1]:
                    for f in noise:
                        by_noise[kind][f].append(model.score(noisy[f], labels[test]))
    return {"args": dataclasses.asdict(args), "shots": shots, "noise": noise,
            "by_shots": {m: {str(n): v for n, v in d.items()} for m, d in by_shots.items()},
            "by_noise": {m: {str(f): v for f, v in d.items()} for m, d in by_noise.items()},
            "fit_seconds_per_image": {m: float(np.mean(v)) for m, v in seconds.items()}}


def digits_table(result: dict) -> str:
    """Two markdown tables: accuracy by examples per class, and under pixel noise (mean ± std over seeds)."""
    models = list(result["by_shots"])

    def cell(values: list[float]) -> str:
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"

    names = {n: ("all" if n == 0 else str(n)) for n in result["shots"]}
    lines = ["| examples per class | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for n in result["shots"]:
        lines.append(f"| {names[n]} | " + " | ".join(cell(result["by_shots"][m][str(n)]) for m in models) + " |")
    last = names[result["shots"][-1]]
    lines += ["", f"| pixels flipped (trained on {last} per class) | " + " | ".join(models) + " |",
              "|---" * (len(models) + 1) + "|"]
    for f in result["noise"]:
        lines.append(f"| {f:.0%} | " + " | ".join(cell(result["by_noise"][m][str(f)]) for m in models) + " |")
    return "\n".join(lines)


_LABELS = {"hierarchy": "HTM hierarchy (2 levels)", "flat": "one flat pooler",
           "shared": "shared pooler + union pooling", "cnn": "CNN (2 conv + max-pool)"}


def plot_digits(result: dict, path: str) -> None:
    """Accuracy vs examples per class, and vs the fraction of pixels flipped."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    shots = result["shots"]
    xs = [n if n else max(s for s in shots if s) * 4 for n in shots]
    for m, values in result["by_shots"].items():
        means = [np.mean(values[str(n)]) for n in shots]
        stds = [np.std(values[str(n)]) for n in shots]
        axes[0].errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=_LABELS.get(m, m))
    axes[0].set_xscale("log")
    axes[0].set_xticks(xs, [str(n) if n else "all" for n in shots])
    axes[0].set_xlabel("training examples per class")
    axes[0].set_ylabel("test accuracy")
    axes[0].set_title("8 x 8 digits, binarized", fontsize=9)
    axes[0].legend(fontsize=8)
    noise = result["noise"]
    for m, values in result["by_noise"].items():
        axes[1].errorbar([100 * f for f in noise], [np.mean(values[str(f)]) for f in noise],
                         yerr=[np.std(values[str(f)]) for f in noise], marker="o", capsize=3, label=_LABELS.get(m, m))
    axes[1].set_xlabel("pixels flipped in the test images (%)")
    axes[1].set_ylabel("test accuracy")
    axes[1].set_title("trained on every training image", fontsize=9)
    axes[1].axhline(0.1, color="gray", lw=0.8, ls=":")
    save_figure(fig, path)


def main_digits(args: DigitsArgs) -> int:
    """Run, print and plot the digits comparison."""
    out = run_digits(args)
    finish(out, digits_table(out), plot_digits, args.figure_path("hierarchy_digits.png"), args.json_out)
    return 0


# ------------------------------------------------------------------------------------------- the saccade version
@dataclass
class SaccadeArgs(FigureArgs):
    """Digits by saccades: a sensor sees one 4 x 4 patch at a time; the hierarchy pools the glimpses over time."""

    counts = ("trials", "test_size", "readout_epochs", "columns", "active_columns", "location_bits")
    fractions = ("alpha",)

    saccades: list[int] = field(default_factory=lambda: [1, 2, 3, 5, 9])
    """glimpses per image (at distinct random patch positions)"""
    shots: int = 0
    """training examples per class (0 = every training image)"""
    trials: int = 3
    """seeds"""
    test_size: int = 500
    """test images"""
    columns: int = 512
    """minicolumns of the lower region (the upper region has half)"""
    active_columns: int = 24
    """active minicolumns per region and glimpse"""
    location_bits: int = 8
    """bits of the patch position's code (one block per position) in the lower region's input"""
    readout_epochs: int = 30
    """epochs of the readout over the stored codes"""
    alpha: float = 0.05
    """the readout's learning rate"""


def make_saccade_hierarchy(args: SaccadeArgs, seed: int) -> Hierarchy:
    """A lower region on (patch, where it is) and an upper region on the lower region's pooled code, which
    accumulates every glimpse of the image (an unordered sequence: every glimpse counts the same)."""
    n_pos = len(patch_corners(4, 2))
    low = RegionParams(input_dimensions=16 + n_pos * args.location_bits, column_dimensions=args.columns,
                       cells_per_column=1, active_columns=args.active_columns, potential_pct=0.8, pool_decay=0.999,
                       burst_weight=1.0, pool_size=min(args.columns, n_pos * args.active_columns))
    top = RegionParams(input_dimensions=args.columns, column_dimensions=args.columns // 2, cells_per_column=1,
                       active_columns=args.active_columns, potential_pct=0.5, pool_size=args.active_columns)
    return Hierarchy([[low], [top]], feedback=False, seed=seed)


def _glimpses(h: Hierarchy, image: np.ndarray, order: np.ndarray, learn: bool, args: SaccadeArgs) -> SDR:
    """Look at the patches in ``order``; return the code read out (the lower pooled code and the top columns)."""
    corners = patch_corners(4, 2)
    h.reset()
    for k in order:
        r, c = corners[int(k)]
        bits = np.flatnonzero(image[r:r + 4, c:c + 4].reshape(-1))
        where = 16 + int(k) * args.location_bits + np.arange(args.location_bits)
        h.step(SDR(16 + len(corners) * args.location_bits, np.concatenate([bits, where]).astype(np.int32)),
               learn=learn)
    low, top = h.bottom[0].pooled.sparse, h.top[0].active_columns.sparse
    n = h.bottom[0].column_count
    return SDR(n + h.top[0].column_count, np.concatenate([low, top + n]).astype(np.int32))


def run_saccades(args: SaccadeArgs) -> dict:
    """Accuracy against the number of glimpses per image (a model trained and tested with that many)."""
    images, labels = load_binary_digits()
    trials = 1 if args.quick else args.trials
    saccades = [1, 5] if args.quick else args.saccades
    test_size = 100 if args.quick else args.test_size
    n_pos = len(patch_corners(4, 2))
    accuracy: dict = {str(k): [] for k in saccades}
    for t in progress(range(trials), "seeds", enabled=args.progress):
        seed = args.seed + t
        rng = np.random.default_rng(seed)
        train, test = _split(labels, test_size, rng)
        shots = 20 if args.quick and args.shots == 0 else args.shots
        chosen = _draw(train, labels, shots, np.random.default_rng(seed * 100 + shots))
        for k in saccades:
            order_rng = np.random.default_rng(seed * 7 + k)
            orders = {int(i): order_rng.permutation(n_pos)[:k] for i in np.concatenate([chosen, test])}
            h = make_saccade_hierarchy(args, seed)
            for i in chosen:  # the one online pass
                _glimpses(h, images[i], orders[int(i)], True, args)
            codes = [_glimpses(h, images[i], orders[int(i)], False, args) for i in chosen]
            reader = _readout(codes, labels[chosen], args, np.random.default_rng(seed + 17))
            accuracy[str(k)].append(_accuracy(reader, [_glimpses(h, images[i], orders[int(i)], False, args)
                                                       for i in test], labels[test]))
    return {"args": dataclasses.asdict(args), "saccades": saccades, "accuracy": accuracy}


def saccades_table(result: dict) -> str:
    """Accuracy by glimpses per image (mean ± std over seeds)."""
    lines = ["| glimpses per image | accuracy |", "|---|---|"]
    for k in result["saccades"]:
        v = result["accuracy"][str(k)]
        lines.append(f"| {k} | {np.mean(v):.3f} ± {np.std(v):.3f} |")
    return "\n".join(lines)


def main_saccades(args: SaccadeArgs) -> int:
    """Run and print the saccade version."""
    out = run_saccades(args)
    finish(out, saccades_table(out), None, "", args.json_out)
    return 0
