"""The voting network on grid cells (``Network(location="grid")``, L6a + L4 + L2/3 per column): recognition from
movements and features alone, voting, the ideal-observer bound, shrinking hypotheses, sensing nothing, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.cortex.baselines import IdealObserver, observations_from_points
from htmagent.cortex.network import Network
from htmagent.cortex.objects import ObjectSet
from htmagent.experiments.grid_columns import ColumnsArgs, columns_table, run_columns

OBJECTS = ObjectSet.lewis2019(20, num_features=10, seed=0)


@pytest.fixture(scope="module")
def one_column():
    net = Network(num_columns=1, location="grid", seed=0)
    net.learn(OBJECTS)
    return net


@pytest.fixture(scope="module")
def three_columns():
    net = Network(num_columns=3, location="grid", seed=0)
    net.learn(OBJECTS)
    return net


def test_a_column_recognizes_each_of_20_objects_from_movements_and_features(one_column):
    for obj in OBJECTS:
        result = one_column.infer(obj, max_sensations=10, seed=obj.label)
        assert result.correct, (obj.label, result.recognized)


def test_three_columns_need_fewer_sensations_than_one(one_column, three_columns):
    def mean_sensations(net):
        return np.mean([net.infer(obj, max_sensations=10, seed=50 + obj.label).sensation or 11 for obj in OBJECTS])

    one, three = mean_sensations(one_column), mean_sensations(three_columns)
    assert three < one - 0.5, (one, three)


def test_votes_need_settling_steps_to_reach_the_other_columns(three_columns):
    # With one time step per sensation a vote arrives one sensation late; the default (3 steps) lets it count now.
    assert three_columns.default_settling_steps == 3

    def mean_sensations(settling):
        return np.mean([three_columns.infer(obj, settling_steps=settling, seed=obj.label).sensation or 11
                        for obj in OBJECTS])

    assert mean_sensations(3) < mean_sensations(1)


@pytest.mark.parametrize("columns", ["one_column", "three_columns"])
def test_never_recognizes_more_than_the_ideal_observer(columns, request):
    net = request.getfixturevalue(columns)
    ideal = IdealObserver(OBJECTS, mode="displacement", shared_origin=False)
    for obj in OBJECTS:
        result = net.infer(obj, seed=300 + obj.label)
        ideal.reset()
        for points, label in zip(observations_from_points(obj, result.points, mode="displacement"),
                                 result.recognized):
            ideal.step(points)
            if label is not None:
                assert ideal.recognized == label, (obj.label, result.recognized)


def test_location_hypotheses_never_grow_after_a_sensation(one_column):
    for obj in OBJECTS[:8]:
        one_column.reset()
        source = one_column.location_sources[0]
        counts = []
        order = np.random.default_rng(obj.label).permutation(len(obj.locations))
        for i in order:
            point = obj.locations[i]
            one_column.step([(point, obj.points[point])])
            counts.append(source.num_hypotheses)
        assert counts[0] > 0
        assert all(b <= a for a, b in zip(counts, counts[1:])), (obj.label, counts)


def test_a_learned_object_in_a_new_order_and_a_new_place_is_recognized(one_column):
    obj = OBJECTS[7]
    moved = {(x + 100, y - 50): f for (x, y), f in obj.points.items()}
    one_column.reset()
    for point in sorted(moved, reverse=True):
        one_column.step([(point, moved[point])])
        if one_column.recognized_label() is not None:
            break
    assert one_column.recognized_label() == obj.label


def test_a_column_over_empty_space_still_path_integrates(one_column):
    # Sensing nothing at a point (feature None) keeps L4 and L2/3 but moves the location: the next sensations land
    # where they should, and the object is recognized as if the empty point had not been visited.
    obj = OBJECTS[3]
    points = obj.locations
    one_column.reset()
    one_column.step([(points[0], obj.points[points[0]])])
    before = one_column.columns[0].l2.active_cells
    one_column.step([((points[0][0] + 9, points[0][1] + 9), None)])
    assert one_column.columns[0].l2.active_cells == before
    for point in points[1:]:
        one_column.step([(point, obj.points[point])])
        if one_column.recognized_label() is not None:
            break
    assert one_column.recognized_label() == obj.label


def test_step_rejects_bad_features_and_settling(one_column):
    with pytest.raises(ValueError, match=r"observations\[0\] feature must be a learned feature id in \[0, 10\)"):
        one_column.step([((0, 0), 10)])
    with pytest.raises(ValueError, match="settling_steps must be an int >= 1, got 0"):
        one_column.step([((0, 0), 1)], settling_steps=0)


def test_save_load_resumes_three_voting_columns_exactly(three_columns, tmp_path):
    path = tmp_path / "grid3.npz"
    three_columns.save(path)
    loaded = Network.load(path)
    for label in (2, 15):
        a = three_columns.infer(OBJECTS[label], seed=label)
        b = loaded.infer(OBJECTS[label], seed=label)
        assert a.points == b.points and a.recognized == b.recognized
        assert all(x == y for step_a, step_b in zip(a.activity, b.activity) for x, y in zip(step_a, step_b))


def test_columns_experiment_quick_run_reports_fewer_sensations_with_more_columns(tmp_path):
    out = run_columns(ColumnsArgs(columns=[1, 3], quick=True, capacity=False, progress=False))
    one, three = out["summary"][1], out["summary"][3]
    assert one["recognized"] == three["recognized"] == 1.0
    assert three["mean_sensations"] < one["mean_sensations"]
    assert one["ahead_of_ideal"] == three["ahead_of_ideal"] == 0
    table = columns_table(out)
    assert "| 3 | 1.000 | 0.000 |" in table


def test_a_silent_column_follows_the_votes_of_the_others():
    # Column 1 feels one feature, then hovers over empty space while column 0 explores: the votes alone narrow its
    # L2/3 to the object column 0 finds, so the network as a whole recognizes it.
    net = Network(num_columns=2, location="grid", seed=1)
    net.learn(OBJECTS)
    obj = OBJECTS[5]
    points = obj.locations
    net.step([(points[0], obj.points[points[0]]), (points[1], obj.points[points[1]])])
    for i, point in enumerate(points[2:]):
        net.step([(point, obj.points[point]), ((50 + i, 50), None)])
        if net.recognized_label() is not None:
            break
    assert net.recognized_label() == obj.label
    assert net.overlaps(1)[obj.label] >= net.config["recognition_threshold"]


def test_a_settling_sensation_reuses_the_anchoring_and_infers_exactly_as_recomputing_it(three_columns, monkeypatch):
    # While a sensation settles, a column often anchors to the very cells it anchored to a step before; the
    # location layer then restores that step's bumps instead of recomputing them. It must change nothing.
    import copy

    from htmagent.gridcells._population import GridCellPopulation

    def activity(net):
        out = []
        for obj in OBJECTS[:6]:
            result = net.infer(obj, max_sensations=4, seed=obj.label)
            out.append((result.recognized, [tuple(s.sparse.tobytes() for s in step) for step in result.activity]))
        return out

    reused = [0]
    original = GridCellPopulation._repeat_anchoring

    def counting(self, supported):
        hit = original(self, supported)
        reused[0] += hit
        return hit

    net = copy.deepcopy(three_columns)
    monkeypatch.setattr(GridCellPopulation, "_repeat_anchoring", counting)
    fast = activity(net)
    assert reused[0] > 0  # the shortcut was taken
    monkeypatch.setattr(GridCellPopulation, "_repeat_anchoring", lambda self, supported: False)
    assert activity(copy.deepcopy(three_columns)) == fast
