"""Grid-cell modules, path integration, the location layer and the grid-cell location encoder (``htmagent.gridcells``)."""
