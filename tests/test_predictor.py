"""Predictor (online SDR classifier) and ScalarPredictor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from htmagent.kernels.predictor import predictor_infer, predictor_learn
from htmagent.predictor import Predictor, ScalarPredictor
from htmagent.sdr import SDR
from tests.reference import predictor_twins as T


@pytest.mark.parametrize("case", ["random", "empty", "all", "no_category"])
def test_kernels_match_twins(case):
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(30, 8)).astype(np.float32)
    active = {"random": np.sort(rng.choice(30, 6, replace=False)), "empty": np.empty(0), "all": np.arange(30),
              "no_category": np.arange(5)}[case].astype(np.int32)
    n = 0 if case == "no_category" else 5
    np.testing.assert_allclose(predictor_infer(weights, active, n), T.infer(weights, active, n), rtol=1e-12)
    error = rng.normal(size=n)
    a, b = weights.copy(), weights.copy()
    predictor_learn(a, active, error, 0.1)
    T.learn(b, active, error, 0.1)
    np.testing.assert_array_equal(a, b)


def patterns(count, size=60, bits=6, seed=0):
    rng = np.random.default_rng(seed)
    return [SDR(size, np.sort(rng.choice(size, bits, replace=False))) for _ in range(count)]


def test_learns_a_deterministic_mapping():
    pats = patterns(5)
    labels = [3, 0, 2, 0, 1]
    p = Predictor(steps=[0], alpha=0.2)
    for t in range(300):
        p.learn(t, pats[t % 5], labels[t % 5])
    for pat, label in zip(pats, labels):
        probs = p.infer(pat)[0]
        assert probs.shape == (4,)
        assert np.argmax(probs) == label and probs[label] > 0.9
        assert probs.sum() == pytest.approx(1.0)


def test_multi_step_prediction_on_a_repeating_sequence():
    pats = patterns(4, seed=1)
    labels = [0, 1, 2, 3]
    p = Predictor(steps=[1, 2], alpha=0.1, input_size=60)
    for t in range(400):
        p.learn(t, pats[t % 4], labels[t % 4])
    for i, pat in enumerate(pats):
        out = p.infer(pat)
        assert np.argmax(out[1]) == labels[(i + 1) % 4]
        assert np.argmax(out[2]) == labels[(i + 2) % 4]


def test_several_buckets_share_the_target():
    pat = patterns(1)[0]
    p = Predictor(steps=[0], alpha=0.1)
    for t in range(300):
        p.learn(t, pat, [1, 3])
    probs = p.infer(pat)[0]
    assert probs[1] == pytest.approx(0.5, abs=0.02) and probs[3] == pytest.approx(0.5, abs=0.02)
    # A repeated bucket counts twice.
    q = Predictor(steps=[0], alpha=0.1)
    for t in range(300):
        q.learn(t, pat, [2, 2, 0])
    probs = q.infer(pat)[0]
    assert probs[2] == pytest.approx(2 / 3, abs=0.02) and probs[0] == pytest.approx(1 / 3, abs=0.02)


def test_weights_grow_with_new_buckets_and_keep_old_ones():
    pats = patterns(2)
    p = Predictor(steps=[0], alpha=0.1)
    p.learn(0, pats[0], 0)
    before = p.weights(0)
    p.learn(1, pats[1], 9)
    assert p.num_categories == 10
    after = p.weights(0)
    assert after.shape == (60, 10)
    np.testing.assert_array_equal(after[np.setdiff1d(np.arange(60), pats[1].sparse), :1],
                                  before[np.setdiff1d(np.arange(60), pats[1].sparse)])


def test_reset_breaks_the_history():
    pats = patterns(2)
    p = Predictor(steps=[1], alpha=0.5)
    p.learn(0, pats[0], 0)
    p.reset()
    p.learn(1, pats[1], 1)  # no pair (record 0 -> 1) after the reset: nothing learned for step 1
    assert not np.any(p.weights(1))
    p.learn(2, pats[0], 0)
    assert np.any(p.weights(1)[pats[1].sparse])


def test_bad_input_raises_and_leaves_state_unchanged():
    pats = patterns(2)
    p = Predictor(steps=[0, 1], alpha=0.1)
    p.learn(5, pats[0], 1)
    before = p.state_dict()
    with pytest.raises(ValueError, match="record_num must be > the previous one"):
        p.learn(5, pats[1], 0)
    with pytest.raises(ValueError, match="bucket must be >= 0"):
        p.learn(6, pats[1], -1)
    with pytest.raises(ValueError, match="pattern must be an SDR of size 60"):
        p.learn(6, SDR(61, [1]), 0)
    with pytest.raises(ValueError, match="sorted and unique"):
        p.learn(6, np.array([4, 2]), 0)
    with pytest.raises(ValueError, match="steps must be"):
        Predictor(steps=[-1])
    with pytest.raises(ValueError, match="alpha must be"):
        Predictor(alpha=0.0)
    after = p.state_dict()
    for step in ("0", "1"):
        np.testing.assert_array_equal(before["weights"][step], after["weights"][step])
    assert before["history_records"] == after["history_records"]


def test_save_load_resumes_exactly(tmp_path):
    pats = patterns(6, seed=4)
    p = ScalarPredictor(steps=[1, 3], alpha=0.05, resolution=0.5)
    for t in range(50):
        p.learn(t, pats[t % 6], float(t % 6) * 1.3)
    p.save(tmp_path / "p.npz")
    q = ScalarPredictor.load(tmp_path / "p.npz")
    for t in range(50, 80):
        p.learn(t, pats[t % 6], float(t % 6) * 1.3)
        q.learn(t, pats[t % 6], float(t % 6) * 1.3)
        a, b = p.infer(pats[t % 6]), q.infer(pats[t % 6])
        for step in a:
            np.testing.assert_array_equal(a[step], b[step])
    assert p.predict(pats[0]) == q.predict(pats[0])


def test_scalar_predictor_decodes_values_near_the_truth():
    phases = 12
    pats = patterns(phases, size=120, bits=8, seed=5)
    values = [10.0 + 5.0 * math.sin(2 * math.pi * k / phases) for k in range(phases)]
    sp = ScalarPredictor(steps=[1], alpha=0.1, resolution=0.25)
    for t in range(1200):
        sp.learn(t, pats[t % phases], values[t % phases])
    for k in range(phases):
        truth = values[(k + 1) % phases]
        assert sp.predict(pats[k])[1] == pytest.approx(truth, abs=0.25)
        assert sp.predict(pats[k], decode="mean")[1] == pytest.approx(truth, abs=0.5)
    with pytest.raises(ValueError, match="value must be a finite number"):
        sp.learn(5000, pats[0], math.nan)
    assert math.isnan(ScalarPredictor(resolution=1.0, input_size=120).predict(pats[0])[1])
