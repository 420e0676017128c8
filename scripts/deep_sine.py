"""DeepHTM on the seed's task: predict the next value of a sine wave, trained online.

Every flag is a field of :class:`htmagent.experiments.deep_sine.SineArgs` (run with ``--help``); ``--quick`` runs
300 steps. Needs PyTorch. Prints the error at 1k/4k/10k steps and the speed, and saves the figure.

Example:
    python scripts/deep_sine.py
    python scripts/deep_sine.py --quick
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.deep_sine import SineArgs, main

if __name__ == "__main__":
    raise SystemExit(main(parse_args(SineArgs, docs=True)))
