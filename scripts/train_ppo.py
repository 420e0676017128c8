"""Train PPO with and without the HTM plugin on one task; print a results table and draw learning curves.

Every flag is a field of :class:`htmagent.experiments.rl.RLArgs` (run with ``--help``); the arms, tasks and the
run-JSON layout are described in :mod:`htmagent.experiments.rl`.

Examples (the settings of docs/results_rl.md):
    python scripts/train_ppo.py --task masked-cartpole --arms ppo stack recurrent --trials 5 --normalize-obs
    python scripts/train_ppo.py --task masked-cartpole --arms htm-trace --label "htm-trace, 8 active bits" --trials 2 \
        --trace-decay 0.8 --include-action --resolution 0.005 0.004 --size-per-dim 512 --active-bits 8 \
        --potential-radius 256 --no-learn-sp --normalize-obs
    python scripts/train_ppo.py --task masked-cartpole --report-only --out-dir docs/runs/rl/masked_cartpole
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.rl import RLArgs, main

if __name__ == "__main__":
    raise SystemExit(main(parse_args(RLArgs, docs=True)))
