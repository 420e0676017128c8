"""One batched HTM for a vector env (HTMBatch, HTMVectorObservation, HTMVecWrapper): per-copy HTMs give exactly what
HTMObservation in every copy gives, a shared HTM keeps each copy's sequence apart while every copy teaches it,
episode ends follow the vector env's autoreset mode, curiosity statistics are shared, and the state saves with the
model and loads back exactly (or not at all)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from htmagent.envs.vector import HTMBatch, HTMVectorObservation, batch_row
from htmagent.envs.wrappers import HTMObservation
from htmagent.serialization import StateError
from htmagent.temporal_memory import TemporalMemory

HTM = dict(column_count=128, cells_per_column=4)


def _actions(n: int, steps: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(2, size=(steps, n))


def _run(envs, steps: int) -> list:
    obs, _ = envs.reset(seed=3)
    out = [obs]
    for action in _actions(envs.num_envs, steps):
        obs, *_ = envs.step(action)
        out.append(obs)
    return out


def _per_copy_reference(n: int, **kwargs) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv([lambda: HTMObservation(gym.make("CartPole-v1"), seed=0, **kwargs)
                                     for _ in range(n)])


def _same(a: list, b: list) -> bool:
    return all(sorted(x) == sorted(y) and all(np.array_equal(x[k], y[k]) for k in x) for x, y in zip(a, b))


def test_per_copy_htms_match_an_htm_observation_in_every_copy():
    kwargs = dict(HTM, include_action=True, trace_decay=0.5)
    reference = _run(_per_copy_reference(3, **kwargs), 300)
    batched = _run(HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync"),
                                        shared=False, seed=0, **kwargs), 300)
    assert _same(reference, batched)


def test_a_shared_htm_of_one_copy_is_an_htm_observation():
    reference = _run(_per_copy_reference(1, **HTM), 300)
    batched = _run(HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=1, vectorization_mode="sync"),
                                        seed=0, **HTM), 300)
    assert _same(reference, batched)


def test_a_shared_htm_keeps_each_copy_in_its_own_sequence():
    """Two copies fed the same repeating sequence, one of them shifted: the shared memory learns the sequence from
    both, and each copy's predictions follow its own position (context swapped per copy), not the other's."""
    space = gym.spaces.Discrete(4)
    batch = HTMBatch(space, gym.spaces.Discrete(2), 2, seed=0, **HTM)
    batch.run([(0, [(0, None, True)]), (1, [(2, None, True)])])
    for t in range(1, 200):
        batch.run([(0, [(t % 4, 0, False)]), (1, [((t + 2) % 4, 0, False)])])
    assert batch.anomaly[:, 0].tolist() == [0.0, 0.0]
    # each copy predicts the code of its own next element
    codes = {}
    probe = HTMBatch(space, gym.spaces.Discrete(2), 1, seed=0, **HTM)
    probe.streams[0].sp.load_state_dict(batch.streams[0].sp.state_dict())
    for value in range(4):
        probe.compute_copy(0, value, start=True)
        codes[value] = probe.sdr[0].copy()
    assert np.array_equal(batch.sdr[0], codes[199 % 4]) and np.array_equal(batch.sdr[1], codes[(199 + 2) % 4])
    assert np.array_equal(batch.predicted[0], codes[200 % 4]) and np.array_equal(batch.predicted[1],
                                                                                 codes[(200 + 2) % 4])
    # one memory for both copies
    assert len(batch.streams) == 1


def test_the_tm_activity_of_a_stream_survives_segments_destroyed_meanwhile():
    tm = TemporalMemory(32, 4, activation_threshold=3, min_threshold=2, max_new_synapse_count=4, seed=0)
    for _ in range(5):
        for cols in ([0, 1, 2, 3], [8, 9, 10, 11], [16, 17, 18, 19]):
            tm.compute(cols)
        tm.reset()
    tm.compute([0, 1, 2, 3], learn=False)
    saved = tm.activity()
    assert tm.predicted_columns.sparse.tolist() == [8, 9, 10, 11]
    before = tm.predictive_cells.sparse.copy()
    # another stream destroys every segment that predicted those cells
    conn = tm.basal_connections
    for seg in np.unique(saved["b_segs"]):
        conn.destroy_segment(int(seg))
    tm.reset()
    tm.set_activity(saved)
    assert tm.predictive_cells.num_active == 0 and before.size > 0
    assert tm.activity()["b_segs"].size == 0
    tm.compute([8, 9, 10, 11])  # learns on what is left without touching a freed segment
    assert tm.anomaly == 1.0


def test_a_malformed_activity_is_refused_and_changes_nothing():
    tm = TemporalMemory(32, 4, seed=0)
    tm.compute([0, 1, 2])
    before = {k: np.array(v) for k, v in tm.activity().items()}
    bad = dict(tm.activity())
    bad["active"] = np.array([5, 3], dtype=np.int32)  # not sorted
    with pytest.raises(StateError, match="active"):
        tm.set_activity(bad)
    bad = dict(tm.activity())
    bad["b_segs"] = bad["b_segs"].astype(np.int64)
    with pytest.raises(StateError, match="b_segs"):
        tm.set_activity(bad)
    with pytest.raises(StateError):
        tm.set_activity({"active": np.zeros(0, np.int32)})
    assert all(np.array_equal(before[k], v) for k, v in tm.activity().items())


def test_same_step_autoreset_ends_the_sequence_on_the_final_observation():
    envs = HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                                             vector_kwargs=dict(autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)),
                                seed=0, **HTM)
    envs.reset(seed=0)
    for action in _actions(2, 200):
        obs, reward, term, trunc, infos = envs.step(action)
        done = np.logical_or(term, trunc)
        if done.any():
            i = int(np.flatnonzero(done)[0])
            final = infos["final_obs"][i]
            assert sorted(final) == ["anomaly", "original", "predicted", "sdr"]
            assert final["sdr"].sum() == 20 and final["original"].shape == (4,)
            # the returned observation starts a new sequence: nothing was predicted for it
            assert obs["anomaly"][i, 0] == 1.0
            break
    else:
        pytest.fail("no episode ended in 200 random CartPole steps")


def test_curiosity_statistics_are_shared_by_the_copies():
    envs = HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync"), seed=0,
                                curiosity=dict(beta=0.5, source="count"), **HTM)
    envs.reset(seed=0)
    total = 0
    for action in _actions(3, 100):
        _, reward, _, _, infos = envs.step(action)
        assert np.allclose(reward, infos["extrinsic_reward"] + 0.5 * infos["intrinsic_reward"])
        total += int((infos["intrinsic_reward"] > 0).sum())
    counts = envs.htm.curiosity.counts
    assert counts.sum() == total  # one table counted every copy's steps (the reset steps pay nothing)
    assert total > 200


def test_bad_arguments_are_refused_by_name():
    space, actions = gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(2)
    with pytest.raises(ValueError, match="num_envs"):
        HTMBatch(space, actions, 0)
    with pytest.raises(TypeError, match="shared"):
        HTMBatch(space, actions, 2, shared="yes")
    with pytest.raises(TypeError, match="seed"):
        HTMBatch(space, actions, 2, seed=1.5)
    with pytest.raises(ValueError, match="curiosity source"):
        HTMBatch(space, actions, 2, curiosity=dict(source="rnd"))
    with pytest.raises(TypeError, match="VectorEnv"):
        HTMVectorObservation(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="autoreset_mode"):
        HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                                          vector_kwargs=dict(autoreset_mode=gym.vector.AutoresetMode.DISABLED)))


def test_nested_originals_are_flattened_per_copy():
    envs = HTMVectorObservation(gym.make_vec("Blackjack-v1", num_envs=2, vectorization_mode="sync"), seed=0, **HTM)
    obs, _ = envs.reset(seed=0)
    assert obs["original"].shape == (2, envs.single_observation_space["original"].shape[0])
    assert envs.observation_space["original"].shape == obs["original"].shape
    assert batch_row(envs.env.single_observation_space, envs.env.reset(seed=0)[0], 1)[0] >= 0


@pytest.mark.parametrize("shared", [True, False])
def test_save_and_load_resume_every_copy_exactly(tmp_path, shared):
    first = HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"),
                                 shared=shared, seed=0, curiosity=dict(source="count", normalize=True), **HTM)
    first.reset(seed=0)
    actions = _actions(2, 300)
    for action in actions[:150]:
        first.step(action)
    first.save_htm(tmp_path / "batch.npz")
    # a fresh wrapper whose envs are brought to the same states (the envs themselves are not saved), then loaded
    fresh = HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"),
                                 shared=shared, seed=5, curiosity=dict(source="count", normalize=True), **HTM)
    fresh.reset(seed=0)
    for action in actions[:150]:
        fresh.step(action)
    fresh.load_htm(tmp_path / "batch.npz")
    for action in actions[150:]:
        a, ra, *_ = first.step(action)
        b, rb, *_ = fresh.step(action)
        assert all(np.array_equal(a[k], b[k]) for k in a) and np.array_equal(ra, rb)


def test_a_malformed_batch_file_is_refused_and_changes_nothing(tmp_path):
    envs = HTMVectorObservation(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"), seed=0, **HTM)
    envs.reset(seed=0)
    for action in _actions(2, 50):
        envs.step(action)
    good = envs.htm.state_dict()
    bad = envs.htm.state_dict()
    bad["activities"]["1"] = dict(bad["activities"]["1"], winners=np.array([7, 3], dtype=np.int32))
    with pytest.raises(StateError, match="winners"):
        envs.htm.load_state_dict(bad)
    bad = envs.htm.state_dict()
    bad["num_envs"] = 3
    with pytest.raises(StateError, match="num_envs"):
        envs.htm.load_state_dict(bad)
    bad = envs.htm.state_dict()
    del bad["streams"]["0"]["tm"]["arrays"]["rand"]
    with pytest.raises(StateError):
        envs.htm.load_state_dict(bad)
    after = envs.htm.state_dict()
    assert after["streams"]["0"]["tm"]["iteration"] == good["streams"]["0"]["tm"]["iteration"]
    assert all(np.array_equal(np.asarray(good["activities"][i][k]), np.asarray(after["activities"][i][k]))
               for i in good["activities"] for k in good["activities"][i])
    (tmp_path / "zero.npz").write_bytes(b"")
    with pytest.raises(StateError, match="zero.npz"):
        envs.load_htm(tmp_path / "zero.npz")
