"""Active sensing (issue 8, experiment 3): PPO learns where to jump the sensor so that the column network recognizes
the object of ``ObjectTouch-v0`` in few sensations; compared with random jumps, the hypothesis-testing policy and the
ideal observer on the same episodes.

Arms, all on :class:`htmagent.envs.active_sensing.ActiveSensingEnv` (one pretrained ``Network(location="grid")``, the same
for every arm; the network declares for every policy):

- ``random``      uniformly random jumps.
- ``hypothesis``  the jump whose sensation should leave the network the fewest candidates (its own overlaps decide).
- ``ppo``         SB3 PPO (MlpPolicy) on the network's state, one run per seed, the same step budget per seed;
                  evaluated with sampled and with greedy (deterministic) actions.
- ``ppo, k frames``  the same, the policy seeing the last k observations (``VecFrameStack``): a short memory of
                  where it jumped and what it sensed.

Every arm is evaluated on the same episode seeds (object and starting point); on each episode the ideal observer
(per-sensor origins, the network's information) is run on the sensations that episode produced.

Example:
    python scripts/active_sensing.py --trials 3 --total-timesteps 100000
    python scripts/active_sensing.py --quick          # a tiny run (tests)
"""

from htmagent.experiments.active_sensing import StudyArgs, main
from htmagent.experiments.args import parse_args

if __name__ == "__main__":
    raise SystemExit(main(parse_args(StudyArgs, docs=True)))
