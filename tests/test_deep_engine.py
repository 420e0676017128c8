"""DeepHTM's numba engine (htmagent.kernels.deep) against its twin, the torch engine (autograd)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from htmagent.deep import DeepHTM  # noqa: E402

SMALL = dict(hidden=24, columns=32, k=4, cells_per_column=3, context_rank=8)


def _stream(steps: int, size: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * math.pi, size)
    values = np.sin(np.arange(steps + 1)[:, None] * 2 * math.pi / 9 + phase[None, :])
    return values + 0.05 * rng.standard_normal(values.shape)


def _run(engine: str, steps: int = 40, size: int = 1, out: int | None = None, **kwargs):
    model = DeepHTM(size, output_size=out, seed=3, device="cpu", engine=engine, **{**SMALL, **kwargs})
    values = _stream(steps, max(size, out or size))
    record = []
    for t in range(steps):
        loss = model.step(values[t, :size], values[t + 1, :(out or size)])
        record.append((loss, model.active_columns().sparse.tolist(), model.active_cells().sparse.tolist(),
                       model.anomaly, model.prediction.clone()))
    return model, record


CASES = [
    dict(optimizer="sgd", lr=0.05),
    dict(optimizer="adam", lr=1e-2),
    dict(optimizer="sgd", lr=0.05, context_rank=None),  # a full cells x cells context
    dict(optimizer="adam", lr=1e-2, context_rank=None, bptt=3),
    dict(optimizer="sgd", lr=0.05, weight_sparsity=0.5, bptt=1),
    dict(optimizer="adam", lr=1e-2, boost_strength=0.0, bptt=4),
    dict(optimizer="sgd", lr=0.05, size=3, out=2),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_numba_engine_learns_exactly_what_autograd_learns(case):
    case = dict(case)
    size, out = case.pop("size", 1), case.pop("out", None)
    reference, expected = _run("torch", size=size, out=out, **case)
    model, got = _run("numba", size=size, out=out, **case)
    tol = 1e-4 if case["optimizer"] == "adam" else 1e-5  # Adam divides by sqrt(v): rounding shows more
    for (loss_a, cols_a, cells_a, anomaly_a, pred_a), (loss_b, cols_b, cells_b, anomaly_b, pred_b) in zip(expected,
                                                                                                           got):
        assert cols_a == cols_b and cells_a == cells_b  # the same winners and cells at every step
        assert anomaly_a == anomaly_b
        assert loss_b == pytest.approx(loss_a, rel=1e-3, abs=1e-6)
        np.testing.assert_allclose(pred_b.numpy(), pred_a.numpy(), atol=tol)
        assert len(cols_b) == model.k  # exactly k active columns at every step
    for (name, a), b in zip(reference.named_parameters(), model.parameters()):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), atol=tol, err_msg=name)
    kw_a, kw_b = reference.sp.kwinners, model.sp.kwinners
    np.testing.assert_allclose(kw_b.duty_cycle.numpy(), kw_a.duty_cycle.numpy(), atol=1e-6)
    window = case.get("bptt", 2)  # every window step is a forward pass the duty cycles learn from
    expected_iterations = sum(min(t + 1, window) for t in range(40))
    assert int(kw_b.learning_iterations) == int(kw_a.learning_iterations) == expected_iterations
    assert torch.equal(model._predicted, reference._predicted)
    if case["optimizer"] == "adam":
        for p_a, p_b in zip(reference.parameters(), model.parameters()):
            s_a, s_b = reference.optimizer.state[p_a], model.optimizer.state[p_b]
            assert float(s_a["step"]) == float(s_b["step"]) == 40
            np.testing.assert_allclose(s_b["exp_avg"].numpy(), s_a["exp_avg"].numpy(), atol=1e-5)


def test_numba_engine_without_learning_changes_nothing_but_the_codes():
    model, _ = _run("numba", steps=10, optimizer="sgd", lr=0.05)
    reference, _ = _run("torch", steps=10, optimizer="sgd", lr=0.05)
    weights = [p.detach().clone() for p in model.parameters()]
    duty = model.sp.kwinners.duty_cycle.clone()
    for value in (0.3, -0.2, 0.8):
        loss = model.step([value], [0.0], learn=False)
        expected = reference.step([value], [0.0], learn=False)
        assert loss == pytest.approx(expected, rel=1e-4, abs=1e-7)
        assert math.isnan(model.step([value]))  # no target: no loss
        reference.step([value])
        assert model.active_columns().sparse.tolist() == reference.active_columns().sparse.tolist()
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))
    assert torch.equal(duty, model.sp.kwinners.duty_cycle)


def test_numba_engine_save_load_resumes_bit_for_bit_and_engines_switch():
    model, _ = _run("numba", steps=15, optimizer="adam", lr=1e-2)
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    copy = DeepHTM.load(buffer)
    assert copy.engine == "numba"
    values = _stream(20, 1, seed=1)
    for t in range(20):
        a = model.step(values[t], values[t + 1])
        b = copy.step(values[t], values[t + 1])
        assert a == b
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), copy.parameters()))
    # A model trained in one engine goes on in the other: same state, same next codes.
    torch_model, _ = _run("torch", steps=15, optimizer="adam", lr=1e-2)
    numba_model, _ = _run("numba", steps=15, optimizer="adam", lr=1e-2)
    state = torch_model.state_dict()
    numba_model.load_state_dict(state)
    numba_model.optimizer.load_state_dict(torch_model.optimizer.state_dict())
    numba_model._cells, numba_model._predicted = torch_model._cells.clone(), torch_model._predicted.clone()
    numba_model._history.clear()
    numba_model._history.extend(torch_model._history)
    for t in range(10):
        torch_model.step(values[t], values[t + 1])
        numba_model.step(values[t], values[t + 1])
        assert numba_model.active_cells().sparse.tolist() == torch_model.active_cells().sparse.tolist()


def test_numba_adam_flushes_vanishing_moments_instead_of_keeping_subnormals():
    model = DeepHTM(1, seed=0, device="cpu", engine="numba", optimizer="adam", **SMALL)
    for t in range(1200):  # most decoder weights see a zero gradient on most steps: their moments decay
        model.step([math.sin(t / 3)], [math.sin((t + 1) / 3)])
    for p in model.parameters():
        for name in ("exp_avg", "exp_avg_sq"):
            m = np.abs(model.optimizer.state[p][name].numpy())
            assert np.all((m == 0) | (m >= 1e-30)), name
    assert any(np.any(model.optimizer.state[p]["exp_avg"].numpy() == 0) for p in model.parameters())


def test_numba_engine_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="engine must be"):
        DeepHTM(1, engine="jax")
    with pytest.raises(ValueError, match="trainer"):
        DeepHTM(1, engine="numba", trainer="pc", **SMALL)
    with pytest.raises(ValueError, match="CPU"):
        DeepHTM(1, engine="numba", device="cuda", **SMALL)
    model = DeepHTM(1, engine="numba", seed=0, **SMALL)
    assert model.device.type == "cpu"
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="x must hold 1"):
        model.step([1.0, 2.0], [0.0])
    with pytest.raises(ValueError, match="target must be finite"):
        model.step([1.0], [float("nan")])
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert len(model._history) == 0
