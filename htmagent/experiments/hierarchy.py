"""``htmagent hierarchy EXPERIMENT``: the hierarchy's experiments (songs that share a phrase; digits; digits by saccades)."""

from __future__ import annotations

from typing import Any

from htmagent.experiments import hierarchy_digits, hierarchy_sequences
from htmagent.experiments.args import add_experiment_parser

__all__ = ["COMMANDS", "register"]

COMMANDS = {
    "sequences": (hierarchy_sequences.SequenceArgs, hierarchy_sequences.main_sequences, {}),
    "digits": (hierarchy_digits.DigitsArgs, hierarchy_digits.main_digits, {}),
    "saccades": (hierarchy_digits.SaccadeArgs, hierarchy_digits.main_saccades, {}),
}


def register(subparsers: Any) -> None:
    """Add ``htmagent hierarchy sequences|digits|saccades``."""
    parser = subparsers.add_parser("hierarchy", help="stacked regions: songs sharing a phrase (feedback, stability), "
                                                     "digits against a flat pooler and a CNN, digits by saccades")
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    for name, (cls, runner, fixed) in COMMANDS.items():
        add_experiment_parser(sub, name, cls, runner, **fixed)
    parser.set_defaults(func=lambda ns: (parser.print_help(), 0)[1])
