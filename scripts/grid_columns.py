"""Several grid-cell columns voting (issue 6, no published figure): mean sensations to recognize, capacity and speed
vs the number of columns (1, 2, 3, 5, 8), beside the ideal observer on the same touches.

Every flag is a field of :class:`htmagent.experiments.grid_columns.ColumnsArgs` (run with ``--help``); ``--quick`` runs tiny
sizes. Prints a markdown table and saves a PNG (default ``docs/img/grid_columns.png``).

Examples:
    python scripts/grid_columns.py
    python scripts/grid_columns.py --columns 1 3 --no-capacity --trials 1
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.grid_columns import ColumnsArgs, main_columns

if __name__ == "__main__":
    raise SystemExit(main_columns(parse_args(ColumnsArgs, docs=True)))
