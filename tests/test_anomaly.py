"""Raw anomaly, anomaly likelihood and the streaming detector."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest

from htmagent.anomaly import AnomalyDetector, AnomalyLikelihood, log_likelihood, raw_anomaly
from htmagent.sdr import SDR

T0 = datetime.datetime(2024, 1, 1)


def assert_same_state(a, b, path="state"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            assert_same_state(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b, path


def small_detector(**overrides) -> AnomalyDetector:
    params = dict(
        seed=1,
        encoder_size=200,
        calibration_steps=50,
        learning_period=100,
        estimation_samples=100,
        sp_params=dict(column_dimensions=512, num_active_columns_per_inh_area=20),
        tm_params=dict(cells_per_column=8, activation_threshold=10, min_threshold=8, max_new_synapse_count=16,
                       initial_permanence=0.21, permanence_increment=0.1, permanence_decrement=0.1,
                       predicted_segment_decrement=0.0),
    )
    params.update(overrides)
    return AnomalyDetector(**params)


def daily(i: int) -> float:
    return 20.0 + 10.0 * math.sin(2 * math.pi * i / 24)


# ---------------------------------------------------------------------------------------------- raw anomaly


def test_raw_anomaly_is_the_unpredicted_fraction():
    assert raw_anomaly(SDR(10, [1, 2, 3, 4]), SDR(10, [1, 2, 9])) == 0.5
    assert raw_anomaly([1, 2, 3, 4], [1, 2, 3, 4, 5]) == 0.0
    assert raw_anomaly([1, 2], []) == 1.0
    assert raw_anomaly([], [1, 2]) == 0.0
    with pytest.raises(ValueError, match="predicted_columns must have size 10"):
        raw_anomaly(SDR(10, [1]), SDR(11, [1]))


def test_log_likelihood_is_monotone_and_normalised():
    grid = np.linspace(0.0, 1.0, 2001)
    values = np.array([log_likelihood(x) for x in grid])
    assert np.all(np.diff(values) >= 0)
    assert values[0] == 0.0 and values[-1] == pytest.approx(1.0)
    assert log_likelihood(0.5) == pytest.approx(0.0301, abs=1e-4)
    assert log_likelihood(0.99999) == pytest.approx(0.5, abs=1e-3)


# ---------------------------------------------------------------------------------------------- likelihood


def test_likelihood_is_half_during_probation_then_flags_a_jump():
    rng = np.random.default_rng(0)
    al = AnomalyLikelihood(learning_period=20, estimation_samples=30, reestimation_period=10, averaging_window=5)
    out = [al.compute(float(s)) for s in rng.uniform(0.0, 0.2, 50)]
    assert out == [0.5] * 50
    steady = [al.compute(float(s)) for s in rng.uniform(0.0, 0.2, 200)]
    assert max(steady) < 0.999
    assert np.mean(steady) < 0.7
    jump = [al.compute(1.0) for _ in range(5)]
    assert max(jump) > 0.9999


def test_likelihood_below_mean_is_not_anomalous():
    al = AnomalyLikelihood(learning_period=5, estimation_samples=20, reestimation_period=100, averaging_window=1)
    for s in np.tile([0.3, 0.5], 20):
        al.compute(float(s))
    assert al.compute(0.0) < 0.5


def test_consecutive_red_steps_are_filtered_to_yellow():
    al = AnomalyLikelihood(learning_period=5, estimation_samples=20, reestimation_period=1000, averaging_window=1)
    for _ in range(30):
        al.compute(0.0)
    first, second = al.compute(1.0), al.compute(1.0)
    assert first > 0.99999
    assert second == pytest.approx(0.999)


def test_likelihood_rejects_bad_scores_without_changing(tmp_path):
    al = AnomalyLikelihood(learning_period=2, estimation_samples=3)
    for s in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        al.compute(s)
    before = al.state_dict()
    for bad in (math.nan, math.inf, 1.5, -0.1):
        with pytest.raises(ValueError, match="raw_score"):
            al.compute(bad)
    assert_same_state(before, al.state_dict())


def test_likelihood_save_load_resumes_exactly(tmp_path):
    rng = np.random.default_rng(1)
    scores = rng.uniform(0, 1, 400) ** 3
    al = AnomalyLikelihood(learning_period=30, estimation_samples=20, historic_window_size=100,
                           reestimation_period=15, averaging_window=4)
    for s in scores[:250]:
        al.compute(float(s))
    al.save(tmp_path / "al.npz")
    loaded = AnomalyLikelihood.load(tmp_path / "al.npz")
    assert [al.compute(float(s)) for s in scores[250:]] == [loaded.compute(float(s)) for s in scores[250:]]


def test_likelihood_parameter_validation():
    with pytest.raises(ValueError, match="historic_window_size must be >= estimation_samples"):
        AnomalyLikelihood(estimation_samples=100, historic_window_size=50)
    with pytest.raises(ValueError, match="averaging_window must be >= 1"):
        AnomalyLikelihood(averaging_window=0)


# ---------------------------------------------------------------------------------------------- detector


def test_detector_flags_a_sudden_change_in_a_learned_periodic_stream():
    det = small_detector()
    results = [det.step(daily(i), T0 + datetime.timedelta(hours=i)) for i in range(1300)]
    assert all(r.calibrating for r in results[:49]) and not results[49].calibrating
    learned = results[1100:1300]
    assert np.mean([r.raw for r in learned]) < 0.2
    assert np.mean([r.likelihood for r in learned]) < 0.6
    changed = [det.step(20.0 + 25.0 * math.sin(2 * math.pi * i / 7), T0 + datetime.timedelta(hours=i))
               for i in range(1300, 1340)]
    assert max(r.likelihood for r in changed) > 0.999
    assert max(r.log_likelihood for r in changed) > max(r.log_likelihood for r in learned)
    assert np.mean([r.raw for r in changed]) > 0.4


def test_detector_resolution_from_range_or_calibration():
    ranged = AnomalyDetector(min_value=0.0, max_value=130.0, seed=1)
    assert ranged.resolution == pytest.approx(1.0)
    det = small_detector(calibration_steps=10)
    for i in range(10):
        assert det.resolution is None
        det.step(float(i))
    assert det.resolution == pytest.approx(9.0 / 130)
    with pytest.raises(ValueError, match="both min_value and max_value"):
        AnomalyDetector(min_value=1.0)
    with pytest.raises(ValueError, match="max_value must be > min_value"):
        AnomalyDetector(min_value=1.0, max_value=1.0)


@pytest.mark.parametrize("phase", [5, 80])
def test_detector_bad_values_raise_and_leave_state_unchanged(phase):
    det = small_detector()
    for i in range(phase):
        det.step(daily(i), T0 + datetime.timedelta(hours=i))
    before = det.state_dict()
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="value must be finite"):
            det.step(bad, T0)
    with pytest.raises(TypeError, match="value must be a real number"):
        det.step("12", T0)
    with pytest.raises(ValueError, match="expected a timestamp"):
        det.step(1.0)
    with pytest.raises(ValueError, match="timestamp must be a finite POSIX timestamp"):
        det.step(1.0, math.nan)
    assert_same_state(before, det.state_dict())


def test_detector_without_timestamps_rejects_a_later_one():
    det = small_detector(calibration_steps=3)
    det.step(1.0)
    with pytest.raises(ValueError, match="expected no timestamp"):
        det.step(1.0, T0)


@pytest.mark.parametrize("split", [20, 300])
def test_detector_save_load_resumes_exactly(tmp_path, split):
    det = small_detector()
    stream = [(daily(i) + (i % 5) * 0.3, T0 + datetime.timedelta(hours=i)) for i in range(400)]
    for value, stamp in stream[:split]:
        det.step(value, stamp)
    det.save(tmp_path / "det.npz")
    loaded = AnomalyDetector.load(tmp_path / "det.npz")
    for value, stamp in stream[split:]:
        assert det.step(value, stamp) == loaded.step(value, stamp)
    a, b = det.state_dict(), loaded.state_dict()
    for key in ("sp", "likelihood", "config", "resolution", "step"):
        assert_same_state(a[key], b[key])
    assert det.tm.num_synapses() == loaded.tm.num_synapses()
    assert det.tm.active_cells == loaded.tm.active_cells


def test_detector_reset_breaks_the_sequence_only():
    det = small_detector(calibration_steps=5)
    for i in range(60):
        det.step(daily(i))
    segments = det.tm.num_segments()
    det.reset()
    assert det.tm.num_segments() == segments
    assert det.tm.predicted_columns.num_active == 0
    assert det.steps == 60
