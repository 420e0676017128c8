"""The NAB command: its scorer (NAB's published rules), the detector on synthetic streams with known anomalies, and
the command line end to end. No test needs the NAB corpus: every checkout here is written by the test."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from htmagent.anomaly import AnomalyLikelihood
from htmagent.experiments.nab import (
    NabArgs, Profile, detect, load_corpus, main, optimise_threshold, read_results, scaled_sigmoid, score_corpus,
    score_stream,
)
from htmagent.experiments.nab_synthetic import STREAMS, anomaly_row, synthetic_streams, write_synthetic_corpus

STANDARD = Profile("standard", 1.0, 1.0, 0.11)


def _checkout(root, streams: dict[str, tuple[np.ndarray, list[tuple[int, int]]]]):
    """A NAB checkout of hand-made streams (5-minute rows) with windows given as row ranges."""
    (root / "data" / "hand").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "config").mkdir()
    stamp = lambda r: f"2020-01-{1 + r // 288:02d} {(r % 288) // 12:02d}:{5 * (r % 12):02d}:00"  # noqa: E731
    labels = {}
    for name, (values, windows) in streams.items():
        with open(root / "data" / "hand" / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value"])
            writer.writerows((stamp(r), v) for r, v in enumerate(values))
        labels[f"hand/{name}"] = [[stamp(a) + ".000000", stamp(b) + ".000000"] for a, b in windows]
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    profiles = {"standard": (1.0, 1.0, 0.11), "reward_low_FP_rate": (1.0, 1.0, 0.22),
                "reward_low_FN_rate": (1.0, 2.0, 0.11)}
    (root / "config" / "profiles.json").write_text(json.dumps(
        {k: {"CostMatrix": {"tpWeight": tp, "fnWeight": fn, "fpWeight": fp, "tnWeight": 1.0}}
         for k, (tp, fn, fp) in profiles.items()}))
    return root


@pytest.fixture
def two_windows(tmp_path):
    """One 200-row stream (probation: 30 rows) with windows at rows 50-69 and 120-139."""
    return load_corpus(_checkout(tmp_path, {"a.csv": (np.arange(200.0), [(50, 69), (120, 139)])}))


# --------------------------------------------------------------------------------------------------------- scoring
def test_scaled_sigmoid_is_one_before_zero_at_and_minus_one_after_the_end():
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(-10.0) == pytest.approx(1.0, abs=1e-12)
    assert scaled_sigmoid(10.0) == pytest.approx(-1.0, abs=1e-12)
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)


def test_windows_are_read_as_row_ranges(two_windows):
    stream, = two_windows.streams
    assert stream.windows == [(50, 69), (120, 139)]
    assert stream.probation == 30
    assert [p.name for p in two_windows.profiles] == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]


def test_a_perfect_detector_scores_100_and_the_null_detector_0(two_windows):
    stream, = two_windows.streams
    perfect = np.zeros(200)
    perfect[[50, 120]] = 1.0  # the first row of every window, nothing else
    for scores, expected in ((perfect, 100.0), (np.zeros(200), 0.0)):
        summary = score_corpus(two_windows, {stream.name: scores})
        for name, entry in summary["profiles"].items():
            assert entry["score"] == pytest.approx(expected, abs=1e-9), name


def test_the_hand_computed_two_window_case(two_windows):
    """One early-ish hit in window 1, window 2 missed, a false positive 11 rows after window 1 and one before it.

    By NAB's rules (sigma(x) = 2 / (1 + e^(5x)) - 1): the hit at row 55 of window 50..69 (width 20) is worth
    sigma(-15/20) / sigma(-1) = 0.96698; the miss costs 1; the false positive at row 80 costs
    0.11 * sigma(11/19) = -0.09847; the one at row 40 (after probation, before any window) costs 0.11.
    Raw -0.24148; normalised 100 (raw + 2) / (2 + 2) = 43.96.
    """
    stream, = two_windows.streams
    scores = np.zeros(200)
    scores[[40, 55, 80]] = 1.0
    scores[10] = 1.0  # in the probationary period: ignored
    raw = score_stream(stream, scores, STANDARD, 0.5)
    assert (raw.tp, raw.fp, raw.fn) == (1, 2, 1)
    assert raw.raw == pytest.approx(-0.24148, abs=1e-5)
    summary = score_corpus(two_windows, {stream.name: scores})
    assert summary["profiles"]["standard"]["score"] == pytest.approx(43.96, abs=0.01)
    # reward_low_FN_rate: the miss costs 2, null -4, perfect 2: 100 (-1.24151 + 4) / 6.
    assert summary["profiles"]["reward_low_FN_rate"]["score"] == pytest.approx(45.97, abs=0.01)
    assert summary["categories"]["hand"]["standard_fp"] == 2


def test_the_threshold_optimiser_finds_the_best_of_every_candidate(tmp_path):
    rng = np.random.default_rng(3)
    corpus = load_corpus(_checkout(tmp_path, {
        "a.csv": (np.zeros(300), [(100, 129), (200, 229)]), "b.csv": (np.zeros(250), [(150, 179)]),
        "c.csv": (np.zeros(220), [])}))
    scores = {s.name: np.round(rng.random(len(s.values)), 2) for s in corpus.streams}
    for profile in corpus.profiles:
        threshold, best = optimise_threshold(corpus, scores, profile)
        candidates = sorted({float(v) for v in np.concatenate(list(scores.values()))}) + [2.0]
        totals = {t: sum(score_stream(s, scores[s.name], profile, t).raw for s in corpus.streams) for t in candidates}
        assert best == pytest.approx(max(totals.values()), abs=1e-9)
        assert totals[threshold] == pytest.approx(best, abs=1e-9)


def test_a_bad_checkout_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels/combined_windows.json"):
        load_corpus(tmp_path)
    root = _checkout(tmp_path / "x", {"a.csv": (np.zeros(50), [])})
    with pytest.raises(ValueError, match="hand/b.csv"):
        load_corpus(root, ["hand/b.csv"])
    corpus = load_corpus(root)
    with pytest.raises(ValueError, match="no labelled window"):
        score_corpus(corpus, {"hand/a.csv": np.zeros(50)})


# ---------------------------------------------------------------------------------- detecting synthetic anomalies
@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    corpus = load_corpus(write_synthetic_corpus(tmp_path_factory.mktemp("synthetic"), seed=0))
    return corpus, {s.name: detect(s, seed=0) for s in corpus.streams}


@pytest.mark.parametrize("kind", STREAMS)
def test_the_detector_flags_each_synthetic_anomaly_in_its_window_and_nothing_before(synthetic, kind):
    corpus, scores = synthetic
    stream, = [s for s in corpus.streams if s.name.endswith(f"/{kind}.csv")]
    score = scores[stream.name]
    (first, last), = stream.windows
    assert first < anomaly_row(len(score)) <= last
    clean = score[stream.probation:first]  # the learned, normal part
    # A threshold just above everything on the clean part: no false alarm there, and the anomaly crosses it.
    hits = np.flatnonzero(score[first:last + 1] > clean.max()) + first
    assert hits.size, f"{kind}: window max {score[first:last + 1].max():.3f} <= clean max {clean.max():.3f}"
    assert anomaly_row(len(score)) <= hits[0] <= anomaly_row(len(score)) + 60
    if kind in ("level_shift", "spike"):
        # A value beyond the range seen so far is the spatial rule's: an alarm of 1 on the anomaly's first row.
        assert score[anomaly_row(len(score))] == 1.0
        assert clean.max() < 0.5


def test_synthetic_streams_are_reproducible_and_checked():
    a, b = synthetic_streams(seed=5), synthetic_streams(seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in STREAMS)
    assert not np.array_equal(a["spike"], synthetic_streams(seed=6)["spike"])
    with pytest.raises(ValueError, match="rows"):
        synthetic_streams(rows=100)


# ---------------------------------------------------------------------------------------------- the command line
def test_the_nab_command_writes_nab_result_files_and_rescores_them(synthetic, tmp_path, capsys):
    corpus, _ = synthetic
    root = tmp_path / "nab"
    write_synthetic_corpus(root, seed=0)
    out = tmp_path / "out"
    report = tmp_path / "docs" / "results_nab.md"
    assert main(NabArgs(path=str(root), out=str(out), progress=False, seed=0, report=str(report))) == 0
    printed = capsys.readouterr().out
    assert "| standard |" in printed and "rows per CPU-second" in printed
    summary = json.loads((out / "htmagent_scores.json").read_text())
    assert summary["files"] == 4 and summary["windows"] == 4
    # Result files in NAB's layout and columns, one row per data row, the label column marking the windows.
    with open(out / "htmagent" / "artificialSynthetic" / "htmagent_spike.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "label"]
    stream, = [s for s in corpus.streams if s.name.endswith("spike.csv")]
    assert len(rows) == len(stream.values)
    (first, last), = stream.windows
    assert [i for i, r in enumerate(rows) if r["label"] == "1"] == list(range(first, last + 1))
    # Reading them back scores the same.
    again = score_corpus(corpus, read_results(corpus, out, "htmagent"))
    for name, entry in summary["profiles"].items():
        assert again["profiles"][name]["score"] == pytest.approx(entry["score"], abs=1e-6)
    assert summary["profiles"]["standard"]["score"] > 50.0
    page = report.read_text()
    assert "python scripts/nab.py" in page and "| standard |" in page


def test_the_cli_runs_quick_and_names_bad_flags(tmp_path):
    root = _checkout(tmp_path / "nab", {"a.csv": (np.sin(np.arange(2000) / 9.0), [(1200, 1299), (1700, 1799)])})
    done = subprocess.run([sys.executable, "-m", "htmagent", "nab", str(root), "--quick", "--no-progress",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "NAB: 1 files" in done.stdout
    with open(tmp_path / "out" / "htmagent" / "hand" / "htmagent_a.csv") as handle:
        assert sum(1 for _ in handle) == 1 + 1500  # --quick: cut to 1,500 rows
    for argv, message in ((["nab"], "path must name a NAB checkout"),
                          (["nab", str(root), "--param", "spatial_tolerance"], "--param must be key=value"),
                          (["nab", str(root), "--trials", "0"], "--trials"),
                          (["nab", str(root), "--synthetic"], "exclude each other")):
        done = subprocess.run([sys.executable, "-m", "htmagent", *argv], capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr, (argv, done.stderr)


def test_detector_options_pass_through_param():
    args = NabArgs(path="x", param=["spatial_tolerance=null", "tm_params={\"predicted_segment_decrement\": 0.001}"])
    assert args.detector_kwargs() == {"spatial_tolerance": None, "tm_params": {"predicted_segment_decrement": 0.001}}


# ----------------------------------------------------------------------------- one likelihood for NAB and curiosity
def test_curiosity_uses_the_detectors_likelihood():
    """HTMCuriosity(source="likelihood") turns the HTM's anomalies into the same likelihood as the detector."""
    from htmagent.envs.curiosity import HTMCuriosity
    from tests.test_wrappers import SMALL, box_cycle

    params = dict(learning_period=5, estimation_samples=5, reestimation_period=5, historic_window_size=50)
    env = HTMCuriosity(box_cycle(episode_length=40), source="likelihood", likelihood_params=params, seed=0,
                       htm_kwargs=SMALL)
    assert type(env.likelihood) is AnomalyLikelihood
    twin = AnomalyLikelihood(**params)
    env.reset(seed=0)
    for _ in range(39):
        intrinsic = env.step(0)[4]["intrinsic_reward"]
        assert intrinsic == twin.compute(env.htm.anomaly)
