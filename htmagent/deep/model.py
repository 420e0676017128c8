"""DeepHTM: an HTM made differentiable and trained end to end (encoder -> k-winner columns -> cells chosen by
learned context -> decoder -> the next value).

The structure follows the 2019 DeepHTM post on Numenta's forum (our summary in issue #16): a two-layer ReLU encoder
of 256 units, 256 columns with 5 winners, 5 cells per column, a ReLU decoder of 256 units and one output, trained
online by backpropagation to predict the next input. Column and cell codes are exactly k-sparse at every step, so
:meth:`DeepHTM.active_columns` and :meth:`DeepHTM.active_cells` are :class:`~htmagent.sdr.SDR` s the rest of the
library reads, and the anomaly is the fraction of active columns the previous step did not predict (the columns of
the cells whose context scores won, read one step ahead through :meth:`DeepHTM.predicted_columns`).
"""

from __future__ import annotations

import math
import os
import pickle
from collections import deque
from typing import Sequence

import numpy as np
import torch
from torch import nn

from htmagent._validation import check_int, check_real
from htmagent.deep.layers import DiffSpatialPooler, DiffTemporalMemory, seeded_weights

__all__ = ["DeepHTM", "unrolled_graph"]


def unrolled_graph(encoder: nn.Sequential, sp: nn.Module, tm: DiffTemporalMemory, decoder: nn.Sequential,
                   steps: int, every_step: bool = False):
    """The graph encoder -> columns -> cells -> decoder unrolled over ``steps`` inputs, for predictive coding
    (:class:`~htmagent.deep.pc.PCGraph`): inputs ``x0`` ... and ``cells`` (the cell code before the first step);
    per step the encoder's layers, the columns and the cells (from the columns and the previous step's cells); the
    decoder on the last step (``every_step``: on every step, stacked along dimension 1)."""
    from htmagent.deep.pc import PCGraph, Stack, layer_groups

    check_int(steps, "steps", 1)
    graph = PCGraph([f"x{t}" for t in range(steps)] + ["cells"])
    encoder_layers, decoder_layers = layer_groups(encoder), layer_groups(decoder)
    previous, outputs = "cells", []
    for t in range(steps):
        node = f"x{t}"
        for i, layer in enumerate(encoder_layers):
            node = graph.add(f"encoder{i}_t{t}", layer, node)
        columns = graph.add(f"columns_t{t}", sp, node)
        previous = graph.add(f"cells_t{t}", tm, columns, previous)
        if every_step or t == steps - 1:
            node = previous
            for i, layer in enumerate(decoder_layers):
                node = graph.add(f"decoder{i}_t{t}", layer, node)
            outputs.append(node)
    if every_step:
        graph.add("predictions", Stack(1), *outputs)
    return graph


class DeepHTM(nn.Module):
    """Encoder + differentiable spatial pooler + differentiable temporal memory + decoder.

    Args:
        input_size: values per input step.
        output_size: values predicted per step (default: ``input_size``, the next input).
        hidden: width of the encoder's two ReLU layers and of the decoder's one.
        columns: columns of the spatial pooler.
        k: winning columns per step.
        cells_per_column: cells per column.
        boost_strength: duty-cycle boosting of the columns (0 = none).
        weight_sparsity: fraction of the pooler's input weights held at zero.
        context_rank: bottleneck of the temporal memory's context (see :class:`DiffTemporalMemory`).
        optimizer: ``"sgd"`` (plain backprop, as the seed) or ``"adam"``.
        lr: the optimiser's learning rate for :meth:`step` / :meth:`fit`.
        bptt: steps of truncated backpropagation through time in :meth:`step` (1 = the current step only). The
            default, 2, is the least with which the cells learn to tell one input's contexts apart in our tests
            (with 1 they do not).
        seed: seed of the weights (and nothing else: no global RNG is touched).
        trainer: ``"backprop"`` (autograd) or ``"pc"``: predictive coding (:mod:`htmagent.deep.pc`) over the graph
            encoder -> columns -> cells -> decoder unrolled over the window, each layer's update from its own error
            and input; with the defaults below its updates equal backprop's.
        pc_iterations: inference sweeps per step with ``trainer="pc"``.
        pc_value_lr: value learning rate with ``trainer="pc"`` (1 with fixed predictions: exact in one sweep).
        pc_fixed_prediction: fixed-prediction form (True) or the standard form (False) with ``trainer="pc"``.
        pc_nudge: output nudge of the standard form (see :class:`~htmagent.deep.pc.PredictiveCoding`).
        device: ``"cpu"``, ``"cuda"`` or None (CUDA when available, else CPU; always the CPU with
            ``engine="numba"``).
        engine: what runs :meth:`step`: ``"torch"`` (autograd), or ``"numba"``: the same forward pass, backward
            pass and SGD or Adam update written out as one numba kernel (:mod:`htmagent.kernels.deep`) that works on
            the model's own parameter and optimiser tensors, touching only the winning columns' weights. The
            weights, codes and losses match the torch engine's up to float rounding; online on one core it runs
            about 16x faster with SGD and 6x with Adam (``scripts/deep_sine.py --engine``). CPU only, ``trainer="backprop"`` only; :meth:`fit`
            (batch training) always runs in torch, and a saved model can be loaded with either engine.

    Example:
        >>> import math
        >>> model = DeepHTM(1, seed=0)
        >>> for t in range(100):
        ...     loss = model.step([math.sin(t / 5)], [math.sin((t + 1) / 5)])
        >>> model.active_columns().num_active
        5
    """

    def __init__(self, input_size: int, output_size: int | None = None, hidden: int = 256, columns: int = 256,
                 k: int = 5, cells_per_column: int = 5, boost_strength: float = 1.0, weight_sparsity: float = 0.0,
                 context_rank: int | None = 64, optimizer: str = "adam", lr: float = 1e-3, bptt: int = 2,
                 seed: int = 0, trainer: str = "backprop", pc_iterations: int = 1, pc_value_lr: float = 1.0,
                 pc_fixed_prediction: bool = True, pc_nudge: float = 1.0, device: str | None = None,
                 engine: str = "torch"):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", 1)
        self.output_size = check_int(self.input_size if output_size is None else output_size, "output_size", 1)
        self.hidden = check_int(hidden, "hidden", 1)
        self.columns = check_int(columns, "columns", 1)
        self.k = check_int(k, "k", 1)
        if self.k > self.columns:
            raise ValueError(f"k must be <= columns ({self.columns}), got {k}")
        self.cells_per_column = check_int(cells_per_column, "cells_per_column", 1)
        self.bptt = check_int(bptt, "bptt", 1)
        check_real(lr, "lr", 0.0, low_open=True)
        self.seed = check_int(seed, "seed", 0)
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        if trainer not in ("backprop", "pc"):
            raise ValueError(f"trainer must be 'backprop' or 'pc', got {trainer!r}")
        self.trainer = trainer
        if engine not in ("torch", "numba"):
            raise ValueError(f"engine must be 'torch' or 'numba', got {engine!r}")
        if engine == "numba":
            if trainer != "backprop":
                raise ValueError(f"engine='numba' trains by backprop only, got trainer={trainer!r}")
            if device not in (None, "cpu"):
                raise ValueError(f"engine='numba' runs on the CPU, got device={device!r}")
            device = "cpu"
        self.engine = engine
        self.pc_options = dict(iterations=check_int(pc_iterations, "pc_iterations", 1),
                               value_lr=check_real(pc_value_lr, "pc_value_lr", 0.0, low_open=True),
                               fixed_prediction=bool(pc_fixed_prediction),
                               nudge=check_real(pc_nudge, "pc_nudge", 0.0, low_open=True))
        self.config = dict(input_size=self.input_size, output_size=self.output_size, hidden=hidden, columns=columns,
                           k=k, cells_per_column=cells_per_column, boost_strength=boost_strength,
                           weight_sparsity=weight_sparsity, context_rank=context_rank, optimizer=optimizer, lr=lr,
                           bptt=bptt, seed=seed, trainer=trainer, pc_iterations=pc_iterations,
                           pc_value_lr=pc_value_lr, pc_fixed_prediction=bool(pc_fixed_prediction), pc_nudge=pc_nudge,
                           engine=engine)
        with seeded_weights(self.seed):
            self.encoder = nn.Sequential(nn.Linear(self.input_size, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                         nn.ReLU())
            self.sp = DiffSpatialPooler(hidden, columns, k, boost_strength=boost_strength,
                                        weight_sparsity=weight_sparsity)
            self.tm = DiffTemporalMemory(columns, cells_per_column, context_rank)
            self.decoder = nn.Sequential(nn.Linear(self.tm.num_cells, hidden), nn.ReLU(),
                                         nn.Linear(hidden, self.output_size))
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.to(device)
        self.device = torch.device(device)
        fused = {"fused": True} if self.device.type in ("cpu", "cuda") else {}
        self.optimizer = (torch.optim.Adam(self.parameters(), lr=lr, **fused) if optimizer == "adam"
                          else torch.optim.SGD(self.parameters(), lr=lr))
        self._history: deque = deque(maxlen=self.bptt)
        self._pc: dict[tuple, object] = {}
        self._engine_arrays: tuple | None = None
        self.reset()

    # ------------------------------------------------------------------ the function
    def forward(self, x: torch.Tensor, previous_cells: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                             torch.Tensor]:
        """One step for a batch: ``(prediction, column activity, cell activity)``."""
        columns = self.sp(self.encoder(x))
        cells = self.tm(columns, previous_cells)
        return self.decoder(cells), columns, cells

    def unroll(self, xs: torch.Tensor, cells: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run a batch of sequences ``(batch, time, input_size)``; return the predictions ``(batch, time,
        output_size)`` and the last cell activity."""
        if cells is None:
            cells = torch.zeros(xs.shape[0], self.tm.num_cells, device=xs.device)
        outputs = []
        for t in range(xs.shape[1]):
            prediction, _, cells = self(xs[:, t], cells)
            outputs.append(prediction)
        return torch.stack(outputs, dim=1), cells

    # ------------------------------------------------------------------ online use
    def reset(self) -> None:
        """Start a new sequence: no context."""
        self._cells = torch.zeros(1, self.tm.num_cells, device=self.device)
        self._columns = torch.zeros(1, self.columns, device=self.device)
        self._predicted = torch.zeros(self.columns, dtype=torch.bool, device=self.device)
        self._history.clear()
        self.anomaly = 0.0
        self.prediction = torch.zeros(self.output_size)

    def _tensor(self, value: object, size: int, name: str) -> torch.Tensor:
        arr = np.asarray(value, dtype=np.float64).reshape(-1) if not isinstance(value, torch.Tensor) else \
            value.detach().cpu().double().reshape(-1).numpy()
        if arr.size != size:
            raise ValueError(f"{name} must hold {size} values, got {arr.size}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got {arr.tolist()[:8]}")
        return torch.as_tensor(arr, dtype=torch.float32, device=self.device).reshape(1, size)

    def step(self, x: Sequence[float] | np.ndarray | torch.Tensor, target: Sequence[float] | np.ndarray | None = None,
             learn: bool = True) -> float:
        """Feed one input; with a ``target`` and ``learn``, take one optimiser step on the squared error of this
        step's prediction, backpropagated through the last :attr:`bptt` steps. Returns the loss (NaN without a
        target). The prediction (for the next step) is in :attr:`prediction`."""
        xt = self._tensor(x, self.input_size, "x")
        tt = None if target is None else self._tensor(target, self.output_size, "target")
        # The window: the last `bptt` inputs, each with the cell state it met (detached: the truncation).
        self._history.append((self._cells.detach(), xt))
        training = learn and tt is not None
        if self.training != training:  # Module.train walks every submodule: only when the mode changes
            self.train(training)
        if training and self.trainer == "pc":
            return self._pc_step(tt)
        if self.engine == "numba":
            return self._numba_step(tt, training)
        with torch.set_grad_enabled(training):
            cells = self._history[0][0]
            for _, xi in self._history:
                prediction, columns, cells = self(xi, cells)
            loss = float("nan")
            if tt is not None:
                err = nn.functional.mse_loss(prediction, tt)
                loss = float(err.detach())
                if training:
                    self.optimizer.zero_grad(set_to_none=True)
                    err.backward()
                    self.optimizer.step()
        self._after_step(prediction, columns, cells)
        return loss

    def _after_step(self, prediction: torch.Tensor, columns: torch.Tensor, cells: torch.Tensor) -> None:
        active = columns.detach()[0] > 0
        self.anomaly = float((active & ~self._predicted).sum()) / max(int(active.sum()), 1)
        self._columns, self._cells = columns.detach(), cells.detach()
        self._predicted = self.predicted_columns_mask()
        self.prediction = prediction.detach()[0].cpu()

    # ------------------------------------------------------------------ the numba engine
    def _engine_parameters(self) -> list[torch.Tensor]:
        """The parameters in the kernel's order: W1 b1 W2 b2 Ws bs U V bv D1 d1 D2 d2 (U absent: full context)."""
        context = self.tm.context
        if isinstance(context, nn.Sequential):
            ctx = [context[0].weight, context[1].weight, context[1].bias]
        else:
            ctx = [context.weight, context.bias]
        return [self.encoder[0].weight, self.encoder[0].bias, self.encoder[2].weight, self.encoder[2].bias,
                self.sp.proximal.weight, self.sp.proximal.bias, *ctx, self.decoder[0].weight,
                self.decoder[0].bias, self.decoder[2].weight, self.decoder[2].bias]

    def _engine_views(self) -> tuple:
        """NumPy views of the parameters (and gradient buffers for Adam), rebuilt if a tensor was replaced."""
        cached = self._engine_arrays
        if cached is not None and all(p.data_ptr() == key for p, key in zip(cached[1], cached[0])):
            return cached
        params = self._engine_parameters()
        key = tuple(p.data_ptr() for p in params)
        if cached is None or cached[0] != key:
            arrays = [p.detach().numpy() for p in params]
            if len(arrays) == 12:  # full context: no U
                arrays.insert(6, np.zeros((0, 0), dtype=np.float32))
            grads = [np.zeros_like(a) for a in arrays]
            mask = getattr(self.sp.proximal, "mask", None)
            mask = np.zeros((0, 0), dtype=np.float32) if mask is None else mask.numpy()
            self._engine_arrays = (key, params, arrays, grads, mask)
        return self._engine_arrays

    def _numba_step(self, target: torch.Tensor | None, training: bool) -> float:
        """:meth:`step` by the numba kernel: same forward pass, gradients and update as the torch engine."""
        from htmagent.kernels.deep import adam_update, deephtm_online_step, predict_columns

        _, params, arrays, grads, mask = self._engine_views()
        xs = np.concatenate([x.numpy() for _, x in self._history])
        start = self._history[0][0].numpy()[0]
        start_idx = np.flatnonzero(start)
        adam = training and self.config["optimizer"] == "adam"
        mode = 2 if adam else 1 if training else 0
        group = self.optimizer.param_groups[0]
        kw = self.sp.kwinners
        prediction = np.empty(self.output_size, dtype=np.float32)
        columns = np.zeros((1, self.columns), dtype=np.float32)
        cells = np.zeros((1, self.tm.num_cells), dtype=np.float32)
        predicted = np.zeros(self.columns, dtype=np.bool_)
        goal = np.zeros(self.output_size, dtype=np.float32) if target is None else target.numpy()[0]
        loss, iterations = deephtm_online_step(
            xs, start_idx, start[start_idx], goal, mode, float(group["lr"]), *arrays[:6], mask, mask.size > 0,
            kw.duty_cycle.numpy(), int(kw.learning_iterations), kw.duty_cycle_period, kw.density,
            kw.boost_strength, self.k, self.cells_per_column, *arrays[6:], *grads, prediction, columns[0],
            cells[0], predicted)
        if training:
            kw.learning_iterations.fill_(iterations)
        if adam:
            beta1, beta2 = group["betas"]
            flat, steps = self._adam_views(params, arrays, grads)
            t = float(steps[0]) + 1.0
            for step in steps:
                step += 1.0
            adam_update(*flat, float(group["lr"]), beta1, beta2, float(group["eps"]), 1.0 - beta1 ** t,
                        math.sqrt(1.0 - beta2 ** t))
            predict_columns(cells[0], arrays[6], arrays[7], arrays[8], self.columns, self.cells_per_column,
                            self.k, predicted)
        if target is not None and not training:
            loss = float(np.mean((prediction.astype(np.float64) - goal) ** 2))
        active = columns[0] > 0
        # Plain attributes, set in __dict__ directly: nn.Module.__setattr__ costs microseconds per assignment.
        state = self.__dict__
        state["anomaly"] = float((active & ~self._predicted.numpy()).sum()) / max(int(active.sum()), 1)
        state["_columns"], state["_cells"] = torch.from_numpy(columns), torch.from_numpy(cells)
        state["_predicted"] = torch.from_numpy(predicted)
        state["prediction"] = torch.from_numpy(prediction)
        return float(loss)

    def _adam_views(self, params: list, arrays: list, grads: list) -> tuple:
        """Flat views for :func:`~htmagent.kernels.deep.adam_update` (parameters, gradients, both moments) and
        the optimiser's step counters, starting each parameter's state as ``torch.optim.Adam`` does."""
        if len(params) == 12:  # the full context has no U
            arrays, grads = arrays[:6] + arrays[7:], grads[:6] + grads[7:]
        states = []
        for p in params:
            state = self.optimizer.state[p]
            if not state:
                state["step"] = torch.zeros((), dtype=torch.float32)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            states.append(state)
        key = tuple(s[name].data_ptr() for s in states for name in ("step", "exp_avg", "exp_avg_sq"))
        cached = getattr(self, "_adam_cache", None)
        if cached is None or cached[0] != key or cached[1] is not arrays[0]:
            flat = (tuple(a.reshape(-1) for a in arrays), tuple(g.reshape(-1) for g in grads),
                    tuple(s["exp_avg"].numpy().reshape(-1) for s in states),
                    tuple(s["exp_avg_sq"].numpy().reshape(-1) for s in states))
            cached = (key, arrays[0], flat, [s["step"].numpy() for s in states])
            self._adam_cache = cached
        return cached[2], cached[3]

    # ------------------------------------------------------------------ predictive coding
    def pc_graph(self, steps: int, every_step: bool = False):
        """The model unrolled over ``steps`` inputs as a :class:`~htmagent.deep.pc.PCGraph`: inputs ``x0`` ...
        and ``cells`` (the cell code before the first step); per step the encoder's layers, the columns and the
        cells (from the columns and the previous step's cells); the decoder on the last step (``every_step``: on
        every step, stacked along dimension 1 as :meth:`unroll` returns them)."""
        return unrolled_graph(self.encoder, self.sp, self.tm, self.decoder, steps, every_step)

    def _pc_trainer(self, steps: int, every_step: bool = False):
        key = (steps, every_step)
        if key not in self._pc:
            from htmagent.deep.pc import PredictiveCoding

            self._pc[key] = PredictiveCoding(self.pc_graph(steps, every_step), loss="mse", **self.pc_options)
        return self._pc[key]

    def _pc_step(self, target: torch.Tensor) -> float:
        """One online step trained by predictive coding over the window (the same forward pass as backprop's)."""
        pc = self._pc_trainer(len(self._history))
        inputs = [x for _, x in self._history] + [self._history[0][0]]
        self.optimizer.zero_grad(set_to_none=True)
        loss = pc.backward(inputs, target)
        self.optimizer.step()
        last = len(self._history) - 1
        forward = pc.forward_values  # the forward pass's codes, as backprop's step keeps them
        self._after_step(forward[pc.graph.output], forward[f"columns_t{last}"], forward[f"cells_t{last}"])
        return loss

    def predicted_columns_mask(self) -> torch.Tensor:
        """Columns predicted for the next step: the winners of a step whose input is this step's predicted
        activity of the pooler (the columns of the cells the current context scores highest)."""
        with torch.no_grad():
            scores = self.tm.context(self._cells).reshape(self.columns, self.cells_per_column)
            strength = scores.max(dim=-1).values
            index = strength.topk(self.k).indices
            mask = torch.zeros(self.columns, dtype=torch.bool, device=self.device)
            mask[index] = True
        return mask

    def active_columns(self):
        """This step's winning columns as an :class:`~htmagent.sdr.SDR` (exactly ``k``)."""
        from htmagent.sdr import SDR

        return SDR(self.columns, np.flatnonzero(self._columns[0].cpu().numpy() > 0))

    def active_cells(self):
        """This step's active cells as an :class:`~htmagent.sdr.SDR` (one per active column)."""
        from htmagent.sdr import SDR

        return SDR(self.tm.num_cells, np.flatnonzero(self._cells[0].cpu().numpy() != 0))

    # ------------------------------------------------------------------ batch training
    def fit(self, xs: np.ndarray, targets: np.ndarray, epochs: int = 1, batch_size: int = 32,
            window: int = 32) -> list[float]:
        """Train on sequences: ``xs`` ``(time, input_size)`` (one long sequence) and ``targets`` ``(time,
        output_size)``, cut into windows of ``window`` steps, shuffled by the model's seed each epoch; one
        optimiser step per batch of windows. Returns the mean loss per epoch."""
        xs = np.asarray(xs, dtype=np.float32).reshape(-1, self.input_size)
        ys = np.asarray(targets, dtype=np.float32).reshape(-1, self.output_size)
        if xs.shape[0] != ys.shape[0] or xs.shape[0] < window:
            raise ValueError(f"xs and targets must have the same length >= window ({window}), got "
                             f"{xs.shape[0]} and {ys.shape[0]}")
        starts = np.arange(0, xs.shape[0] - window + 1, window)
        rng = np.random.default_rng(self.seed)
        self.train(True)
        losses = []
        for _ in range(check_int(epochs, "epochs", 1)):
            order = rng.permutation(starts)
            total, count = 0.0, 0
            for b in range(0, order.size, batch_size):
                idx = order[b:b + batch_size, None] + np.arange(window)[None, :]
                bx = torch.as_tensor(xs[idx], device=self.device)
                by = torch.as_tensor(ys[idx], device=self.device)
                self.optimizer.zero_grad(set_to_none=True)
                if self.trainer == "pc":
                    cells = torch.zeros(bx.shape[0], self.tm.num_cells, device=self.device)
                    loss = torch.tensor(self._pc_trainer(window, every_step=True).backward(
                        [bx[:, t] for t in range(window)] + [cells], by))
                else:
                    predictions, _ = self.unroll(bx)
                    loss = nn.functional.mse_loss(predictions, by)
                    loss.backward()
                self.optimizer.step()
                total += float(loss.detach()) * idx.shape[0]
                count += idx.shape[0]
            losses.append(total / count)
        return losses

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> None:
        """Write the weights, the duty cycles, the optimiser and the online state (``torch.save`` of tensors and
        plain values only)."""
        torch.save({"format": "htmagent.DeepHTM/1", "config": self.config, "model": self.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "cells": self._cells, "columns": self._columns,
                    "predicted": self._predicted, "anomaly": self.anomaly,
                    "history": [list(h) for h in self._history]}, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> "DeepHTM":
        """Read a model written by :meth:`save` (``weights_only``: no code in the file is run)."""
        from htmagent.serialization import StateError

        name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else "<stream>"
        try:
            saved = torch.load(path, map_location=device or "cpu", weights_only=True)
            if not isinstance(saved, dict) or saved.get("format") != "htmagent.DeepHTM/1":
                raise StateError("not a DeepHTM file (format htmagent.DeepHTM/1)", name)
            model = cls(**saved["config"], device=device)
            model.load_state_dict(saved["model"])
            model.optimizer.load_state_dict(saved["optimizer"])
        except StateError:
            raise
        except (RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as error:
            raise StateError(f"not a readable DeepHTM file ({type(error).__name__}: {error})", name) from error
        model._cells = saved["cells"].to(model.device)
        model._columns = saved["columns"].to(model.device)
        model._predicted = saved["predicted"].to(model.device)
        model.anomaly = float(saved["anomaly"])
        model._history.extend((c.to(model.device), x.to(model.device)) for c, x in saved["history"])
        return model
