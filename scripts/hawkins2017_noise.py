"""Hawkins, Ahmad & Cui 2017, Fig 6A — accuracy after 30 touches vs feature and location noise.

Every flag is a field of :class:`htmagent.experiments.hawkins2017.NoiseArgs` (run with ``--help``); ``--quick`` runs tiny sizes.
The same experiment runs as ``htmagent recognize ...``. Prints a "published vs ours" table and saves a PNG.

Example:
    python scripts/hawkins2017_noise.py --quick
"""

from htmagent.experiments.hawkins2017 import NoiseArgs, main_noise, parse_args

if __name__ == "__main__":
    raise SystemExit(main_noise(parse_args(NoiseArgs, docs=True)))
