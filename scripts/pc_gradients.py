"""Predictive coding's weight updates against autograd's gradients on an MLP, a CNN, an unrolled RNN and the DeepHTM graph.

Every flag is a field of :class:`htmagent.experiments.predictive_coding.GradientArgs` (run with ``--help``); ``--quick``
runs a tiny budget. Needs PyTorch. Prints the table of docs/results_pc.md and saves its figure.

Example:
    python scripts/pc_gradients.py
    python scripts/pc_gradients.py --quick
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.predictive_coding import GradientArgs, main_gradients

if __name__ == "__main__":
    raise SystemExit(main_gradients(parse_args(GradientArgs, docs=True)))
