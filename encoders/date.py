"""Date encoder: a timestamp -> the concatenated codes of its calendar features (as in htm.core)."""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from typing import Any, Iterable

import numpy as np

from htmagent._validation import check_int, is_real
from htmagent.sdr import SDR

from .base import Encoder
from .scalar import ScalarEncoder

__all__ = ["DateEncoder", "to_datetime"]

# Default radii when a part is given as a bare width (htm.core's defaults).
_DEFAULT_RADIUS = {"season": 91.5, "day_of_week": 1.0, "time_of_day": 4.0}


def to_datetime(value: Any, name: str = "value") -> _dt.datetime:
    """Convert a ``datetime``, ``date``, ``numpy.datetime64`` or POSIX timestamp (seconds, UTC) to a ``datetime``.

    Raises:
        TypeError: for other types (strings included: parse them first).
        ValueError: for NaN, inf, NaT or out-of-range timestamps.
    """
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ValueError(f"{name} must be a valid date, got NaT")
        micros = value.astype("datetime64[us]").astype(np.int64)
        try:
            return _dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=int(micros))
        except OverflowError:
            raise ValueError(f"{name} must lie within years 1-9999, got {value}") from None
    if is_real(value):
        try:
            ts = float(value)
        except OverflowError:
            raise ValueError(f"{name} must be a POSIX timestamp within the datetime range, got an integer of "
                             f"{len(str(abs(value)))} digits") from None
        if not math.isfinite(ts):
            raise ValueError(f"{name} must be a finite POSIX timestamp, got {ts}")
        try:
            return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"{name} must be a POSIX timestamp within the datetime range, got {ts}") from exc
    raise TypeError(
        f"{name} must be a datetime, date, numpy.datetime64 or POSIX timestamp, got {type(value).__name__} {value!r}"
    )


def _scalar_part(name: str, spec: Any, period: float) -> ScalarEncoder:
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError(f"{name} must be a width or a (width, radius) pair, got {spec!r}")
        width, radius = spec
    else:
        width, radius = spec, _DEFAULT_RADIUS[name]
    width = check_int(width, f"{name} width", 1)
    return ScalarEncoder(0.0, period, active_bits=width, radius=radius, periodic=True)


class DateEncoder(Encoder):
    """Calendar-feature neurons: one periodic population per enabled feature, their codes concatenated.

    Features (each off unless given; the output concatenates the enabled ones in this order):

    - ``season``: ``(width, radius_days)``, day of the year on a 366-day ring.
    - ``day_of_week``: ``(width, radius_days)``, Monday = 0 ... Sunday = 6 (plus the fraction of the day) on a
      7-day ring.
    - ``weekend``: ``width``, two disjoint codes: Saturday/Sunday or not.
    - ``holiday``: ``width``, two disjoint codes: the date is in ``holidays`` or not.
    - ``time_of_day``: ``(width, radius_hours)``, hours since midnight on a 24-hour ring.

    A bare int for ``season``, ``day_of_week`` or ``time_of_day`` is the width with htm.core's default radius
    (91.5 days, 1 day, 4 hours). Timestamps are read in their own time zone (naive datetimes as they are, POSIX
    timestamps in UTC).

    Args:
        season: see above.
        day_of_week: see above.
        weekend: see above.
        holiday: see above.
        time_of_day: see above.
        holidays: dates counted as holidays, as ``(month, day)`` (every year) or ``(year, month, day)`` tuples.
            Defaults to ``[(12, 25)]``.

    Example:
        >>> import datetime
        >>> enc = DateEncoder(time_of_day=(21, 1.0), weekend=21)
        >>> enc.encode(datetime.datetime(2024, 3, 9, 8, 30)).num_active
        42
    """

    def __init__(
        self,
        season: int | tuple[int, float] | None = None,
        day_of_week: int | tuple[int, float] | None = None,
        weekend: int | None = None,
        holiday: int | None = None,
        time_of_day: int | tuple[int, float] | None = None,
        holidays: Iterable[tuple[int, ...]] = ((12, 25),),
    ):
        parts: dict[str, Any] = {}
        if season is not None:
            parts["season"] = _scalar_part("season", season, 366.0)
        if day_of_week is not None:
            parts["day_of_week"] = _scalar_part("day_of_week", day_of_week, 7.0)
        if weekend is not None:
            parts["weekend"] = check_int(weekend, "weekend", 1)
        if holiday is not None:
            parts["holiday"] = check_int(holiday, "holiday", 1)
        if time_of_day is not None:
            parts["time_of_day"] = _scalar_part("time_of_day", time_of_day, 24.0)
        if not parts:
            raise ValueError("enable at least one of season, day_of_week, weekend, holiday, time_of_day; got none")
        days = []
        for h in holidays:
            if not isinstance(h, tuple) or len(h) not in (2, 3) or not all(isinstance(x, numbers.Integral) for x in h):
                raise ValueError(f"holidays must hold (month, day) or (year, month, day) int tuples, got {h!r}")
            days.append(tuple(int(x) for x in h))
        self._holidays = frozenset(days)
        self._parts = parts
        self._offsets: dict[str, int] = {}
        offset = 0
        for name, part in parts.items():
            self._offsets[name] = offset
            offset += part.size if isinstance(part, ScalarEncoder) else 2 * part
        self._size = offset

    @property
    def offsets(self) -> dict[str, int]:
        """First bit of each enabled feature's code."""
        return dict(self._offsets)

    @property
    def active_bits(self) -> int:
        """Number of active bits in every code (the sum of the enabled features' widths)."""
        return sum(p.active_bits if isinstance(p, ScalarEncoder) else p for p in self._parts.values())

    def _is_holiday(self, t: _dt.datetime) -> bool:
        return (t.month, t.day) in self._holidays or (t.year, t.month, t.day) in self._holidays

    def encode(self, value: Any) -> SDR:
        """Encode one timestamp (``datetime``, ``date``, ``numpy.datetime64`` or POSIX seconds)."""
        t = to_datetime(value)
        hours = t.hour + t.minute / 60.0 + (t.second + t.microsecond / 1e6) / 3600.0
        chunks = []
        for name, part in self._parts.items():
            off = self._offsets[name]
            if name == "season":
                bits = part.encode(t.timetuple().tm_yday - 1 + hours / 24.0).sparse
            elif name == "day_of_week":
                bits = part.encode(t.weekday() + hours / 24.0).sparse
            elif name == "time_of_day":
                bits = part.encode(hours).sparse
            else:
                on = t.weekday() >= 5 if name == "weekend" else self._is_holiday(t)
                bits = np.arange(part, dtype=np.int32) + (part if on else 0)
            chunks.append(bits.astype(np.int32) + off)
        return SDR._trusted(self._size, np.concatenate(chunks))

    def __repr__(self) -> str:
        desc = []
        for name, part in self._parts.items():
            if isinstance(part, ScalarEncoder):
                desc.append(f"{name}=({part.active_bits}, {part.radius:g})")
            else:
                desc.append(f"{name}={part}")
        return f"DateEncoder({', '.join(desc)}, size={self._size})"
