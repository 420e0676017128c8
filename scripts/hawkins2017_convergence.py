"""Hawkins, Ahmad & Cui 2017, Figs 4A/4B — mean sensations to recognize vs number of objects (4A) and columns (4B).

Every flag is a field of :class:`htmagent.experiments.hawkins2017.ConvergenceArgs` (run with ``--help``); ``--quick`` runs tiny sizes.
The same experiment runs as ``htmagent recognize ...``. Prints a "published vs ours" table and saves a PNG.

Example:
    python scripts/hawkins2017_convergence.py --quick
"""

from htmagent.experiments.hawkins2017 import ConvergenceArgs, main_convergence, parse_args

if __name__ == "__main__":
    raise SystemExit(main_convergence(parse_args(ConvergenceArgs, docs=True)))
