"""Numbers beyond float range, sizes beyond int32 and ranges that overflow get a clear ValueError naming the
argument (not an OverflowError from deep inside, and never a silent code for every value)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from htmagent import SDR, AnomalyDetector, Network, ObjectSet
from htmagent.encoders import RDSE, DateEncoder, ScalarEncoder
from htmagent.gridcells import GridCellEncoder


@pytest.mark.parametrize("make, match", [
    (lambda: RDSE(400, active_bits=21, resolution=1e-9, seed=0).encode(1e300), "value must lie within"),
    (lambda: RDSE(400, active_bits=21, resolution=1e-9, seed=0).encode_many([1.0, 1e300]), "value must lie within"),
    (lambda: DateEncoder(time_of_day=(21, 9.49)).encode(10**400), "value must be a POSIX timestamp"),
    (lambda: AnomalyDetector(min_value=0, max_value=1, seed=0).step(10**400), "value must be finite"),
    (lambda: GridCellEncoder(seed=0).encode([10**400, 0]), "point must be finite"),
    (lambda: SDR(10**30, [1]), "size must have at most"),
    (lambda: SDR((10**20, 10**20), [1]), "size must have at most"),
    (lambda: ScalarEncoder(0, 1e10, resolution=1.0, active_bits=5), "resolution must give at most 2\\*\\*31"),
    (lambda: ScalarEncoder(-1e308, 1e308, size=100, active_bits=5), "maximum - minimum must be a finite range"),
], ids=["rdse", "rdse-many", "date", "detector", "grid", "sdr", "sdr-2d", "scalar-size", "scalar-range"])
def test_extreme_numbers_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_an_encoder_keeps_working_after_refusing_a_value():
    enc = RDSE(400, active_bits=21, resolution=0.5, seed=0)
    before = enc.encode(3.0).sparse.copy()
    with pytest.raises(ValueError):
        enc.encode(1e300)
    assert np.array_equal(enc.encode(3.0).sparse, before)


@pytest.mark.parametrize("noise", [math.nan, 5.0, -0.1])
def test_network_step_checks_its_noise_as_infer_does(noise):
    objects = ObjectSet.hawkins2017(2, num_features=3, seed=0)
    net = Network(num_columns=1, l4_column_count=32, cells_per_column=4, location_size=100, l2_cell_count=128,
                  l2_sdr_size=8, recognition_threshold=5, seed=0)
    net.learn(objects)
    point, feature = next(iter(objects[0].points.items()))
    for name in ("feature_noise", "location_noise"):
        with pytest.raises(ValueError, match=f"{name} must be a number in \\[0, 1\\]"):
            net.step([(point, feature)], **{name: noise})


def test_an_observation_the_encoder_refuses_leaves_the_running_statistics_alone():
    from gymnasium import spaces

    from htmagent.envs.space_encoder import SpaceEncoder

    enc = SpaceEncoder(spaces.Box(-np.inf, np.inf, (2,)), seed=0)
    for x in np.random.default_rng(0).normal(0, 1, (20, 2)):
        enc.encode(x)
    before = enc.state_dict()
    with pytest.raises(ValueError):
        enc.encode(np.array([1e300, 0.0]))
    after = enc.state_dict()
    assert after["count"] == before["count"]
    for key in ("mean", "m2", "resolution"):
        assert np.array_equal(after[key], before[key])
