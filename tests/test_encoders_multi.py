"""MultiEncoder: concatenation, offsets, dict/sequence/array input, Box construction."""

import datetime as dt
import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.encoders import RDSE, CategoryEncoder, DateEncoder, MultiEncoder, ScalarEncoder
from htmagent.sdr import SDR


def make():
    return MultiEncoder(
        {
            "speed": RDSE(300, active_bits=9, resolution=0.1, seed=1),
            "gear": CategoryEncoder(num_categories=5, size=50, active_bits=10, seed=2),
            "time": DateEncoder(time_of_day=(11, 2.0)),
        }
    )


def test_output_is_the_concatenation_at_the_offsets():
    enc = make()
    parts = enc.encoders
    assert enc.offsets == {"speed": 0, "gear": 300, "time": 350}
    assert enc.size == 350 + parts["time"].size
    value = {"speed": 2.5, "gear": 3, "time": dt.datetime(2024, 1, 1, 13)}
    expected = SDR.concatenate([parts[n].encode(value[n]) for n in enc.names])
    assert enc.encode(value) == expected
    assert enc.encode([2.5, 3, dt.datetime(2024, 1, 1, 13)]) == expected
    assert enc.encode(value).num_active == 9 + 10 + 11


@settings(max_examples=40, deadline=None)
@given(x=st.floats(-100, 100), y=st.floats(-100, 100), dx=st.floats(0.0, 0.05), far=st.floats(20.0, 50.0))
def test_box_encoder_rules(x, y, dx, far):
    enc = MultiEncoder.for_box((np.array([-100.0, -100.0]), np.array([100.0, 100.0])), size_per_dim=200, seed=4)
    base = enc.encode(np.array([x, y]))
    assert base == MultiEncoder.for_box(([-100.0, -100.0], [100.0, 100.0]), size_per_dim=200, seed=4).encode(
        np.array([x, y])
    )
    assert base.size == 400 and base.num_active == 8
    near = base.overlap(enc.encode(np.array([x + dx, y])))
    distant = base.overlap(enc.encode(np.array([x + far, y + far])))
    assert near >= 7 > distant


def test_for_box_from_gymnasium_space_flattens_and_scales_resolution():
    space = gym.spaces.Box(low=-2.0, high=2.0, shape=(2, 3), dtype=np.float32)
    enc = MultiEncoder.for_box(space, size_per_dim=100, sparsity=0.05, num_buckets=40)
    assert enc.names == [f"x{i}" for i in range(6)]
    assert all(e.resolution == pytest.approx(0.1) for e in enc.encoders.values())
    obs = space.sample()
    assert enc.encode(obs) == enc.encode(obs.reshape(-1).tolist())
    seeds = {e.seed for e in enc.encoders.values()}
    assert len(seeds) == 6


def test_for_box_unbounded_needs_resolution():
    space = gym.spaces.Box(low=-np.inf, high=np.inf, shape=(3,), dtype=np.float64)
    with pytest.raises(ValueError, match="dimension 0 is unbounded"):
        MultiEncoder.for_box(space)
    enc = MultiEncoder.for_box(space, resolution=0.5)
    assert all(e.resolution == 0.5 for e in enc.encoders.values())
    assert enc.encode(np.array([1e9, -1e9, 0.0])).num_active == 3 * 8


def test_for_box_treats_float32_max_as_unbounded_like_cartpole():
    space = gym.make("CartPole-v1").observation_space
    enc = MultiEncoder.for_box(space, num_buckets=48, resolution=0.05)
    res = [e.resolution for e in enc.encoders.values()]
    # Position and angle are bounded; the velocities are "bounded" by float32's max, i.e. unbounded.
    assert res[0] == pytest.approx(2 * space.high[0] / 48) and res[2] == pytest.approx(2 * space.high[2] / 48)
    assert res[1] == res[3] == 0.05
    with pytest.raises(ValueError, match="dimension 1 is unbounded"):
        MultiEncoder.for_box(space)


def test_for_box_per_dimension_resolutions():
    enc = MultiEncoder.for_box(([0, 0], [1, 1]), resolution=[0.1, 0.2])
    assert [e.resolution for e in enc.encoders.values()] == [0.1, 0.2]
    with pytest.raises(ValueError, match="2 entries"):
        MultiEncoder.for_box(([0, 0], [1, 1]), resolution=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="resolution must be finite and > 0"):
        MultiEncoder.for_box(([0, 0], [1, 1]), resolution=[0.1, -1.0])
    with pytest.raises(ValueError, match="resolution must be finite and > 0"):
        MultiEncoder.for_box(([0], [np.inf]), resolution=np.nan)


def test_part_errors_name_the_part():
    enc = make()
    with pytest.raises(ValueError, match="part 'speed'.*finite"):
        enc.encode({"speed": math.nan, "gear": 1, "time": 0})
    with pytest.raises(KeyError, match="part 'gear'"):
        enc.encode({"speed": 1.0, "gear": 9, "time": 0})
    with pytest.raises(TypeError, match="part 'time'"):
        enc.encode({"speed": 1.0, "gear": 1, "time": "noon"})


def test_bad_structure():
    enc = make()
    with pytest.raises(ValueError, match="missing \\['time'\\]"):
        enc.encode({"speed": 1.0, "gear": 1})
    with pytest.raises(ValueError, match="unexpected \\['foo'\\]"):
        enc.encode({"speed": 1.0, "gear": 1, "time": 0, "foo": 1})
    with pytest.raises(ValueError, match="3 parts"):
        enc.encode([1.0, 2])
    with pytest.raises(TypeError, match="value"):
        enc.encode(5.0)


@pytest.mark.parametrize(
    "arg,exc,word",
    [
        ({}, ValueError, "empty"),
        ([RDSE(10, active_bits=2, resolution=1.0)], TypeError, "mapping"),
        ({"a": object()}, TypeError, "Encoder"),
        ({1: ScalarEncoder(0, 1, size=10, active_bits=2)}, TypeError, "names"),
    ],
)
def test_constructor_validation(arg, exc, word):
    with pytest.raises(exc, match=word):
        MultiEncoder(arg)


def test_for_box_validation():
    with pytest.raises(ValueError, match="high must be > low"):
        MultiEncoder.for_box(([0.0, 1.0], [1.0, 1.0]))
    with pytest.raises(ValueError, match="same shape"):
        MultiEncoder.for_box(([0.0, 1.0], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="NaN"):
        MultiEncoder.for_box(([math.nan], [1.0]))
    with pytest.raises(TypeError, match="space_or_low_high"):
        MultiEncoder.for_box(5)


def test_repr_lists_parts():
    assert repr(make()).startswith("MultiEncoder({'speed': RDSE(size=300")
