"""The ``htmagent`` command line.

Each subcommand lives in the module that owns the feature; this file only assembles them. A feature module exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the parsed arguments and
returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from typing import Sequence

# Modules that contribute subcommands, in the order they appear in ``htmagent --help``.
_SUBCOMMAND_MODULES: tuple[str, ...] = (
    "htmagent.demo.cli", "htmagent.experiments.recognize", "htmagent.agent.cli", "htmagent.experiments.bench",
    "htmagent.experiments.nab", "htmagent.experiments.sweep", "htmagent.experiments.rllib",
    "htmagent.experiments.hierarchy",
)


def _info(args: argparse.Namespace) -> int:
    import numpy

    import htmagent

    lines = [
        f"htmagent   {htmagent.__version__}",
        f"python     {platform.python_version()} ({platform.platform()})",
        f"numpy      {numpy.__version__}",
    ]
    try:
        import numba

        from htmagent._numba import kernel

        @kernel(cache=False)
        def _probe(x):
            return x + 1

        ok = _probe(1) == 2
        lines.append(f"numba      {numba.__version__} (JIT {'working' if ok else 'BROKEN'})")
    except Exception as exc:  # report, never crash `info`
        lines.append(f"numba      unavailable: {exc}")
    for name in ("gymnasium", "pygame", "stable_baselines3", "torch"):
        try:
            module = importlib.import_module(name)
            lines.append(f"{name:<10} {getattr(module, '__version__', '?')}")
        except Exception:
            hint = " (install the 'rl' extra)" if name in ("stable_baselines3", "torch") else ""
            lines.append(f"{name:<10} not installed{hint}")
    try:
        import gymnasium

        import htmagent.envs  # noqa: F401  (registers our ids)

        ids = sorted(k for k in gymnasium.registry if k.startswith("htmagent/"))
        lines.append("environments: " + (", ".join(ids) if ids else "(none registered)"))
    except Exception as exc:
        lines.append(f"environments: unavailable ({exc})")
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="htmagent",
        description="HTM and Thousand-Brains sensorimotor learning: demos, benchmarks and paper reproductions.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = sub.add_parser("info", help="print versions, numba status and registered environments")
    info.set_defaults(func=_info)
    for module_name in _SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``htmagent`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
