"""The pygame demo without the console script: ``python scripts/demo_pygame.py [objects|sequence] [options]``.

Same options as ``htmagent demo`` (see ``--help``): a window when a display is available, else (or with
``--headless``) PNG frames and an animated GIF in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from htmagent.demo import cli as demo


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` as ``htmagent demo`` would and run the demo."""
    parser = argparse.ArgumentParser(prog="demo_pygame.py")
    demo.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
