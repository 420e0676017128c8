"""Grid-cell modules, path integration, the location layer and the grid-cell location encoder (``htmagent.gridcells``).

- :class:`GridCellModule`: one toroidal sheet of grid cells that path-integrates movement and anchors to sensation.
- :class:`LocationLayer`: the L6a location layer, several modules whose concatenated cells are L4's basal context.
- :class:`GridCellEncoder`: a stateless encoder of 2-D or N-D coordinates into a grid-cell SDR.
- :class:`AnchorParams` / :data:`PAPER_ANCHOR`: the L4 -> grid-cell anchoring segment parameters.

Model: Lewis, Purdy, Ahmad & Hawkins 2019, "Locations in the Neocortex: A Theory of Sensorimotor Object Recognition
Using Cortical Grid Cells", Front. Neural Circuits 13:22.
"""

from htmagent.gridcells.anchoring import PAPER_ANCHOR, AnchorParams
from htmagent.gridcells.encoder import GridCellEncoder
from htmagent.gridcells.location_layer import LocationLayer
from htmagent.gridcells.module import GridCellModule

__all__ = ["GridCellModule", "LocationLayer", "GridCellEncoder", "AnchorParams", "PAPER_ANCHOR"]
