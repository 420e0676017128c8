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


def test_figures_go_to_a_folder_of_the_current_directory_and_never_into_docs_on_quick_runs():
    from htmagent.experiments.args import DOCS_DIR, OUT_DIR
    from htmagent.experiments.hawkins2017 import SensationsArgs

    assert SensationsArgs().figure_path("f.png") == f"{OUT_DIR}/f.png"  # the htmagent command
    assert parse_args(SensationsArgs, [], docs=True).figure_path("f.png") == f"{DOCS_DIR}/f.png"  # a docs script
    assert parse_args(SensationsArgs, ["--quick"], docs=True).figure_path("f.png") == f"{OUT_DIR}/f.png"
    assert parse_args(SensationsArgs, ["--out", "x/y.png"], docs=True).figure_path("f.png") == "x/y.png"


def test_a_figure_command_run_in_a_checkout_leaves_docs_alone(tmp_path, monkeypatch, capsys):
    from htmagent.cli import main

    (tmp_path / "docs" / "img").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert main(["recognize", "fig4c", "--quick", "--no-progress"]) == 0
    assert (tmp_path / "htmagent_out" / "hawkins2017_fig4c.png").stat().st_size > 1000
    assert not any((tmp_path / "docs" / "img").iterdir())
    assert "figure saved to htmagent_out/hawkins2017_fig4c.png" in capsys.readouterr().out


def test_declared_counts_and_fractions_are_checked_with_the_field_name():
    from htmagent.experiments.grid_columns import ColumnsArgs

    with pytest.raises(ValueError, match="num_objects must be >= 1, got 0"):
        ColumnsArgs(num_objects=0)
    with pytest.raises(ValueError, match="columns must be >= 1, got 0"):
        ColumnsArgs(columns=[2, 0])
    with pytest.raises(ValueError, match="columns needs at least one value"):
        ColumnsArgs(columns=[])
    with pytest.raises(ValueError, match=r"min_accuracy must be in \[0.0, 1.0\], got 1.5"):
        ColumnsArgs(min_accuracy=1.5)
