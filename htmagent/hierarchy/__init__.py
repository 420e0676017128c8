"""Regions stacked into a hierarchy: pooled codes go up, feedback comes down to the apical dendrites.

- :class:`Region`: spatial pooler (with topology) + temporal memory + temporal pooler.
- :class:`Hierarchy`: levels of regions; several lower regions tile under one upper region.
"""

from htmagent.hierarchy.hierarchy import Hierarchy
from htmagent.hierarchy.region import Region, RegionParams

__all__ = ["Hierarchy", "Region", "RegionParams"]
