"""A corpus of malformed saved files for every stateful class, and the check each must pass.

Run as a child process (``python tests/malformed_corpus.py CLASS OUT.json``) so that a load that aborts the
interpreter ends the child, not the test run: ``tests/test_malformed_files.py`` runs it per class and reads the
report. For one class it

1. builds a small model, runs it a little and saves it (the valid file), and records what the model does next;
2. writes malformed versions of that file: damaged bytes (truncated, empty, random, one flipped byte: the file's
   CRC no longer matches) and crafted files with a valid CRC, as a person editing a file would make them (each
   array of another dtype, one element short, missing, holding an out-of-range value or objects; each JSON field
   missing or of another type; another class's file; a file of a newer format);
3. loads each one into a new object (``Class.load``) and into a working one (``load_state_dict``).

A case passes when the load raises :class:`htmagent.serialization.StateError` and the working object's state is
unchanged and it still does exactly what it did (or, for a crafted file that is still a valid state, when the
loaded object does exactly what the original did).
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np


def _codes(size: int, active: int, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(size, active, replace=False)).astype(np.int32) for _ in range(count)]


# ------------------------------------------------------------------------------------------------------ the models
def _sp():
    from htmagent import SDR, SpatialPooler

    codes = _codes(120, 10, 12, 1)
    sp = SpatialPooler(120, 64, local_area_density=0.1, boost_strength=1.0, seed=1)
    for t in range(30):
        sp.compute(SDR(120, codes[t % 12]), learn=True)
    return sp, lambda m: [m.compute(SDR(120, codes[t % 12]), learn=True).sparse.tolist() for t in range(12)]


def _sp_pool():
    from htmagent import SDR, SpatialPooler

    codes = _codes(144, 10, 12, 5)
    sp = SpatialPooler((12, 12), (8, 8), potential_radius=2, global_inhibition=False, local_area_density=0.1,
                       boost_strength=1.0, stimulus_threshold=1, storage="pool", seed=1)
    for t in range(30):
        sp.compute(SDR(144, codes[t % 12]), learn=True)
    return sp, lambda m: [m.compute(SDR(144, codes[t % 12]), learn=True).sparse.tolist() for t in range(12)]


def _tm():
    from htmagent import SDR, TemporalMemory

    codes = _codes(48, 4, 6, 2)
    tm = TemporalMemory(48, 4, activation_threshold=3, min_threshold=2, max_new_synapse_count=5,
                        max_segments_per_cell=3, seed=2)
    for t in range(60):
        tm.compute(SDR(48, codes[t % 6]), learn=True)

    def run(m):
        out = []
        for t in range(12):
            m.compute(SDR(48, codes[(t * 5) % 6]), learn=True)
            out.append([m.active_cells.sparse.tolist(), float(m.anomaly)])
        return out
    return tm, run


def _connections():
    from htmagent import Connections

    rng = np.random.default_rng(3)
    conn = Connections(20, 40, max_segments_per_cell=3, max_synapses_per_segment=20, seed=3)
    for _ in range(40):
        seg = conn.create_segment(int(rng.integers(20)))
        conn.grow_synapses(seg, np.sort(rng.choice(40, 12, replace=False)), 8, 0.4)
        conn.iteration += 1

    inputs = _codes(40, 10, 8, 9)

    def run(m):
        out = []
        for active in inputs:
            act = m.compute_activity(active, 0.5)
            out.append([act.segments.tolist(), act.connected.tolist(), act.potential.tolist()])
            for seg in act.segments[:3].tolist():
                m.adapt_segment(seg, active, 0.1, 0.05)
            seg = m.create_segment(int(active[0]) % 20)
            m.grow_synapses(seg, active, 5, 0.3)
            m.iteration += 1
        return out
    return conn, run


def _likelihood():
    from htmagent import AnomalyLikelihood

    rng = np.random.default_rng(4)
    scores = rng.random(80) ** 3
    model = AnomalyLikelihood(learning_period=10, estimation_samples=10, reestimation_period=10,
                              historic_window_size=40)
    for s in scores[:60]:
        model.compute(float(s))
    return model, lambda m: [float(m.compute(float(s))) for s in scores[60:]]


def _detector():
    import datetime as dt

    from htmagent import AnomalyDetector

    rng = np.random.default_rng(5)
    values = (50 + 30 * np.sin(np.arange(160) / 6.0) + rng.normal(0, 2, 160)).tolist()
    stamps = [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=5 * i) for i in range(160)]
    det = AnomalyDetector(min_value=0, max_value=100, seed=3, encoder_size=120, encoder_active_bits=9,
                          calibration_steps=20, sp_params=dict(column_dimensions=128),
                          tm_params=dict(cells_per_column=4))
    for v, s in zip(values[:140], stamps[:140]):
        det.step(v, s)

    def run(m):
        return [[float(r.raw), float(r.likelihood), float(r.score)]
                for r in (m.step(v, s) for v, s in zip(values[140:], stamps[140:]))]
    return det, run


def _predictor():
    from htmagent import SDR, Predictor

    codes = _codes(60, 6, 4, 6)
    model = Predictor(steps=(1, 2), alpha=0.2, input_size=60)
    for t in range(20):
        model.learn(t, SDR(60, codes[t % 4]), t % 4)

    def run(m):
        out = []
        for t in range(20, 28):
            m.learn(t, SDR(60, codes[t % 4]), t % 4)
            out.append({str(k): v.tolist() for k, v in m.infer(SDR(60, codes[(t + 1) % 4])).items()})
        return out
    return model, run


def _scalar_predictor():
    from htmagent import SDR, ScalarPredictor

    codes = _codes(60, 6, 5, 7)
    model = ScalarPredictor(steps=(1,), alpha=0.1, resolution=1.0, input_size=60)
    for t in range(30):
        model.learn(t, SDR(60, codes[t % 5]), float(t % 5))

    def run(m):
        out = []
        for t in range(30, 38):
            m.learn(t, SDR(60, codes[t % 5]), float(t % 5))
            out.append(float(m.predict(SDR(60, codes[(t + 1) % 5]))[1]))
        return out
    return model, run


def _object_layer():
    from htmagent.cortex.object_layer import ObjectLayer, ObjectLayerParams

    codes = _codes(200, 12, 9, 8)
    params = ObjectLayerParams(cell_count=256, sdr_size=10, min_sdr_size=8)
    layer = ObjectLayer(200, [256], params, seed=8)
    lateral = np.zeros(0, dtype=np.int32)
    for obj in range(3):
        layer.reset()
        for k in range(3):
            lateral = layer.compute(codes[obj * 3 + k], [lateral], learn=True).sparse
    layer.reset()

    def run(m):
        out, prev = [], np.zeros(0, dtype=np.int32)
        for k in range(6):
            prev = m.compute(codes[k % 9], [prev], learn=False).sparse
            out.append(prev.tolist())
        return out
    return layer, run


def _location_layer():
    from htmagent import LocationLayer

    moves = np.random.default_rng(14).normal(0, 8, (12, 2))
    layer = LocationLayer(num_modules=3, cells_per_axis=6, anchor_input_size=50, seed=5)
    layer.activate_random_location()
    for move in moves[:6]:
        layer.movement_compute(move.tolist())

    def run(m):
        out = []
        for move in moves[6:]:
            m.movement_compute(move.tolist())
            out.append(m.active_cells.sparse.tolist())
        return out
    return layer, run


def _network():
    from htmagent import Network, ObjectSet

    objects = ObjectSet.hawkins2017(3, num_features=3, seed=1)
    net = Network(num_columns=2, l4_column_count=32, cells_per_column=4, location_size=200, l2_cell_count=256,
                  l2_sdr_size=10, recognition_threshold=7, seed=4)
    net.learn(objects)

    def run(m):
        results = [m.infer(obj, seed=obj.label, max_sensations=4) for obj in objects]
        return [[r.recognized, [o.tolist() for o in r.overlaps]] for r in results]
    return net, run


def _hierarchy():
    from htmagent import SDR, Hierarchy, RegionParams

    codes = _codes(24, 4, 5, 9)
    low = RegionParams(input_dimensions=24, column_dimensions=32, active_columns=4, cells_per_column=2)
    top = RegionParams(input_dimensions=64, column_dimensions=32, active_columns=4, cells_per_column=2)
    h = Hierarchy([[low, low], [top]], feedback_signal="pooled", seed=9)
    for t in range(25):
        h.step([SDR(24, codes[t % 5]), SDR(24, codes[(t + 2) % 5])])

    def run(m):
        out = []
        for t in range(10):
            m.step([SDR(24, codes[t % 5]), SDR(24, codes[(t + 1) % 5])])
            out.append([m.pooled(1).sparse.tolist(), m.active_columns(0).sparse.tolist()])
        return out
    return h, run


def _make_observation():
    import gymnasium as gym

    from htmagent import HTMObservation

    return HTMObservation(gym.make("CartPole-v1"), column_count=32, cells_per_column=4, seed=6)


def _htm_observation():
    actions = np.random.default_rng(15).integers(0, 2, 50)
    env = _make_observation()
    env.reset(seed=7)
    for a in actions[:30]:
        *_, terminated, truncated, _ = env.step(int(a))
        if terminated or truncated:
            env.reset()

    def run(m):
        m.reset(seed=8)
        out = []
        for a in actions[30:]:
            obs, _, terminated, truncated, _ = m.step(int(a))
            out.append([np.flatnonzero(obs["sdr"]).tolist(), float(obs["anomaly"][0])])
            if terminated or truncated:
                m.reset()
        return out
    return env, run


def _load_observation(path):
    env = _make_observation()
    env.reset(seed=7)
    env.load_htm(path)
    return env


#: How to save, read the whole state of, and load a state into a model, where it is not save/state_dict/
#: load_state_dict (the wrapper's HTM); None: the class loads only as a new object.
HOOKS: dict[str, tuple] = {
    "htm_observation": (lambda m, p: m.save_htm(p), lambda m: m.htm_state_dict(),
                        lambda m, s: m.load_htm_state_dict(s)),
    "network": (lambda m, p: m.save(p), lambda m: m.state_dict(), None),
}


def _load(name: str) -> Callable[[str], Any]:
    from htmagent import AnomalyDetector, AnomalyLikelihood, Connections, Predictor, ScalarPredictor, SpatialPooler
    from htmagent import TemporalMemory
    from htmagent.cortex.object_layer import ObjectLayer

    from htmagent import Hierarchy, LocationLayer, Network

    return {"hierarchy": Hierarchy.load, "location_layer": LocationLayer.load, "network": Network.load, "htm_observation": _load_observation,
            "spatial_pooler": SpatialPooler.load, "spatial_pooler_pool": SpatialPooler.load,
            "temporal_memory": TemporalMemory.load,
            "connections": Connections.load, "likelihood": AnomalyLikelihood.load,
            "anomaly_detector": AnomalyDetector.load, "predictor": Predictor.load,
            "scalar_predictor": ScalarPredictor.load, "object_layer": ObjectLayer.load}[name]


MODELS: dict[str, Callable] = {
    "spatial_pooler": _sp, "temporal_memory": _tm, "connections": _connections, "likelihood": _likelihood,
    "anomaly_detector": _detector, "predictor": _predictor, "scalar_predictor": _scalar_predictor,
    "object_layer": _object_layer, "location_layer": _location_layer, "network": _network,
    "htm_observation": _htm_observation, "hierarchy": _hierarchy,
    "spatial_pooler_pool": _sp_pool,
}


# ---------------------------------------------------------------------------------------------------- the corpus
def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__json__"}
        values = json.loads(bytes(data["__json__"]).decode())
    return arrays, values


def _write(path: Path, arrays: dict[str, Any], values: dict[str, Any], crc: bool = True) -> None:
    """An npz with a valid CRC (as :func:`htmagent.serialization.save_state` computes it) unless ``crc`` is off."""
    from htmagent.serialization import _checksum

    values = {k: v for k, v in values.items() if k != "__crc32__"}
    if crc:
        values["__crc32__"] = _checksum({k: np.asarray(v) for k, v in arrays.items()}, values)
    payload = dict(arrays)
    payload["__json__"] = np.frombuffer(json.dumps(values).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    path.write_bytes(buffer.getvalue())


_OTHER_DTYPE = {"i": np.float64, "u": np.int32, "f": np.int32, "b": np.int32}


#: Per class, which arrays and fields of its file the crafted cases edit (default: all). A hierarchy's file nests
#: whole pooler and memory states, whose every array their own corpora already edit: its corpus edits the
#: hierarchy's and the regions' own fields, and one region's pooler and memory outside their synapse stores.
KEEP: dict[str, Callable[[str], bool]] = {
    "hierarchy": lambda key: "_connections/" not in key and not key.startswith(
        ("regions/0.1/", "regions/1.0/sp/", "regions/1.0/tm/", "structure/levels/0/1/", "regions/1.0/params/",
         "regions/0.0/sp/params/", "regions/0.0/tm/config/")),
}


def corpus(valid: Path, other: Path, folder: Path, keep: Callable[[str], bool] | None = None) -> list[tuple[str, Path]]:
    """Malformed variants of ``valid`` in ``folder``: (description, path); ``keep`` chooses the arrays and fields
    that crafted cases edit."""
    raw = valid.read_bytes()
    rng = np.random.default_rng(0)
    cases: list[tuple[str, bytes | tuple]] = [
        ("truncated to half", raw[: len(raw) // 2]), ("truncated by 1 byte", raw[:-1]), ("zero bytes", b""),
        ("random bytes", rng.integers(0, 256, len(raw), dtype=np.uint8).tobytes()),
    ]
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0x10
    cases.append(("one flipped byte", bytes(flipped)))
    arrays, values = _read(valid)
    meta = {k: v for k, v in values.items() if not k.startswith("__")}
    crafted: list[tuple[str, dict, dict]] = []
    for key, array in arrays.items():
        if keep is not None and not keep(key):
            continue
        rest = {k: v for k, v in arrays.items() if k != key}
        crafted.append((f"{key}: missing", rest, meta))
        crafted.append((f"{key}: dtype {np.dtype(_OTHER_DTYPE[array.dtype.kind]).name}",
                        {**rest, key: array.astype(_OTHER_DTYPE[array.dtype.kind])}, meta))
        if array.size:
            crafted.append((f"{key}: one element short", {**rest, key: array[..., :-1]}, meta))
            bad = array.copy()
            flat = bad.reshape(-1)
            if array.dtype.kind == "f":
                flat[flat.size // 2] = np.nan
                what = "a NaN"
            elif array.dtype.kind in "iu":
                flat[flat.size // 2] = np.iinfo(array.dtype).max if array.dtype.kind == "u" else -7
                what = "an out-of-range value"
            else:
                continue
            crafted.append((f"{key}: {what}", {**rest, key: bad}, meta))
            large = array.copy()
            if array.dtype.kind == "i":
                large.reshape(-1)[0] = np.iinfo(array.dtype).max // 2
                crafted.append((f"{key}: a huge value", {**rest, key: large}, meta))
    first = next(iter(arrays), None)
    if first is not None:
        crafted.append((f"{first}: object array", {**arrays, first: np.array([{"a": 1}], dtype=object)}, meta))
    for key, value in meta.items():
        if keep is not None and not keep(key):
            continue
        rest = {k: v for k, v in meta.items() if k != key}
        crafted.append((f"field {key}: missing", arrays, rest))
        other_value = 12345 if isinstance(value, str) else "x"
        crafted.append((f"field {key}: {type(other_value).__name__} instead", arrays, {**rest, key: other_value}))
    newer = {**meta, "__htmagent_file__": 99}
    crafted.append(("newer file format", arrays, newer))
    out = []
    for i, (what, data) in enumerate(cases):
        path = folder / f"raw_{i}.npz"
        path.write_bytes(data)
        out.append((what, path))
    for i, (what, arrs, vals) in enumerate(crafted):
        path = folder / f"crafted_{i}.npz"
        try:
            if any(np.asarray(v).dtype.hasobject for v in arrs.values()):
                payload = dict(arrs)
                payload["__json__"] = np.frombuffer(json.dumps(vals).encode(), dtype=np.uint8)
                with open(path, "wb") as handle:
                    np.savez(handle, **payload)
            else:
                _write(path, arrs, vals)
        except (TypeError, ValueError):
            continue
        out.append((what, path))
    out.append(("another class's file", other))
    return out


def _hooks(name: str) -> tuple:
    return HOOKS.get(name, (lambda m, p: m.save(p), lambda m: m.state_dict(), lambda m, s: m.load_state_dict(s)))


def _fingerprint(name: str, model: Any) -> str:
    """A digest of a model's whole state (arrays' dtypes, shapes and bytes, and the fields)."""
    from htmagent.serialization import flatten_state

    arrays, values = flatten_state(_hooks(name)[1](model))
    crc = zlib.crc32(json.dumps(values, sort_keys=True, default=str).encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        crc = zlib.crc32(f"{key}{a.dtype}{a.shape}".encode() + a.tobytes(), crc)
    return f"{crc:08x}"


def check(name: str, other_name: str) -> dict:
    """Run the corpus of ``name``; return the tally and every failure."""
    from htmagent.serialization import StateError, load_state

    load = _load(name)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save, _, load_into = _hooks(name)
        model, run = MODELS[name]()
        valid = folder / "valid.npz"
        save(model, valid)
        expected = json.dumps(run(load(valid)))
        other_model, _ = MODELS[other_name]()
        other = folder / "other.npz"
        _hooks(other_name)[0](other_model, other)
        tally = {"cases": 0, "rejected": 0, "accepted_same": 0}
        failures = []
        for what, path in corpus(valid, other, folder, KEEP.get(name)):
            tally["cases"] += 1
            # 1. Into a new object.
            try:
                loaded = load(path)
            except StateError:
                tally["rejected"] += 1
                outcome = "rejected"
            except Exception as error:  # noqa: BLE001 (the point: any other error is a failure)
                failures.append(f"{what}: load raised {type(error).__name__}: {error}")
                continue
            else:
                try:
                    same = json.dumps(run(loaded)) == expected
                except Exception as error:  # noqa: BLE001
                    failures.append(f"{what}: accepted, then crashed: {type(error).__name__}: {error}")
                    continue
                if not same:
                    failures.append(f"{what}: accepted and diverged")
                    continue
                tally["accepted_same"] += 1
                outcome = "accepted"
            # 2. Into a working object: rejected the same way, which is left as it was and still works.
            if load_into is None:
                continue
            target = load(valid)
            before = _fingerprint(name, target)
            try:
                state = load_state(path)
                load_into(target, state)
            except StateError:
                if outcome != "rejected" and not what.startswith("another class"):
                    failures.append(f"{what}: accepted by load but refused by load_state_dict")
            except Exception as error:  # noqa: BLE001
                failures.append(f"{what}: load_state_dict raised {type(error).__name__}: {error}")
                continue
            else:
                if outcome == "rejected" and not what.startswith("another class"):
                    failures.append(f"{what}: refused by load but accepted by load_state_dict")
                continue
            if _fingerprint(name, target) != before:
                failures.append(f"{what}: the target changed")
                continue
            try:
                if json.dumps(run(target)) != expected:
                    failures.append(f"{what}: the target no longer does what it did")
            except Exception as error:  # noqa: BLE001
                failures.append(f"{what}: the target crashed afterwards: {type(error).__name__}: {error}")
    return {"class": name, **tally, "failures": failures}


if __name__ == "__main__":
    names = list(MODELS)
    name = sys.argv[1]
    # "another class's file": the next model in the list that another class loads (both pooler corpora are poolers)
    order = names[names.index(name) + 1:] + names[:names.index(name)]
    other = next(n for n in order if _load(n) != _load(name))
    report = check(name, other)
    Path(sys.argv[2]).write_text(json.dumps(report, indent=1))
    print(f"{name}: {report['cases']} cases, {report['rejected']} rejected, {report['accepted_same']} accepted "
          f"unchanged, {len(report['failures'])} failures")
