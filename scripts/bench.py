"""Benchmark the spatial pooler and temporal memory: steps per second of SP, TM and SP+TM with learning on.

Same as ``htmagent bench``. Examples::

    python scripts/bench.py --config hotgym            # 5,000 steps of htm.core's hotgym setup
    python scripts/bench.py --config classic --steps 2000 --seed 1
    python scripts/bench.py --no-cold-start            # skip the fresh-interpreter start-up measurement
"""

import sys

from htmagent.experiments.bench import main

if __name__ == "__main__":
    sys.exit(main())
