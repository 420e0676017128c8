"""Hawkins, Ahmad & Cui 2017, Fig 5 — capacity: accuracy vs number of learned objects.

Every flag is a field of :class:`htmagent.experiments.hawkins2017.CapacityArgs` (run with ``--help``); ``--quick`` runs tiny sizes.
The same experiment runs as ``htmagent recognize ...``. Prints a "published vs ours" table and saves a PNG.

Example:
    python scripts/hawkins2017_capacity.py --quick
"""

from htmagent.experiments.hawkins2017 import CapacityArgs, main_capacity, parse_args

if __name__ == "__main__":
    raise SystemExit(main_capacity(parse_args(CapacityArgs, docs=True)))
