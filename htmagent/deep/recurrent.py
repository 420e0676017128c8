"""DeepHTM as a recurrent layer with ``torch.nn.LSTM``'s interface, so that a recurrent RL policy can use it.

:class:`RecurrentDeepHTM` runs encoder -> k-winner columns -> cells chosen by learned context over a sequence, like
:class:`~htmagent.deep.model.DeepHTM` without its decoder: the recurrent state is the previous step's cell activity,
and the output at each step is the cell activity itself (exactly ``k`` non-zero cells, one per winning column), which
the policy's heads read. It takes and returns ``(h, c)`` state pairs shaped ``(1, batch, hidden_size)`` as an LSTM
does; ``h`` is the cell activity and ``c`` is carried unchanged (an LSTM's cell state has no counterpart here), so
sb3-contrib's ``RecurrentPPO`` can hold, reset and store it as it does an LSTM's (see
:class:`htmagent.sb3.DeepHTMRecurrentPolicy`).
"""

from __future__ import annotations

import torch
from torch import nn

from htmagent._validation import check_int
from htmagent.deep.layers import DiffSpatialPooler, DiffTemporalMemory

__all__ = ["RecurrentDeepHTM"]


class RecurrentDeepHTM(nn.Module):
    """Encoder, k-winner columns and context-chosen cells, unrolled over a sequence (an LSTM's interface).

    Args:
        input_size: features per step.
        columns: columns of the pooler.
        k: winning columns per step.
        cells_per_column: cells per column; ``hidden_size = columns * cells_per_column``.
        context_rank: width of the temporal memory's context bottleneck (``None``: a full cells x cells matrix).
        hidden: width of the ReLU encoder layer before the pooler (0: the pooler reads the input directly).
        boost_strength: k-winners boosting from duty cycles (0: off).

    Example:
        >>> layer = RecurrentDeepHTM(4, columns=32, k=4, cells_per_column=4)
        >>> out, (h, c) = layer(torch.zeros(10, 3, 4), (torch.zeros(1, 3, 128), torch.zeros(1, 3, 128)))
        >>> out.shape, int((out[-1] != 0).sum(-1)[0])
        (torch.Size([10, 3, 128]), 4)
    """

    def __init__(self, input_size: int, columns: int = 64, k: int = 4, cells_per_column: int = 4,
                 context_rank: int | None = 32, hidden: int = 64, boost_strength: float = 1.0):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", 1)
        self.columns = check_int(columns, "columns", 1)
        self.k = check_int(k, "k", 1)
        if self.k > self.columns:
            raise ValueError(f"k must be <= columns ({self.columns}), got {k}")
        self.cells_per_column = check_int(cells_per_column, "cells_per_column", 1)
        self.hidden = check_int(hidden, "hidden", 0)
        self.num_layers = 1
        self.hidden_size = self.columns * self.cells_per_column
        self.encoder = nn.Sequential(nn.Linear(self.input_size, self.hidden), nn.ReLU()) if self.hidden else None
        self.sp = DiffSpatialPooler(self.hidden or self.input_size, self.columns, self.k,
                                    boost_strength=boost_strength)
        self.tm = DiffTemporalMemory(self.columns, self.cells_per_column, context_rank)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run ``x`` ``(time, batch, input_size)`` from ``state`` = ``(h, c)``, each ``(1, batch, hidden_size)``
        (``None``: no context). Returns the cell activity at every step ``(time, batch, hidden_size)`` and the
        final ``(h, c)``."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x must be (time, batch, {self.input_size}), got shape {tuple(x.shape)}")
        batch = x.shape[1]
        if state is None:
            zeros = x.new_zeros(1, batch, self.hidden_size)
            state = (zeros, zeros)
        h, c = state
        if h.shape != (1, batch, self.hidden_size) or c.shape != h.shape:
            raise ValueError(f"state must be two tensors of shape (1, {batch}, {self.hidden_size}), got "
                             f"{tuple(h.shape)} and {tuple(c.shape)}")
        cells = h[0]
        outputs = []
        for t in range(x.shape[0]):
            features = x[t] if self.encoder is None else self.encoder(x[t])
            cells = self.tm(self.sp(features), cells)
            outputs.append(cells)
        return torch.stack(outputs), (cells.unsqueeze(0), c)
