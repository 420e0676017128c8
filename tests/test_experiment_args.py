"""Dataclass-driven command lines for the experiment scripts."""

import dataclasses

import pytest

from htmagent.experiments.args import field_docs, parse_args


@dataclasses.dataclass
class Args:
    """A toy experiment."""

    steps: int = 10
    """how many steps to run"""
    rate: float = 0.5
    """a learning rate"""
    name: str = "run"
    """a label"""
    quick: bool = False
    """a tiny budget for the tests"""
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0, 1])
    """seeds to average over"""


def test_defaults_and_docs():
    assert parse_args(Args, []) == Args()
    assert field_docs(Args)["steps"] == "how many steps to run"


def test_values_flags_and_lists_are_parsed():
    args = parse_args(Args, ["--steps", "3", "--rate", "0.1", "--name", "x", "--quick", "--seeds", "4", "5"])
    assert args == Args(steps=3, rate=0.1, name="x", quick=True, seeds=[4, 5])
    assert parse_args(Args, ["--no-quick"]).quick is False


def test_wrong_type_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        parse_args(Args, ["--steps", "many"])
    assert "invalid int value" in capsys.readouterr().err


def test_help_shows_field_docs(capsys):
    with pytest.raises(SystemExit):
        parse_args(Args, ["--help"])
    assert "seeds to average over" in capsys.readouterr().out
