"""Anomaly scores: the raw score of one step, the anomaly likelihood of a stream, and a ready streaming detector.

- :func:`raw_anomaly`: fraction of the active minicolumns that the temporal memory did not predict.
- :class:`AnomalyLikelihood`: turns the noisy raw scores into "how unusual is the recent short-term average of
  the scores, given their distribution so far" (NuPIC / htm.core's anomaly likelihood).
- :class:`AnomalyDetector`: value (and time) -> RDSE (+ DateEncoder) -> SpatialPooler -> TemporalMemory -> raw score
  -> likelihood, with defaults for an unknown metric stream, like the HTM detectors of the Numenta Anomaly
  Benchmark.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
from typing import Any, Sequence

import numpy as np

from htmagent._rng import make_rng
from htmagent._state import (StateError, as_real, atomic_load, check_format, get, get_array, get_bool, get_int,
                             get_real, naming_file)
from htmagent._validation import check_int, check_real
from htmagent.sdr import SDR
from htmagent.serialization import load_state, save_state

__all__ = ["raw_anomaly", "log_likelihood", "AnomalyLikelihood", "AnomalyDetector", "AnomalyResult"]

# A likelihood whose tail probability is below this is "red"; a red step right after a red step is shown as yellow,
# so that a long anomalous stretch raises one sharp alarm rather than a wall of them (NuPIC's filter).
_RED_TAIL = 1e-5
_YELLOW_TAIL = 1e-3
# Lower bounds of the estimated distribution: a model that predicts perfectly would otherwise have a near-zero
# variance, and the slightest blip would look infinitely unlikely.
_MIN_MEAN = 0.03
_MIN_VARIANCE = 0.0003
# log_likelihood maps a likelihood of 1 - 1e-10 to 1.0.
_LOG_EPSILON = 1e-10


def _indices(value: Any, name: str) -> tuple[np.ndarray, int | None]:
    if isinstance(value, SDR):
        return value.sparse, value.size
    arr = np.asarray(value)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an SDR or integer indices, got dtype {arr.dtype}")
    if arr.ndim > 1:
        raise ValueError(f"{name} must be 1-D active indices, got shape {arr.shape}")
    return np.unique(arr.astype(np.int64)), None


def raw_anomaly(active_columns: SDR | Sequence[int], predicted_columns: SDR | Sequence[int]) -> float:
    """Fraction of ``active_columns`` that are not in ``predicted_columns`` (0.0 when nothing is active).

    Args:
        active_columns: this step's active minicolumns (SDR or indices).
        predicted_columns: the minicolumns predicted for this step (SDR or indices).

    Raises:
        ValueError: if both are SDRs of different sizes.
    """
    active, size_a = _indices(active_columns, "active_columns")
    predicted, size_p = _indices(predicted_columns, "predicted_columns")
    if size_a is not None and size_p is not None and size_a != size_p:
        raise ValueError(f"predicted_columns must have size {size_a} like active_columns, got {size_p}")
    if active.size == 0:
        return 0.0
    hits = np.intersect1d(active, predicted, assume_unique=True).size
    return float(active.size - hits) / float(active.size)


def log_likelihood(likelihood: float) -> float:
    """Spread the likelihood's top end on a log scale: ``log(1 + 1e-10 - L) / log(1e-10)``, clipped to [0, 1].

    0.5 maps to about 0.03, 0.999 to 0.3, 0.99999 to 0.5 and 1 to 1; the mapping is increasing, so a threshold on
    it is a threshold on the likelihood, with room to place it among the many nines.
    """
    value = math.log(1.0 + _LOG_EPSILON - float(likelihood)) / math.log(_LOG_EPSILON)
    return min(1.0, max(0.0, value))


class AnomalyLikelihood:
    """Anomaly likelihood: how improbable the recent average raw anomaly score is, given the scores seen so far.

    Each step, the raw score joins a short moving average (``averaging_window`` steps) and that average joins a long
    history (``historic_window_size`` steps). A normal distribution is fitted to the history (skipping the first
    ``learning_period`` steps, while the model was still learning) every ``reestimation_period`` steps. The
    likelihood is ``1 - Q(z)`` where ``z`` is the current average's distance above the fitted mean in standard
    deviations and ``Q`` the Gaussian tail: 0.5 for a typical average, close to 1 when the model suddenly predicts
    much worse than usual. An average *below* the mean (the model predicts better than usual) gives a likelihood
    below 0.5: it is not an anomaly. (NuPIC's ``tailProbability`` reflects an average below the mean onto the upper
    tail, so that predicting unusually well would also look unlikely; we do not reflect.)
    For the first ``learning_period + estimation_samples`` steps (the probationary period) the likelihood is 0.5.
    A "red" step (likelihood >= 0.99999) that follows a red step is reported at 0.999 (NuPIC's filter), so a long
    anomaly gives one sharp alarm. ``AnomalyLikelihood.log_likelihood(L)`` (= :func:`log_likelihood`) spreads the
    nines of a likelihood on a [0, 1] log scale.

    Args:
        learning_period: steps during which the model's scores are ignored (it is still learning).
        estimation_samples: steps of history collected after the learning period before the first estimate.
        historic_window_size: length of the history the distribution is fitted to (8640 = a month of 5-minute data).
        reestimation_period: steps between two fits.
        averaging_window: length of the short-term moving average of raw scores.

    Example:
        >>> al = AnomalyLikelihood(learning_period=10, estimation_samples=10)
        >>> [round(al.compute(0.0), 3) for _ in range(3)]
        [0.5, 0.5, 0.5]
    """

    _FORMAT = "htmagent.AnomalyLikelihood/1"
    log_likelihood = staticmethod(log_likelihood)

    def __init__(
        self,
        learning_period: int = 288,
        estimation_samples: int = 100,
        historic_window_size: int = 8640,
        reestimation_period: int = 100,
        averaging_window: int = 10,
    ):
        self.learning_period = check_int(learning_period, "learning_period", 0)
        self.estimation_samples = check_int(estimation_samples, "estimation_samples", 1)
        self.historic_window_size = check_int(historic_window_size, "historic_window_size", 1)
        self.reestimation_period = check_int(reestimation_period, "reestimation_period", 1)
        self.averaging_window = check_int(averaging_window, "averaging_window", 1)
        if self.historic_window_size < self.estimation_samples:
            raise ValueError(
                f"historic_window_size must be >= estimation_samples ({self.estimation_samples}), "
                f"got {self.historic_window_size}"
            )
        self.reset()

    @property
    def probationary_period(self) -> int:
        """Steps for which the likelihood is 0.5 (``learning_period + estimation_samples``)."""
        return self.learning_period + self.estimation_samples

    def reset(self) -> None:
        """Forget all scores and the fitted distribution."""
        self._recent = np.zeros(self.averaging_window)
        self._history = np.zeros(self.historic_window_size)
        self._iteration = 0
        self._mean = math.nan
        self._stdev = math.nan
        self._last_estimate = 0
        self._last_tail = 0.5
        self.average = 0.0

    @property
    def iteration(self) -> int:
        """Number of scores seen."""
        return self._iteration

    @property
    def distribution(self) -> tuple[float, float] | None:
        """(mean, standard deviation) of the fitted normal, or None before the first fit."""
        return None if math.isnan(self._mean) else (self._mean, self._stdev)

    def compute(self, raw_score: float) -> float:
        """Add one raw anomaly score (in [0, 1]) and return the anomaly likelihood of this step.

        Raises:
            ValueError: if ``raw_score`` is NaN, infinite or outside [0, 1] (nothing is updated).
        """
        score = check_real(raw_score, "raw_score", 0.0, 1.0)
        slot = self._iteration % self.averaging_window
        self._recent[slot] = score
        self._iteration += 1
        filled = min(self._iteration, self.averaging_window)
        self.average = float(math.fsum(self._recent[:filled])) / filled
        self._history[(self._iteration - 1) % self.historic_window_size] = self.average
        if self._iteration <= self.probationary_period:
            self._last_tail = 0.5
            return 0.5
        if self.distribution is None or self._iteration - self._last_estimate >= self.reestimation_period:
            self._estimate()
        tail = 0.5 * math.erfc((self.average - self._mean) / (self._stdev * math.sqrt(2.0)))
        # The filter looks at the previous step's *unfiltered* tail: a long anomaly raises one red alarm and stays
        # yellow while it lasts (comparing with the filtered tail would alternate red / yellow).
        previous, self._last_tail = self._last_tail, tail
        if tail <= _RED_TAIL and previous <= _RED_TAIL:
            tail = _YELLOW_TAIL
        return 1.0 - tail

    def _estimate(self) -> None:
        stored = min(self._iteration, self.historic_window_size)
        # Chronological order of the ring buffer.
        start = self._iteration % self.historic_window_size if self._iteration > self.historic_window_size else 0
        values = np.roll(self._history, -start)[:stored]
        shifted_out = max(0, self._iteration - self.historic_window_size)
        skip = min(stored, max(0, self.learning_period - shifted_out))
        values = values[skip:]
        mean = float(values.mean()) if values.size else 0.5
        variance = float(values.var()) if values.size else 1.0
        self._mean = max(mean, _MIN_MEAN)
        self._stdev = math.sqrt(max(variance, _MIN_VARIANCE))
        self._last_estimate = self._iteration

    def state_dict(self) -> dict:
        """Everything needed to resume exactly."""
        return {
            "format": self._FORMAT,
            "config": {
                "learning_period": self.learning_period,
                "estimation_samples": self.estimation_samples,
                "historic_window_size": self.historic_window_size,
                "reestimation_period": self.reestimation_period,
                "averaging_window": self.averaging_window,
            },
            "recent": self._recent.copy(),
            "history": self._history.copy(),
            "iteration": self._iteration,
            "mean": None if math.isnan(self._mean) else self._mean,
            "stdev": None if math.isnan(self._stdev) else self._stdev,
            "last_estimate": self._last_estimate,
            "last_tail": self._last_tail,
            "average": self.average,
        }

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (configuration included); every field is checked first, and a
        malformed state raises :class:`~htmagent.serialization.StateError`, leaving this object as it was."""
        check_format(state, self._FORMAT)
        config = get(state, "config")
        names = {"learning_period", "estimation_samples", "historic_window_size", "reestimation_period",
                 "averaging_window"}
        if not isinstance(config, dict) or set(config) != names:
            raise StateError(f"config must hold exactly {sorted(names)}, got "
                             f"{sorted(config) if isinstance(config, dict) else config!r}", field="config")
        try:
            fresh = AnomalyLikelihood(**dict(config))
        except (TypeError, ValueError) as error:
            raise StateError(f"config is not a valid AnomalyLikelihood configuration: {error}",
                             field="config") from error
        recent = get_array(state, "recent", np.float64, fresh._recent.shape, 0.0, 1.0)
        history = get_array(state, "history", np.float64, fresh._history.shape, 0.0, 1.0)
        iteration = get_int(state, "iteration", 0)
        moments = {}
        for key, low in (("mean", None), ("stdev", 0.0)):
            value = get(state, key)
            moments[key] = math.nan if value is None else get_real(state, key, low)
        last_estimate = get_int(state, "last_estimate", 0, iteration)
        last_tail = get_real(state, "last_tail", 0.0, 1.0)
        average = get_real(state, "average", 0.0, 1.0)
        self.__dict__.update(fresh.__dict__)
        self._recent, self._history = recent, history
        self._iteration = iteration
        self._mean, self._stdev = moments["mean"], moments["stdev"]
        self._last_estimate = last_estimate
        self._last_tail = last_tail
        self.average = average

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "AnomalyLikelihood":
        """Read an object written by :meth:`save`."""
        obj = cls.__new__(cls)
        with naming_file(path):
            obj.load_state_dict(load_state(path))
        return obj


@dataclasses.dataclass(frozen=True)
class AnomalyResult:
    """What :meth:`AnomalyDetector.step` reports for one value.

    Attributes:
        raw: fraction of the active minicolumns that were not predicted (0.0 while calibrating).
        likelihood: anomaly likelihood (0.5 during the probationary period).
        log_likelihood: :func:`log_likelihood` of ``likelihood`` (threshold :attr:`score`, which adds the spatial
            rule).
        step: index of this value in the stream (0-based).
        calibrating: True while the detector is still collecting values to size its encoder (no range given).
        spatial: the value left the range seen so far by more than the detector's ``spatial_tolerance``.
    """

    raw: float
    likelihood: float
    log_likelihood: float
    step: int
    calibrating: bool = False
    spatial: bool = False

    @property
    def score(self) -> float:
        """The alarm score in [0, 1]: the one number to threshold (what NAB scores): 1.0 for a spatial anomaly,
        else the log-likelihood."""
        return 1.0 if self.spatial else self.log_likelihood


# NuPIC's anomaly parameters for a scalar metric with time of day for its TemporalMemory
# (best_single_metric_anomaly_params_tm_cpp.json: NAB's "numentaTM" detector; NAB's "numenta" detector runs the
# backtracking TM with the "cpp" file instead), in htmagent's names, with one change measured on NAB's development
# files: no punishment of segments that predicted wrongly (predicted_segment_decrement 0.0 instead of 0.001). Over
# seeds 42-45 it scores the same (standard 72.9 ± 2.2 either way, docs/results_nab.md) and runs 1.3x faster, since
# wrong predictions are the TM's most frequent learning step on noisy streams.
_DEFAULT_SP = dict(
    column_dimensions=2048,
    potential_pct=0.8,
    global_inhibition=True,
    num_active_columns_per_inh_area=40,
    syn_perm_active_inc=0.003,
    syn_perm_inactive_dec=0.0005,
    syn_perm_connected=0.2,
    boost_strength=0.0,
)
_DEFAULT_TM = dict(
    cells_per_column=32,
    activation_threshold=20,
    min_threshold=13,
    max_new_synapse_count=31,
    initial_permanence=0.24,
    connected_permanence=0.5,
    permanence_increment=0.04,
    permanence_decrement=0.008,
    predicted_segment_decrement=0.0,
    max_segments_per_cell=128,
    max_synapses_per_segment=128,
)


class AnomalyDetector:
    """A streaming anomaly detector for one scalar metric: the classic HTM pipeline with sensible defaults.

    Each value goes through a random distributed scalar encoder (RDSE, 400 bits, 21 active) and, when timestamps are
    given, a time-of-day encoder (21 bits, radius 9.49 h); the concatenated code feeds a spatial pooler (2048
    columns, 40 active) and a sequence temporal memory (32 cells per column). The raw anomaly is the fraction of
    active minicolumns the temporal memory did not predict, and :class:`AnomalyLikelihood` turns it into a
    likelihood. The parameters are NuPIC's anomaly parameters for one scalar metric with time of day for its
    TemporalMemory (those of the Numenta Anomaly Benchmark's "numentaTM" detector; its SP learns slowly: +0.003 /
    -0.0005), except that segments which predicted wrongly are not punished (``predicted_segment_decrement=0``:
    the same NAB score, 1.3x faster).

    The alarm score (:attr:`AnomalyResult.score`, the number to threshold) is the log-likelihood, or 1.0 when the
    value leaves the range seen so far by more than ``spatial_tolerance`` of that range (the spatial rule of NAB's
    HTM detectors: a value far beyond anything seen is an anomaly whatever the temporal memory thinks). On 13 of
    NAB's files these defaults score 72.9 ± 2.2 standard over four seeds; ``docs/results_nab.md`` has the tables,
    the ablation and the command.

    Encoder resolution: with ``min_value`` and ``max_value`` given it is ``(max_value - min_value) * (1 + 2 *
    range_padding) / num_buckets``. Without them the detector first collects ``calibration_steps`` values, sets the
    resolution to their range divided by ``num_buckets`` (or 1e-3 of their magnitude when they are all equal), then
    feeds the collected values through the model; those first steps report ``calibrating=True``, raw 0 and
    likelihood 0.5 (the likelihood is in its probationary period anyway). Values outside the range are fine: the
    RDSE has no bounds.

    Timestamps: the first call decides. If it has a timestamp, every later call must have one; if not, time is not
    encoded and a later timestamp is an error.

    Args:
        min_value, max_value: expected range of the values (both or neither).
        seed: seed of the encoders, spatial pooler and temporal memory.
        num_buckets: number of encoder buckets across the range.
        encoder_size, encoder_active_bits: RDSE size and active bits.
        time_of_day: DateEncoder ``time_of_day`` (width, radius in hours).
        calibration_steps: values collected to size the encoder when no range is given.
        sp_params: overrides of the spatial pooler parameters (see :class:`~htmagent.spatial_pooler.SpatialPooler`).
        tm_params: overrides of the temporal memory parameters (see
            :class:`~htmagent.temporal_memory.TemporalMemory`).
        learning_period, estimation_samples, historic_window_size, reestimation_period, averaging_window: see
            :class:`AnomalyLikelihood`.
        spatial_tolerance: fraction of the range seen so far that a value may lie beyond it before it is a spatial
            anomaly (score 1.0); ``None`` turns the rule off (the score is then always the log-likelihood).
        range_padding: widen the given range by this fraction on each side before sizing the encoder (NAB's HTM
            detectors pad by 0.2; unpadded scored better on NAB's development files).

    Example:
        >>> det = AnomalyDetector(min_value=0.0, max_value=100.0, seed=1)  # doctest: +SKIP
        >>> result = det.step(42.0, timestamp=datetime.datetime(2024, 1, 1, 8))  # doctest: +SKIP
        >>> result.raw, result.likelihood, result.score  # doctest: +SKIP
    """

    _FORMAT = "htmagent.AnomalyDetector/1"

    def __init__(
        self,
        min_value: float | None = None,
        max_value: float | None = None,
        seed: int | np.random.Generator | None = None,
        *,
        num_buckets: int = 130,
        encoder_size: int = 400,
        encoder_active_bits: int = 21,
        time_of_day: tuple[int, float] = (21, 9.49),
        calibration_steps: int = 100,
        sp_params: dict | None = None,
        tm_params: dict | None = None,
        learning_period: int = 288,
        estimation_samples: int = 100,
        historic_window_size: int = 8640,
        reestimation_period: int = 100,
        averaging_window: int = 10,
        spatial_tolerance: float | None = 0.05,
        range_padding: float = 0.0,
    ):
        if (min_value is None) != (max_value is None):
            raise ValueError(f"give both min_value and max_value or neither, got {min_value!r} and {max_value!r}")
        if min_value is not None:
            lo, hi = check_real(min_value, "min_value"), check_real(max_value, "max_value")
            if not hi > lo:
                raise ValueError(f"max_value must be > min_value ({lo}), got {hi}")
        self.num_buckets = check_int(num_buckets, "num_buckets", 1)
        self.calibration_steps = check_int(calibration_steps, "calibration_steps", 1)
        rng = make_rng(seed)
        self._config = {
            "min_value": None if min_value is None else float(min_value),
            "max_value": None if max_value is None else float(max_value),
            "num_buckets": self.num_buckets,
            "encoder_size": check_int(encoder_size, "encoder_size", 1),
            "encoder_active_bits": check_int(encoder_active_bits, "encoder_active_bits", 1),
            "time_of_day": [int(time_of_day[0]), float(time_of_day[1])],
            "calibration_steps": self.calibration_steps,
            "spatial_tolerance": None if spatial_tolerance is None else check_real(spatial_tolerance,
                                                                                   "spatial_tolerance", 0.0),
            "range_padding": check_real(range_padding, "range_padding", 0.0),
            "sp_params": dict(sp_params or {}),
            "tm_params": dict(tm_params or {}),
            "likelihood": dict(
                learning_period=learning_period,
                estimation_samples=estimation_samples,
                historic_window_size=historic_window_size,
                reestimation_period=reestimation_period,
                averaging_window=averaging_window,
            ),
            # Seeds of the parts, drawn once so that a saved detector rebuilds identical parts.
            "seeds": [int(s) for s in rng.integers(0, 2**31 - 1, size=3)],
        }
        if "input_dimensions" in self._config["sp_params"]:
            raise ValueError("sp_params must not set input_dimensions: it is the encoders' total size, got "
                             f"{self._config['sp_params']['input_dimensions']!r}")
        self.likelihood = AnomalyLikelihood(**self._config["likelihood"])
        self._init_runtime()

    def _init_runtime(self) -> None:
        config = self._config
        self._resolution = None
        if config["min_value"] is not None:
            span = (config["max_value"] - config["min_value"]) * (1.0 + 2.0 * config.get("range_padding", 0.0))
            self._resolution = span / config["num_buckets"]
        self._seen: list[float] = []  # lowest and highest value seen so far (the spatial rule)
        self._use_time: bool | None = None
        self._buffer: list[tuple[float, str | None]] = []
        self._step = 0
        self.sp = None
        self.tm = None
        self._value_encoder = None
        self._time_encoder = None
        self._time_codes: dict[float, np.ndarray] = {}

    @property
    def resolution(self) -> float | None:
        """The value encoder's bucket width (None while calibrating)."""
        return self._resolution

    @property
    def steps(self) -> int:
        """Number of values seen."""
        return self._step

    def _build(self, sp_state: dict | None = None) -> None:
        from htmagent.encoders import RDSE, DateEncoder
        from htmagent.spatial_pooler import SpatialPooler
        from htmagent.temporal_memory import TemporalMemory

        config = self._config
        enc_seed, sp_seed, tm_seed = config["seeds"]
        self._value_encoder = RDSE(config["encoder_size"], active_bits=config["encoder_active_bits"],
                                   resolution=self._resolution, seed=enc_seed)
        size = self._value_encoder.size
        if self._use_time:
            self._time_encoder = DateEncoder(time_of_day=tuple(config["time_of_day"]))
            size += self._time_encoder.size
        if sp_state is None:
            sp_kwargs = dict(_DEFAULT_SP, potential_radius=size)
            sp_kwargs.update(config["sp_params"])
            self.sp = SpatialPooler(size, seed=sp_seed, **sp_kwargs)
        else:
            self.sp = SpatialPooler.__new__(SpatialPooler)
            self.sp.load_state_dict(sp_state)
        tm_kwargs = dict(_DEFAULT_TM)
        tm_kwargs.update(config["tm_params"])
        self.tm = TemporalMemory(self.sp.num_columns, seed=tm_seed, **tm_kwargs)

    def _encode(self, value: float, stamp: Any) -> SDR:
        code = self._value_encoder.encode(value)
        if self._time_encoder is None:
            return code
        # The time encoder sees only the time of day: its codes repeat every day, so each is computed once.
        key = stamp.hour * 3600 + stamp.minute * 60 + stamp.second + stamp.microsecond / 1e6
        bits = self._time_codes.get(key)
        if bits is None:
            if len(self._time_codes) >= 100_000:
                self._time_codes.clear()
            bits = self._time_encoder.encode(stamp).sparse + np.int32(code.size)
            self._time_codes[key] = bits
        return SDR._trusted(code.size + self._time_encoder.size, np.concatenate([code.sparse, bits]))

    def _run(self, code: SDR) -> tuple[float, float]:
        columns = self.sp.compute(code, learn=True)
        self.tm.compute(columns, learn=True)
        raw = float(self.tm.anomaly)
        return raw, self.likelihood.compute(raw)

    def step(self, value: float, timestamp: Any = None) -> AnomalyResult:
        """Feed one value (and optionally its timestamp) and get its anomaly scores.

        Args:
            value: the metric's value (finite).
            timestamp: ``datetime``, ``numpy.datetime64`` or POSIX seconds; see the class docstring.

        Raises:
            ValueError: for NaN / infinite values or timestamps, or a timestamp present / missing against the first
                call (the detector is unchanged).
            TypeError: for non-numeric values.
        """
        from htmagent.encoders import to_datetime

        x = check_real(value, "value")
        stamp = None if timestamp is None else to_datetime(timestamp, "timestamp")
        if self._use_time is not None and self._use_time != (stamp is not None):
            expected = "a timestamp" if self._use_time else "no timestamp"
            raise ValueError(f"timestamp: expected {expected} (as in the first step), got {timestamp!r}")
        if self.sp is None and self._resolution is not None:
            self._use_time = stamp is not None
            self._build()
        if self.sp is not None:
            try:
                code = self._encode(x, stamp)  # validates the value against the encoder before anything changes
            except (ValueError, TypeError):
                if self._step == 0:
                    self._init_runtime()
                raise
        step = self._step
        if self._use_time is None:
            self._use_time = stamp is not None
        self._step += 1
        spatial = self._spatial(x)
        if self.sp is not None:
            raw, likelihood = self._run(code)
            return AnomalyResult(raw, likelihood, log_likelihood(likelihood), step, spatial=spatial)
        self._buffer.append((x, None if stamp is None else stamp.isoformat()))
        if len(self._buffer) < self.calibration_steps:
            return AnomalyResult(0.0, 0.5, log_likelihood(0.5), step, calibrating=True)
        values = np.array([v for v, _ in self._buffer])
        lo, hi = float(values.min()), float(values.max())
        self._resolution = (hi - lo) / self.num_buckets if hi > lo else max(abs(hi), 1.0) * 1e-3
        self._build()
        for v, iso in self._buffer:
            raw, likelihood = self._run(self._encode(v, None if iso is None else _dt.datetime.fromisoformat(iso)))
        self._buffer = []
        return AnomalyResult(raw, likelihood, log_likelihood(likelihood), step, spatial=spatial)

    def _spatial(self, value: float) -> bool:
        """Whether ``value`` leaves the range seen so far by more than ``spatial_tolerance`` of it; then widen it."""
        tolerance = self._config.get("spatial_tolerance")
        if not self._seen:
            self._seen = [value, value]
            return False
        lo, hi = self._seen
        outside = tolerance is not None and hi > lo and not lo - tolerance * (hi - lo) <= value <= hi + tolerance * (
            hi - lo)
        self._seen = [min(lo, value), max(hi, value)]
        return bool(outside)

    def reset(self) -> None:
        """Tell the model the sequence was broken (a gap in the stream): the temporal memory forgets its current
        context. Learned synapses, the encoder calibration and the likelihood history stay."""
        if self.tm is not None:
            self.tm.reset()

    def state_dict(self) -> dict:
        """Everything needed to resume exactly."""
        state = {
            "format": self._FORMAT,
            "config": self._config,
            "resolution": self._resolution,
            "use_time": self._use_time,
            "buffer_values": [v for v, _ in self._buffer],
            "buffer_stamps": [s for _, s in self._buffer],
            "step": self._step,
            "seen": list(self._seen),
            "likelihood": self.likelihood.state_dict(),
        }
        if self.sp is not None:
            state["sp"] = self.sp.state_dict()
            state["tm"] = self.tm.state_dict()
        return state

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (configuration included).

        The detector is rebuilt from the saved configuration (so every option is checked as the constructor checks
        it), its pooler, memory and likelihood loaded and checked, and only then does this object take it over; a
        malformed state raises :class:`~htmagent.serialization.StateError` and leaves the detector as it was.
        """
        check_format(state, self._FORMAT)
        config = get(state, "config")
        if not isinstance(config, dict):
            raise StateError(f"config must be a mapping, got {type(config).__name__}", field="config")
        keys = ("min_value", "max_value", "num_buckets", "encoder_size", "encoder_active_bits", "time_of_day",
                "calibration_steps", "sp_params", "tm_params")
        try:
            kwargs = {key: config[key] for key in keys}
            kwargs["time_of_day"] = tuple(kwargs["time_of_day"])
            kwargs.update(dict(config["likelihood"]))
            for key in ("spatial_tolerance", "range_padding"):  # absent from files of 0.1
                if key in config:
                    kwargs[key] = config[key]
            fresh = AnomalyDetector(seed=0, **kwargs)
        except (KeyError, TypeError, ValueError) as error:
            raise StateError(f"config is not a valid AnomalyDetector configuration: {error!r}",
                             field="config") from error
        seeds = config.get("seeds")
        if (not isinstance(seeds, list) or len(seeds) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 for v in seeds)):
            raise StateError(f"config/seeds must be three seeds in [0, 2**31), got {seeds!r}", field="config/seeds")
        fresh._config["seeds"] = list(seeds)
        for key in ("spatial_tolerance", "range_padding"):
            if key not in config:
                fresh._config.pop(key)
        if fresh._config != config:
            diff = sorted(k for k in set(config) | set(fresh._config) if config.get(k) != fresh._config.get(k))
            raise StateError(f"config holds values the detector does not use: {diff}", field="config")
        fresh.likelihood.load_state_dict(get(state, "likelihood"))
        fresh._init_runtime()
        resolution = get(state, "resolution")
        fresh._resolution = None if resolution is None else get_real(state, "resolution", 0.0)
        if fresh._resolution == 0.0:
            raise StateError("resolution must be > 0, got 0.0", field="resolution")
        use_time = get(state, "use_time")
        fresh._use_time = None if use_time is None else get_bool(state, "use_time")
        values, stamps = get(state, "buffer_values"), get(state, "buffer_stamps")
        if (not isinstance(values, list) or not isinstance(stamps, list) or len(values) != len(stamps)
                or len(values) >= fresh.calibration_steps):
            raise StateError(f"buffer_values and buffer_stamps must be lists of one length below calibration_steps "
                             f"({fresh.calibration_steps})", field="buffer_values")
        buffer = []
        for i, (value, stamp) in enumerate(zip(values, stamps)):
            value = as_real(value, f"buffer_values[{i}]")
            if stamp is not None:
                try:
                    _dt.datetime.fromisoformat(stamp)
                except (TypeError, ValueError) as error:
                    raise StateError(f"buffer_stamps[{i}] must be an ISO timestamp or null, got {stamp!r}",
                                     field="buffer_stamps") from error
            buffer.append((value, stamp))
        fresh._buffer = buffer
        fresh._step = get_int(state, "step", 0)
        if "spatial_tolerance" in config and "seen" not in state:  # files of 0.1 have neither
            raise StateError("seen is missing", field="seen")
        seen = state.get("seen", [])
        if not isinstance(seen, list) or len(seen) not in (0, 2):
            raise StateError(f"seen must be [] or [lowest, highest], got {seen!r}", field="seen")
        fresh._seen = [as_real(v, f"seen[{i}]") for i, v in enumerate(seen)]
        if fresh._seen and fresh._seen[0] > fresh._seen[1]:
            raise StateError(f"seen must be [lowest, highest], got {seen!r}", field="seen")
        if ("sp" in state) != ("tm" in state):
            raise StateError("sp and tm must be saved together", field="sp" if "tm" in state else "tm")
        if "sp" in state:
            if fresh._resolution is None or fresh._use_time is None:
                raise StateError("a detector with a pooler must have its resolution and use_time", field="resolution")
            fresh._build(sp_state=get(state, "sp"))
            size = fresh._value_encoder.size + (fresh._time_encoder.size if fresh._use_time else 0)
            if fresh.sp.params.num_inputs != size:
                raise StateError(f"sp takes {fresh.sp.params.num_inputs} inputs, the encoders give {size}",
                                 field="sp")
            fresh.tm.load_state_dict(get(state, "tm"))
        vars(self).clear()
        vars(self).update(vars(fresh))

    def save(self, path: str | os.PathLike) -> None:
        """Write the detector to ``path`` (npz + JSON)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "AnomalyDetector":
        """Read a detector written by :meth:`save`."""
        det = cls.__new__(cls)
        with naming_file(path):
            det.load_state_dict(load_state(path))
        return det
