"""Objects and object sets: generators follow the published protocols, validation, saving."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.cortex.objects import ObjectSet, SensoryObject, random_codes
from htmagent.serialization import load_state, save_state


def test_sensory_object_helpers():
    obj = SensoryObject(2, {(1, 0): 4, (0, 0): 3, (0, 1): 4}, name="mug")
    assert obj.locations == [(0, 0), (0, 1), (1, 0)]
    assert obj.features == [3, 4, 4]
    assert len(obj) == 3
    assert obj.feature_at((1, 0)) == 4
    assert obj.feature_at(np.array([0, 1])) == 4
    assert obj.has_point((0, 0)) and not obj.has_point((5, 5))
    assert obj.bounds() == (0, 0, 1, 1)
    with pytest.raises(ValueError, match=r"mug has no point at location \(2, 2\)"):
        obj.feature_at((2, 2))
    with pytest.raises(TypeError):
        obj.points[(9, 9)] = 1  # read-only mapping
    assert SensoryObject(0, {(0, 0): 1}).name == "object 0"
    assert hash(obj) == hash(SensoryObject(2, {(0, 0): 3, (0, 1): 4, (1, 0): 4}, name="mug"))


@pytest.mark.parametrize(
    "points, message",
    [
        ({(0.5, 0): 1}, r"object 0: location must be a pair of integers"),
        ({(0, 0, 0): 1}, "location must be a pair of integers"),
        ({(0, 0): -1}, r"feature at point \(0, 0\) must be >= 0, got -1"),
        ({(0, 0): 1.5}, r"feature at point \(0, 0\) must be an integer id"),
        ({}, "at least one point"),
    ],
)
def test_sensory_object_rejects_bad_points(points, message):
    with pytest.raises(ValueError, match=message):
        SensoryObject(0, points)


def test_object_set_from_dicts_and_validation():
    objects = ObjectSet.from_dicts([{(0, 0): 0, (1, 0): 2}, {(0, 0): 1, (3, 2): 1}], names=["a", "b"])
    assert len(objects) == 2 and objects.num_features == 3
    assert objects.locations == [(0, 0), (1, 0), (3, 2)]
    assert objects[1].label == 1 and objects[1].name == "b"
    assert objects.names == ["a", "b"] and objects.labels == [0, 1]
    assert [o.label for o in objects] == [0, 1]
    assert objects[-1] is objects[1]
    assert objects.num_points == 4
    assert objects.bounds() == (0, 0, 3, 2)
    with pytest.raises(IndexError):
        objects[2]
    with pytest.raises(ValueError, match=r"object 1: feature at point \(0, 0\) must lie in \[0, 2\), got 5"):
        ObjectSet.from_dicts([{(0, 0): 1}, {(0, 0): 5}], num_features=2)
    with pytest.raises(ValueError, match="location must be a pair of integers"):
        ObjectSet.from_dicts([{(0, "a"): 1}])
    with pytest.raises(ValueError, match="names must have one entry per object"):
        ObjectSet.from_dicts([{(0, 0): 1}], names=["a", "b"])
    with pytest.raises(ValueError, match="objects\\[0\\] must have label 0, got label 3"):
        ObjectSet([SensoryObject(3, {(0, 0): 1})], num_features=2)


def test_hawkins2017_protocol():
    objects = ObjectSet.hawkins2017(50, num_points=10, num_locations=10, num_features=5, seed=1)
    assert len(objects) == 50 and objects.num_features == 5
    assert objects.locations == [(i, 0) for i in range(10)]
    for obj in objects:
        assert obj.locations == [(i, 0) for i in range(10)]
        assert all(0 <= f < 5 for f in obj.features)
    # Features are drawn with replacement: with 10 draws from 5 features, repeats within an object are the rule.
    assert any(len(set(obj.features)) < len(obj) for obj in objects)
    fewer = ObjectSet.hawkins2017(20, num_points=4, num_locations=10, num_features=10, seed=2)
    assert all(len(obj) == 4 and all(0 <= x < 10 and y == 0 for x, y in obj.locations) for obj in fewer)
    assert len(fewer.locations) > 4
    with pytest.raises(ValueError, match="num_points must be <= num_locations"):
        ObjectSet.hawkins2017(3, num_points=11, num_locations=10)


def test_lewis2019_protocol():
    objects = ObjectSet.lewis2019(30, num_features=10, features_per_object=10, grid_size=4, seed=3)
    assert len(objects) == 30 and objects.num_features == 10
    for obj in objects:
        assert len(obj) == 10
        assert all(0 <= x < 4 and 0 <= y < 4 for x, y in obj.locations)
    assert len(objects.locations) == 16
    with pytest.raises(ValueError, match="features_per_object must be <= grid_size"):
        ObjectSet.lewis2019(2, features_per_object=17, grid_size=4)


def test_capacity_pairs_are_unique():
    objects = ObjectSet.capacity(200, num_points=10, num_features=30, num_locations=100, seed=4)
    pairs = [(loc, f) for obj in objects for loc, f in obj.points.items()]
    assert len(pairs) == 2000 and len(set(pairs)) == 2000
    assert all(y == 0 for _, y in objects.locations)
    # A request that fills the whole pair space exactly is still satisfiable.
    full = ObjectSet.capacity(6, num_points=2, num_features=3, num_locations=4, seed=0)
    assert len({(loc, f) for obj in full for loc, f in obj.points.items()}) == 12
    with pytest.raises(ValueError, match="num_objects \\* num_points must be <="):
        ObjectSet.capacity(7, num_points=2, num_features=3, num_locations=4)


def test_generators_are_seeded():
    for make in (
        lambda s: ObjectSet.hawkins2017(10, seed=s),
        lambda s: ObjectSet.lewis2019(10, seed=s),
        lambda s: ObjectSet.capacity(10, seed=s),
    ):
        assert make(7) == make(7)
        assert make(7) != make(8)
    rng = np.random.default_rng(0)
    assert ObjectSet.lewis2019(3, seed=rng) != ObjectSet.lewis2019(3, seed=rng)


@pytest.mark.parametrize("bad", [0, -3])
def test_generators_validate_counts(bad):
    with pytest.raises(ValueError, match=f"num_objects must be >= 1, got {bad}"):
        ObjectSet.lewis2019(bad)
    with pytest.raises(TypeError, match="num_features must be an int"):
        ObjectSet.hawkins2017(3, num_features=2.5)


def test_state_dict_round_trip(tmp_path):
    objects = ObjectSet.lewis2019(12, num_features=7, seed=5)
    assert ObjectSet.from_state_dict(objects.state_dict()) == objects
    assert ObjectSet.from_dicts(objects.to_dicts(), objects.num_features, objects.names) == objects
    save_state(tmp_path / "objects.npz", {"objects": objects.state_dict()})
    loaded = ObjectSet.from_state_dict(load_state(tmp_path / "objects.npz")["objects"])
    assert loaded == objects and loaded.names == objects.names
    with pytest.raises(ValueError, match="format 'htmagent.ObjectSet/1'"):
        ObjectSet.from_state_dict({"format": "something else"})


def test_objects_pickle_and_copy():
    import copy
    import pickle

    objects = ObjectSet.hawkins2017(4, seed=0)
    assert pickle.loads(pickle.dumps(objects)) == objects
    assert copy.deepcopy(objects) == objects and copy.deepcopy(objects[1]) == objects[1]


def test_random_codes():
    codes = random_codes(20, size=150, active_bits=10, seed=0)
    assert len(codes) == 20
    assert all(code.size == 150 and len(code.sparse) == 10 for code in codes)
    assert len({tuple(code.sparse) for code in codes}) == 20
    again = random_codes(20, size=150, active_bits=10, seed=0)
    assert all(np.array_equal(a.sparse, b.sparse) for a, b in zip(codes, again))
    with pytest.raises(ValueError, match="active_bits must be <= size"):
        random_codes(2, size=5, active_bits=6)
