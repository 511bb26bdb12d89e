"""`dutyflow clock simulate` and the scenario folder (docs/clock-scenarios/): every scenario is
replayed through the real process and clock code on SQLite and on PostgreSQL and must print
exactly its expected output, which was worked out by hand from the rule (the `#` lines of each
`.expected.jsonl` give the reasoning). A scenario per rule of issue 14: 补正 in time and late, a
restart without a notice, special procedures, extensions (§42, own case, other categories,
after due), 即办, 无, months, §82, provisional years."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import clock as clock_cli  # noqa: F401  (registers the command)
from api.cli.app import app
from engine.clock import BEIJING, ControlledClock
from engine.config import get_settings
from engine.runtime import simulation
from engine.runtime.clocks.explanation import explain_clock

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


def test_the_clock_explained_names_the_request_and_the_head_who_approved(database):
    # extension-licensing: 郭敏 (AJ-WH-01, the handler) asks on 10-27 for 10个工作日; 朱军 (AJ-FM-01,
    # 市安监局's head post) approves at 11:00 and the applicant is told in writing (书面); the due
    # moment moves from 10-29 17:30 to 11-12 17:30 (10-30, 11-02..06, 11-09..12).
    settings = get_settings()
    scenario = simulation.read_scenario(SCENARIOS / "extension-licensing.yaml")
    list(simulation.replay(database, scenario, settings.processes_dir, settings.demo_catalog))
    clock = ControlledClock(datetime(2026, 11, 2, 16, 0, tzinfo=BEIJING))
    with database.session() as session:
        lines = {line["at"]: line["text"] for line in explain_clock(session, 1, clock)}
    assert lines["2026-10-27 10:00"] == "郭敏申请延期 10个工作日（理由：需现场核查），待部门负责人审批"
    assert lines["2026-10-27 11:00"].startswith("延期 10个工作日，朱军批准，已书面告知申请人")
    assert lines["2026-10-27 11:00"].endswith("办结时限延至 2026-11-12 17:30")
