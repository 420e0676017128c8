"""Write the saved-file fixtures of ``tests/test_saved_files.py``: one small file per stateful class, and what each
model does next.

Run once with htmagent 0.1.0 (commit 152d6c5, the flat layout before the package got its rooms)::

    python tests/data/saved_0_1/make_files.py OUT_FOLDER            # write the files (with 0.1.0)
    python tests/data/saved_0_1/make_files.py OUT_FOLDER --check    # load them with this version, compare

It uses public names only, so the same script runs on every later layout. For each case it builds a small model,
runs it a little, saves it, then keeps running the same inputs and records the outputs in ``expected.json``.
The test loads each file with the current code, runs the same continuation and must get the same outputs: a file
that an earlier version wrote keeps working, bit for bit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def _inputs(size: int, active: int, steps: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(size, active, replace=False)).astype(np.int32) for _ in range(steps)]


def spatial_pooler(mode: str, path: Path) -> list:
    from htmagent import SDR, SpatialPooler

    stream = _inputs(200, 12, 30, 10)
    if mode == "save":
        sp = SpatialPooler(200, 128, local_area_density=0.05, boost_strength=2.0, seed=1)
        for x in stream[:20]:
            sp.compute(SDR(200, x), learn=True)
        sp.save(path)
    sp = SpatialPooler.load(path)
    return [sp.compute(SDR(200, x), learn=True).sparse.tolist() for x in stream[20:]]


def temporal_memory(mode: str, path: Path) -> list:
    from htmagent import SDR, TemporalMemory

    symbols = _inputs(64, 4, 6, 11)
    sequence = [symbols[i] for i in (0, 1, 2, 3, 0, 4, 5, 3)] * 8
    if mode == "save":
        tm = TemporalMemory(64, 4, activation_threshold=3, min_threshold=2, max_new_synapse_count=6, seed=2)
        for x in sequence[:48]:
            tm.compute(SDR(64, x), learn=True)
        tm.save(path)
    tm = TemporalMemory.load(path)
    out = []
    for x in sequence[48:]:
        tm.compute(SDR(64, x), learn=True)
        out.append([tm.active_cells.sparse.tolist(), float(tm.anomaly)])
    return out


def anomaly_detector(mode: str, path: Path) -> list:
    from htmagent import AnomalyDetector

    rng = np.random.default_rng(12)
    values = (50 + 30 * np.sin(np.arange(260) / 6.0) + rng.normal(0, 2, 260)).tolist()
    if mode == "save":
        detector = AnomalyDetector(min_value=0, max_value=100, seed=3, encoder_size=200, encoder_active_bits=11,
                                   sp_params=dict(column_dimensions=256), tm_params=dict(cells_per_column=4))
        for v in values[:200]:
            detector.step(v)
        detector.save(path)
    detector = AnomalyDetector.load(path)
    out = []
    for v in values[200:]:
        result = detector.step(v)
        out.append([float(result.raw), float(result.likelihood)])
    return out


def scalar_predictor(mode: str, path: Path) -> list:
    from htmagent import SDR, ScalarPredictor

    codes = _inputs(100, 8, 5, 13)
    if mode == "save":
        predictor = ScalarPredictor(steps=(1,), alpha=0.1, resolution=1.0, input_size=100)
        for t in range(40):
            predictor.learn(t, SDR(100, codes[t % 5]), float(t % 5))
        predictor.save(path)
    predictor = ScalarPredictor.load(path)
    out = []
    for t in range(40, 50):
        predictor.learn(t, SDR(100, codes[t % 5]), float(t % 5))
        out.append(float(predictor.predict(SDR(100, codes[(t + 1) % 5]))[1]))
    return out


def network(mode: str, path: Path) -> list:
    from htmagent import Network, ObjectSet

    objects = ObjectSet.hawkins2017(4, num_features=3, seed=1)
    if mode == "save":
        net = Network(num_columns=2, l4_column_count=64, cells_per_column=4, location_size=400, l2_cell_count=512,
                      l2_sdr_size=16, recognition_threshold=12, seed=4)
        net.learn(objects)
        net.save(path)
    net = Network.load(path)
    results = [net.infer(obj, seed=obj.label, max_sensations=6) for obj in objects]
    return [[[list(map(list, p)) for p in r.points], r.recognized, [o.tolist() for o in r.overlaps]] for r in results]


def location_layer(mode: str, path: Path) -> list:
    from htmagent import LocationLayer

    moves = np.random.default_rng(14).normal(0, 8, (12, 2))
    if mode == "save":
        layer = LocationLayer(num_modules=3, cells_per_axis=6, anchor_input_size=50, seed=5)
        layer.activate_random_location()
        for move in moves[:6]:
            layer.movement_compute(move.tolist())
        layer.save(path)
    layer = LocationLayer.load(path)
    out = []
    for move in moves[6:]:
        layer.movement_compute(move.tolist())
        out.append(layer.active_cells.sparse.tolist())
    return out


def htm_observation(mode: str, path: Path) -> list:
    import gymnasium as gym

    from htmagent import HTMObservation

    actions = np.random.default_rng(15).integers(0, 2, 60)

    def make():
        return HTMObservation(gym.make("CartPole-v1"), column_count=64, cells_per_column=4, seed=6)

    env = make()
    env.reset(seed=7)
    for a in actions[:40]:
        *_, terminated, truncated, _ = env.step(int(a))
        if terminated or truncated:
            env.reset()
    if mode == "save":
        env.save_htm(path)
    fresh = make()
    fresh.reset(seed=7)
    fresh.load_htm(path)
    # The continuation starts from the saved HTM on a new episode, so both runs see the same observations.
    fresh.reset(seed=8)
    out = []
    for a in actions[40:]:
        obs, _, terminated, truncated, _ = fresh.step(int(a))
        out.append([np.flatnonzero(obs["sdr"]).tolist(), float(obs["anomaly"][0])])
        if terminated or truncated:
            fresh.reset()
    return out


def htm_agent(mode: str, path: Path) -> list:
    import gymnasium as gym

    import htmagent.envs  # noqa: F401
    from htmagent import HTMAgent

    env = gym.make("htmagent/ObjectTouch-v0", num_objects=3, num_sensors=1)
    if mode == "save":
        agent = HTMAgent.for_env(env, policy="hypothesis", seed=0, l2_cell_count=512, l2_sdr_size=16,
                                 recognition_threshold=12)
        agent.learn(env, seed=0)
        agent.save(path)
    agent = HTMAgent.load(path)
    return list(map(int, agent.evaluate(env, episodes=4, seed=9).steps))


CASES = {
    "spatial_pooler": spatial_pooler,
    "temporal_memory": temporal_memory,
    "anomaly_detector": anomaly_detector,
    "scalar_predictor": scalar_predictor,
    "network": network,
    "location_layer": location_layer,
    "htm_observation": htm_observation,
    "htm_agent": htm_agent,
}


def main(folder: str, check: bool = False) -> int:
    """Write every case's file and expected outputs into ``folder``; with ``check``, load them and compare."""
    out = Path(folder)
    if check:
        expected = json.loads((out / "expected.json").read_text())
        bad = [name for name, case in CASES.items() if case("load", out / f"{name}.npz") != expected[name]]
        print("all cases resume as they were saved" if not bad else f"differ: {bad}")
        return 1 if bad else 0
    out.mkdir(parents=True, exist_ok=True)
    expected = {name: case("save", out / f"{name}.npz") for name, case in CASES.items()}
    (out / "expected.json").write_text(json.dumps(expected))
    for name in CASES:
        print(f"{name}: {(out / f'{name}.npz').stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], check="--check" in sys.argv[2:]))
