"""The grid-cell column (L6a + L4) of Lewis et al. 2019 and its location-code readout."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.cortex.baselines import IdealObserver, observations_from_points
from htmagent.cortex.location_column import (
    PAPER_PARAMS,
    LocationColumn,
    LocationColumnParams,
    lewis2019_l4_params,
)
from htmagent.cortex.location_network import LocationNetwork, random_traversals
from htmagent.cortex.objects import ObjectSet, SensoryObject


@pytest.fixture(scope="module")
def learned():
    objects = ObjectSet.lewis2019(20, num_features=100, seed=3)
    net = LocationNetwork(seed=4)
    net.learn(objects)
    return objects, net


def test_paper_parameters():
    assert (PAPER_PARAMS.num_modules, PAPER_PARAMS.cells_per_axis, PAPER_PARAMS.anchor_threshold) == (10, 10, 8)
    assert PAPER_PARAMS.l4_cells == 2400
    l4 = lewis2019_l4_params(10)
    assert l4["activation_threshold"] == 8 and l4["min_threshold"] == 10 and l4["max_new_synapse_count"] == 10
    assert lewis2019_l4_params(5)["activation_threshold"] == 4
    assert lewis2019_l4_params(40, basal_threshold=40)["reduced_basal_threshold"] == 40
    column = LocationColumn(seed=0)
    assert column.location_size == 1000 and column.l4.num_cells == 2400


def test_recognizes_each_of_20_learned_objects(learned):
    objects, net = learned
    for obj in objects:
        result = net.infer(obj, seed=100 + obj.label)
        assert result.label == obj.label and result.correct
        assert 1 <= result.sensation <= len(result.points)
        assert result.points[-1][0] in obj.points
        assert result.sensations[0][0][1] == obj.points[result.points[0][0]]


def test_learned_location_code_names_its_object(learned):
    _, net = learned
    code = net.location_code(7, net.learned_objects[7].locations[2])
    assert code.num_active == net.params.num_modules  # one learning cell per module
    candidates = net.candidate_codes(code)
    assert [net.code_keys[k] for k in candidates] == [(7, net.learned_objects[7].locations[2])]


def test_hypotheses_never_grow_after_a_sensation(learned):
    objects, net = learned
    for obj in objects:
        result = net.infer(obj, stop_on_recognition=False, seed=obj.label)
        counts = result.num_hypotheses
        assert counts[0] >= 1
        assert all(later <= earlier for earlier, later in zip(counts, counts[1:])), counts
        assert counts[-1] == 1


def test_never_recognizes_more_than_the_ideal_observer(learned):
    objects, net = learned
    observer = IdealObserver(objects, mode="displacement")
    net_hits, ideal_hits = np.zeros(12), np.zeros(12)
    for obj in objects:
        sequence = random_traversals(obj.locations, 2, np.random.default_rng(obj.label))[:12]
        result = net.infer(obj, points=sequence, stop_on_recognition=False)
        ideal = observer.sensations_to_recognize(observations_from_points(obj, result.points, "displacement"))
        if result.sensation is not None:
            assert ideal is not None and ideal <= result.sensation
            net_hits[result.sensation - 1:] += 1
        if ideal is not None:
            ideal_hits[ideal - 1:] += 1
    assert np.all(net_hits <= ideal_hits)
    assert net_hits[-1] == len(objects)


def test_path_integration_in_a_new_order_still_recognizes(learned):
    objects, net = learned
    obj = objects[5]
    backwards = list(reversed(obj.locations))
    zigzag = [p for pair in zip(obj.locations, backwards) for p in pair]
    for order in (backwards, zigzag, [obj.locations[0], obj.locations[-1]] * 3 + obj.locations):
        result = net.infer(obj, points=order)
        assert result.label == 5


def test_moved_object_is_recognized_from_displacements_alone(learned):
    objects, net = learned
    obj = objects[2]
    shifted = SensoryObject(0, {(x + 7, y - 3): f for (x, y), f in obj.points.items()})
    result = net.infer(shifted, seed=1)
    assert result.label == 2 and result.target is None


def test_column_save_load_resumes_exactly(tmp_path):
    params = LocationColumnParams(num_modules=4, cells_per_axis=6, l4_column_count=40, l4_cells_per_column=4,
                                  feature_active_bits=5, anchor_sample_size=5, anchor_threshold=4)
    column = LocationColumn(params, seed=1)
    rng = np.random.default_rng(0)
    features = [np.sort(rng.choice(40, 5, replace=False)) for _ in range(6)]
    column.activate_random_location()
    for f in features[:3]:
        column.movement_compute([20.0, 0.0])
        column.sensory_compute(f, learn=True)
    column.save(tmp_path / "column.npz")
    other = LocationColumn.load(tmp_path / "column.npz")
    for i, f in enumerate(features[3:] + features[:3]):
        learn = i < 3
        if i == 3:
            column.reset(), other.reset()
        for c in (column, other):
            if i in (0, 3):
                c.activate_random_location() if learn else None
            c.movement_compute([0.0, 20.0])
            c.sensory_compute(f, learn=learn)
        assert np.array_equal(column.l4.active_cells.sparse, other.l4.active_cells.sparse)
        assert np.array_equal(column.location_cells.sparse, other.location_cells.sparse)
        assert np.array_equal(column.sensory_associated_cells.sparse, other.sensory_associated_cells.sparse)


def test_network_save_load_resumes_exactly(tmp_path):
    objects = ObjectSet.lewis2019(12, num_features=30, seed=8)
    net = LocationNetwork(seed=2, num_modules=6, cells_per_axis=8)
    net.learn(objects[:6])
    net.save(tmp_path / "net.npz")
    loaded = LocationNetwork.load(tmp_path / "net.npz")
    for n in (net, loaded):
        n.learn(objects[6:])
    assert [loaded.location_code(i, o.locations[0]) for i, o in enumerate(objects)] == \
        [net.location_code(i, o.locations[0]) for i, o in enumerate(objects)]
    for obj in objects:
        a = net.infer(obj, seed=obj.label, stop_on_recognition=False)
        b = loaded.infer(obj, seed=obj.label, stop_on_recognition=False)
        assert (a.label, a.sensation, a.recognized, a.num_hypotheses) == \
            (b.label, b.sensation, b.recognized, b.num_hypotheses)


def test_bad_inputs_raise_clear_errors_and_change_nothing(learned):
    objects, net = learned
    column = net.column
    column.reset()
    column.activate_random_location()
    before = column.location_cells
    with pytest.raises(ValueError, match="feature_sdr"):
        column.sensory_compute(np.arange(5, 200, 10), learn=False)
    with pytest.raises(TypeError, match="learn"):
        column.sensory_compute(net.feature_sdr(0), learn=1)
    with pytest.raises(ValueError, match="displacement"):
        column.movement_compute([np.nan, 0.0])
    with pytest.raises(ValueError, match="displacement"):
        column.movement_compute([1.0, 2.0, 3.0])
    assert column.location_cells == before
    with pytest.raises(ValueError, match="points\\[1\\]"):
        net.infer(objects[0], points=[objects[0].locations[0], (99, 99)])
    with pytest.raises(ValueError, match="points\\[0\\]"):
        net.infer(objects[0], points=[(0.5, 1)])
    with pytest.raises(ValueError, match="feature id 150"):
        net.infer(SensoryObject(0, {(0, 0): 150}))
    with pytest.raises(ValueError, match="max_traversals"):
        net.infer(objects[0], max_traversals=0)
    with pytest.raises(ValueError, match="learned no object"):
        LocationNetwork(seed=0).infer(objects[0])
    with pytest.raises(TypeError, match="object_set\\[1\\]"):
        LocationNetwork(seed=0).learn([objects[0], "cup"])
    with pytest.raises(ValueError, match="basal_threshold must be <= num_modules"):
        LocationColumnParams(num_modules=5, basal_threshold=6)
    with pytest.raises(ValueError, match="cells_per_axis must be >= 1"):
        LocationNetwork(cells_per_axis=0)
    with pytest.raises(ValueError, match="feature must be a learned feature id"):
        net.feature_sdr(100)
    with pytest.raises(ValueError, match="label 0 point"):
        net.location_code(0, (50, 50))
