"""How much of masked CartPole's hidden velocity can a linear readout recover from each observation variant?

Every flag is a field of :class:`htmagent.experiments.rl_diagnostics.DiagnosticsArgs` (run with ``--help``).

Example:
    python scripts/rl_diagnostics.py --warmup-steps 4000 --steps 8000
    python scripts/rl_diagnostics.py --policy balance --steps 30000 --variants "2 stacked raw frames + previous action" \
        "htm topology, 8 of 512 bits + trace 0.8 + action"
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.rl_diagnostics import DiagnosticsArgs, main

if __name__ == "__main__":
    raise SystemExit(main(parse_args(DiagnosticsArgs, docs=True)))
