"""DeepHTM and its layers: exact k-sparsity, gradients only through the winners, boosting, context-dependent cells,
save/load that resumes training exactly, and bad input refused. Nothing here times anything."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from htmagent.deep import DeepHTM, DiffTemporalMemory, KWinners, SparseWeights  # noqa: E402


@pytest.mark.parametrize("groups, k", [(1, 3), (4, 2)])
def test_kwinners_keeps_exactly_k_and_passes_gradient_only_through_them(groups, k):
    layer = KWinners(40, k, groups=groups, boost_strength=0.0)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 40, generator=gen, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    on = (out != 0).reshape(6, groups, 40 // groups)
    assert torch.all(on.sum(-1) == k)
    upstream = torch.randn(6, 40, generator=gen, dtype=torch.float64)
    (out * upstream).sum().backward()
    winners = (out != 0)
    assert torch.equal(x.grad[winners], upstream[winners]) and torch.all(x.grad[~winners] == 0)
    # A finite difference agrees: a small nudge of a winner moves the output by the nudge, of a loser by nothing.
    layer.eval()
    eps = 1e-6
    for row, col in [(0, int(torch.nonzero(winners[0])[0])), (0, int(torch.nonzero(~winners[0])[0]))]:
        bumped = x.detach().clone()
        bumped[row, col] += eps
        numeric = ((layer(bumped) - layer(x.detach())) * upstream).sum() / eps
        assert float(numeric) == pytest.approx(float(x.grad[row, col]), abs=1e-5)


def test_boosting_spreads_the_wins_over_the_columns_on_a_skewed_input():
    gen = torch.Generator().manual_seed(1)
    skew = torch.linspace(2.0, 0.0, 30)  # without boosting the first columns always win

    def used(strength: float) -> int:
        layer = KWinners(30, 3, boost_strength=strength, duty_cycle_period=200)
        wins = torch.zeros(30)
        for _ in range(600):
            wins += (layer(skew + 0.05 * torch.rand(8, 30, generator=gen)) != 0).sum(0)
        return int((wins > 0.02 * wins.sum() / 30).sum())

    assert used(0.0) <= 4
    assert used(50.0) >= 20


def test_sparse_weights_stay_zero_through_training():
    layer = SparseWeights(20, 10, sparsity=0.7, generator=torch.Generator().manual_seed(2))
    zero = layer.mask == 0
    assert 0.6 < float(zero.float().mean()) < 0.8
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(5):
        opt.zero_grad()
        layer(torch.randn(4, 20)).pow(2).sum().backward()
        opt.step()
    effective = layer.weight * layer.mask
    assert torch.all(effective[zero] == 0)


def test_the_temporal_layer_fires_one_cell_per_active_column():
    tm = DiffTemporalMemory(12, 4, context_rank=8)
    columns = torch.zeros(2, 12)
    columns[:, [1, 5, 7]] = torch.tensor([0.5, 1.0, 2.0])
    cells = tm(columns, torch.rand(2, 48)).reshape(2, 12, 4)
    assert torch.all((cells != 0).sum(-1)[:, [1, 5, 7]] == 1)
    assert torch.all((cells != 0).sum(-1).sum(-1) == 3)
    assert torch.allclose(cells.sum(-1)[:, [1, 5, 7]], torch.tensor([0.5, 1.0, 2.0]))


def _one_hot(i: int) -> list[float]:
    v = [0.0] * 5
    v[i] = 1.0
    return v


def test_one_input_in_two_learned_contexts_gets_two_cell_codes_and_two_predictions():
    # Symbol 1 follows 0 (then comes 2) and follows 3 (then comes 4): only the cells can tell which.
    sequence = [0, 1, 2, 3, 1, 4]
    model = DeepHTM(5, hidden=32, columns=32, k=4, cells_per_column=4, context_rank=16, optimizer="adam", lr=3e-3,
                    bptt=2, seed=3, device="cpu")
    for t in range(3000):
        model.step(_one_hot(sequence[t % 6]), _one_hot(sequence[(t + 1) % 6]))
        assert model.active_columns().num_active == 4 and model.active_cells().num_active == 4
    codes = {}
    for t in range(6):
        model.step(_one_hot(sequence[t]), learn=False)
        codes[t] = (model.active_columns().sparse.tolist(), model.active_cells().sparse.tolist(),
                    int(model.prediction.argmax()))
    assert codes[1][0] == codes[4][0]  # same input, same columns
    assert codes[1][1] != codes[4][1]  # different context, different cells
    assert (codes[1][2], codes[4][2]) == (2, 4)  # and the right next symbol in each context


def test_save_and_load_resume_training_exactly(tmp_path):
    xs = np.sin(np.arange(80) / 3.0)
    model = DeepHTM(1, hidden=16, columns=24, k=3, cells_per_column=3, context_rank=8, bptt=3, seed=4,
                    device="cpu")
    for t in range(40):
        model.step([xs[t]], [xs[t + 1]])
    model.save(tmp_path / "deep.pt")
    loaded = DeepHTM.load(tmp_path / "deep.pt", device="cpu")
    for t in range(40, 79):
        a = model.step([xs[t]], [xs[t + 1]])
        b = loaded.step([xs[t]], [xs[t + 1]])
        assert a == b and torch.equal(model.prediction, loaded.prediction)
        assert model.active_cells() == loaded.active_cells() and model.anomaly == loaded.anomaly
    assert torch.equal(model.sp.kwinners.duty_cycle, loaded.sp.kwinners.duty_cycle)


def test_learning_a_sine_lowers_the_error_and_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    model = DeepHTM(1, hidden=32, columns=32, k=4, cells_per_column=3, context_rank=16, optimizer="sgd", lr=0.02,
                    seed=5, device="cpu")
    assert torch.equal(torch.random.get_rng_state(), state)
    xs = np.sin(np.arange(1501) * 2 * math.pi / 25)
    losses = [model.step([xs[t]], [xs[t + 1]]) for t in range(1500)]
    assert np.mean(losses[-200:]) < 0.25 * np.mean(losses[:200])


def test_bad_input_is_named_and_changes_nothing(tmp_path):
    model = DeepHTM(2, hidden=8, columns=8, k=2, cells_per_column=2, context_rank=4, seed=6, device="cpu")
    model.step([0.1, 0.2], [0.2, 0.3])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for x, target, match in (([0.1], None, "x must hold 2 values"), ([0.1, math.nan], None, "x must be finite"),
                             ([0.1, 0.2], [1.0, 2.0, 3.0], "target must hold 2 values")):
        with pytest.raises(ValueError, match=match):
            model.step(x, target)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="k must be <= columns"):
        DeepHTM(1, columns=4, k=5)
    with pytest.raises(ValueError, match="optimizer"):
        DeepHTM(1, optimizer="rmsprop")
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    from htmagent.serialization import StateError

    with pytest.raises(StateError, match="bad.pt"):
        DeepHTM.load(tmp_path / "bad.pt")
