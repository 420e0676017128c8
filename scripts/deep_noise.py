"""Sparse (k-winners + sparse weights) against dense networks on handwritten digits with noisy test images.

Every flag is a field of :class:`htmagent.experiments.deep_noise.NoiseArgs` (run with ``--help``); ``--quick`` runs
a tiny budget. Needs PyTorch. Prints the accuracy per noise level and the noise score, and saves the figure.

Example:
    python scripts/deep_noise.py
    python scripts/deep_noise.py --quick
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.deep_noise import NoiseArgs, main

if __name__ == "__main__":
    raise SystemExit(main(parse_args(NoiseArgs, docs=True)))
