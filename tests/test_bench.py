"""The benchmark command prints the expected table (no timing is asserted)."""

from __future__ import annotations

import re

import pytest

from htmagent.experiments import bench


def _rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines() if line.split()}


def test_hotgym_table_has_every_stage_and_the_cold_start(capsys):
    assert bench.main(["--config", "hotgym", "--steps", "25", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    for stage in ("encoders", "SP", "TM", "SP+TM"):
        assert stage in rows, out
    # TM and SP+TM report segment and synapse counts; the TM has grown some in 25 steps.
    assert int(rows["SP+TM"][4].replace(",", "")) > 0
    assert int(rows["SP+TM"][5].replace(",", "")) > 0
    assert "config hotgym" in out and "25 steps" in out
    assert re.search(r"cold start: [0-9.]+ s \(imports", out)


def test_classic_config_without_cold_start(capsys):
    assert bench.main(["--config", "classic", "--steps", "12", "--no-cold-start"]) == 0
    out = capsys.readouterr().out
    assert {"SP", "TM", "SP+TM"} <= set(_rows(out))
    assert "cold start" not in out


def test_register_adds_the_subcommand():
    import argparse

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "--config", "classic", "--steps", "10"])
    assert args.func is not None and args.config == "classic" and args.steps == 10


def test_bad_arguments_are_rejected(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--config", "nope"])
    with pytest.raises(SystemExit) as exc:  # one usage line naming the flag, exit code 2
        bench.main(["--steps", "0", "--no-cold-start"])
    assert exc.value.code == 2 and "argument --steps: must be an int >= 1, got 0" in capsys.readouterr().err


def test_soak_prints_a_row_per_window_for_each_subject(capsys):
    assert bench.main(["--soak", "30", "--window", "15", "--subject", "tm", "detector", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| tm") or
            line.startswith("| detector")]
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [("tm", "15"), ("tm", "30"), ("detector", "15"),
                                                          ("detector", "30")]
    tm_synapses = [int(r[5].replace(",", "")) for r in rows[:2]]
    assert 0 < tm_synapses[0] < tm_synapses[1]  # random input keeps adding synapses
    assert "bytes/synapse" in out


def test_columns_prints_the_network_and_the_agent_for_each_count(capsys):
    assert bench.main(["--columns", "1", "2", "--objects", "4", "--episodes", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    network = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| grid network")]
    agent = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| HTMAgent")]
    assert [r[1].strip() for r in network] == ["1", "2"]
    assert [r[2].strip() for r in network] == ["20", "20"]  # 4 objects x 5 sensations
    # several columns settle each sensation for 3 time steps
    rates = [(float(r[4].replace(",", "")), float(r[5].replace(",", ""))) for r in network]
    assert rates[0][1] == pytest.approx(rates[0][0], rel=0.01) and rates[1][1] == pytest.approx(3 * rates[1][0],
                                                                                                rel=0.01)
    assert [r[1].strip() for r in agent] == ["1", "2"] and all(r[5].strip().endswith("%") for r in agent)


def test_sp_storage_prints_both_storages_of_each_pooler(capsys):
    assert bench.main(["--sp-storage", "--quick", "--steps", "5", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "quick" in line]
    assert len(rows) == 6 and [r.split(" | ")[1] for r in rows] == ["dense", "pool"] * 3
    # the pool storage costs 16 bytes a potential synapse (plus its offsets); dense costs 6 a pair
    assert all(16.0 <= float(r.split(" | ")[3]) < 17.0 for r in rows if r.split(" | ")[1] == "pool")
