"""The htmagent command line: help on every subcommand, `info` reports versions and numba status."""

import pytest

from htmagent.cli import build_parser, main


def test_info_reports_versions_and_numba(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "htmagent" in out and "numpy" in out
    assert "JIT working" in out
    assert "environments:" in out


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices
    assert "info" in subcommands
    for name in subcommands:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "usage: htmagent" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "COMMAND" in capsys.readouterr().out


def _subcommands(parser):
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return actions[0].choices if actions else {}


def test_every_nested_subcommand_has_help(capsys):
    for name, sub in _subcommands(build_parser()).items():
        for nested in _subcommands(sub):
            with pytest.raises(SystemExit) as exc:
                main([name, nested, "--help"])
            assert exc.value.code == 0, (name, nested)
            assert "usage: htmagent" in capsys.readouterr().out
