"""Train and evaluate HTMAgent on ObjectTouch-v0 and ObjectSaccade-v0 with 1, 3 and 5 sensors.

For every environment and sensor count the agent learns the library once (learning episodes), then plays
``--episodes`` episodes with each motor policy. Beside it, on the same episodes:

- the **ideal observer** (:class:`htmagent.cortex.baselines.IdealObserver`, displacement mode) moved by the same random-jump
  policy with the same per-episode seeds, so its paths are the random-policy agent's paths (one is a prefix of the
  other): it declares as soon as one object is consistent with everything sensed, i.e. the fewest sensations possible
  on those sequences. Two versions: *sensor frames* (``shared_origin=False``) knows each sensor's own path only, as
  each column does - the bound for the agent; *joint frame* also knows where the sensors are relative to each
  other, which the agent never does. Both use empty cells as evidence, which the network does not;
- **random guessing**: declare a uniformly random object at the first step (accuracy ``1 / num_objects``).

Prints a markdown table (accuracy, mean steps to declaration, mean reward, episodes per second) and saves a PNG.

Example:
    python scripts/evaluate_agent.py                       # the full table of docs/results_agent.md
    python scripts/evaluate_agent.py --quick --no-progress # a tiny run (tests)

Every flag is a field of :class:`htmagent.experiments.agent_evaluation.EvaluationArgs`.
"""

from htmagent.experiments.agent_evaluation import EvaluationArgs, main
from htmagent.experiments.args import parse_args

if __name__ == "__main__":
    raise SystemExit(main(parse_args(EvaluationArgs, docs=True)))
