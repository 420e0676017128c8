"""Predictive coding: train torch modules by a local rule whose weight updates converge to backpropagation's.

A computation graph (:class:`PCGraph`) is a set of input names and of *nodes*, each a torch module applied to the
values of earlier nodes or inputs. Predictive coding gives every node ``n`` a value ``v_n`` besides its prediction
``mu_n = f_n(values of its parents)``, and a prediction error ``e_n = v_n - mu_n``. The output node's error is set by
the loss, ``e_out = -nudge * dL/dmu_out``. Inference lowers the energy
``F = sum_n |e_n|^2 / 2 + nudge * L`` by moving each value along

    v_n <- v_n - value_lr * (e_n - sum over children c of J_c^T e_c)

where ``J_c^T e_c`` is the vector-Jacobian product of child ``c`` at its inputs: what node ``n`` hears from the nodes
it feeds, and nothing else. After inference each node's weights move along ``-(df_n/dtheta)^T e_n / nudge``, from
the node's own error and its own inputs alone (:attr:`PredictiveCoding.errors`, :attr:`PredictiveCoding.node_inputs`):
the rule is local, and it needs no separate backward phase.

Two forms (Millidge, Tschantz & Buckley 2020; Rosenbaum 2022):

- **fixed prediction** (the default): the predictions and the Jacobians stay at their values of the forward pass.
  Values are updated from the top of the graph down; with ``value_lr=1`` one sweep sets every error to minus
  backprop's gradient at that node, so the weight updates *equal* autograd's gradients, on any graph. With a smaller
  ``value_lr`` they converge to them geometrically with the iterations.
- **standard** (``fixed_prediction=False``): predictions and Jacobians are recomputed from the current values at
  every iteration (all values move together). The updates approach backprop's as the output error gets small
  (``nudge`` << 1) and inference converges; their distance from backprop's is about proportional to ``nudge``.
  The values then move by ``nudge``-sized amounts, which float32 rounds away on deep graphs: on the 10-layer
  DeepHTM graph float32 stalls at a relative error of 4e-2, float64 (``model.double()`` and float64 inputs) reaches
  7e-3 at ``nudge=0.01`` and 7e-4 at ``nudge=0.001`` in 50 iterations (docs/results_pc.md).

Nonlinearities that select (the k-winners mask of :class:`~htmagent.deep.layers.KWinners`, the cell choice of
:class:`~htmagent.deep.layers.DiffTemporalMemory`) are recorded on the forward pass and held fixed during inference,
as ReLU's derivative is.

``streaming=True`` is the continuous-stream case: inputs and targets change at every call and the hidden values are
*not* reset to the new forward pass; they carry over from the previous call and relax from there (standard form).
It suits streams that change little from one tick to the next (a sensor's signal, a smooth trajectory), where the
carried values are a good start; on a stream that jumps, the carried values are stale and bias the updates, so
there keep the default (values start at each forward pass).

The trainer writes ``.grad`` (adding to it, as ``loss.backward()`` does) and an ordinary torch optimiser steps::

    pc = PredictiveCoding(PCGraph.from_sequential(model), loss="cross_entropy")
    optimizer.zero_grad()
    loss = pc.backward(x, y)
    optimizer.step()

:class:`PCModule` puts a graph inside a larger model trained by autograd: its forward is the graph's, and in
``loss.backward()`` the gradient arriving at its output becomes the output error of a predictive-coding inference, so
the wrapped part learns by the local rule (this is how a DeepHTM features extractor learns by predictive coding
under PPO's loss).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import nn

from htmagent._validation import check_int, check_real
from htmagent.deep.layers import _TAPE, _MaskTape

__all__ = ["PCGraph", "PCModule", "PredictiveCoding", "Stack", "layer_groups"]

# Modules whose call is not a function of its inputs alone, so a value cannot be re-predicted from its parents.
_UNSUPPORTED: tuple[tuple[type, str], ...] = (
    (nn.modules.batchnorm._BatchNorm, "batch statistics couple the rows of a batch and change at every call; use "
                                      "LayerNorm or GroupNorm"),
    (nn.modules.dropout._DropoutNd, "it draws a new random mask at every call; leave it out of the graph"),
    (nn.RNNBase, "its recurrence is hidden inside one call; unroll a cell (nn.RNNCell, nn.LSTMCell, nn.GRUCell) in "
                 "time, one node per step"),
)


# ---------------------------------------------------------------------- selection masks held fixed
def _run(module: nn.Module, inputs: Sequence[torch.Tensor], tape: _MaskTape) -> torch.Tensor:
    token = _TAPE.set(tape)
    try:
        return module(*inputs)
    finally:
        _TAPE.reset(token)


# ---------------------------------------------------------------------- the graph
def layer_groups(model: nn.Sequential, split: bool = False) -> list[nn.Module]:
    """The nodes :meth:`PCGraph.from_sequential` makes of ``model``: each layer with weights together with the
    weight-free modules after it (weight-free modules before the first weighted one join it); every module alone
    with ``split``. Nested Sequentials are flattened."""
    flat: list[nn.Module] = []

    def walk(seq: nn.Sequential) -> None:
        for m in seq:
            walk(m) if isinstance(m, nn.Sequential) else flat.append(m)

    walk(model)
    if not flat:
        raise ValueError("model is an empty Sequential")
    groups: list[list[nn.Module]] = []
    for m in flat:
        weighted = any(True for _ in m.parameters())
        if split or not groups or (weighted and any(any(True for _ in g.parameters()) for g in groups[-1])):
            groups.append([m])
        else:
            groups[-1].append(m)
    return [g[0] if len(g) == 1 else nn.Sequential(*g) for g in groups]


class Stack(nn.Module):
    """A weight-free node that stacks its parents along a new dimension (several outputs read by one loss)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.stack(parts, dim=self.dim)


class PCGraph:
    """A computation graph of torch modules for predictive coding.

    Args:
        inputs: names of the graph's inputs (clamped to the data; they carry no error).

    Nodes are added in topological order (:meth:`add` accepts only parents already defined); the last node added
    is the output unless :attr:`output` is set. One module may serve several nodes (an RNN cell unrolled in time):
    its weight updates are summed, as autograd sums its gradients.

    Example:
        >>> g = PCGraph(["x", "h0"])
        >>> cell = nn.RNNCell(3, 8)
        >>> g.add("h1", cell, "x", "h0") and g.add("y", nn.Linear(8, 2), "h1")
        'y'
    """

    def __init__(self, inputs: Sequence[str] = ("x",)):
        if isinstance(inputs, str):
            inputs = [inputs]
        inputs = list(inputs)
        if not inputs or len(set(inputs)) != len(inputs) or not all(isinstance(i, str) and i for i in inputs):
            raise ValueError(f"inputs must be distinct non-empty names, got {inputs!r}")
        self.inputs: list[str] = inputs
        self.nodes: dict[str, tuple[nn.Module, tuple[str, ...]]] = {}
        self._output: str | None = None

    def add(self, name: str, module: nn.Module, *parents: str) -> str:
        """Add node ``name = module(*values of parents)``; returns ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if name in self.nodes or name in self.inputs:
            raise ValueError(f"name {name!r} is already in the graph")
        if not isinstance(module, nn.Module):
            raise TypeError(f"module of node {name!r} must be a torch.nn.Module, got {type(module).__name__}")
        for sub in module.modules():
            for kind, why in _UNSUPPORTED:
                if isinstance(sub, kind):
                    raise TypeError(f"node {name!r}: {type(sub).__name__} is not supported by predictive coding "
                                    f"({why})")
        if not parents:
            raise ValueError(f"node {name!r} needs at least one parent")
        for p in parents:
            if p not in self.nodes and p not in self.inputs:
                raise ValueError(f"parent {p!r} of node {name!r} is not an input or an earlier node; known: "
                                 f"{self.inputs + list(self.nodes)}")
        self.nodes[name] = (module, tuple(parents))
        return name

    @property
    def output(self) -> str:
        """The node the loss reads (default: the last one added)."""
        if not self.nodes:
            raise ValueError("the graph has no nodes")
        return self._output if self._output is not None else next(reversed(self.nodes))

    @output.setter
    def output(self, name: str) -> None:
        if name not in self.nodes:
            raise ValueError(f"output must be a node of the graph, got {name!r}")
        self._output = name

    def modules(self) -> list[nn.Module]:
        """The distinct modules of the graph, in node order."""
        seen: dict[int, nn.Module] = {}
        for module, _ in self.nodes.values():
            seen.setdefault(id(module), module)
        return list(seen.values())

    def parameters(self) -> list[nn.Parameter]:
        """The distinct trainable parameters of the graph."""
        seen: dict[int, nn.Parameter] = {}
        for module in self.modules():
            for p in module.parameters():
                if p.requires_grad:
                    seen.setdefault(id(p), p)
        return list(seen.values())

    @classmethod
    def from_sequential(cls, model: nn.Sequential, split: bool = False) -> "PCGraph":
        """The chain of a :class:`torch.nn.Sequential` (nested ones flattened).

        By default each node is a layer with weights together with the weight-free modules after it (``Linear`` +
        ``ReLU``, ``Conv2d`` + ``ReLU`` + ``MaxPool2d``), the usual grain of predictive-coding networks; weight-free
        modules before the first weighted one join it. ``split=True`` makes every module its own node.
        """
        if not isinstance(model, nn.Sequential):
            raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
        groups = layer_groups(model, split)
        graph = cls(["x"])
        parent = "x"
        for i, group in enumerate(groups):
            parent = graph.add(f"layer{i}", group, parent)
        return graph


# ---------------------------------------------------------------------- the trainer
def _loss_function(loss: str | Callable) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if callable(loss):
        return loss
    table = {"mse": nn.functional.mse_loss, "cross_entropy": nn.functional.cross_entropy,
             "sum_squared": lambda out, target: 0.5 * ((out - target) ** 2).sum()}
    if loss not in table:
        raise ValueError(f"loss must be one of {sorted(table)} or a callable (output, target) -> scalar, got {loss!r}")
    return table[loss]


class PredictiveCoding:
    """Predictive-coding inference and learning on a :class:`PCGraph` (see the module docstring).

    Args:
        graph: the graph (or a :class:`torch.nn.Sequential`, taken through :meth:`PCGraph.from_sequential`).
        loss: ``"mse"``, ``"cross_entropy"``, ``"sum_squared"`` or a callable ``(output, target) -> scalar``.
        iterations: inference iterations per training step (each a sweep over all nodes).
        value_lr: the value learning rate (1 with fixed predictions: exact backprop in one sweep).
        fixed_prediction: hold predictions and Jacobians at the forward pass (True) or recompute them (False).
        nudge: scale of the output error (the updates are divided by it again); < 1 brings the standard form
            closer to backprop (run the graph in float64 to go below about 0.01 on deep graphs).
        streaming: keep the hidden values from one call to the next (standard form; see the module docstring).
    """

    def __init__(self, graph: PCGraph | nn.Sequential, loss: str | Callable = "mse", iterations: int = 1,
                 value_lr: float = 1.0, fixed_prediction: bool = True, nudge: float = 1.0, streaming: bool = False):
        self.graph = graph if isinstance(graph, PCGraph) else PCGraph.from_sequential(graph)
        if not isinstance(self.graph, PCGraph):
            raise TypeError(f"graph must be a PCGraph or an nn.Sequential, got {type(graph).__name__}")
        self.graph.output  # noqa: B018 (raises on an empty graph)
        self.loss_fn = _loss_function(loss)
        self.iterations = check_int(iterations, "iterations", 1)
        self.value_lr = check_real(value_lr, "value_lr", 0.0, low_open=True)
        self.nudge = check_real(nudge, "nudge", 0.0, low_open=True)
        self.fixed_prediction = bool(fixed_prediction)
        self.streaming = bool(streaming)
        if self.streaming and self.fixed_prediction:
            self.fixed_prediction = False  # a carried-over value has no fixed prediction to keep
        self._params = {name: [p for p in module.parameters() if p.requires_grad]
                        for name, (module, _) in self.graph.nodes.items()}
        self.errors: dict[str, torch.Tensor] = {}
        self.values: dict[str, torch.Tensor] = {}
        self.node_inputs: dict[str, tuple[torch.Tensor, ...]] = {}
        self.updates: dict[str, list[torch.Tensor]] = {}
        self._carried: dict[str, torch.Tensor] = {}
        self._tapes: dict[str, _MaskTape] = {}
        self._forward: tuple | None = None
        self._grad_inputs: set[str] = set()
        self._input_errors: dict[str, torch.Tensor | None] = {}
        self.forward_values: dict[str, torch.Tensor] = {}

    def reset(self) -> None:
        """Forget the carried-over values of the streaming mode."""
        self._carried = {}

    def parameters(self) -> list[nn.Parameter]:
        """The graph's trainable parameters (give these to the optimiser)."""
        return self.graph.parameters()

    # ---------------------------------------------------------------- inputs
    def _inputs(self, inputs: torch.Tensor | Mapping[str, torch.Tensor] | Sequence[torch.Tensor],
                keep_grad: bool = False) -> dict:
        names = self.graph.inputs
        if isinstance(inputs, torch.Tensor):
            if len(names) != 1:
                raise ValueError(f"inputs must name the graph's {len(names)} inputs {names}, got one tensor")
            inputs = {names[0]: inputs}
        elif not isinstance(inputs, Mapping):
            inputs = list(inputs)
            if len(inputs) != len(names):
                raise ValueError(f"inputs must hold {len(names)} tensors ({names}), got {len(inputs)}")
            inputs = dict(zip(names, inputs))
        missing, extra = set(names) - set(inputs), set(inputs) - set(names)
        if missing or extra:
            raise ValueError(f"inputs must be exactly {names}; missing {sorted(missing)}, unknown {sorted(extra)}")
        out = {}
        for name in names:
            value = inputs[name]
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"input {name!r} must be a torch.Tensor, got {type(value).__name__}")
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise ValueError(f"input {name!r} must be finite, got NaN or inf")
            out[name] = value if keep_grad else value.detach()
        return out

    def _call(self, name: str, sources: Mapping[str, torch.Tensor], replay: bool):
        """Node ``name`` on leaf copies of its parents' values: (prediction, leaves)."""
        module, parents = self.graph.nodes[name]
        leaves = tuple(sources[p].detach().requires_grad_(
            (p in self.graph.nodes or p in self._grad_inputs) and sources[p].is_floating_point()) for p in parents)
        tape = self._tapes[name] if replay else self._tapes.setdefault(name, _MaskTape())
        tape.replay, tape.position = replay, 0
        with torch.enable_grad():
            mu = _run(module, leaves, tape)
        if not isinstance(mu, torch.Tensor):
            raise TypeError(f"node {name!r} must return one tensor, got {type(mu).__name__}")
        return mu, leaves

    # ---------------------------------------------------------------- forward
    def forward(self, inputs) -> torch.Tensor:
        """The graph's output for ``inputs`` (a tensor, a list in :attr:`PCGraph.inputs` order, or a mapping),
        recorded for the next :meth:`backward_from`."""
        values = self._inputs(inputs, keep_grad=True)
        self._grad_inputs = {name for name, value in values.items() if value.requires_grad}
        values = {name: value.detach() for name, value in values.items()}
        self._tapes = {}
        predictions, leaves = {}, {}
        for name in self.graph.nodes:
            predictions[name], leaves[name] = self._call(name, values, replay=False)
            values[name] = predictions[name].detach()
        if self.streaming and self._carried and all(
                name in self._carried and self._carried[name].shape == values[name].shape for name in self.graph.nodes):
            for name in self.graph.nodes:
                values[name] = self._carried[name].clone()
            for name in self.graph.nodes:  # predictions from the carried values, with this call's masks
                predictions[name], leaves[name] = self._call(name, values, replay=True)
        self._forward = (values, predictions, leaves)
        self.forward_values = {name: mu.detach() for name, mu in predictions.items()}
        return self.forward_values[self.graph.output]

    # ---------------------------------------------------------------- backward
    def backward(self, inputs, target: torch.Tensor) -> float:
        """Forward, infer and write the weight updates to ``.grad`` (added, like ``loss.backward()``); returns the
        loss of the forward pass (a float).

        Args:
            inputs: a tensor (a graph with one input), a list in :attr:`PCGraph.inputs` order, or a mapping.
            target: what the loss compares the output with (the output's shape for ``"mse"``).
        """
        output = self.forward(inputs)
        if not isinstance(target, torch.Tensor):
            raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
        if self.loss_fn is nn.functional.mse_loss and target.shape != output.shape:
            raise ValueError(f"target must have the output's shape {tuple(output.shape)}, got {tuple(target.shape)}")
        if target.is_floating_point() and not bool(torch.isfinite(target).all()):
            raise ValueError("target must be finite, got NaN or inf")
        target = target.detach()

        def loss_of(mu: torch.Tensor) -> torch.Tensor:
            with torch.enable_grad():
                try:
                    loss = self.loss_fn(mu, target)
                except (RuntimeError, ValueError, IndexError) as error:
                    raise ValueError(f"target of shape {tuple(target.shape)} and dtype {target.dtype} does not fit "
                                     f"the output of shape {tuple(output.shape)}: {error}") from error
            if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                raise ValueError(f"loss must return a scalar tensor, got {getattr(loss, 'shape', type(loss))}")
            return loss

        def output_error(mu: torch.Tensor) -> tuple[torch.Tensor, float]:
            leaf = mu.detach().requires_grad_(True)
            loss = loss_of(leaf)
            (grad,) = torch.autograd.grad(loss, leaf)
            return -self.nudge * grad, float(loss.detach())

        # The target is checked on the detached output before any state is touched; the loss returned is the
        # forward pass's (in the streaming mode inference starts from the carried values instead).
        forward_loss = float(loss_of(output).detach())
        self._infer(output_error, loss_of)
        return forward_loss

    def backward_from(self, output_grad: torch.Tensor, write_grads: bool = True) -> dict:
        """After :meth:`forward`, infer with the output error ``-output_grad`` (the gradient of some loss at the
        output, as autograd delivers it) and write the weight updates (``write_grads=False``: only keep them in
        :attr:`updates`). Returns the input error of each input (minus the gradient at the inputs; None for inputs
        that need no gradient)."""
        if self._forward is None:
            raise RuntimeError("backward_from needs a forward pass first")
        out_shape = self._forward[1][self.graph.output].shape
        if output_grad.shape != out_shape:
            raise ValueError(f"output_grad must have the output's shape {tuple(out_shape)}, got "
                             f"{tuple(output_grad.shape)}")
        grad = output_grad.detach()
        self._infer(lambda mu: (-self.nudge * grad, float("nan")), write_grads=write_grads)
        return self._input_errors

    def parameter_updates(self) -> list[torch.Tensor | None]:
        """The last inference's update of each of :meth:`parameters` (summed over the nodes that share it), in
        that order; None for a parameter the output does not depend on."""
        total: dict[int, torch.Tensor] = {}
        for n, node_updates in self.updates.items():
            for p, update in zip(self._params[n], node_updates):
                if update is None:
                    continue
                total[id(p)] = update if id(p) not in total else total[id(p)] + update
        return [total.get(id(p)) for p in self.parameters()]

    def _infer(self, output_error: Callable[[torch.Tensor], tuple[torch.Tensor, float]],
               loss_of: Callable[[torch.Tensor], torch.Tensor] | None = None, write_grads: bool = True) -> float:
        """Inference and the weight updates. ``output_error(mu_out)`` gives the output error and the loss;
        ``loss_of(mu_out)`` (the loss as a tensor, when there is one) lets the output error and the products of the
        nodes come from one autograd call."""
        if self._forward is None:
            raise RuntimeError("no forward pass to infer from")
        values, predictions, leaves = self._forward
        self._forward = None
        order = list(self.graph.nodes)
        out = self.graph.output
        hidden = [n for n in reversed(order) if n != out]
        parents = {n: self.graph.nodes[n][1] for n in order}
        eta = self.value_lr
        errors: dict[str, torch.Tensor | None] = {}

        def vjp(n: str, with_params: bool, loss: torch.Tensor | None = None) -> tuple:
            wanted = [leaf for leaf in leaves[n] if leaf.requires_grad]
            params = self._params[n] if with_params else []
            if loss is not None:  # the output node, first sweep: d(nudge * loss)/d(mu_out, inputs, weights)
                grads = torch.autograd.grad(loss * self.nudge, [predictions[n]] + wanted + params, retain_graph=True,
                                            allow_unused=True)
                errors[n] = -grads[0]
                grads = grads[1:]
                grads = tuple(None if g is None else -g for g in grads)  # products with e_out = -grad
            elif errors[n] is None or (not wanted and not params):
                return (None,) * len(wanted), (None,) * len(params)
            else:
                grads = torch.autograd.grad(predictions[n], wanted + params, grad_outputs=errors[n],
                                            retain_graph=True, allow_unused=True)
            return grads[:len(wanted)], grads[len(wanted):]

        def spread(n: str, grads: tuple, feedback: dict) -> None:
            wanted = [p for p, leaf in zip(parents[n], leaves[n]) if leaf.requires_grad]
            for p, g in zip(wanted, grads):
                if g is not None:
                    feedback[p] = feedback[p] + g if p in feedback else g

        last_params: dict[str, tuple] = {}
        loss = float("nan")
        if self.fixed_prediction:
            # Values start at the predictions (errors 0) and only the errors move: v - mu with mu fixed.
            errors.update({n: None for n in hidden})
            if loss_of is None:
                errors[out], loss = output_error(predictions[out])
            for it in range(self.iterations):
                final = it == self.iterations - 1
                feedback: dict[str, torch.Tensor] = {}
                if it == 0 and loss_of is not None:
                    loss_tensor = loss_of(predictions[out])
                    loss = float(loss_tensor.detach())
                    grads, last_params[out] = vjp(out, final, loss_tensor)
                else:
                    grads, last_params[out] = vjp(out, final)
                spread(out, grads, feedback)
                for n in hidden:  # top down: each node hears its children's errors of this sweep
                    fb, e = feedback.get(n), errors[n]
                    if fb is None:
                        errors[n] = None if e is None else e * (1.0 - eta)
                    elif eta == 1.0 or e is None:
                        errors[n] = fb if eta == 1.0 else fb * eta
                    else:
                        errors[n] = torch.lerp(e, fb, eta)
                    grads, last_params[n] = vjp(n, final)
                    spread(n, grads, feedback)
            for n in hidden:
                if errors[n] is None:
                    errors[n] = torch.zeros_like(values[n])
                values[n] = predictions[n].detach() + errors[n]
            self._input_errors = {i: feedback.get(i) for i in self.graph.inputs}
        else:
            def all_feedback(loss_tensor: torch.Tensor | None) -> dict:
                """Every node's product J^T e at once (one autograd call); with the loss, also e_out."""
                outputs, grad_outputs, wanted, owners = [], [], [], []
                for n in order:
                    pairs = [(p, leaf) for p, leaf in zip(parents[n], leaves[n]) if leaf.requires_grad]
                    if not pairs or (n == out and loss_tensor is not None):
                        continue
                    outputs.append(predictions[n])
                    grad_outputs.append(errors[n])
                    wanted += [leaf for _, leaf in pairs]
                    owners += [p for p, _ in pairs]
                extra = []
                if loss_tensor is not None:  # d(-nudge * loss): the output node's products and e_out itself
                    outputs.append(loss_tensor)
                    grad_outputs.append(torch.full_like(loss_tensor, -self.nudge))
                    pairs = [(p, leaf) for p, leaf in zip(parents[out], leaves[out]) if leaf.requires_grad]
                    wanted += [leaf for _, leaf in pairs]
                    owners += [p for p, _ in pairs]
                    extra = [predictions[out]]
                grads = torch.autograd.grad(outputs, wanted + extra, grad_outputs, retain_graph=True,
                                            allow_unused=True) if outputs else ()
                if extra:
                    errors[out] = grads[-1]
                feedback: dict[str, torch.Tensor] = {}
                for p, g in zip(owners, grads[:len(wanted)]):
                    if g is not None:
                        feedback[p] = feedback[p] + g if p in feedback else g
                return feedback

            def energy() -> float:
                total = sum(float((errors[n] ** 2).sum()) for n in hidden) / 2
                if loss_tensor is not None:
                    return total + self.nudge * float(loss_tensor.detach())
                return total - float((errors[out] * predictions[out].detach()).sum())  # the linear output term

            errors.update({n: values[n] - predictions[n].detach() for n in hidden})
            loss_tensor = None if loss_of is None else loss_of(predictions[out])
            if loss_tensor is None:
                errors[out], loss = output_error(predictions[out])
            level = energy()
            self.value_lrs_used = []
            for _ in range(self.iterations):
                feedback = all_feedback(loss_tensor)
                step = {n: errors[n] if feedback.get(n) is None else errors[n] - feedback[n] for n in hidden}
                before = (dict(values), dict(predictions), dict(leaves), dict(errors), loss_tensor)
                while True:  # all values move together along -dF/dv; a step that raises the energy is halved
                    for n in hidden:
                        values[n] = before[0][n] - eta * step[n]
                    for n in order:  # predictions and Jacobians at the new values
                        predictions[n], leaves[n] = self._call(n, values, replay=True)
                    for n in hidden:
                        errors[n] = values[n] - predictions[n].detach()
                    if loss_tensor is None:
                        errors[out], _ = output_error(predictions[out])
                    else:
                        loss_tensor = loss_of(predictions[out])
                    new_level = energy()
                    if new_level <= level + 1e-6 * abs(level) + 1e-12 or eta < self.value_lr * 2.0 ** -10:
                        break
                    eta /= 2
                    values, predictions, leaves = dict(before[0]), dict(before[1]), dict(before[2])
                    errors, loss_tensor = dict(before[3]), before[4]
                level = new_level
                self.value_lrs_used.append(eta)
            if loss_tensor is not None:
                errors[out], _ = output_error(predictions[out])
            feedback = {}
            for n in order:
                grads, last_params[n] = vjp(n, True)
                spread(n, grads, feedback)
            self._input_errors = {i: feedback.get(i) for i in self.graph.inputs}
        scale = 1.0 / self.nudge
        self.updates = {}
        for n in order:
            node_updates = []
            for p, g in zip(self._params[n], last_params.get(n, ())):
                if g is None:
                    node_updates.append(None)
                    continue
                # -(df/dtheta)^T e / nudge, in autograd's sign (the optimiser descends along it)
                update = g.neg_() if scale == 1.0 else g.mul_(-scale)
                node_updates.append(update)
                if write_grads:
                    p.grad = update if p.grad is None else p.grad + update
            self.updates[n] = node_updates
        self.errors = errors
        self.values = values
        self.node_inputs = {n: tuple(leaf.detach() for leaf in leaves[n]) for n in order}
        if self.streaming:
            self._carried = {n: values[n].detach() for n in hidden} | {out: predictions[out].detach()}
        return loss


# ---------------------------------------------------------------------- inside an autograd model
class _PCFunction(torch.autograd.Function):
    """Forward: the graph's output. Backward: a predictive-coding inference from the arriving gradient; the
    parameters are inputs of the function (so a graph whose data needs no gradient still gets a backward) and
    receive the local updates as their gradients, which autograd accumulates into ``.grad``."""

    @staticmethod
    def forward(ctx, trainer: PredictiveCoding, count: int, *tensors: torch.Tensor) -> torch.Tensor:  # noqa: D102
        ctx.trainer, ctx.count = trainer, count
        ctx.needs = [t.requires_grad for t in tensors[:count]]
        return trainer.forward(list(tensors[:count]))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # noqa: D102
        trainer = ctx.trainer
        input_errors = trainer.backward_from(grad_output, write_grads=False)
        grads = []
        for name, needed in zip(trainer.graph.inputs, ctx.needs):
            e = input_errors.get(name)
            grads.append(-e / trainer.nudge if needed and e is not None else None)
        return (None, None, *grads, *trainer.parameter_updates())


class PCModule(nn.Module):
    """A :class:`PCGraph` as a module of a model trained by autograd, whose own weights learn by predictive coding.

    ``forward(*inputs)`` (in :attr:`PCGraph.inputs` order) returns the graph's output. In ``loss.backward()`` the
    gradient arriving at that output is taken as the output error of a predictive-coding inference over the graph
    (:meth:`PredictiveCoding.backward_from`), which writes the graph's weight updates; the gradient passed on to the
    inputs is minus their inferred error. In eval mode, or with gradients off, it is a plain forward pass.

    Args:
        graph: the graph; its modules become submodules (so ``parameters()`` and ``state_dict()`` hold them).
        **options: ``iterations``, ``value_lr``, ``fixed_prediction``, ``nudge`` of :class:`PredictiveCoding`.
    """

    def __init__(self, graph: PCGraph | nn.Sequential, **options):
        super().__init__()
        self.trainer = PredictiveCoding(graph, loss="mse", **options)
        self.graph = self.trainer.graph
        self.parts = nn.ModuleList(self.graph.modules())

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if not torch.is_grad_enabled():
            with torch.no_grad():
                values = self.trainer._inputs(list(inputs))
                for name, (module, parents) in self.graph.nodes.items():
                    values[name] = module(*(values[p] for p in parents))
                return values[self.graph.output]
        return _PCFunction.apply(self.trainer, len(inputs), *inputs, *self.trainer.parameters())
