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


@pytest.mark.parametrize("argv, flag", [
    (["agent", "--sensors", "0"], "--sensors"),
    (["agent", "--episodes", "0"], "--episodes"),
    (["demo", "--interval", "-1"], "--interval"),
    (["demo", "--features", "1"], "--features"),
    (["demo", "--columns", "6"], "--columns"),
    (["bench", "--steps", "0"], "--steps"),
    (["recognize", "fig4c", "--num-objects", "0"], "--num-objects"),
    (["recognize", "fig4a", "--pools", "0", "5"], "--pools"),
    (["recognize", "lewis-capacity", "--sweep", "colour"], "--sweep"),
    (["recognize", "fig5", "--configs", "150-4096"], "config must look like"),
    (["recognize", "grid-columns", "--min-accuracy", "1.5"], "--min-accuracy"),
])
def test_a_bad_flag_is_one_usage_line_and_exit_code_2(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"htmagent {argv[0]}") and ": error: " in last and flag in last
    assert "Traceback" not in err


def test_help_texts_say_what_each_command_does(capsys):
    for argv, text in ((["recognize", "fig4b", "--help"], "Fig 4B"), (["bench", "--help"], "speed of the spatial"),
                       (["recognize", "lewis-capacity", "--help"], ">= 90% recognized")):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert text in out and "%%" not in out
    with pytest.raises(SystemExit):
        main(["recognize", "fig4b", "--help"])
    out = capsys.readouterr().out
    assert "--figure" not in out and "Fig 4A:" not in out  # fig4b fixes the sweep; its help is its own
