"""``python -m htmagent`` runs the command line."""

import sys

from htmagent.cli import main

sys.exit(main())
