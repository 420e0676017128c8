"""Encoders: turn values, categories, dates, coordinates and image patches into SDRs (``htmagent.encoders``).

Every encoder has ``size`` and ``encode(value) -> SDR`` and is deterministic given its parameters and seed::

    from htmagent.encoders import RDSE, DateEncoder, MultiEncoder

    enc = MultiEncoder({"value": RDSE(400, sparsity=0.02, resolution=0.1, seed=1),
                        "time": DateEncoder(time_of_day=(21, 1.0), weekend=21)})
    sdr = enc.encode({"value": 3.7, "time": 1_700_000_000})
"""

from .base import Encoder
from .category import CategoryEncoder, UnknownCategoryError
from .coordinate import CoordinateEncoder
from .date import DateEncoder, to_datetime
from .multi import MultiEncoder
from .patch import PatchEncoder
from .rdse import RDSE
from .scalar import ScalarEncoder

__all__ = [
    "Encoder",
    "ScalarEncoder",
    "RDSE",
    "CategoryEncoder",
    "UnknownCategoryError",
    "DateEncoder",
    "CoordinateEncoder",
    "MultiEncoder",
    "PatchEncoder",
    "to_datetime",
]
