"""Command-line arguments from a dataclass, CleanRL style: the one argument style of every experiment and script.

An experiment declares its arguments once, as a dataclass whose fields carry a default and, on the line under the
field, a docstring that becomes its ``--help`` text::

    @dataclass
    class Args(ExperimentArgs):
        \"\"\"Fig 4C: cumulative fraction recognized by sensation k.\"\"\"

        num_objects: int = 100
        \"\"\"objects\"\"\"

        def validate(self) -> None:
            check_int(self.num_objects, "num_objects", 1)

:func:`parse_args` reads them from ``argv`` (``--num-objects 50``); :func:`add_arguments` adds them to a parser of
the ``htmagent`` command line. Supported field types: ``int``, ``float``, ``str``, ``bool`` (``--flag`` /
``--no-flag``) and ``list[int]`` / ``list[float]`` / ``list[str]`` (space-separated values).

A bad value never ends in a traceback: :meth:`ExperimentArgs.validate` (called when the dataclass is built) raises
``ValueError``/``TypeError`` naming the field, and the parser turns that into one usage line naming the *flag*
(``--num-objects``) and exit code 2, as argparse does for a value of the wrong type.

:class:`ExperimentArgs` is the base of every experiment's arguments: the seed, the ``--quick`` budget of the
tests, the JSON file of raw results and the progress bar; :class:`FigureArgs` adds the figure's path.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import re
import textwrap
import typing
from typing import Any, Sequence, TypeVar

from htmagent._validation import check_int

__all__ = [
    "ExperimentArgs",
    "add_experiment_parser",
    "FigureArgs",
    "add_arguments",
    "field_docs",
    "flag_message",
    "flag_name",
    "from_namespace",
    "help_text",
    "parse_args",
]

T = TypeVar("T")

_SCALARS = {"int": int, "float": float, "str": str}


@dataclasses.dataclass
class ExperimentArgs:
    """Arguments every experiment shares (subclass it; ``--help`` lists these after the experiment's own)."""

    seed: int = 0
    """base seed (trial t uses seed + t)"""
    quick: bool = False
    """tiny sizes, for the tests"""
    json_out: str = ""
    """optional JSON file for the raw results"""
    progress: bool = True
    """show a progress bar"""

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", 0)
        self.validate()

    def validate(self) -> None:
        """Check the experiment's own fields (raise ``ValueError``/``TypeError`` naming the field); default: none."""


@dataclasses.dataclass
class FigureArgs(ExperimentArgs):
    """Arguments of an experiment that draws a figure."""

    out: str = ""
    """PNG path of the figure ('' = the experiment's default path)"""


def help_text(text: str) -> str:
    """Escape ``%`` for argparse, which %-formats help and description texts."""
    return text.replace("%", "%%")


def flag_name(field: str) -> str:
    """The command-line flag of a dataclass field: ``num_objects`` -> ``--num-objects``."""
    return "--" + field.replace("_", "-")


def field_docs(cls: type) -> dict[str, str]:
    """``{field name: the string literal written under it}`` for a dataclass and its dataclass bases.

    A subclass that declares a field again (to change its default) may give it a new docstring; otherwise the base's
    is kept.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0].body
        for node, nxt in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _field_kind(annotation: Any) -> tuple[str, type]:
    """Classify an annotation (a type or its string form) as ("scalar"|"bool"|"list", element type)."""
    if not isinstance(annotation, str) and typing.get_origin(annotation) is list:
        (inner,) = typing.get_args(annotation)
        return "list", inner
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    text = text.replace(" ", "")
    if text == "bool":
        return "bool", bool
    if text in _SCALARS:
        return "scalar", _SCALARS[text]
    if text.startswith("list[") and text.endswith("]") and text[5:-1] in _SCALARS:
        return "list", _SCALARS[text[5:-1]]
    raise TypeError(f"unsupported argument type {annotation!r}: use int, float, str, bool or list[int|float|str]")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    raise TypeError(f"argument field {f.name!r} needs a default")


def _show(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value) if value else "(none)"
    return repr(value) if value == "" else str(value)


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one ``--field-name`` option per field of the dataclass ``cls`` to ``parser``.

    Each option's help is the field's docstring followed by its default; the experiment's own fields come first,
    those of :class:`FigureArgs` (seed, quick, ...) after them.
    """
    docs = field_docs(cls)
    shared = {f.name for f in dataclasses.fields(FigureArgs)}
    fields = dataclasses.fields(cls)
    for f in [f for f in fields if f.name not in shared] + [f for f in fields if f.name in shared]:
        default = _default(f)
        text = help_text(f"{docs.get(f.name, '')} (default: {_show(default)})".strip())
        kind, element = _field_kind(f.type)
        flag = flag_name(f.name)
        if kind == "bool":
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default, help=text)
        elif kind == "list":
            parser.add_argument(flag, dest=f.name, type=element, nargs="+", default=default, help=text)
        else:
            parser.add_argument(flag, dest=f.name, type=element, default=default, help=text)


def from_namespace(cls: type[T], namespace: argparse.Namespace, parser: argparse.ArgumentParser) -> T:
    """Build ``cls`` from the parsed ``namespace``; a bad value ends in ``parser.error`` naming its flag (exit 2)."""
    values = {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)}
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        parser.error(flag_message(str(error), [f.name for f in dataclasses.fields(cls)]))
    raise AssertionError("unreachable: parser.error exits")


def flag_message(message: str, fields: Sequence[str]) -> str:
    """``message`` with every field name it starts with or quotes replaced by its flag (``--num-objects``)."""
    for name in sorted(fields, key=len, reverse=True):
        message = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w])", flag_name(name), message)
    return message


def parse_args(cls: type[T], argv: Sequence[str] | None = None, description: str | None = None,
               prog: str | None = None) -> T:
    """Parse ``argv`` (``None``: ``sys.argv``) into an instance of the dataclass ``cls``.

    Args:
        cls: a dataclass whose fields all have defaults (or default factories).
        argv: the arguments.
        description: the parser's description (defaults to ``cls``'s docstring).
        prog: the program name shown in usage lines.
    """
    parser = argparse.ArgumentParser(prog=prog, description=help_text(description or (cls.__doc__ or "").strip()))
    add_arguments(parser, cls)
    return from_namespace(cls, parser.parse_args(argv), parser)


def add_experiment_parser(subparsers: Any, name: str, cls: type, runner: Any, **fixed: Any) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` whose flags are the fields of ``cls`` and which calls ``runner(cls(...))``.

    The subcommand's help is the first line of ``cls``'s docstring, its description the whole docstring; ``fixed``
    sets fields the flags do not (``figure="4b"``). A bad value ends in one usage line naming the flag (exit 2).
    """
    doc = (cls.__doc__ or "").strip()
    parser = subparsers.add_parser(name, help=help_text(doc.splitlines()[0] if doc else name),
                                   description=help_text(doc))
    add_arguments(parser, cls)
    parser.set_defaults(**fixed)
    parser.set_defaults(func=lambda namespace: runner(from_namespace(cls, namespace, parser)))
    return parser
