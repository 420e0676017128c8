"""Network of voting cortical columns: recognition, voting, the ideal-observer bound, policies, save/load, errors."""

from __future__ import annotations

import numpy as np
import pytest

from htmagent.cortex.baselines import IdealObserver
from htmagent.cortex.column import CorticalColumn, LocationSource, RandomLocationCodes
from htmagent.cortex.network import InferenceResult, Network, add_noise
from htmagent.cortex.objects import ObjectSet
from htmagent.agent.motor import HypothesisPolicy, MotorPolicy, RandomPolicy
from htmagent.sdr import SDR

OBJECTS = ObjectSet.hawkins2017(20, num_points=10, num_locations=10, num_features=5, seed=3)


@pytest.fixture(scope="module")
def one_column():
    net = Network(num_columns=1, seed=11)
    net.learn(OBJECTS)
    return net


@pytest.fixture(scope="module")
def three_columns():
    net = Network(num_columns=3, seed=12)
    net.learn(OBJECTS)
    return net


def test_one_column_recognizes_all_20_objects(one_column):
    for obj in OBJECTS:
        r = one_column.infer(obj, max_sensations=10, seed=obj.label)
        assert r.label == obj.label and r.correct, (obj.label, r.recognized)
        assert 1 <= r.sensation <= 10
        assert r.classified[-1]


def test_three_columns_need_fewer_sensations_than_one(one_column, three_columns):
    def mean_sensations(net):
        return np.mean([net.infer(o, seed=100 + o.label).sensation or 11 for o in OBJECTS])

    one, three = mean_sensations(one_column), mean_sensations(three_columns)
    assert three < one, (one, three)
    assert three <= 2.0


@pytest.mark.parametrize("columns", ["one_column", "three_columns"])
def test_never_recognizes_before_the_ideal_observer(columns, request):
    net = request.getfixturevalue(columns)
    ideal = IdealObserver(OBJECTS, mode="location")
    for obj in OBJECTS:
        r = net.infer(obj, seed=200 + obj.label)
        ideal.reset()
        for obs, label in zip(r.sensations, r.recognized):
            ideal.step(obs)
            if label is not None:
                assert ideal.recognized == label, (obj.label, r.recognized)


def test_union_shrinks_to_the_object_code(one_column):
    net = one_column
    shrank = 0
    for obj in OBJECTS:
        r = net.infer(obj, seed=300 + obj.label)
        sizes = [step[0].num_active for step in r.activity]
        assert sizes[-1] == net.l2_params.sdr_size
        assert r.activity[-1][0] == net.object_code(obj.label, 0)
        assert max(sizes) >= sizes[-1]
        shrank += sizes[0] > sizes[-1]
        overlaps = net.overlaps(0)
        assert overlaps[obj.label] == net.l2_params.sdr_size and np.sum(overlaps == overlaps.max()) == 1
    assert shrank >= 10  # most first sensations are ambiguous with 5 features over 20 objects


def test_result_records_points_sensations_and_activity(three_columns):
    obj = OBJECTS[4]
    r = three_columns.infer(obj, max_sensations=4, settling_steps=2, seed=5)
    assert isinstance(r, InferenceResult)
    assert len(r.points) == len(r.sensations) == len(r.recognized) == len(r.overlaps) == 4
    assert len(r.activity) == 8 and all(len(step) == 3 for step in r.activity)
    for pts, obs in zip(r.points, r.sensations):
        assert len(set(pts)) == 3  # columns touch different points
        assert [o[0] for o in obs] == list(pts)
        assert all(obj.points[p] == f for p, f in obs)
    assert r.overlaps[0].shape == (3, len(OBJECTS))
    assert 1 <= r.convergence <= 5


def test_random_policy_never_revisits_while_points_remain(one_column):
    r = one_column.infer(OBJECTS[0], max_sensations=10, seed=1)
    assert len({p[0] for p in r.points}) == 10


def test_inference_is_reproducible_with_a_seed(three_columns):
    a = three_columns.infer(OBJECTS[2], seed=9)
    b = three_columns.infer(OBJECTS[2], seed=9)
    assert a.points == b.points and a.recognized == b.recognized


def test_hypothesis_policy_uses_only_the_networks_state(one_column):
    net = one_column
    calls = []

    class Spy(HypothesisPolicy):
        def next_jumps(self, candidates=None):
            calls.append((len(self.path), candidates))
            return super().next_jumps(candidates)

    rand = np.mean([net.infer(o, seed=o.label).sensation or 11 for o in OBJECTS])
    hyp = np.mean([net.infer(o, policy=Spy(objects=net.learned_objects), seed=o.label).sensation or 11
                   for o in OBJECTS])
    assert hyp <= rand + 0.25, (hyp, rand)
    # What the policy is told is the network's own state: before the first sensation nothing (every object is
    # possible), then the learned objects every column still backs.
    assert calls[0] == (0, None) and calls[1][0] == 1
    assert all(c is None or set(np.asarray(c).tolist()) <= set(range(len(OBJECTS))) for _, c in calls)
    assert isinstance(HypothesisPolicy(objects=net.learned_objects), MotorPolicy)
    assert isinstance(RandomPolicy(), MotorPolicy)


def test_hypothesis_policy_picks_the_point_that_splits_candidates():
    objects = ObjectSet.from_dicts([{(0, 0): 0, (1, 0): 0, (2, 0): 1}, {(0, 0): 0, (1, 0): 0, (2, 0): 2}])
    policy = HypothesisPolicy(objects=list(objects))
    policy.reset(np.random.default_rng(0), surface=objects[0].locations)
    assert policy.next_jumps(None).tolist() == [[2, 0]]  # from the unplaced start (0, 0) to the point (2, 0)


def test_save_load_resumes_bit_identically(tmp_path):
    half = ObjectSet.hawkins2017(6, num_features=4, seed=1)
    net = Network(num_columns=2, l2_cell_count=1024, l2_sdr_size=20, recognition_threshold=15, seed=4)
    net.learn(half[:3])
    path = tmp_path / "net.npz"
    net.save(path)
    twin = Network.load(path)
    net.learn(half[3:])
    twin.learn(half[3:])
    for obj in half:
        a, b = net.infer(obj, seed=obj.label), twin.infer(obj, seed=obj.label)
        assert a.points == b.points and a.recognized == b.recognized
        assert all(x == y for sa, sb in zip(a.activity, b.activity) for x, y in zip(sa, sb))
    assert [o.points for o in net.learned_objects] == [o.points for o in twin.learned_objects]


def test_bad_inputs_raise_clear_errors(one_column):
    net = one_column
    unknown_feature = ObjectSet.from_dicts([{(0, 0): 7}], num_features=8)[0]
    with pytest.raises(ValueError, match="feature id 7 .* learned features 0..4"):
        net.infer(unknown_feature)
    unknown_point = ObjectSet.from_dicts([{(50, 3): 1}], num_features=5)[0]
    with pytest.raises(ValueError, match=r"point \(50, 3\)"):
        net.infer(unknown_point)
    with pytest.raises(ValueError, match="max_sensations must be an int >= 1, got 0"):
        net.infer(OBJECTS[0], max_sensations=0)
    with pytest.raises(ValueError, match="policy must be 'random', 'hypothesis'"):
        net.infer(OBJECTS[0], policy="greedy")
    with pytest.raises(ValueError, match="observations\\[0\\] feature must be a learned feature id in \\[0, 5\\)"):
        net.step([((0, 0), 9)])
    column = net.columns[0]
    before = column.l2.active_cells
    with pytest.raises(ValueError, match="location_sdr must be an SDR of size 2400, got size 100"):
        column.sensory_compute(net.feature_sdr(0, 1), SDR(100, [1, 2]))
    with pytest.raises(ValueError, match="feature_sdr must be an SDR of size 150"):
        column.sensory_compute(SDR(10, [1]), net.location_sources[0].locate((0, 0)))
    assert column.l2.active_cells == before
    with pytest.raises(ValueError, match="num_columns must be an int >= 1, got 0"):
        Network(num_columns=0)
    with pytest.raises(ValueError, match="learned no object"):
        Network(seed=0).infer(OBJECTS[0])


def test_location_source_protocol_is_pluggable():
    class Shifted(RandomLocationCodes):
        """A source that counts its calls (stands in for the grid-cell layer of the next issue)."""

        calls = 0

        def anchor(self, l4_active_cells, learn=False, l4_winner_cells=None):
            Shifted.calls += 1

    objects = ObjectSet.hawkins2017(4, num_features=3, seed=0)
    sources = [Shifted(size=600, active_bits=20, seed=i) for i in range(2)]
    assert all(isinstance(s, LocationSource) for s in sources)
    net = Network(num_columns=2, location_sources=sources, seed=1, l2_cell_count=1024, l2_sdr_size=20,
                  recognition_threshold=15)
    net.learn(objects)
    assert Shifted.calls == 2 * 4 * 10 * 3
    assert net.infer(objects[1], seed=0).label == 1


def test_add_noise_keeps_sparsity():
    rng = np.random.default_rng(0)
    sdr = SDR(100, range(0, 100, 5))
    noisy = add_noise(sdr, 0.5, rng)
    assert noisy.num_active == sdr.num_active and 0 < noisy.overlap(sdr) < sdr.num_active
    assert add_noise(sdr, 0.0, rng) == sdr


def test_column_alone_pairs_features_with_locations():
    col = CorticalColumn(feature_size=150, cells_per_column=8, location_size=600, seed=0)
    feature = SDR(150, range(0, 100, 5))
    location = RandomLocationCodes(600, 20, seed=1)
    location.add_points([(0, 0)])
    for _ in range(3):
        col.sensory_compute(feature, location.locate((0, 0)), learn=True)
    col.reset()
    col.sensory_compute(feature, location.locate((0, 0)), learn=False)
    assert col.l4.predicted_active_cells.num_active == feature.num_active  # L4 predicted the pair: no burst


def test_grid_location_network_recognizes_from_movements_and_resumes_after_load(tmp_path):
    objects = ObjectSet.lewis2019(20, num_features=10, seed=0)
    net = Network(num_columns=1, location="grid", seed=0)
    assert net.config["feature_active_bits"] == 10  # the 2019 paper's feature codes
    net.learn(objects)
    results = [net.infer(obj, max_sensations=10, seed=i) for i, obj in enumerate(objects)]
    assert all(r.label == obj.label for r, obj in zip(results, objects))
    path = tmp_path / "grid_net.npz"
    net.save(path)
    loaded = Network.load(path)
    assert loaded.config["location"] == "grid"
    for i in (3, 11):
        a, b = net.infer(objects[i], seed=100 + i), loaded.infer(objects[i], seed=100 + i)
        assert a.points == b.points and a.sensation == b.sensation
        assert all(x == y for step_a, step_b in zip(a.activity, b.activity) for x, y in zip(step_a, step_b))


def test_location_argument_is_validated():
    with pytest.raises(ValueError, match="location must be 'random' or 'grid', got 'gps'"):
        Network(location="gps")


def test_recognizing_before_learning_is_one_error_type_for_every_model():
    from htmagent import HTMAgent, NotLearnedError
    import gymnasium as gym
    import htmagent.envs  # noqa: F401

    with pytest.raises(NotLearnedError, match="learned no object"):
        Network(num_columns=1, seed=0).infer(OBJECTS[0])
    env = gym.make("htmagent/ObjectTouch-v0", num_objects=3)
    agent = HTMAgent.for_env(env, seed=0)
    with pytest.raises(NotLearnedError, match="learned no object"):
        agent.reset(env.reset(seed=0)[0])
    assert issubclass(NotLearnedError, RuntimeError) and issubclass(NotLearnedError, ValueError)
