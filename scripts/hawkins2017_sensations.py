"""Hawkins, Ahmad & Cui 2017, Fig 4C — cumulative fraction recognized by sensation k, beside the ideal observer and bag of features.

Every flag is a field of :class:`htmagent.experiments.hawkins2017.SensationsArgs` (run with ``--help``); ``--quick`` runs tiny sizes.
The same experiment runs as ``htmagent recognize ...``. Prints a "published vs ours" table and saves a PNG.

Example:
    python scripts/hawkins2017_sensations.py --quick
"""

from htmagent.experiments.hawkins2017 import SensationsArgs, main_sensations, parse_args

if __name__ == "__main__":
    raise SystemExit(main_sensations(parse_args(SensationsArgs, docs=True)))
