"""A small NAB-shaped corpus of synthetic streams with known anomalies, for trying the NAB command without NAB.

Four streams of 5-minute rows (two weeks by default), each with one anomaly starting at ``anomaly_row(rows)`` and
one labelled window around it, as NAB labels them (10% of the file's rows, centred on the anomaly's start):

- ``level_shift``: a daily sine wave that jumps 40 units up and stays there.
- ``spike``: the daily sine wave with one row far above it.
- ``frequency_change``: the daily sine wave (period 288 rows) switches to a period of 96 rows, phase-continuous.
- ``flatline``: a daily square wave (low, a two-row ramp, high, a two-row ramp down) that holds the middle value
  for a day, the shape of NAB's ``art_daily_flatmiddle``.

:func:`write_synthetic_corpus` writes them as a NAB checkout (``data/``, ``labels/combined_windows.json``,
``config/profiles.json`` with NAB's three cost profiles), which :func:`htmagent.experiments.nab.load_corpus` reads.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
from pathlib import Path

import numpy as np

from htmagent._validation import check_int

__all__ = ["CATEGORY", "NAB_PROFILES", "STREAMS", "anomaly_row", "synthetic_streams", "write_synthetic_corpus"]

#: The folder of ``data/`` the synthetic files go in.
CATEGORY = "artificialSynthetic"
#: The stream names, in file order.
STREAMS = ("level_shift", "spike", "frequency_change", "flatline")
#: NAB's cost profiles (true-positive, false-negative and false-positive weights; Lavin & Ahmad 2015).
NAB_PROFILES = {"standard": (1.0, 1.0, 0.11), "reward_low_FP_rate": (1.0, 1.0, 0.22),
                "reward_low_FN_rate": (1.0, 2.0, 0.11)}
_START = _dt.datetime(2024, 1, 1)
_DAY = 288  # 5-minute rows per day


def anomaly_row(rows: int) -> int:
    """The row where every synthetic stream's anomaly starts (about 79% of the way in)."""
    return int(rows * 0.79)


def synthetic_streams(seed: int = 0, rows: int = 4032) -> dict[str, np.ndarray]:
    """The four streams' values (``{name: values}``), Gaussian noise drawn from ``seed``.

    Args:
        seed: seed of the noise.
        rows: rows per stream (at least 4 days, 1152 rows).
    """
    check_int(seed, "seed", 0)
    check_int(rows, "rows", 4 * _DAY)
    rng = np.random.default_rng(seed)
    at = anomaly_row(rows)
    i = np.arange(rows)
    phase = 2 * np.pi * i / _DAY
    sine = 50.0 + 30.0 * np.sin(phase)
    out = {}
    x = sine + rng.normal(0.0, 0.3, rows)
    x[at:] += 40.0
    out["level_shift"] = x
    x = sine + rng.normal(0.0, 0.3, rows)
    x[at] = 150.0
    out["spike"] = x
    x = sine + rng.normal(0.0, 0.3, rows)
    x[at:] = 50.0 + 30.0 * np.sin(phase[at] + 2 * np.pi * (i[at:] - at) / 96) + rng.normal(0.0, 0.3, rows - at)
    out["frequency_change"] = x
    tod = i % _DAY
    square = np.where((tod >= 90) & (tod < 200), 80.0, 20.0)
    for row, level in ((88, 30.0), (89, 30.0), (90, 70.0), (91, 70.0), (198, 70.0), (199, 70.0), (200, 30.0),
                       (201, 30.0)):
        square[tod == row] = level
    x = square + rng.normal(0.0, 0.3, rows)
    x[at:at + _DAY] = 50.0 + rng.normal(0.0, 0.3, min(_DAY, rows - at))
    out["flatline"] = x
    return out


def _stamp(row: int) -> str:
    return (_START + _dt.timedelta(minutes=5 * row)).strftime("%Y-%m-%d %H:%M:%S")


def write_synthetic_corpus(folder: str | os.PathLike, seed: int = 0, rows: int = 4032) -> Path:
    """Write the synthetic streams as a NAB checkout in ``folder``; return its path."""
    root = Path(folder)
    streams = synthetic_streams(seed, rows)
    (root / "data" / CATEGORY).mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(exist_ok=True)
    (root / "config").mkdir(exist_ok=True)
    at, half = anomaly_row(rows), int(0.1 * rows) // 2
    labels = {}
    for name, values in streams.items():
        with open(root / "data" / CATEGORY / f"{name}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value"])
            writer.writerows((_stamp(r), f"{v:.6f}") for r, v in enumerate(values))
        labels[f"{CATEGORY}/{name}.csv"] = [[_stamp(max(at - half, 0)) + ".000000",
                                             _stamp(min(at + half, rows - 1)) + ".000000"]]
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels, indent=2))
    profiles = {name: {"CostMatrix": {"tpWeight": tp, "fnWeight": fn, "fpWeight": fp, "tnWeight": 1.0}}
                for name, (tp, fn, fp) in NAB_PROFILES.items()}
    (root / "config" / "profiles.json").write_text(json.dumps(profiles, indent=2))
    return root
