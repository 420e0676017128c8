"""Cui, Ahmad & Hawkins 2016, Figure 4: online learning of high-order sequences, with a switch.

Every flag is a field of :class:`htmagent.experiments.cui2016.HighOrderArgs` (run with ``--help``); ``--quick`` runs
a tiny stream. Prints the table against the published curve and saves a PNG.

Example:
    python scripts/cui2016_high_order.py --trials 5
    python scripts/cui2016_high_order.py --quick
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.cui2016 import HighOrderArgs, main

if __name__ == "__main__":
    raise SystemExit(main(parse_args(HighOrderArgs, docs=True)))
