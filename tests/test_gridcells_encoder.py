"""GridCellEncoder: the encoder rules, N-D points, bad input, and a unique code over a 1000 x 1000 area."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.gridcells import GridCellEncoder, LocationLayer
from htmagent.gridcells._uniqueness import collision_report, colliding_pairs, layer_codes
from htmagent.sdr import SDR


def test_same_point_same_sdr_and_fixed_sparsity_per_module():
    enc = GridCellEncoder(seed=0)
    rng = np.random.default_rng(0)
    for point in rng.uniform(-1e4, 1e4, (200, 2)):
        sdr = enc.encode(point)
        assert sdr == enc.encode(point.copy()) and sdr.size == enc.size == 1000
        per_module = np.bincount(sdr.sparse // 100, minlength=10)
        np.testing.assert_array_equal(per_module, enc.active_per_module)
    assert GridCellEncoder(seed=5).encode([1.0, 2.0]) == GridCellEncoder(seed=5).encode([1.0, 2.0])
    assert GridCellEncoder(seed=5).encode([1.0, 2.0]) != GridCellEncoder(seed=6).encode([1.0, 2.0])


def test_encode_batch_matches_encode():
    enc = GridCellEncoder(num_modules=4, cells_per_axis=7, active_per_module=3, seed=1)
    points = np.random.default_rng(1).normal(0, 300, (50, 2))
    batch = enc.encode_batch(points)
    assert batch.shape == (50, 12)
    for row, point in zip(batch, points):
        assert SDR(enc.size, row) == enc.encode(point)


@pytest.mark.parametrize("dims", [1, 2, 3, 5])
def test_overlap_falls_with_distance(dims):
    enc = GridCellEncoder(input_dimensions=dims, seed=dims)
    rng = np.random.default_rng(dims)
    distances = [0.0, 0.5, 2.0, 8.0, 30.0, 200.0]
    mean_overlap = np.zeros(len(distances))
    for _ in range(100):
        origin = rng.uniform(-500, 500, dims)
        direction = rng.normal(size=dims)
        direction /= np.linalg.norm(direction)
        base = enc.encode(origin)
        for i, dist in enumerate(distances):
            mean_overlap[i] += base.overlap(enc.encode(origin + dist * direction)) / enc.num_active / 100
    assert mean_overlap[0] == pytest.approx(1.0)
    assert np.all(np.diff(mean_overlap[:-1]) < 0), mean_overlap
    # far apart: chance level (active_per_module / cells per module = 0.05); in N-D a module sees only the part
    # of a move that lies in its plane, so the fall is slower
    assert mean_overlap[1] > 0.8 and mean_overlap[-2] < 0.3 and mean_overlap[-1] < 0.1


def test_bad_points_raise():
    enc = GridCellEncoder(input_dimensions=3, seed=0)
    with pytest.raises(ValueError, match=r"point must have shape \(3,\), got \(2,\)"):
        enc.encode([1.0, 2.0])
    with pytest.raises(ValueError, match="point must be finite"):
        enc.encode([1.0, float("nan"), 0.0])
    with pytest.raises(TypeError, match="point must be numbers"):
        enc.encode(["a", "b", "c"])
    with pytest.raises(ValueError, match=r"points must have shape \(num_points, 3\)"):
        enc.encode_batch([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="active_per_module must be <= cells_per_axis \\*\\* 2 = 4, got 5"):
        GridCellEncoder(cells_per_axis=2, active_per_module=5)
    with pytest.raises(ValueError, match="scale_ratio must be > 0.0"):
        GridCellEncoder(scale_ratio=0.0)


def test_code_is_unique_over_a_1000_by_1000_area():
    """Every point of a 1000 x 1000 area on a 4-unit grid, plus random points: codes shared only by near points.

    "Near" = within the finest module's firing-field diameter (2 cell spacings); the benchmark script runs the
    complete unit grid (10^6 points) and reports the smallest distance at which two codes collide.
    """
    enc = GridCellEncoder(num_modules=10, cells_per_axis=10, seed=2024)
    axis = np.arange(0.0, 1000.0, 4.0)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    jittered = np.random.default_rng(0).uniform(0, 1000, (10000, 2))
    points = np.concatenate([grid, jittered])
    codes = enc.encode_batch(points)
    pairs = colliding_pairs(codes)
    far = np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1) if pairs.size else np.zeros(0)
    assert np.all(far <= 2 * enc.resolution), far.max()


def test_collision_helpers_find_every_shared_code():
    codes = np.array([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4], [1, 2], [2, 1]])
    pairs = {tuple(sorted(p)) for p in colliding_pairs(codes).tolist()}
    assert pairs == {(0, 2), (0, 5), (2, 5), (1, 4)}
    points = np.array([[0, 0], [0, 0], [3, 4], [9, 9], [0, 1], [6, 8], [50, 50]], dtype=float)
    report = collision_report(points, codes, near=4.0)
    assert report["shared_code_groups"] == 2
    assert report["largest_shared_code_diameter"] == 10.0  # points 0 and 5
    assert report["groups_wider_than_near"] == 1 and report["closest_far_collision"] == 5.0  # points 0-2 and 2-5
    assert colliding_pairs(codes[:1]).shape == (0, 2)


def test_layer_codes_are_the_codes_the_layer_reaches_by_moving():
    layer = LocationLayer(num_modules=4, scale=10.0, scale_ratio=1.5, anchor_input_size=1, seed=3)
    layer.activate_random_location()
    points = np.random.default_rng(3).uniform(-300, 300, (40, 2))
    codes = layer_codes(layer, points)
    for row, point in zip(codes, points):
        probe = LocationLayer(num_modules=4, scale=10.0, scale_ratio=1.5, anchor_input_size=1, seed=3)
        probe.activate_random_location()
        probe.movement_compute(point)
        assert SDR(layer.size, row[row >= 0]) == probe.active_cells


@pytest.mark.parametrize("kwargs, step", [({"scale": 10.0, "scale_ratio": 2 ** 0.5}, 5.0), ({}, 8.0)],
                         ids=["geometric", "paper-equal-scales"])
def test_layer_code_is_unique_over_a_1000_by_1000_area(kwargs, step):
    layer = LocationLayer(num_modules=10, anchor_input_size=1, seed=11, **kwargs)
    layer.activate_random_location()
    axis = np.arange(0.0, 1000.0, step)
    points = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    near = 2.0 * layer.bump_radius * layer.scales.min()  # the finest module's bump diameter, world units
    report = collision_report(points, layer_codes(layer, points), near)
    assert report["groups_wider_than_near"] == 0, report


def test_a_generator_seed_is_fixed_once_so_the_encoder_can_be_rebuilt():
    enc = GridCellEncoder(num_modules=3, seed=np.random.default_rng(5))
    rebuilt = GridCellEncoder(num_modules=3, seed=enc.seed)
    point = [12.5, -3.0]
    assert enc.encode(point) == rebuilt.encode(point)
    assert f"seed={enc.seed}" in repr(enc)
