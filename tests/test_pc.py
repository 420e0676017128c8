"""Predictive coding (htmagent.deep.pc): its weight updates against autograd's, locality, streaming, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from htmagent.deep import DeepHTM  # noqa: E402
from htmagent.deep.pc import PCGraph, PCModule, PredictiveCoding, _run  # noqa: E402
from htmagent.deep import seeded_weights  # noqa: E402


def _seeded(seed, build):
    with seeded_weights(seed):
        return build()


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def _autograd(graph: PCGraph, inputs, target, loss=nn.functional.mse_loss) -> dict[int, torch.Tensor]:
    values = dict(zip(graph.inputs, inputs))
    for name, (module, parents) in graph.nodes.items():
        values[name] = module(*(values[p] for p in parents))
    params = graph.parameters()
    grads = torch.autograd.grad(loss(values[graph.output], target), params)
    return {id(p): g for p, g in zip(params, grads)}


def _pc_grads(graph, inputs, target, **options) -> dict[int, torch.Tensor]:
    for p in graph.parameters():
        p.grad = None
    PredictiveCoding(graph, **options).backward(inputs, target)
    return {id(p): p.grad for p in graph.parameters()}


class _Add(nn.Module):
    def forward(self, a, b):  # noqa: D102
        return a + b


def _graphs(seed: int):
    g = torch.Generator().manual_seed(seed)
    mlp = _seeded(seed, lambda: nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 12), nn.ReLU(),
                                              nn.Linear(12, 3)))
    yield "mlp", PCGraph.from_sequential(mlp), [torch.randn(5, 6, generator=g)], torch.randn(5, 3, generator=g)
    cnn = _seeded(seed, lambda: nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                              nn.Flatten(), nn.Linear(3 * 3 * 3, 4)))
    yield "cnn", PCGraph.from_sequential(cnn), [torch.randn(4, 1, 6, 6, generator=g)], torch.randn(4, 4, generator=g)
    # branching: a skip connection and a node with two parents
    a, b, c = _seeded(seed, lambda: (nn.Sequential(nn.Linear(4, 8), nn.Tanh()), nn.Linear(8, 8), nn.Linear(8, 2)))
    branch = PCGraph(["x"])
    branch.add("a", a, "x")
    branch.add("b", nn.Sequential(b, nn.Sigmoid()), "a")
    branch.add("sum", _Add(), "a", "b")
    branch.add("y", c, "sum")
    yield "branching", branch, [torch.randn(3, 4, generator=g)], torch.randn(3, 2, generator=g)
    cell, head = _seeded(seed, lambda: (nn.RNNCell(3, 7), nn.Linear(7, 2)))
    rnn = PCGraph(["x0", "x1", "x2", "h"])
    h = "h"
    for t in range(3):
        h = rnn.add(f"h{t + 1}", cell, f"x{t}", h)
    rnn.add("y", head, h)
    yield "rnn", rnn, [torch.randn(2, 3, generator=g) for _ in range(3)] + [torch.zeros(2, 7)], \
        torch.randn(2, 2, generator=g)
    deep = DeepHTM(1, hidden=16, columns=16, k=3, cells_per_column=3, context_rank=8, seed=seed, device="cpu")
    deep.train(False)
    yield "deephtm", deep.pc_graph(2), [torch.randn(3, 1, generator=g), torch.randn(3, 1, generator=g),
                                         torch.zeros(3, deep.tm.num_cells)], torch.randn(3, 1, generator=g)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_sweep_with_value_lr_1_equals_autograd_on_every_graph(seed):
    for name, graph, inputs, target in _graphs(seed):
        reference = _autograd(graph, inputs, target)
        ours = _pc_grads(graph, inputs, target)
        for p in graph.parameters():
            assert ours[id(p)] is not None, name
            assert _rel(ours[id(p)], reference[id(p)]) <= 1e-5, (name, _rel(ours[id(p)], reference[id(p)]))


def test_smaller_value_lr_converges_to_autograd_with_iterations():
    name, graph, inputs, target = next(_graphs(0))
    reference = _autograd(graph, inputs, target)

    def worst(iterations):
        ours = _pc_grads(graph, inputs, target, iterations=iterations, value_lr=0.5)
        return max(_rel(ours[id(p)], reference[id(p)]) for p in graph.parameters())

    errors = [worst(n) for n in (1, 5, 30)]
    assert errors[0] > 0.1 and errors[0] > errors[1] > errors[2] and errors[2] < 1e-5


def test_standard_form_approaches_autograd_with_a_small_nudge():
    model = _seeded(3, lambda: nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                                             nn.Linear(16, 3))).double()
    graph = PCGraph.from_sequential(model)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 5, generator=g, dtype=torch.float64), torch.randn(8, 3, generator=g, dtype=torch.float64)
    reference = _autograd(graph, [x], y)

    def worst(**options):
        ours = _pc_grads(graph, [x], y, fixed_prediction=False, value_lr=0.2, **options)
        return max(_rel(ours[id(p)], reference[id(p)]) for p in graph.parameters())

    loose, tight = worst(iterations=100, nudge=1.0), worst(iterations=100, nudge=1e-3)
    assert loose > 0.02  # with the output clamped hard the equilibrium is not backprop's
    assert tight < 1e-3 < loose


def test_standard_form_converges_on_the_deep_htm_graph_in_float64():
    # The 10-layer unrolled DeepHTM graph: in float64 the standard form gets within 1e-2 of autograd in 50 iterations
    # (in float32 the small nudge drowns in rounding; docs/results_pc.md).
    from htmagent.experiments.predictive_coding import agreement, agreement_graphs

    graph, inputs, target, loss = agreement_graphs(0, 4, "float64")["DeepHTM unrolled 2 steps"]
    assert all(p.dtype == torch.float64 for p in graph.parameters())

    def worst(iterations):
        rows = agreement(graph, inputs, target, loss, dict(value_lr=0.5, fixed_prediction=False, nudge=1e-3,
                                                           iterations=iterations))
        return max(r for _, r, _ in rows)

    early, late = worst(5), worst(50)
    assert early > 0.1 and late < 1e-2


@pytest.mark.parametrize("fixed", [True, False])
def test_each_update_is_recomputed_from_its_own_error_and_inputs(fixed):
    for name, graph, inputs, target in _graphs(4):
        for p in graph.parameters():
            p.grad = None
        pc = PredictiveCoding(graph, iterations=3 if fixed else 10, value_lr=0.5 if fixed else 0.1,
                              fixed_prediction=fixed)
        pc.backward(inputs, target)
        for node, (module, _) in graph.nodes.items():
            params = [p for p in module.parameters()]
            if not params:
                continue
            own = [x.detach().requires_grad_(x.is_floating_point()) for x in pc.node_inputs[node]]
            # the node's function on its own stored inputs, with the selections (k-winners, cells) of its forward
            mu = _run(module, own, _replay_tape(pc, node))
            local = torch.autograd.grad(mu, params, grad_outputs=pc.errors[node], allow_unused=True)
            for g, update in zip(local, pc.updates[node]):
                assert update is not None
                assert torch.allclose(-g / pc.nudge, update, rtol=1e-5, atol=1e-9), (name, node)
        # and .grad is the sum of the node updates of each weight (one node, or several sharing a module)
        totals = {}
        for node, (module, _) in graph.nodes.items():
            for p, update in zip(module.parameters(), pc.updates[node]):
                totals[id(p)] = totals.get(id(p), 0) + update
        for p in graph.parameters():
            assert torch.allclose(totals[id(p)], p.grad, atol=1e-9), name


def _replay_tape(pc, node):
    tape = pc._tapes[node]
    tape.replay, tape.position = True, 0
    return tape


def test_shared_weights_sum_the_local_updates_of_their_nodes():
    _, graph, inputs, target = [g for g in _graphs(5) if g[0] == "rnn"][0]
    for p in graph.parameters():
        p.grad = None
    pc = PredictiveCoding(graph)
    pc.backward(inputs, target)
    cell = graph.nodes["h1"][0]
    for i, p in enumerate(cell.parameters()):
        total = sum(pc.updates[f"h{t}"][i] for t in (1, 2, 3))
        assert torch.allclose(total, p.grad, atol=1e-7)


def test_streaming_mode_learns_a_regression_on_a_continuous_stream():
    g = torch.Generator().manual_seed(0)
    true_w = torch.randn(3, 2, generator=g)
    model = _seeded(0, lambda: nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2)))
    pc = PredictiveCoding(model, iterations=5, value_lr=0.5, streaming=True)
    assert not pc.fixed_prediction
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for t in range(3000):  # every tick a new input and target, the values carried over from the last tick
        x = torch.tensor([[np.sin(t / 20), np.cos(t / 31), np.sin(t / 47 + 1)]], dtype=torch.float32)
        optimizer.zero_grad()
        losses.append(pc.backward(x, torch.tanh(x @ true_w)))
        optimizer.step()
    assert pc._carried
    early, late = np.mean(losses[:200]), np.mean(losses[-200:])
    assert late < 0.1 * early


def test_streaming_carries_values_and_reset_forgets_them():
    model = _seeded(0, lambda: nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)))
    pc = PredictiveCoding(model, iterations=3, value_lr=0.3, streaming=True)
    x, y = torch.ones(1, 2), torch.zeros(1, 1)
    pc.backward(x, y)
    carried = pc._carried["layer0"].clone()
    pc.forward(x)
    assert torch.equal(pc._forward[0]["layer0"], carried)  # values start where the last call left them
    pc.reset()
    pc.forward(x)
    assert torch.allclose(pc._forward[0]["layer0"], pc.forward_values["layer0"])


def test_pc_module_inside_an_autograd_model_gives_autograd_gradients():
    pre, body, head = _seeded(0, lambda: (nn.Linear(3, 4), nn.Sequential(nn.Linear(4, 8), nn.ReLU(),
                                                                       nn.Linear(8, 5), nn.Tanh()), nn.Linear(5, 2)))
    everything = list(pre.parameters()) + list(body.parameters()) + list(head.parameters())
    x, y = torch.randn(6, 3), torch.randn(6, 2)
    nn.functional.mse_loss(head(body(pre(x))), y).backward()
    reference = [p.grad.clone() for p in everything]
    for p in everything:
        p.grad = None
    wrapped = PCModule(body)
    nn.functional.mse_loss(head(wrapped(pre(x))), y).backward()
    for p, r in zip(everything, reference):
        assert _rel(p.grad, r) <= 1e-5
    with torch.no_grad():
        assert torch.allclose(wrapped(torch.ones(6, 4)), body(torch.ones(6, 4)))


def test_deephtm_trained_by_pc_follows_backprop_step_for_step_and_saves():
    a = DeepHTM(1, hidden=32, columns=32, k=3, cells_per_column=3, bptt=3, seed=2, device="cpu")
    b = DeepHTM(1, hidden=32, columns=32, k=3, cells_per_column=3, bptt=3, seed=2, trainer="pc", device="cpu")
    xs = np.sin(np.arange(41) / 3.0)
    for t in range(40):
        assert a.step([xs[t]], [xs[t + 1]]) == pytest.approx(b.step([xs[t]], [xs[t + 1]]), rel=1e-4, abs=1e-6)
        assert b.active_columns().num_active == 3
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    assert a.active_cells() == b.active_cells() and a.anomaly == b.anomaly
    buffer = io.BytesIO()
    b.save(buffer)
    buffer.seek(0)
    c = DeepHTM.load(buffer, device="cpu")
    assert c.trainer == "pc"
    assert b.step([0.1], [0.2]) == c.step([0.1], [0.2])
    for p, q in zip(b.parameters(), c.parameters()):
        assert torch.equal(p, q)


def test_deephtm_fit_by_pc_equals_fit_by_backprop():
    xs = np.sin(np.arange(161) / 4.0)[:, None]
    a = DeepHTM(1, hidden=16, columns=16, k=2, cells_per_column=2, seed=1, device="cpu")
    b = DeepHTM(1, hidden=16, columns=16, k=2, cells_per_column=2, seed=1, trainer="pc", device="cpu")
    la, lb = a.fit(xs[:-1], xs[1:], epochs=2, window=8), b.fit(xs[:-1], xs[1:], epochs=2, window=8)
    assert la == pytest.approx(lb, rel=1e-4)


def test_deephtm_rejects_a_bad_trainer():
    with pytest.raises(ValueError, match="trainer"):
        DeepHTM(1, trainer="hebbian")
    with pytest.raises(ValueError, match="pc_value_lr"):
        DeepHTM(1, trainer="pc", pc_value_lr=0.0)


# ---------------------------------------------------------------------- bad input
def test_a_target_of_the_wrong_shape_is_refused_and_nothing_changes():
    model = _seeded(0, lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)))
    before = [p.detach().clone() for p in model.parameters()]
    pc = PredictiveCoding(model)
    with pytest.raises(ValueError, match=r"target must have the output's shape \(5, 2\), got \(5, 3\)"):
        pc.backward(torch.randn(5, 3), torch.randn(5, 3))
    ce = PredictiveCoding(model, loss="cross_entropy")
    with pytest.raises(ValueError, match="target of shape"):
        ce.backward(torch.randn(5, 3), torch.zeros(4, dtype=torch.long))
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    with pytest.raises(ValueError, match="finite"):
        pc.backward(torch.full((5, 3), float("nan")), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="finite"):
        pc.backward(torch.zeros(5, 3), torch.full((5, 2), float("inf")))
    with pytest.raises(TypeError, match="target must be a torch.Tensor"):
        pc.backward(torch.zeros(5, 3), np.zeros((5, 2)))
    assert all(p.grad is None for p in model.parameters())


def test_inputs_must_match_the_graph():
    graph = PCGraph(["x", "y"])
    graph.add("s", _Add(), "x", "y")
    graph.add("out", nn.Linear(2, 1), "s")
    pc = PredictiveCoding(graph)
    with pytest.raises(ValueError, match=r"inputs must hold 2 tensors \(\['x', 'y'\]\), got 1"):
        pc.forward([torch.zeros(1, 2)])
    with pytest.raises(ValueError, match=r"missing \['y'\], unknown \['z'\]"):
        pc.forward({"x": torch.zeros(1, 2), "z": torch.zeros(1, 2)})
    with pytest.raises(ValueError, match="got one tensor"):
        pc.forward(torch.zeros(1, 2))
    with pytest.raises(TypeError, match="input 'y' must be a torch.Tensor"):
        pc.forward([torch.zeros(1, 2), [0.0, 0.0]])
    with pytest.raises(ValueError, match="output_grad must have the output's shape"):
        pc.forward([torch.zeros(3, 2), torch.zeros(3, 2)])
        pc.backward_from(torch.zeros(3, 2))


@pytest.mark.parametrize("module, why", [(nn.BatchNorm1d(4), "BatchNorm1d"), (nn.Dropout(0.1), "Dropout"),
                                         (nn.LSTM(4, 4), "LSTM")])
def test_unsupported_modules_are_named(module, why):
    graph = PCGraph(["x"])
    with pytest.raises(TypeError, match=f"node 'bad': {why} is not supported by predictive coding"):
        graph.add("bad", nn.Sequential(nn.Linear(4, 4), module), "x")
    assert not graph.nodes


def test_graph_construction_errors():
    graph = PCGraph(["x"])
    with pytest.raises(ValueError, match="parent 'h' of node 'y' is not an input or an earlier node"):
        graph.add("y", nn.Linear(2, 2), "h")
    graph.add("h", nn.Linear(2, 2), "x")
    with pytest.raises(ValueError, match="already in the graph"):
        graph.add("h", nn.Linear(2, 2), "x")
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        graph.add("f", lambda v: v, "h")
    with pytest.raises(ValueError, match="needs at least one parent"):
        graph.add("g", nn.Linear(2, 2))
    with pytest.raises(ValueError, match="distinct"):
        PCGraph(["x", "x"])
    with pytest.raises(ValueError, match="graph has no nodes"):
        PredictiveCoding(PCGraph(["x"]))
    with pytest.raises(ValueError, match="value_lr"):
        PredictiveCoding(graph, value_lr=0.0)
    with pytest.raises(ValueError, match="iterations"):
        PredictiveCoding(graph, iterations=0)
    with pytest.raises(ValueError, match="loss must be one of"):
        PredictiveCoding(graph, loss="hinge")
    with pytest.raises(TypeError, match="must be a torch.nn.Sequential"):
        PCGraph.from_sequential(nn.Linear(2, 2))


def test_from_sequential_groups_each_weighted_layer_with_what_follows():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2), nn.Tanh()))
    graph = PCGraph.from_sequential(model)
    kinds = [[type(m).__name__ for m in (mod if isinstance(mod, nn.Sequential) else [mod])]
             for mod, _ in graph.nodes.values()]
    assert kinds == [["Flatten", "Linear", "ReLU"], ["Linear", "Tanh"]]
    assert len(PCGraph.from_sequential(model, split=True).nodes) == 5
