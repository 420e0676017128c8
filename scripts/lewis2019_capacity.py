"""Lewis, Purdy, Ahmad & Hawkins 2019, Figs 8A/8B/8C — capacity of the grid-cell column vs modules, cells per module
and feature pool (capacity = the most objects of which at least 90% are recognized).

Every flag is a field of :class:`htmagent.experiments.lewis2019.CapacityArgs` (run with ``--help``); ``--quick`` runs tiny
sizes. Prints a "published vs ours" table and saves a PNG.

Examples:
    python scripts/lewis2019_capacity.py --sweep modules --values 5 10 20 40
    python scripts/lewis2019_capacity.py --sweep modules --threshold n --values 10 40
    python scripts/lewis2019_capacity.py --sweep cells --values 6 10 14 20
    python scripts/lewis2019_capacity.py --sweep pool --values 10 50 100 200 400
"""

from htmagent.experiments.lewis2019 import CapacityArgs, main_capacity, parse_args

if __name__ == "__main__":
    raise SystemExit(main_capacity(parse_args(CapacityArgs, docs=True)))
