"""``htmagent recognize EXPERIMENT``: the paper reproductions and column studies on one command.

Each paper's module declares its subcommands (``COMMANDS``: name -> arguments dataclass, runner, fixed fields); this
module puts them under ``recognize`` in the order of ``htmagent recognize --help``.
"""

from __future__ import annotations

from typing import Any

from htmagent.experiments import column_speed, grid_columns, hawkins2017, lewis2019
from htmagent.experiments.args import add_experiment_parser

__all__ = ["COMMANDS", "register"]

COMMANDS = {
    **hawkins2017.COMMANDS,
    "speed": (column_speed.ColumnSpeedArgs, column_speed.main_column_speed, {}),
    **lewis2019.COMMANDS,
    "lewis-speed": (column_speed.GridSpeedArgs, column_speed.main_grid_speed, {}),
    "grid-columns": (grid_columns.ColumnsArgs, grid_columns.main_columns, {}),
}


def register(subparsers: Any) -> None:
    """Add ``htmagent recognize fig4a|fig4b|fig4c|fig5|fig6a|speed|lewis-capacity|lewis-sensations|lewis-speed|
    grid-columns``."""
    parser = subparsers.add_parser(
        "recognize", help="reproduce Hawkins et al. 2017 (Figs 4A-6A) and Lewis et al. 2019 (Figs 7B, 8)")
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    for name, (cls, runner, fixed) in COMMANDS.items():
        add_experiment_parser(sub, name, cls, runner, **fixed)
    parser.set_defaults(func=lambda ns: (parser.print_help(), 0)[1])
