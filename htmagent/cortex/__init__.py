"""The cortex room: cortical columns of layers of pyramidal neurons that learn objects and vote.

- ``objects``: sensory objects (features at locations) and object sets, with the papers' generators.
- ``object_layer``: the L2/3 object layer (column pooler): stable object codes, lateral votes between columns.
- ``column``: a cortical column of the 2017 paper (L4 input layer + L2/3) and its location sources.
- ``location_column``: the 2019 paper's grid-cell column (L6a location layer + L4).
- ``location_network``: that column learning objects and recognizing them with the paper's readout (no L2/3).
- ``grid_source``: grid-cell location for the columns of a :class:`~htmagent.cortex.network.Network`.
- ``network``: N columns on one object, sensing, voting and recognizing.
- ``baselines``: the ideal observer and the bag of features that networks are measured against.

Public names are re-exported from :mod:`htmagent` (``from htmagent import Network, ObjectSet``).
"""
