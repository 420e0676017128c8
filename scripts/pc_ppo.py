"""PPO on CartPole-v1 with a DeepHTM extractor trained by autograd and by predictive coding.

Every flag is a field of :class:`htmagent.experiments.predictive_coding.PPOArgs` (run with ``--help``); ``--quick``
runs a tiny budget. Needs PyTorch. Prints the table of docs/results_pc.md and saves its figure.

Example:
    python scripts/pc_ppo.py
    python scripts/pc_ppo.py --quick
"""

from htmagent.experiments.args import parse_args
from htmagent.experiments.predictive_coding import PPOArgs, main_ppo

if __name__ == "__main__":
    raise SystemExit(main_ppo(parse_args(PPOArgs, docs=True)))
