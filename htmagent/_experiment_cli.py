"""Shared plumbing of the paper-reproduction experiments (``htmagent recognize ...`` and their scripts).

Experiment arguments are dataclasses whose fields carry their help text in ``metadata`` (built with :func:`arg`), so
one definition serves the script's parser and the ``htmagent recognize`` subcommand.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any, Callable, Sequence

__all__ = ["arg", "add_dataclass_arguments", "parse_args", "finish", "help_text"]


def arg(default: Any, help: str, **kw) -> Any:
    """A dataclass field with a default (lists are copied per instance) and its help text in ``metadata``."""
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"help": help, **kw})
    return dataclasses.field(default=default, metadata={"help": help, **kw})


def help_text(text: str) -> str:
    """Escape ``%`` for argparse, which %-formats help and description texts."""
    return text.replace("%", "%%")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one ``--field-name`` option per field of the dataclass ``cls`` to ``parser``."""
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        text = help_text(f"{f.metadata.get('help', '')} (default: {default})")
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default, help=text)
        elif isinstance(default, list):
            parser.add_argument(flag, dest=f.name, nargs="+", type=f.metadata.get("type", str), default=default,
                                help=text)
        else:
            parser.add_argument(flag, dest=f.name, type=type(default), default=default, help=text)


def parse_args(cls: type, argv: Sequence[str] | None = None, description: str | None = None):
    """Parse command-line flags (``--field-name value``) into an instance of the dataclass ``cls``."""
    parser = argparse.ArgumentParser(description=help_text(description or cls.__doc__ or ""))
    add_dataclass_arguments(parser, cls)
    ns = parser.parse_args(argv)
    return cls(**{f.name: getattr(ns, f.name) for f in dataclasses.fields(cls)})


def finish(out: dict, table: str, plot: Callable[[dict, str], None] | None, path: str, json_out: str) -> None:
    """Print the results table, draw the figure (if any) to ``path`` and write the raw results as JSON (if asked)."""
    print(table)
    if plot is not None:
        plot(out, path)
        print(f"figure saved to {path}")
    if json_out:
        with open(json_out, "w") as handle:
            json.dump(out, handle, indent=1, default=str)
