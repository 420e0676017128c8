"""A small convolutional network, the deep-learning baseline of the hierarchy's digits experiment
(:mod:`htmagent.experiments.hierarchy_digits`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["SmallCNN"]


class SmallCNN:
    """Two 3 x 3 convolutions (16 and 32 channels), each followed by ReLU and 2 x 2 max-pooling, then a linear layer;
    trained full-batch by Adam on cross-entropy.

    Args:
        seed: seeds the initial weights (uniform, bound 1/sqrt(fan-in); biases in [-0.1, 0.1]) through a generator
            of its own, never torch's global one.
        image_side: side of the square, one-channel input images (a multiple of 4).
        classes: output classes.

    Example:
        >>> net = SmallCNN(seed=0)
        >>> net.fit(np.zeros((2, 8, 8), bool), np.array([0, 1]), epochs=1)
        >>> net.predict(np.zeros((1, 8, 8), bool)).shape
        (1,)
    """

    def __init__(self, seed: int, image_side: int = 8, classes: int = 10):
        if image_side % 4:
            raise ValueError(f"image_side must be a multiple of 4, got {image_side}")
        side = image_side // 4
        self.net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Linear(32 * side * side, classes))
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.net.parameters():
                bound = 1.0 / np.sqrt(p[0].numel()) if p.dim() > 1 else 0.1
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)

    @staticmethod
    def _x(images: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(images).astype(np.float32)).unsqueeze(1)

    def fit(self, images: np.ndarray, labels: np.ndarray, epochs: int = 150, lr: float = 0.01) -> None:
        """``epochs`` full-batch Adam steps on ``images`` ``(n, side, side)`` and int ``labels`` ``(n,)``."""
        x, y = self._x(images), torch.as_tensor(np.asarray(labels, dtype=np.int64))
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        for _ in range(epochs):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(self.net(x), y)
            loss.backward()
            opt.step()

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The predicted class of each image."""
        with torch.no_grad():
            return self.net(self._x(images)).argmax(1).numpy()
