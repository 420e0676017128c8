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
import os
import dataclasses
import inspect
import re
import textwrap
import typing
from typing import Any, ClassVar, Sequence, TypeVar

from htmagent._validation import check_int, check_real

__all__ = [
    "DOCS_DIR",
    "ExperimentArgs",
    "OUT_DIR",
    "add_experiment_parser",
    "FigureArgs",
    "add_arguments",
    "field_docs",
    "flag_message",
    "flag_name",
    "from_namespace",
    "help_text",
    "int_at_least",
    "parse_args",
    "real_at_least",
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

    #: Fields that must be ints >= 1 (list fields: every element, and at least one), ints >= 0, reals in [0, 1].
    counts: ClassVar[tuple[str, ...]] = ()
    non_negative: ClassVar[tuple[str, ...]] = ()
    fractions: ClassVar[tuple[str, ...]] = ()
    #: String fields taken as optional positional arguments (``htmagent nab PATH``) instead of ``--flags``.
    positional: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", 0)
        for names, check in ((self.counts, lambda v, n: check_int(v, n, 1)),
                             (self.non_negative, lambda v, n: check_int(v, n, 0)),
                             (self.fractions, lambda v, n: check_real(v, n, 0.0, 1.0))):
            for name in names:
                value = getattr(self, name)
                if isinstance(value, list):
                    if not value:
                        raise ValueError(f"{name} needs at least one value, got none")
                    for v in value:
                        check(v, name)
                else:
                    check(value, name)
        self.validate()

    def validate(self) -> None:
        """Check the experiment's own fields (raise ``ValueError``/``TypeError`` naming the field); default: none."""


#: Where figures go by default: a folder of the current directory, so no command overwrites files it was not asked
#: to (the results pages' figures under docs/img are written by the scripts that make those pages).
OUT_DIR = "htmagent_out"
DOCS_DIR = os.path.join("docs", "img")


@dataclasses.dataclass
class FigureArgs(ExperimentArgs):
    """Arguments of an experiment that draws a figure."""

    out: str = ""
    """PNG path of the figure ('' = htmagent_out/<experiment>.png; the docs scripts: docs/img/)"""

    def figure_path(self, name: str) -> str:
        """``--out`` if given, else ``name`` in :data:`OUT_DIR` (in :data:`DOCS_DIR` for the scripts that make the
        results pages, unless ``--quick``: a quick run never writes into docs/)."""
        if self.out:
            return self.out
        folder = DOCS_DIR if getattr(self, "_docs", False) and not self.quick else OUT_DIR
        return os.path.join(folder, name)


def help_text(text: str) -> str:
    """Escape ``%`` for argparse, which %-formats help texts (not descriptions)."""
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


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: Sequence[str] = ()) -> None:
    """Add one ``--field-name`` option per field of the dataclass ``cls`` to ``parser``.

    Each option's help is the field's docstring followed by its default; the experiment's own fields come first,
    those of :class:`FigureArgs` (seed, quick, ...) after them. Fields named in ``skip`` get no option (a
    subcommand that fixes them); fields named in the class's ``positional`` become optional positional arguments.
    """
    docs = field_docs(cls)
    shared = {f.name for f in dataclasses.fields(FigureArgs)}
    fields = [f for f in dataclasses.fields(cls) if f.name not in skip]
    for f in [f for f in fields if f.name not in shared] + [f for f in fields if f.name in shared]:
        default = _default(f)
        text = help_text(f"{docs.get(f.name, '')} (default: {_show(default)})".strip())
        kind, element = _field_kind(f.type)
        flag = flag_name(f.name)
        if f.name in getattr(cls, "positional", ()):
            parser.add_argument(f.name, nargs="?", type=element, default=default, help=text)
        elif kind == "bool":
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default, help=text)
        elif kind == "list":
            parser.add_argument(flag, dest=f.name, type=element, nargs="+", default=default, help=text)
        else:
            parser.add_argument(flag, dest=f.name, type=element, default=default, help=text)


def from_namespace(cls: type[T], namespace: argparse.Namespace, parser: argparse.ArgumentParser) -> T:
    """Build ``cls`` from the parsed ``namespace``; a bad value ends in ``parser.error`` naming its flag (exit 2)."""
    values = {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls) if hasattr(namespace, f.name)}
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        flags = [f.name for f in dataclasses.fields(cls) if f.name not in getattr(cls, "positional", ())]
        parser.error(flag_message(str(error), flags))
    raise AssertionError("unreachable: parser.error exits")


def flag_message(message: str, fields: Sequence[str]) -> str:
    """``message`` with every field name it starts with or quotes replaced by its flag (``--num-objects``)."""
    for name in sorted(fields, key=len, reverse=True):
        message = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w])", flag_name(name), message)
    return message


def parse_args(cls: type[T], argv: Sequence[str] | None = None, description: str | None = None,
               prog: str | None = None, docs: bool = False) -> T:
    """Parse ``argv`` (``None``: ``sys.argv``) into an instance of the dataclass ``cls``.

    Args:
        cls: a dataclass whose fields all have defaults (or default factories).
        argv: the arguments.
        description: the parser's description (defaults to ``cls``'s docstring).
        prog: the program name shown in usage lines.
        docs: the caller is a script that makes a results page: figures go to docs/img by default (not in
            ``--quick`` runs; see :meth:`FigureArgs.figure_path`).
    """
    parser = argparse.ArgumentParser(prog=prog, description=description or (cls.__doc__ or "").strip())
    add_arguments(parser, cls)
    args = from_namespace(cls, parser.parse_args(argv), parser)
    if docs:
        args._docs = True
    return args


def add_experiment_parser(subparsers: Any, name: str, cls: type, runner: Any, description: str | None = None,
                          **fixed: Any) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` whose flags are the fields of ``cls`` and which calls ``runner(cls(...))``.

    The subcommand's help is the first line of ``description`` (default: ``cls``'s docstring), its description the
    whole text; ``fixed`` sets fields the flags do not (``figure="4b"``: no ``--figure`` flag then). A bad value
    ends in one usage line naming the flag (exit 2).
    """
    doc = (description or cls.__doc__ or "").strip()
    parser = subparsers.add_parser(name, help=help_text(doc.splitlines()[0] if doc else name),
                                   description=doc)
    add_arguments(parser, cls, skip=tuple(fixed))
    parser.set_defaults(**fixed)
    parser.set_defaults(func=lambda namespace: runner(from_namespace(cls, namespace, parser)))
    return parser


def int_at_least(low: int, high: int | None = None) -> Any:
    """An argparse ``type`` for an int flag in ``[low, high]``: a bad value is one usage line naming the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int, got {text!r}") from None
        if value < low or (high is not None and value > high):
            expected = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be an int {expected}, got {value}")
        return value

    return parse


def real_at_least(low: float, open_low: bool = False) -> Any:
    """An argparse ``type`` for a finite real flag ``>= low`` (``> low`` with ``open_low``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or value < low or (open_low and value == low):
            raise argparse.ArgumentTypeError(f"must be a finite number {'>' if open_low else '>='} {low}, got {text}")
        return value

    return parse
