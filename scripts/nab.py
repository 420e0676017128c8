"""The Numenta Anomaly Benchmark: run htmagent's anomaly detector over a NAB checkout and score it by NAB's rules.

Every flag is a field of :class:`htmagent.experiments.nab.NabArgs` (run with ``--help``). Without a NAB checkout,
``--synthetic`` runs on a small NAB-shaped corpus of synthetic streams; ``--quick`` is the tests' budget.

Example:
    python scripts/nab.py --synthetic
    python scripts/nab.py ~/NAB --workers 2 --trials 4 --ablation --report docs/results_nab.md
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.nab import NabArgs, main

if __name__ == "__main__":
    raise SystemExit(main(parse_args(NabArgs)))
