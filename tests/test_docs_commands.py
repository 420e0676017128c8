"""Every command in the README and in docs/*.md is one a newcomer can copy and paste.

Each ``python scripts/...`` and ``htmagent ...`` command (in command blocks and inline) must parse as written:
every flag exists and every value is accepted. One command per script then runs in its ``--quick`` form, in a
scratch folder that holds a copy of the committed run files, so that what the results pages say to run does run.
"""

from __future__ import annotations

import dataclasses
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from htmagent.cli import build_parser
from htmagent.experiments.args import parse_args

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        lines = []
        for lang, block in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S):
            if lang != "python":
                lines += block.replace("\\\n", " ").splitlines()
        lines += re.findall(r"`((?:python scripts/|htmagent )[^`]+)`", text)
        for line in lines:
            line = line.split("  #")[0].strip()
            # Alternatives (fig4a\|fig4b), placeholders (N, X, [D2]) and elisions (...) are shorthand, not a command.
            if re.match(r"(python scripts/|htmagent )", line) and not re.search(r"\\\||\.\.\.| [A-Z]\d?\b|\[", line):
                found.append((page.name, line))
    return found


COMMANDS = _commands()


def _script_args(script: str) -> type:
    """The arguments dataclass a script parses (the one it imports or defines)."""
    namespace = runpy.run_path(str(ROOT / script), run_name="not_main")
    bases = {"ExperimentArgs", "FigureArgs"}
    classes = [v for k, v in namespace.items() if k.endswith("Args") and k not in bases and dataclasses.is_dataclass(v)]
    assert len(classes) == 1, f"{script}: expected one arguments dataclass, found {classes}"
    return classes[0]


def test_the_pages_hold_commands():
    scripts = {shlex.split(c)[1] for _, c in COMMANDS if c.startswith("python ")}
    assert len(COMMANDS) > 40 and len(scripts) >= 10


@pytest.mark.parametrize("page, command", COMMANDS, ids=[f"{p}:{c[:60]}" for p, c in COMMANDS])
def test_every_documented_command_parses(page, command):
    words = shlex.split(command)
    if words[0] == "htmagent":
        build_parser().parse_args(words[1:])
    else:
        parse_args(_script_args(words[1]), words[2:])


def _quick_commands() -> list[tuple[str, str]]:
    first: dict[str, str] = {}
    for _, command in COMMANDS:
        words = shlex.split(command)
        if words[0] == "python" and words[1] not in first and "--report-only" not in words:
            first[words[1]] = command
    return sorted(first.items())


@pytest.mark.slow
@pytest.mark.parametrize("script, command", _quick_commands(), ids=[s for s, _ in _quick_commands()])
def test_one_documented_command_per_script_runs_in_its_quick_form(script, command, tmp_path):
    if "train_ppo" in script or "active_sensing" in script:
        pytest.importorskip("stable_baselines3")
    if "rllib" in script:
        pytest.importorskip("ray.rllib", reason="needs the rllib extra")
    words = shlex.split(command)
    argv = words[2:]
    fields = {f.name for f in dataclasses.fields(_script_args(script))}
    if "quick" not in fields:
        pytest.skip(f"{script} has no --quick form")
    argv += ["--quick"] + (["--no-progress"] if "progress" in fields else [])
    shutil.copytree(ROOT / "docs" / "runs", tmp_path / "docs" / "runs")
    env = dict(os.environ, MPLBACKEND="Agg", SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    done = subprocess.run([sys.executable, str(ROOT / script), *argv], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
