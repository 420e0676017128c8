"""Handwritten digits: an MLP and a small CNN trained by backprop and by predictive coding.

Every flag is a field of :class:`htmagent.experiments.predictive_coding.DigitsArgs` (run with ``--help``); ``--quick``
runs a tiny budget. Needs PyTorch. Prints the table of docs/results_pc.md and saves its figure.

Example:
    python scripts/pc_digits.py
    python scripts/pc_digits.py --quick
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.predictive_coding import DigitsArgs, main_digits

if __name__ == "__main__":
    raise SystemExit(main_digits(parse_args(DigitsArgs, docs=True)))
