"""Differentiable HTM layers in PyTorch: k-winners, fixed-sparse weights, a spatial pooler and a temporal memory.

- :class:`KWinners`: exactly ``k`` units stay on (over the whole layer or in each of ``groups`` local groups); the
  winners are chosen on *boosted* activity (``exp(boost_strength * (target density - duty cycle))``, the duty cycle
  a running mean of each unit's wins while training) and pass their unboosted value, so the gradient flows through
  the winners only (Ahmad & Scheinkman 2019's k-WTA with boosting).
- :class:`SparseWeights`: a linear layer with a fixed random fraction of its weights held at zero (the mask is part
  of the state, so a saved model keeps the same zeros).
- :class:`DiffSpatialPooler`: (sparse) linear input + k-winner columns.
- :class:`DiffTemporalMemory`: ``cells_per_column`` cells per column. In each winning column one cell fires, the one
  whose learned score from the previous step's cell code is highest, so one input in two contexts gives two cell
  codes, as in the binary temporal memory. The choice is hard (a one-hot per column, exact sparsity); its gradient
  reaches the context weights through the softmax of the scores (a straight-through estimator).
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

import torch
from torch import nn

from htmagent._validation import check_int, check_real

__all__ = ["DiffSpatialPooler", "DiffTemporalMemory", "KWinners", "SparseWeights", "k_winners", "seeded_weights"]


class _MaskTape:
    """The selection masks of one predictive-coding node's forward call, in call order, replayed on its later
    calls (so k-winners and cell choices stay fixed during inference, as ReLU's derivative does)."""

    def __init__(self) -> None:
        self.masks: list[torch.Tensor] = []
        self.replay = False
        self.position = 0

    def take(self, compute) -> torch.Tensor:
        """On the forward pass: compute the mask and record it; on a replay: the next recorded mask."""
        if not self.replay:
            mask = compute()
            self.masks.append(mask)
            return mask
        if self.position >= len(self.masks):
            raise RuntimeError("a node selected more units on a replay than on its forward pass")
        mask = self.masks[self.position]
        self.position += 1
        return mask


@contextlib.contextmanager
def seeded_weights(seed: int) -> Iterator[None]:
    """Build modules inside this block with torch's global generator seeded by ``seed``; the generator is left as
    it was afterwards (no global RNG state changes)."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


_TAPE: contextvars.ContextVar[_MaskTape | None] = contextvars.ContextVar("htmagent_pc_tape", default=None)


def k_winners(x: torch.Tensor, k: int, boost: torch.Tensor | None = None, groups: int = 1) -> torch.Tensor:
    """The 0/1 mask of the ``k`` largest (boosted) units of each row, per group of ``x.shape[-1] // groups``."""
    scores = x if boost is None else x * boost
    shape = scores.shape
    grouped = scores.reshape(*shape[:-1], groups, shape[-1] // groups)
    index = grouped.topk(k, dim=-1).indices
    mask = torch.zeros_like(grouped).scatter_(-1, index, 1.0)
    return mask.reshape(shape)


class KWinners(nn.Module):
    """k-winners-take-all with duty-cycle boosting (see the module docstring).

    Args:
        units: layer width.
        k: winners per group.
        groups: local groups of equal size (``units % groups == 0``); 1 = global.
        boost_strength: 0 = no boosting; larger values push rarely winning units harder.
        duty_cycle_period: averaging window of the duty cycles, in training rows.
    """

    def __init__(self, units: int, k: int, groups: int = 1, boost_strength: float = 1.0,
                 duty_cycle_period: int = 1000):
        super().__init__()
        for name, value in (("units", units), ("k", k), ("groups", groups), ("duty_cycle_period", duty_cycle_period)):
            check_int(value, name, 1)
        if units % groups:
            raise ValueError(f"units ({units}) must be a multiple of groups, got groups={groups}")
        if k > units // groups:
            raise ValueError(f"k must be <= units per group ({units // groups}), got {k}")
        check_real(boost_strength, "boost_strength", 0.0)
        self.units, self.k, self.groups = units, k, groups
        self.boost_strength = float(boost_strength)
        self.duty_cycle_period = duty_cycle_period
        self.register_buffer("duty_cycle", torch.zeros(units))
        self.register_buffer("learning_iterations", torch.zeros((), dtype=torch.long))

    @property
    def density(self) -> float:
        """Target fraction of winners: ``k / (units / groups)``."""
        return self.k * self.groups / self.units

    def boost(self) -> torch.Tensor:
        """Each unit's boost factor now."""
        return torch.exp(self.boost_strength * (self.density - self.duty_cycle))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with all but the winners set to 0; in training mode the duty cycles learn from the winners."""
        if x.shape[-1] != self.units:
            raise ValueError(f"x must have {self.units} units in its last dimension, got shape {tuple(x.shape)}")
        tape = _TAPE.get()
        if tape is not None and tape.replay:  # predictive-coding inference: the winners of the forward pass
            return x * tape.take(None)
        with torch.no_grad():
            mask = k_winners(x.detach(), self.k, self.boost() if self.boost_strength else None, self.groups)
            if tape is not None:
                tape.take(lambda: mask)
            if self.training:
                rows = mask.reshape(-1, self.units)
                self.learning_iterations += rows.shape[0]
                period = min(self.duty_cycle_period, int(self.learning_iterations))
                self.duty_cycle.mul_(period - rows.shape[0]).add_(rows.sum(0)).div_(period)
        return x * mask


class SparseWeights(nn.Linear):
    """A linear layer whose weights keep a fixed random fraction ``sparsity`` at zero.

    The zeros are applied in :meth:`forward` (so an optimiser step cannot revive them) and written into the weights
    once; the mask is a buffer, saved with the model.
    """

    def __init__(self, in_features: int, out_features: int, sparsity: float = 0.5, bias: bool = True,
                 generator: torch.Generator | None = None):
        super().__init__(in_features, out_features, bias=bias)
        check_real(sparsity, "sparsity", 0.0, 1.0, high_open=True)
        self.sparsity = float(sparsity)
        keep = torch.rand(out_features, in_features, generator=generator) >= sparsity
        self.register_buffer("mask", keep.to(self.weight.dtype))
        with torch.no_grad():
            self.weight.mul_(self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class DiffSpatialPooler(nn.Module):
    """Linear input (dense, or :class:`SparseWeights` with ``weight_sparsity`` > 0) followed by k-winner columns."""

    def __init__(self, input_size: int, columns: int, k: int, boost_strength: float = 1.0,
                 weight_sparsity: float = 0.0, duty_cycle_period: int = 1000):
        super().__init__()
        self.proximal = (SparseWeights(input_size, columns, weight_sparsity) if weight_sparsity > 0
                         else nn.Linear(input_size, columns))
        self.kwinners = KWinners(columns, k, boost_strength=boost_strength, duty_cycle_period=duty_cycle_period)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Column activity: exactly ``k`` non-negative winners per row (ReLU before the competition)."""
        return self.kwinners(torch.relu(self.proximal(x)) + 1e-6)


class DiffTemporalMemory(nn.Module):
    """Cells per column chosen by learned context (see the module docstring).

    Args:
        columns: columns of the spatial pooler below.
        cells_per_column: cells in each column.
        context_rank: width of the context's bottleneck (previous cells -> ``context_rank`` -> cell scores);
            ``None``: a full cells x cells matrix (``(columns * cells_per_column) ** 2`` weights, slow to train).
    """

    def __init__(self, columns: int, cells_per_column: int, context_rank: int | None = 64):
        super().__init__()
        check_int(columns, "columns", 1)
        check_int(cells_per_column, "cells_per_column", 1)
        if context_rank is not None:
            check_int(context_rank, "context_rank", 1)
        self.columns, self.cells_per_column = columns, cells_per_column
        n = columns * cells_per_column
        self.context = nn.Linear(n, n) if context_rank is None else nn.Sequential(
            nn.Linear(n, context_rank, bias=False), nn.Linear(context_rank, n))

    @property
    def num_cells(self) -> int:
        """``columns * cells_per_column``."""
        return self.columns * self.cells_per_column

    def forward(self, column_activity: torch.Tensor, previous_cells: torch.Tensor) -> torch.Tensor:
        """Cell activity ``(..., columns * cells_per_column)``: in each active column, its value on the one cell
        the context chose (exactly one cell per active column)."""
        scores = self.context(previous_cells).reshape(*column_activity.shape, self.cells_per_column)
        soft = torch.softmax(scores, dim=-1)
        tape = _TAPE.get()  # in predictive-coding inference the cells chosen on the forward pass stay chosen

        def choose() -> torch.Tensor:
            return torch.zeros_like(soft).scatter_(-1, scores.detach().argmax(dim=-1, keepdim=True), 1.0)

        hard = choose() if tape is None else tape.take(choose)
        choice = hard + soft - soft.detach()  # forward: one-hot; backward: the softmax's gradient
        cells = column_activity.unsqueeze(-1) * choice
        return cells.reshape(*column_activity.shape[:-1], self.num_cells)
