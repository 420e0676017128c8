"""Command-line arguments from a dataclass, CleanRL style: each field's docstring becomes its ``--help`` text.

Experiment scripts declare their arguments once, as a dataclass whose fields carry a default and a docstring under
the field, and call :func:`parse_dataclass_args`. Supported field types: ``int``, ``float``, ``str``, ``bool``
(``--flag`` / ``--no-flag``) and ``list[int]`` / ``list[float]`` / ``list[str]`` (space-separated values).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap
import typing
from typing import Any, Sequence, TypeVar

__all__ = ["parse_dataclass_args", "field_docs"]

T = TypeVar("T")

_SCALARS = {"int": int, "float": float, "str": str}


def field_docs(cls: type) -> dict[str, str]:
    """Return ``{field name: the string literal written under it}`` for a dataclass defined in a source file."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _field_kind(annotation: Any) -> tuple[str, type]:
    """Classify an annotation (a type or its string form) as ("scalar"|"bool"|"list", element type)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if not isinstance(annotation, str) and typing.get_origin(annotation) is list:
        (inner,) = typing.get_args(annotation)
        return "list", inner
    text = text.replace(" ", "")
    if text == "bool":
        return "bool", bool
    if text in _SCALARS:
        return "scalar", _SCALARS[text]
    if text.startswith("list[") and text.endswith("]") and text[5:-1] in _SCALARS:
        return "list", _SCALARS[text[5:-1]]
    raise TypeError(f"unsupported argument type {annotation!r}: use int, float, str, bool or list[int|float|str]")


def parse_dataclass_args(cls: type[T], argv: Sequence[str] | None = None, description: str | None = None) -> T:
    """Build an ``argparse`` parser from the dataclass ``cls`` and return an instance filled from ``argv``.

    Args:
        cls: a dataclass whose fields all have defaults (or default factories).
        argv: the arguments (``None`` reads ``sys.argv``).
        description: the parser's description (defaults to the first line of ``cls``'s docstring).
    """
    parser = argparse.ArgumentParser(description=description or (cls.__doc__ or "").strip().splitlines()[0])
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = f"--{f.name.replace('_', '-')}"
        help_text = f"{docs.get(f.name, '')} (default: {default})"
        kind, element = _field_kind(f.type)
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        elif kind == "list":
            parser.add_argument(flag, type=element, nargs="+", default=default, help=help_text)
        else:
            parser.add_argument(flag, type=element, default=default, help=help_text)
    return cls(**vars(parser.parse_args(argv)))
