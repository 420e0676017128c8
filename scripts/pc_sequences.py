"""The DeepHTM's sine trained online by backprop and by predictive coding.

Every flag is a field of :class:`htmagent.experiments.predictive_coding.SequenceArgs` (run with ``--help``); ``--quick``
runs a tiny budget. Needs PyTorch. Prints the table of docs/results_pc.md and saves its figure.

Example:
    python scripts/pc_sequences.py
    python scripts/pc_sequences.py --quick
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.predictive_coding import SequenceArgs, main_sequences

if __name__ == "__main__":
    raise SystemExit(main_sequences(parse_args(SequenceArgs, docs=True)))
