"""The recurrent DeepHTM: an LSTM's interface over k-sparse cell codes chosen by context, and RecurrentPPO's policy
built on it (trains, saves and loads, refuses settings it cannot honour)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from htmagent.deep import RecurrentDeepHTM  # noqa: E402


def _zeros(batch: int, size: int):
    return torch.zeros(1, batch, size), torch.zeros(1, batch, size)


def test_outputs_are_k_sparse_one_cell_per_winning_column_and_the_state_carries_the_last_step():
    torch.manual_seed(0)
    layer = RecurrentDeepHTM(3, columns=16, k=3, cells_per_column=4, hidden=8).eval()  # duty cycles fixed
    x = torch.randn(6, 5, 3)
    out, (h, c) = layer(x, _zeros(5, 64))
    assert out.shape == (6, 5, 64) and h.shape == (1, 5, 64)
    active = (out != 0).reshape(6, 5, 16, 4)
    assert (active.sum(-1) <= 1).all()  # at most one cell per column
    assert (active.any(-1).sum(-1) == 3).all()  # exactly k columns
    assert torch.equal(h[0], out[-1]) and torch.equal(c, torch.zeros(1, 5, 64))
    # unrolling in two halves from the carried state gives the same sequence
    first, state = layer(x[:3], _zeros(5, 64))
    second, _ = layer(x[3:], state)
    assert torch.allclose(torch.cat([first, second]), out)


def test_the_cells_depend_on_the_context_and_the_gradient_reaches_every_part():
    torch.manual_seed(1)
    layer = RecurrentDeepHTM(2, columns=8, k=2, cells_per_column=4, hidden=0).eval()
    x = torch.randn(1, 1, 2)
    outs = {tuple((layer(x, (torch.randn(1, 1, 32), torch.zeros(1, 1, 32)))[0] != 0).flatten().tolist())
            for _ in range(20)}
    assert len(outs) > 1  # the same input in other contexts: other cells of the same columns
    columns = {tuple(np.flatnonzero(np.array(o).reshape(8, 4).any(1))) for o in outs}
    assert len(columns) == 1  # ... while the columns stay those of the input
    layer.train()  # training mode: the duty cycles learn from the winners
    out, _ = layer(torch.randn(4, 2, 2), _zeros(2, 32))
    assert layer.sp.kwinners.duty_cycle.sum() > 0
    out.sum().backward()
    for name, parameter in layer.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_bad_shapes_are_refused_by_name():
    layer = RecurrentDeepHTM(3, columns=8, k=2, cells_per_column=2)
    with pytest.raises(ValueError, match="x must be"):
        layer(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="state must be"):
        layer(torch.zeros(2, 1, 3), _zeros(1, 8))
    with pytest.raises(ValueError, match="k must be"):
        RecurrentDeepHTM(3, columns=2, k=3)


def test_recurrent_ppo_trains_saves_and_loads_with_the_deep_htm_policy(tmp_path):
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import RecurrentPPO

    from htmagent.sb3 import DeepHTMRecurrentPolicy

    kwargs = dict(deep_htm_kwargs=dict(columns=16, k=2, cells_per_column=4, hidden=16))
    model = RecurrentPPO(DeepHTMRecurrentPolicy, "CartPole-v1", seed=0, n_steps=64, batch_size=32, n_epochs=1,
                         policy_kwargs=kwargs)
    before = [p.detach().clone() for p in model.policy.lstm_actor.parameters()]
    model.learn(128)
    assert isinstance(model.policy.lstm_actor, RecurrentDeepHTM)
    assert isinstance(model.policy.lstm_critic, RecurrentDeepHTM)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.lstm_actor.parameters()))
    model.save(tmp_path / "agent")
    loaded = RecurrentPPO.load(tmp_path / "agent")
    obs = np.random.default_rng(0).normal(size=(12, 1, 4)).astype(np.float32)
    actions = []
    for m in (model, loaded):
        state, start, seq = None, np.ones(1, dtype=bool), []
        for o in obs:
            action, state = m.predict(o, state=state, episode_start=start, deterministic=True)
            start = np.zeros(1, dtype=bool)
            seq.append(int(action[0]))
        actions.append(seq)
        assert (state[0] != 0).sum() == 2  # the recurrent state is the k-sparse cell code
    assert actions[0] == actions[1]


def test_the_policy_refuses_settings_it_cannot_honour():
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import RecurrentPPO

    from htmagent.sb3 import DeepHTMRecurrentPolicy

    for policy_kwargs, match in ((dict(lstm_hidden_size=100), "lstm_hidden_size"),
                                 (dict(n_lstm_layers=2), "n_lstm_layers"),
                                 (dict(deep_htm_kwargs=dict(colums=8)), "unknown keys"),
                                 (dict(shared_lstm=True, enable_critic_lstm=False), "shared_lstm")):
        with pytest.raises(ValueError, match=match):
            RecurrentPPO(DeepHTMRecurrentPolicy, "CartPole-v1", policy_kwargs=policy_kwargs)
