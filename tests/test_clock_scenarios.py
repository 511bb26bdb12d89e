"""`dutyflow clock simulate` and the scenario folder (docs/clock-scenarios/): every scenario is
replayed through the real process and clock code on SQLite and on PostgreSQL and must print
exactly its expected output, which was worked out by hand from the rule (the `#` lines of each
`.expected.jsonl` give the reasoning). A scenario per rule of issue 14: 补正 in time and late, a
restart without a notice, special procedures, extensions (§42, own case, other categories,
after due), 即办, 无, months, §82, provisional years."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import clock as clock_cli  # noqa: F401  (registers the command)
from api.cli.app import app
from engine.config import get_settings
from engine.runtime import simulation

SCENARIOS = Path(__file__).resolve().parent.parent / "docs" / "clock-scenarios"
NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def expected(name: str) -> list[dict]:
    lines = (SCENARIOS / f"{name}.expected.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]


def test_the_folder_has_a_scenario_for_each_rule():
    assert len(NAMES) >= 14
    for name in NAMES:
        assert (SCENARIOS / f"{name}.expected.jsonl").is_file(), name


@pytest.mark.parametrize("name", NAMES)
def test_scenario_replays_as_worked_out_by_hand(database, name):
    settings = get_settings()
    scenario = simulation.read_scenario(SCENARIOS / f"{name}.yaml")
    got = list(simulation.replay(database, scenario, settings.processes_dir, settings.demo_catalog))
    assert got == expected(name)


def test_the_command_prints_one_json_line_per_event_and_nothing_else(tmp_path):
    result = CliRunner().invoke(app, ["clock", "simulate", str(SCENARIOS / "provisional-year.yaml")])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected("provisional-year")


@pytest.mark.parametrize("content, problem", [
    ("duty: AJ-XK-001\nevents:\n  - {at: '2026-10-09 09:30', do: fly}\n", "未知的事件"),
    ("duty: AJ-XK-001\nevents:\n  - {at: '2026-10-09 09:30', do: receive}\n  - {at: '2026-10-08 09:30', do: check}\n",
     "先后顺序"),
    ("duty: NO-SUCH\nevents:\n  - {at: '2026-10-09 09:30', do: receive}\n", "没有事项 NO-SUCH"),
    ("duty: AJ-XK-001\nevents:\n  - {at: '10/09/2026', do: receive}\n", "时间格式"),
    ("events: []\n", "duty"),
])
def test_an_invalid_file_exits_2_with_a_placed_message(tmp_path, content, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["clock", "simulate", str(path)])
    assert result.exit_code == 2
    assert problem in result.stderr and result.stdout == ""
