"""Lewis, Purdy, Ahmad & Hawkins 2019, Fig 7B — cumulative fraction of 100 objects (pool of 10 features, 10 modules)
recognized by sensation k, beside the ideal observer and bag of features on the same touch sequences.

Every flag is a field of :class:`htmagent.experiments.lewis2019.SensationsArgs` (run with ``--help``); ``--quick`` runs tiny
sizes. Prints a "published vs ours" table and saves a PNG.

Example:
    python scripts/lewis2019_sensations.py --cells 40 30 27 10 --trials 10
"""

from htmagent.experiments.lewis2019 import SensationsArgs, main_sensations, parse_args

if __name__ == "__main__":
    raise SystemExit(main_sensations(parse_args(SensationsArgs, docs=True)))
