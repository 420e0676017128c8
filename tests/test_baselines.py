"""Ideal observer and bag of features: the limits the networks are measured against."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmagent.cortex.baselines import BagOfFeatures, IdealObserver, observations_from_points, recognition_curve
from htmagent.cortex.objects import ObjectSet


def _random_walk(obj, num_sensors, length, rng):
    """Per sensation, distinct random points of ``obj`` for each sensor (no revisits while points last)."""
    order = [list(rng.permutation(len(obj))) for _ in range(num_sensors)]
    steps = []
    for t in range(length):
        steps.append([obj.locations[order[s][(t * num_sensors + s) % len(obj)]] for s in range(num_sensors)])
    return steps


def test_location_mode_eliminates_by_feature_at_location():
    objects = ObjectSet.from_dicts(
        [{(0, 0): 0, (1, 0): 1}, {(0, 0): 0, (1, 0): 0}, {(0, 0): 1, (1, 0): 1}], num_features=2
    )
    observer = IdealObserver(objects, mode="location")
    assert observer.candidates == {0, 1, 2} and observer.num_hypotheses == 3
    assert observer.step([((0, 0), 0)]) is None
    assert observer.candidates == {0, 1} and observer.num_hypotheses == 2
    assert observer.step([((1, 0), 1)]) == 0
    assert observer.recognized == 0
    observer.reset()
    assert observer.candidates == {0, 1, 2}
    # Empty space is evidence: no object has a point at (5, 5), and a feature there rules everything out.
    assert observer.step([((5, 5), None)]) is None and observer.candidates == {0, 1, 2}
    assert observer.step([((5, 5), 1)]) is None and observer.candidates == set()


def test_displacement_mode_tracks_object_origin_pairs():
    # Object 1 is object 0 shifted by one cell: with displacements only, the two are the same shape.
    objects = ObjectSet.from_dicts(
        [{(0, 0): 0, (1, 0): 1}, {(1, 0): 0, (2, 0): 1}, {(0, 0): 0, (0, 1): 1}], num_features=2
    )
    observer = IdealObserver(objects, mode="displacement")
    assert observer.num_hypotheses == 6  # before any feature: every point of every object
    assert observer.step([((0, 0), 0)]) is None
    assert observer.num_hypotheses == 3  # each object has feature 0 at one point
    observer.step([((1, 0), 1)])
    assert observer.candidates == {0, 1}  # shifted copies cannot be told apart
    located = IdealObserver(objects, mode="location")
    assert located.sensations_to_recognize([[((0, 0), 0)], [((1, 0), 1)]]) == 2
    observer.reset()
    assert observer.step([((0, 0), 0)]) is None
    assert observer.step([((0, 1), 1)]) == 2
    # Empty space sensed before any feature is remembered and applied once pairs exist.
    observer.reset()
    observer.step([((0, 0), None)])
    assert observer.step([((0, -1), 0)]) is None
    assert observer.candidates == {0, 1}  # object 2 has a feature right above its feature 0


def test_bag_of_features_counts_distinct_points():
    objects = ObjectSet.from_dicts([{(0, 0): 1, (1, 0): 1}, {(0, 0): 1, (1, 0): 0}], num_features=2)
    bag = BagOfFeatures(objects)
    assert bag.step([((0, 0), 1)]) is None
    # A revisit of the same point counts once, so both objects stay possible.
    assert bag.step([((0, 0), 1)]) is None and bag.candidates == {0, 1}
    assert bag.step([((7, 7), 1)]) == 0  # a second, distinct point with feature 1: only object 0 has two
    bag.reset()
    bag.step([((0, 0), 1), ((1, 0), None)])
    assert bag.candidates == {0, 1}
    bag.step([((0, 0), 0)])  # the same point with another feature fits no object
    assert bag.candidates == set()


def test_unique_origin_waits_for_a_single_placement():
    objects = ObjectSet.from_dicts([{(0, 0): 0, (1, 0): 0, (2, 0): 0}, {(0, 0): 1}], num_features=2)
    lenient = IdealObserver(objects, mode="displacement")
    strict = IdealObserver(objects, mode="displacement", unique_origin=True)
    sequence = [[((0, 0), 0)], [((1, 0), 0)], [((2, 0), 0)]]
    assert lenient.sensations_to_recognize(sequence) == 1  # only object 0 has feature 0
    assert strict.sensations_to_recognize(sequence) == 3  # but the sensor could be on any of its three points
    assert strict.candidates == {0} and strict.num_hypotheses == 1


def test_bag_of_feature_sets_ignores_counts():
    objects = ObjectSet.from_dicts([{(0, 0): 1, (1, 0): 1, (2, 0): 2}, {(0, 0): 1, (1, 0): 2}], num_features=3)
    sequence = [[((0, 0), 1)], [((1, 0), 1)], [((2, 0), 2)]]
    assert BagOfFeatures(objects).sensations_to_recognize(sequence) == 2
    sets = BagOfFeatures(objects, counts=False)
    assert sets.sensations_to_recognize(sequence) is None and sets.candidates == {0, 1}


def test_bad_observations_raise_and_leave_state_unchanged():
    objects = ObjectSet.lewis2019(5, num_features=4, seed=0)
    observers = (IdealObserver(objects, "location"), IdealObserver(objects, "displacement"), BagOfFeatures(objects))
    for observer in observers:
        obj = objects[0]
        observer.step([(obj.locations[0], obj.features[0])])
        before = (observer.candidates, observer.num_hypotheses)
        message = r"observations\[0\] feature must be None or an integer in \[0, 4\), got 4"
        with pytest.raises(ValueError, match=message):
            observer.step([((0, 0), 4)])
        with pytest.raises(ValueError, match=r"observations\[1\] position must be a pair of integers"):
            observer.step([((0, 0), 1), ((0.5, 0), 1)])
        with pytest.raises(ValueError, match="wrap a single sensor's observation in a list"):
            observer.step(((0, 0), 1))
        with pytest.raises(ValueError, match="at least one"):
            observer.step([])
        assert (observer.candidates, observer.num_hypotheses) == before
    with pytest.raises(ValueError, match="mode must be one of"):
        IdealObserver(objects, mode="bag")
    with pytest.raises(TypeError, match="unique_origin must be a bool"):
        IdealObserver(objects, mode="displacement", unique_origin=1)
    with pytest.raises(TypeError, match="object_set must be an htmagent.cortex.objects.ObjectSet"):
        BagOfFeatures([{(0, 0): 1}])


def test_hawkins2017_figure_4c_shape():
    """Our ideal observer on the 2017 protocol lands on the published fig 4C curve (0, .36, .90, .99, 1.0)."""
    objects = ObjectSet.hawkins2017(100, num_features=10, seed=0)
    rng = np.random.default_rng(0)
    sequences = [observations_from_points(obj, _random_walk(obj, 1, 10, rng)) for obj in objects]
    ideal = recognition_curve(IdealObserver(objects), sequences, 10)
    bag = recognition_curve(BagOfFeatures(objects), sequences, 10)
    assert ideal[0] == 0 and 0.2 < ideal[1] < 0.5 and ideal[2] > 0.8 and ideal[4] == 1.0
    assert bag[3] == 0 and bag[9] == 1.0  # bag of features needs every point of the object
    assert np.all(bag <= ideal)


def test_multiple_sensors_recognize_sooner():
    objects = ObjectSet.lewis2019(50, num_features=10, seed=1)
    rng = np.random.default_rng(1)
    for mode in ("location", "displacement"):
        observer = IdealObserver(objects, mode)
        mean = {}
        for num_sensors in (1, 3):
            needed = []
            for obj in objects:
                steps = _random_walk(obj, num_sensors, 10, rng)
                needed.append(observer.sensations_to_recognize(observations_from_points(obj, steps, mode)))
            assert all(n is not None for n in needed)
            mean[num_sensors] = np.mean(needed)
        assert mean[3] < mean[1]


def _brute_force_candidates(objects, history, mode):
    """The obvious definition: an object is possible if some placement of it explains every observation."""
    observations = [obs for sensation in history for obs in sensation]
    if mode == "location":
        origins = [(0, 0)]
    elif any(f is not None for _, f in observations):
        origins = None
    else:
        return set(objects.labels)
    possible = set()
    for obj in objects:
        placements = origins or [
            (x - dx, y - dy) for (x, y) in obj.locations for (dx, dy), f in observations if f is not None
        ]
        for ox, oy in placements:
            if all(obj.points.get((ox + dx, oy + dy)) == f for (dx, dy), f in observations):
                possible.add(obj.label)
                break
    return possible


@st.composite
def _objects_and_walk(draw):
    num_objects = draw(st.integers(2, 8))
    num_features = draw(st.integers(2, 4))
    grid = draw(st.integers(2, 3))
    per_object = draw(st.integers(1, grid * grid))
    seed = draw(st.integers(0, 2**31 - 1))
    objects = ObjectSet.lewis2019(num_objects, num_features, per_object, grid, seed=seed)
    label = draw(st.integers(0, num_objects - 1))
    num_sensors = draw(st.integers(1, 2))
    cells = st.tuples(st.integers(-1, grid), st.integers(-1, grid))  # includes empty cells off the object
    walk = draw(st.lists(st.lists(cells, min_size=num_sensors, max_size=num_sensors), min_size=1, max_size=8))
    return objects, objects[label], walk


@settings(max_examples=60, deadline=None)
@given(_objects_and_walk())
def test_true_object_survives_and_bag_is_never_faster(case):
    objects, obj, walk = case
    for mode in ("location", "displacement"):
        sequence = observations_from_points(obj, walk, mode)
        ideal, bag, bag_of_sets = IdealObserver(objects, mode), BagOfFeatures(objects), BagOfFeatures(objects, False)
        for t, observations in enumerate(sequence):
            ideal_says = ideal.step(observations)
            assert ideal.candidates == _brute_force_candidates(objects, sequence[: t + 1], mode)
            bag_says = bag.step(observations)
            bag_of_sets.step(observations)
            assert bag.candidates <= bag_of_sets.candidates
            assert obj.label in ideal.candidates  # the true object is never eliminated
            assert ideal.candidates <= bag.candidates
            # Recognized exactly when the hypotheses collapse to one object.
            assert (ideal_says is not None) == (len(ideal.candidates) == 1)
            if bag_says is not None:
                assert ideal_says == bag_says == obj.label
        located = IdealObserver(objects, "location").sensations_to_recognize(observations_from_points(obj, walk))
        relative = IdealObserver(objects, "displacement").sensations_to_recognize(sequence)
        bagged = BagOfFeatures(objects).sensations_to_recognize(sequence)
        if bagged is not None:
            assert relative is not None and relative <= bagged
        if relative is not None:
            assert located is not None and located <= relative  # knowing locations can only help


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.lists(
        st.lists(st.tuples(st.tuples(st.integers(-2, 3), st.integers(-2, 3)), st.none() | st.integers(0, 2)),
                 min_size=1, max_size=2),
        min_size=1, max_size=5,
    ),
)
def test_ideal_observer_matches_brute_force_on_arbitrary_sequences(seed, sequence):
    objects = ObjectSet.lewis2019(6, num_features=3, features_per_object=3, grid_size=2, seed=seed)
    for mode in ("location", "displacement"):
        ideal = IdealObserver(objects, mode)
        for t, observations in enumerate(sequence):
            said = ideal.step(observations)
            expected = _brute_force_candidates(objects, sequence[: t + 1], mode)
            assert ideal.candidates == expected
            assert said == (next(iter(expected)) if len(expected) == 1 else None)


def test_per_sensor_origins_know_less_than_a_shared_origin():
    # Two sensors touch features 1 and 2 one cell apart. With one origin the pair fits only object 0; each sensor on
    # its own (the information of columns that integrate their own movements) fits both objects.
    objects = ObjectSet.from_dicts([{(0, 0): 1, (1, 0): 2}, {(0, 0): 1, (3, 0): 2}], num_features=3)
    touches = [[((0, 0), 1), ((1, 0), 2)]]
    shared = IdealObserver(objects, mode="displacement")
    separate = IdealObserver(objects, mode="displacement", shared_origin=False)
    assert shared.sensations_to_recognize(touches) == 1
    assert separate.sensations_to_recognize(touches) is None
    assert separate.candidates == {0, 1}
    # Sensor 0 then moves one cell right and feels 2: only object 0 has 2 one cell right of 1.
    assert separate.step([((1, 0), 2), ((1, 0), 2)]) == 0
    with pytest.raises(ValueError, match="one observation per sensor \\(2\\), got 1"):
        separate.step([((0, 0), 1)])
    with pytest.raises(ValueError, match="unique_origin=True needs shared_origin=True"):
        IdealObserver(objects, mode="displacement", unique_origin=True, shared_origin=False)
